/*
 * sql-password-hash.c - PBKDF2 and scrypt verification with OpenSSL (sql-password-hash.h).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "sql-password-hash.h"

/* Bounds that keep one login check affordable and refuse hashes too weak to
 * deserve the name. */
#define US_PBKDF2_MIN_ITERATIONS 1000
#define US_PBKDF2_MAX_ITERATIONS 10000000
#define US_SCRYPT_MAX_N          (1u << 20)
#define US_SCRYPT_MAX_MEMORY     (1024ull * 1024 * 1024)
#define US_MIN_HASH_BYTES        16
#define US_MAX_HASH_BYTES        128
#define US_MIN_SALT_BYTES        8

/* A decimal number without sign or leading junk, within [min, max]. */
static gboolean us_parse_number(const char *text, guint64 min, guint64 max, guint64 *value)
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
static guint8 *us_decode_base64(const char *text, gsize *length)
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

typedef struct us_hash_parts {
    guint8 *salt;
    gsize salt_length;
    guint8 *hash;
    gsize hash_length;
} us_hash_parts;

static void us_hash_parts_clear(us_hash_parts *parts)
{
    g_free(parts->salt);
    g_free(parts->hash);
}

static gboolean us_decode_salt_and_hash(const char *salt, const char *hash, us_hash_parts *parts,
                                        const char **reason)
{
    parts->salt = us_decode_base64(salt, &parts->salt_length);
    parts->hash = us_decode_base64(hash, &parts->hash_length);
    if (parts->salt == NULL || parts->hash == NULL) {
        *reason = "salt or hash is not base64";
        return FALSE;
    }
    if (parts->salt_length < US_MIN_SALT_BYTES) {
        *reason = "salt shorter than 8 bytes";
        return FALSE;
    }
    if (parts->hash_length < US_MIN_HASH_BYTES || parts->hash_length > US_MAX_HASH_BYTES) {
        *reason = "hash length outside 16..128 bytes";
        return FALSE;
    }
    return TRUE;
}

static us_hash_result us_compare(const guint8 *computed, const us_hash_parts *parts)
{
    return CRYPTO_memcmp(computed, parts->hash, parts->hash_length) == 0 ? US_HASH_MATCH
                                                                         : US_HASH_MISMATCH;
}

/* fields: "pbkdf2-sha256", ITER, SALT, HASH */
static us_hash_result us_verify_pbkdf2(char **fields, const EVP_MD *digest, const char *password,
                                       const char **reason)
{
    guint64 iterations = 0;
    if (g_strv_length(fields) != 4) {
        *reason = "pbkdf2 value needs 4 fields separated by '$'";
        return US_HASH_UNUSABLE;
    }
    if (!us_parse_number(fields[1], US_PBKDF2_MIN_ITERATIONS, US_PBKDF2_MAX_ITERATIONS,
                         &iterations)) {
        *reason = "pbkdf2 iterations outside 1000..10000000";
        return US_HASH_UNUSABLE;
    }
    us_hash_parts parts = {0};
    us_hash_result result = US_HASH_UNUSABLE;
    if (us_decode_salt_and_hash(fields[2], fields[3], &parts, reason)) {
        guint8 *computed = g_malloc(parts.hash_length);
        if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), parts.salt, (int)parts.salt_length,
                              (int)iterations, digest, (int)parts.hash_length, computed) == 1)
            result = us_compare(computed, &parts);
        else
            *reason = "OpenSSL PBKDF2 failed";
        OPENSSL_cleanse(computed, parts.hash_length);
        g_free(computed);
    }
    us_hash_parts_clear(&parts);
    return result;
}

/* fields: "scrypt", N, r, p, SALT, HASH */
static us_hash_result us_verify_scrypt(char **fields, const char *password, const char **reason)
{
    guint64 n = 0, r = 0, p = 0;
    if (g_strv_length(fields) != 6) {
        *reason = "scrypt value needs 6 fields separated by '$'";
        return US_HASH_UNUSABLE;
    }
    if (!us_parse_number(fields[1], 2, US_SCRYPT_MAX_N, &n) || (n & (n - 1)) != 0 ||
        !us_parse_number(fields[2], 1, 64, &r) || !us_parse_number(fields[3], 1, 64, &p)) {
        *reason = "scrypt N (a power of two up to 2^20), r or p (1..64) out of range";
        return US_HASH_UNUSABLE;
    }
    /* scrypt needs 128 * N * r bytes, plus 128 * r * p; refuse what would not fit. */
    guint64 memory = 128 * n * r + 128 * r * p + 65536;
    if (memory > US_SCRYPT_MAX_MEMORY) {
        *reason = "scrypt parameters need more than 1 GiB";
        return US_HASH_UNUSABLE;
    }
    us_hash_parts parts = {0};
    us_hash_result result = US_HASH_UNUSABLE;
    if (us_decode_salt_and_hash(fields[4], fields[5], &parts, reason)) {
        guint8 *computed = g_malloc(parts.hash_length);
        if (EVP_PBE_scrypt(password, strlen(password), parts.salt, parts.salt_length, n, r, p,
                           memory, computed, parts.hash_length) == 1)
            result = us_compare(computed, &parts);
        else
            *reason = "OpenSSL scrypt failed";
        OPENSSL_cleanse(computed, parts.hash_length);
        g_free(computed);
    }
    us_hash_parts_clear(&parts);
    return result;
}

us_hash_result us_hash_verify(const char *stored, const char *password, const char **reason)
{
    *reason = NULL;
    if (stored == NULL || *stored == '\0') {
        *reason = "no password hash stored";
        return US_HASH_UNUSABLE;
    }
    if (password == NULL)
        return US_HASH_MISMATCH;
    char **fields = g_strsplit(stored, "$", -1);
    us_hash_result result;
    if (strcmp(fields[0], "pbkdf2-sha256") == 0) {
        result = us_verify_pbkdf2(fields, EVP_sha256(), password, reason);
    } else if (strcmp(fields[0], "pbkdf2-sha512") == 0) {
        result = us_verify_pbkdf2(fields, EVP_sha512(), password, reason);
    } else if (strcmp(fields[0], "scrypt") == 0) {
        result = us_verify_scrypt(fields, password, reason);
    } else {
        *reason = "not a supported hash (clear text or an unknown scheme)";
        result = US_HASH_UNUSABLE;
    }
    g_strfreev(fields);
    return result;
}
