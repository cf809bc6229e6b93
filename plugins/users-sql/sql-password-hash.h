/*
 * sql-password-hash.h - checks a password against a stored salted hash.
 *
 * Two formats, both with standard base64 (padding optional) for salt and hash:
 *   pbkdf2-sha256$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA256
 *   pbkdf2-sha512$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA512
 *   scrypt$N$R$P$SALT$HASH               scrypt (RFC 7914), N a power of two
 * Anything else (clear text, an unknown scheme, a malformed or too weak
 * value) is unusable: it is never compared with the password, so a database
 * that holds clear text refuses every login instead of accepting one.
 */
#ifndef USERS_SQL_PASSWORD_HASH_H
#define USERS_SQL_PASSWORD_HASH_H

#include <glib.h>

typedef enum us_hash_result {
    US_HASH_MATCH = 0,
    US_HASH_MISMATCH = 1,
    US_HASH_UNUSABLE = 2, /* `*reason` says why, without quoting the value */
} us_hash_result;

/* Checks `password` against `stored` in constant time (for a given stored
 * value). With US_HASH_UNUSABLE, `*reason` is a static English text. */
us_hash_result us_hash_verify(const char *stored, const char *password, const char **reason);

#endif /* USERS_SQL_PASSWORD_HASH_H */
