/*
 * pw-hash.c - PBKDF2 and scrypt with OpenSSL (pw-hash.h).
 *
 * A stored value is parsed first (pw_parse: scheme, parameters within
 * bounds, salt and hash decoded), and only a value that parses is ever
 * hashed against, which is what lets pw_hash_is_usable() tell at load what
 * pw_hash_verify() would refuse at login.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "pw-hash.h"

/* Bounds that keep one login check affordable and refuse hashes too weak to
 * deserve the name. */
#define PW_SCRYPT_MAX_N      (1u << 20)
#define PW_SCRYPT_MAX_MEMORY (1024ull * 1024 * 1024)
#define PW_MIN_HASH_BYTES    16
#define PW_MAX_HASH_BYTES    128
#define PW_MIN_SALT_BYTES    8
#define PW_MAKE_SALT_BYTES   16
#define PW_MAKE_HASH_BYTES   32

/* A decimal number without sign or leading junk, within [min, max]. */
static gboolean pw_parse_number(const char *text, guint64 min, guint64 max, guint64 *value)
{
    if (text == NULL || !g_ascii_isdigit(*text))
        return FALSE;
    char *end = NULL;
    guint64 parsed = g_ascii_strtoull(text, &end, 10);
    if (end == NULL || *end != '\0' || parsed < min || parsed > max)
        return FALSE;
    *value = parsed;
    return TRUE;
}

/* Strict base64: only the alphabet, '=' at the end; padding may be missing. */
static guint8 *pw_decode_base64(const char *text, gsize *length)
{
    gsize n = strlen(text);
    gsize padding = 0;
    for (gsize i = 0; i < n; i++) {
        char c = text[i];
        if (c == '=') {
            padding++;
            continue;
        }
        if (padding > 0 || !(g_ascii_isalnum(c) || c == '+' || c == '/'))
            return NULL;
    }
    if (n == 0 || padding > 2)
        return NULL;
    char *padded = g_strnfill((n + 3) / 4 * 4, '=');
    memcpy(padded, text, n);
    guint8 *bytes = g_base64_decode(padded, length);
    g_free(padded);
    return bytes;
}

/* A stored value taken apart. `digest` NULL means scrypt. */
typedef struct pw_parsed {
    const EVP_MD *digest;
    guint64 iterations;
    guint64 n, r, p, memory;
    guint8 *salt;
    gsize salt_length;
    guint8 *hash;
    gsize hash_length;
} pw_parsed;

static void pw_parsed_clear(pw_parsed *parsed)
{
    g_free(parsed->salt);
    g_free(parsed->hash);
}

static gboolean pw_decode_salt_and_hash(const char *salt, const char *hash, pw_parsed *parsed,
                                        const char **reason)
{
    parsed->salt = pw_decode_base64(salt, &parsed->salt_length);
    parsed->hash = pw_decode_base64(hash, &parsed->hash_length);
    if (parsed->salt == NULL || parsed->hash == NULL) {
        *reason = "salt or hash is not base64";
        return FALSE;
    }
    if (parsed->salt_length < PW_MIN_SALT_BYTES) {
        *reason = "salt shorter than 8 bytes";
        return FALSE;
    }
    if (parsed->hash_length < PW_MIN_HASH_BYTES || parsed->hash_length > PW_MAX_HASH_BYTES) {
        *reason = "hash length outside 16..128 bytes";
        return FALSE;
    }
    return TRUE;
}

/* fields: "pbkdf2-sha256", ITER, SALT, HASH */
static gboolean pw_parse_pbkdf2(char **fields, pw_parsed *parsed, const char **reason)
{
    if (g_strv_length(fields) != 4) {
        *reason = "pbkdf2 value needs 4 fields separated by '$'";
        return FALSE;
    }
    if (!pw_parse_number(fields[1], PW_HASH_MIN_ITERATIONS, PW_HASH_MAX_ITERATIONS,
                         &parsed->iterations)) {
        *reason = "pbkdf2 iterations outside 1000..10000000";
        return FALSE;
    }
    return pw_decode_salt_and_hash(fields[2], fields[3], parsed, reason);
}

/* fields: "scrypt", N, r, p, SALT, HASH */
static gboolean pw_parse_scrypt(char **fields, pw_parsed *parsed, const char **reason)
{
    if (g_strv_length(fields) != 6) {
        *reason = "scrypt value needs 6 fields separated by '$'";
        return FALSE;
    }
    guint64 n = 0, r = 0, p = 0;
    if (!pw_parse_number(fields[1], 2, PW_SCRYPT_MAX_N, &n) || (n & (n - 1)) != 0 ||
        !pw_parse_number(fields[2], 1, 64, &r) || !pw_parse_number(fields[3], 1, 64, &p)) {
        *reason = "scrypt N (a power of two up to 2^20), r or p (1..64) out of range";
        return FALSE;
    }
    /* scrypt needs 128 * N * r bytes, plus 128 * r * p; refuse what would not fit. */
    parsed->memory = 128 * n * r + 128 * r * p + 65536;
    if (parsed->memory > PW_SCRYPT_MAX_MEMORY) {
        *reason = "scrypt parameters need more than 1 GiB";
        return FALSE;
    }
    parsed->n = n;
    parsed->r = r;
    parsed->p = p;
    return pw_decode_salt_and_hash(fields[4], fields[5], parsed, reason);
}

/* FALSE with `*reason` set when `stored` is unusable; `parsed` is to be
 * cleared either way. */
static gboolean pw_parse(const char *stored, pw_parsed *parsed, const char **reason)
{
    *reason = NULL;
    if (stored == NULL || *stored == '\0') {
        *reason = "no password hash stored";
        return FALSE;
    }
    char **fields = g_strsplit(stored, "$", -1);
    gboolean ok = FALSE;
    if (strcmp(fields[0], "pbkdf2-sha256") == 0) {
        parsed->digest = EVP_sha256();
        ok = pw_parse_pbkdf2(fields, parsed, reason);
    } else if (strcmp(fields[0], "pbkdf2-sha512") == 0) {
        parsed->digest = EVP_sha512();
        ok = pw_parse_pbkdf2(fields, parsed, reason);
    } else if (strcmp(fields[0], "scrypt") == 0) {
        ok = pw_parse_scrypt(fields, parsed, reason);
    } else {
        *reason = "not a supported hash (clear text or an unknown scheme)";
    }
    g_strfreev(fields);
    return ok;
}

/* Hashes `password` with the parameters of `parsed` into `out` (hash_length
 * bytes). */
static gboolean pw_derive(const pw_parsed *parsed, const char *password, guint8 *out,
                          const char **reason)
{
    if (parsed->digest != NULL) {
        if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), parsed->salt,
                              (int)parsed->salt_length, (int)parsed->iterations, parsed->digest,
                              (int)parsed->hash_length, out) == 1)
            return TRUE;
        *reason = "OpenSSL PBKDF2 failed";
        return FALSE;
    }
    if (EVP_PBE_scrypt(password, strlen(password), parsed->salt, parsed->salt_length, parsed->n,
                       parsed->r, parsed->p, parsed->memory, out, parsed->hash_length) == 1)
        return TRUE;
    *reason = "OpenSSL scrypt failed";
    return FALSE;
}

gboolean pw_hash_is_usable(const char *stored, const char **reason)
{
    pw_parsed parsed = {0};
    gboolean ok = pw_parse(stored, &parsed, reason);
    pw_parsed_clear(&parsed);
    return ok;
}

pw_hash_result pw_hash_verify(const char *stored, const char *password, const char **reason)
{
    pw_parsed parsed = {0};
    if (!pw_parse(stored, &parsed, reason)) {
        pw_parsed_clear(&parsed);
        return PW_HASH_UNUSABLE;
    }
    pw_hash_result result = PW_HASH_MISMATCH;
    if (password != NULL) {
        guint8 *computed = g_malloc(parsed.hash_length);
        if (!pw_derive(&parsed, password, computed, reason))
            result = PW_HASH_UNUSABLE;
        else if (CRYPTO_memcmp(computed, parsed.hash, parsed.hash_length) == 0)
            result = PW_HASH_MATCH;
        OPENSSL_cleanse(computed, parsed.hash_length);
        g_free(computed);
    }
    pw_parsed_clear(&parsed);
    return result;
}

char *pw_hash_make(const char *password, guint iterations, const char **error)
{
    *error = NULL;
    if (password == NULL) {
        *error = "no password";
        return NULL;
    }
    if (iterations == 0)
        iterations = PW_HASH_DEFAULT_ITERATIONS;
    if (iterations < PW_HASH_MIN_ITERATIONS || iterations > PW_HASH_MAX_ITERATIONS) {
        *error = "iterations outside 1000..10000000";
        return NULL;
    }
    guint8 salt[PW_MAKE_SALT_BYTES];
    guint8 hash[PW_MAKE_HASH_BYTES];
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        *error = "OpenSSL's random generator failed";
        return NULL;
    }
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), (int)iterations,
                          EVP_sha256(), sizeof(hash), hash) != 1) {
        *error = "OpenSSL PBKDF2 failed";
        return NULL;
    }
    char *salt64 = g_base64_encode(salt, sizeof(salt));
    char *hash64 = g_base64_encode(hash, sizeof(hash));
    char *made = g_strdup_printf("pbkdf2-sha256$%u$%s$%s", iterations, salt64, hash64);
    OPENSSL_cleanse(hash, sizeof(hash));
    g_free(salt64);
    g_free(hash64);
    return made;
}
