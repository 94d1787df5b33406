/*
 * auth.c - passwords, tokens, sessions and roles (auth.h).
 */
#include "api/auth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"

int kz_auth_init(void)
{
    return sodium_init() < 0 ? kz_error_set(KZ_ERROR, "libsodium cannot start") : KZ_OK;
}

int kz_auth_hash_password(char **out, const char *password)
{
    size_t n = strlen(password);
    *out = NULL;
    if (n < 8)
        return kz_error_set(KZ_EINVALID, "a password needs at least 8 characters");
    if (n > 1024)
        return kz_error_set(KZ_EINVALID, "a password of more than 1024 bytes is refused");
    char *h = malloc(crypto_pwhash_STRBYTES);
    if (!h)
        return kz_error_oom();
    if (crypto_pwhash_str(h, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) !=
        0) {
        free(h);
        return kz_error_set(KZ_ENOMEM, "not enough memory to hash the password");
    }
    *out = h;
    return KZ_OK;
}

int kz_auth_check_password(const char *hash, const char *password)
{
    return hash && password && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void kz_auth_new_secret(char text[KZ_TOKEN_TEXT], int token)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    size_t at = 0;
    if (token) {
        memcpy(text, "kz_", 3);
        at = 3;
    }
    sodium_bin2hex(text + at, KZ_TOKEN_TEXT - at, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

void kz_auth_hash_secret(char hash[KZ_HASH_TEXT], const char *secret)
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
    sodium_bin2hex(hash, KZ_HASH_TEXT, h, sizeof h);
}

int kz_auth_role(const char *role)
{
    return !role                            ? -1
           : strcmp(role, "admin") == 0     ? KZ_ROLE_ADMIN
           : strcmp(role, "csm") == 0       ? KZ_ROLE_CSM
           : strcmp(role, "support") == 0   ? KZ_ROLE_SUPPORT
           : strcmp(role, "viewer") == 0    ? KZ_ROLE_VIEWER
                                            : -1;
}

int kz_auth_issue_token(kz_store *st, int64_t user_id, char out[KZ_TOKEN_TEXT], int64_t *token_id)
{
    char hash[KZ_HASH_TEXT], prefix[12];
    kz_auth_new_secret(out, 1);
    kz_auth_hash_secret(hash, out);
    memcpy(prefix, out + 3, 8); /* the first hex digits, to tell tokens apart */
    prefix[8] = '\0';
    return kz_store_token_add(st, user_id, hash, prefix, kz_now(), token_id);
}
