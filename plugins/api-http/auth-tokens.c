/*
 * auth-tokens.c - random tokens and their hashes (auth-tokens.h).
 *
 * A plain unsalted SHA-256 is right here, unlike for passwords: the input is
 * 256 random bits, so there is no dictionary to try and no need to slow
 * anyone down; and an unsalted hash is what lets a request's token be found
 * by a hash-table lookup instead of a scan.
 */
#include "auth-tokens.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define AUTH_TOKEN_BYTES      32
#define AUTH_SESSION_ID_BYTES 12

/* base64url (RFC 4648 section 5) without '=' padding: safe in URLs, headers
 * and file names as it is. */
static char *base64url(const guchar *bytes, gsize length)
{
    char *text = g_base64_encode(bytes, length);
    char *out = text;
    for (char *p = text; *p; p++) {
        if (*p == '=')
            continue;
        *out++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    *out = '\0';
    return text;
}

static char *random_text(const char *prefix, gsize length)
{
    guchar bytes[AUTH_TOKEN_BYTES];
    g_assert(length <= sizeof bytes);
    if (RAND_bytes(bytes, (int)length) != 1)
        return NULL;
    char *body = base64url(bytes, length);
    OPENSSL_cleanse(bytes, sizeof bytes);
    char *token = g_strconcat(prefix, body, NULL);
    OPENSSL_cleanse(body, strlen(body));
    g_free(body);
    return token;
}

char *auth_token_new(const char *prefix)
{
    return random_text(prefix, AUTH_TOKEN_BYTES);
}

char *auth_session_id_new(void)
{
    return random_text("", AUTH_SESSION_ID_BYTES);
}

/* OpenSSL 3 looks SHA-256 up in its providers on every EVP_sha256() digest
 * unless the algorithm was fetched once; every request hashes its token. */
static const EVP_MD *sha256(void)
{
    static gsize fetched = 0;
    if (g_once_init_enter(&fetched)) {
        EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (md == NULL)
            g_error("SHA-256 is not available from OpenSSL");
        g_once_init_leave(&fetched, (gsize)md); /* kept for the process's life */
    }
    return (const EVP_MD *)fetched;
}

char *auth_token_hash(const char *token)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(token, strlen(token), digest, &length, sha256(), NULL) != 1)
        g_error("SHA-256 is not available from OpenSSL");
    /* lower-case hex, as the hashes already stored in sessions.db are */
    char *hex = g_malloc(length * 2 + 1);
    for (unsigned int i = 0; i < length; i++) {
        hex[i * 2] = digits[digest[i] >> 4];
        hex[i * 2 + 1] = digits[digest[i] & 0xf];
    }
    hex[length * 2] = '\0';
    return hex;
}

gboolean auth_hash_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return FALSE;
    size_t length = strlen(a);
    return length == strlen(b) && CRYPTO_memcmp(a, b, length) == 0;
}
