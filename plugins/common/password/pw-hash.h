/*
 * pw-hash.h - salted password hashes: checking a password against a stored
 * value, checking a stored value's form, and making a new one.
 *
 * Three formats, both with standard base64 (padding optional) for salt and hash:
 *   pbkdf2-sha256$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA256
 *   pbkdf2-sha512$ITERATIONS$SALT$HASH   PBKDF2-HMAC-SHA512
 *   scrypt$N$R$P$SALT$HASH               scrypt (RFC 7914), N a power of two
 * Anything else (clear text, an unknown scheme, a malformed or too weak
 * value) is unusable: it is never compared with the password, so a store
 * that holds clear text refuses every login instead of accepting one. The
 * users backends that keep passwords (users-sql, users-file) and the tool
 * that makes hashes for them (ucd-passwd) share this code, so what one
 * writes the others accept. OpenSSL's libcrypto does the hashing.
 */
#ifndef PW_HASH_H
#define PW_HASH_H

#include <glib.h>

typedef enum pw_hash_result {
    PW_HASH_MATCH = 0,
    PW_HASH_MISMATCH = 1,
    PW_HASH_UNUSABLE = 2, /* `*reason` says why, without quoting the value */
} pw_hash_result;

/* The iterations pw_hash_make() uses when asked for 0: OWASP's figure for
 * PBKDF2-HMAC-SHA256 (2023). */
#define PW_HASH_DEFAULT_ITERATIONS 600000
/* The bounds a stored pbkdf2 value must keep (and pw_hash_make() accepts). */
#define PW_HASH_MIN_ITERATIONS 1000
#define PW_HASH_MAX_ITERATIONS 10000000

/* Checks `password` against `stored` in constant time (for a given stored
 * value). With PW_HASH_UNUSABLE, `*reason` is a static English text that
 * never quotes `stored` (it may be a clear-text password). A NULL password
 * is a mismatch. */
pw_hash_result pw_hash_verify(const char *stored, const char *password, const char **reason);

/* Whether `stored` is in one of the formats above with parameters within
 * bounds, without hashing anything (cheap: for checking a whole file at
 * load). FALSE with `*reason` as for pw_hash_verify(). */
gboolean pw_hash_is_usable(const char *stored, const char **reason);

/* A new "pbkdf2-sha256$ITERATIONS$SALT$HASH" for `password`: 16 random
 * bytes of salt from OpenSSL's generator, 32 bytes of hash, base64 with
 * padding. `iterations` 0 means PW_HASH_DEFAULT_ITERATIONS; outside
 * PW_HASH_MIN_ITERATIONS..PW_HASH_MAX_ITERATIONS, or when OpenSSL fails,
 * returns NULL with `*error` (static English text) set. Free with g_free. */
char *pw_hash_make(const char *password, guint iterations, const char **error);

#endif /* PW_HASH_H */
