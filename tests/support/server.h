/*
 * server.h (tests) - starting the real server and speaking HTTP to it.
 */
#ifndef KT_SERVER_H
#define KT_SERVER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct kt_server {
    pid_t pid;
    int port;
    int out_fd;
    char log[512]; /* its standard error */
} kt_server;

/* Starts `kizuna --db k.db EXTRA... serve --listen 127.0.0.1:0` in dir and
 * waits for its address. */
void kt_serve(kt_server *s, const char *dir, const char *const *extra);

/* SIGTERM, then its exit status. */
int kt_serve_stop(kt_server *s);

/* SIGKILL. */
void kt_serve_kill(kt_server *s);

typedef struct kt_http_resp {
    int status;
    char *body;    /* NUL-terminated */
    size_t len;
    char *headers; /* the response headers as received */
} kt_http_resp;

/* One request (body may be NULL; headers a NULL-terminated list of
 * "Name: value"). Fails the test when the connection fails. */
void kt_http(kt_http_resp *r, const kt_server *s, const char *method, const char *path, const char *body,
             const char *const *headers);
void kt_http_free(kt_http_resp *r);

/* Adds a user (name, role, password) to dir/k.db with the CLI and returns a
 * new API token of it (malloc'd). */
char *kt_user_token(const char *dir, const char *name, const char *role, const char *password);

#endif
