/*
 * auth-tokens.h - the secrets of the client API: random tokens, their
 * SHA-256, and comparing hashes in constant time.
 *
 * A token is a short prefix that says what it is (so a token found in a
 * paste or a log is recognised and revoked) and 32 random bytes from
 * OpenSSL's RAND_bytes in base64url without padding: 256 bits, never
 * guessed. Only the hash is ever stored; a token is shown once, to its owner.
 */
#ifndef AUTH_TOKENS_H
#define AUTH_TOKENS_H

#include <glib.h>

#define AUTH_PREFIX_ACCESS  "ucda_" /* a session's access token */
#define AUTH_PREFIX_REFRESH "ucdr_" /* a session's refresh token */
#define AUTH_PREFIX_KEY     "ucdk_" /* an API key */

/* Characters of a hash (SHA-256 as lower-case hex), without the NUL. */
#define AUTH_HASH_LENGTH 64

/* A new token: `prefix` followed by 32 random bytes in base64url. NULL only
 * when the random generator fails (then nothing is safe to hand out). */
char *auth_token_new(const char *prefix);

/* A new session id: 12 random bytes in base64url. Not a secret (it is
 * listed and logged), just unique and not guessable from another. NULL
 * when the random generator fails. */
char *auth_session_id_new(void);

/* The SHA-256 of `token` as lower-case hex, AUTH_HASH_LENGTH characters. */
char *auth_token_hash(const char *token);

/* TRUE when two hashes are equal, in a time that does not depend on where
 * they differ. FALSE for NULL or different lengths. */
gboolean auth_hash_equal(const char *a, const char *b);

#endif /* AUTH_TOKENS_H */
