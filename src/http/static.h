/*
 * static.h - serving the dashboard's built files from one folder, and
 * nothing outside it (static.c).
 */
#ifndef KZ_HTTP_STATIC_H
#define KZ_HTTP_STATIC_H

#include "http/http.h"

/* Fills resp with the file of request path `path` under folder root (see
 * static.c for the rules): 0, or KZ_ENOTFOUND when no file may answer (the
 * caller answers 404), or KZ_EIO. */
int kz_static_serve(const char *root, const char *path, kz_http_resp *resp);

#endif
