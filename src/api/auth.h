/*
 * auth.h - who calls the server: passwords (Argon2id through libsodium's
 * crypto_pwhash_str), API tokens and session cookies (random, kept only as
 * a BLAKE2b hash), roles, and the check of each request (authorize). The
 * CLI's `kizuna user` uses the same functions.
 */
#ifndef KZ_API_AUTH_H
#define KZ_API_AUTH_H

#include <stddef.h>

#include "http/http.h"
#include "store/store.h"

#define KZ_TOKEN_TEXT 68 /* "kz_" + 64 hex digits + NUL */
#define KZ_HASH_TEXT 65  /* 64 hex digits + NUL */

/* Initialises libsodium (once per process, before threads). KZ_ERROR when it cannot. */
int kz_auth_init(void);

/* A password's Argon2id hash (~125 ms on purpose) into out (malloc'd). A
 * password must have 8 to 1024 bytes: KZ_EINVALID says why not. */
int kz_auth_hash_password(char **out, const char *password);
/* 1 when password matches hash (constant time), else 0. */
int kz_auth_check_password(const char *hash, const char *password);

/* A new random secret as text ("kz_" + 64 hex digits for a token, 64 hex
 * digits for a session) and the hash kept of it. */
void kz_auth_new_secret(char text[KZ_TOKEN_TEXT], int token);
void kz_auth_hash_secret(char hash[KZ_HASH_TEXT], const char *secret);

/* The numeric level of a role name: KZ_ROLE_VIEWER..KZ_ROLE_ADMIN, or -1. */
int kz_auth_role(const char *role);

/* Issues a token for user: stores its hash and writes the text into out
 * (shown once). */
int kz_auth_issue_token(kz_store *st, int64_t user_id, char out[KZ_TOKEN_TEXT], int64_t *token_id);

#endif
