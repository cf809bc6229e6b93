/*
 * test-pw-hash.c - plugins/common/password alone: every format against
 * hashes made by an independent implementation (Python's hashlib), the
 * values that must be refused, and pw_hash_make()'s output read back.
 */
#include <string.h>

#include <glib.h>

#include "pw-hash.h"

/* Made with Python's hashlib.pbkdf2_hmac and hashlib.scrypt. */
#define HASH_SHA256                                                                                \
    "pbkdf2-sha256$1500$cHctaGFzaC10ZXN0LXNhbHQ=$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I="
#define HASH_SHA512                                                                                \
    "pbkdf2-sha512$1200$YW5vdGhlciBzYWx0IDEyMzQ=$CHS6U3iz4Xk6qEowg/SC3mjGKUeijhxN8OvRv9eaiEzJE8J6" \
    "kNbK/RWZxsFv8JNf2YfxMK1IBCI9hyLjSxPuTg=="
#define HASH_SCRYPT "scrypt$2048$4$2$c2NyeXB0LXZlY3Rvci1zYWx0$Z+a4yqYQhgmpUmIkLnTJKWfwz2GLOWk0"

static pw_hash_result verify(const char *stored, const char *password)
{
    const char *reason = "unset";
    pw_hash_result result = pw_hash_verify(stored, password, &reason);
    if (result == PW_HASH_UNUSABLE)
        g_assert_nonnull(reason);
    else
        g_assert_null(reason);
    return result;
}

static void test_formats(void)
{
    g_assert_cmpint(verify(HASH_SHA256, "Tr0mbone!"), ==, PW_HASH_MATCH);
    g_assert_cmpint(verify(HASH_SHA256, "tr0mbone!"), ==, PW_HASH_MISMATCH);
    g_assert_cmpint(verify(HASH_SHA256, ""), ==, PW_HASH_MISMATCH);
    g_assert_cmpint(verify(HASH_SHA256, NULL), ==, PW_HASH_MISMATCH);
    g_assert_cmpint(verify(HASH_SHA512, "Grüße"), ==, PW_HASH_MATCH);
    g_assert_cmpint(verify(HASH_SHA512, "Grusse"), ==, PW_HASH_MISMATCH);
    g_assert_cmpint(verify(HASH_SCRYPT, "hunter2"), ==, PW_HASH_MATCH);
    g_assert_cmpint(verify(HASH_SCRYPT, "hunter3"), ==, PW_HASH_MISMATCH);
    const char *reason = NULL;
    g_assert_true(pw_hash_is_usable(HASH_SHA256, &reason));
    g_assert_true(pw_hash_is_usable(HASH_SHA512, &reason));
    g_assert_true(pw_hash_is_usable(HASH_SCRYPT, &reason));
    /* Padding is optional. */
    g_assert_true(pw_hash_is_usable(
        "pbkdf2-sha256$1500$cHctaGFzaC10ZXN0LXNhbHQ$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I",
        &reason));
}

/* Each value must be refused before anything is hashed, with a reason that
 * never quotes it: clear text in a store is a password. */
static void test_unusable(void)
{
    static const char *const bad[] = {
        "",
        "plain-password",
        "pbkdf2-sha256",
        "pbkdf2-sha256$999$cHctaGFzaC10ZXN0LXNhbHQ==$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I=",
        "pbkdf2-sha256$10000001$cHctaGFzaC10ZXN0LXNhbHQ==$hsH1f3w8qjz4ZqE/AGVUkRu0dBKssCAGxV1QP5PI",
        "pbkdf2-sha256$+1000$cHctaGFzaC10ZXN0LXNhbHQ==$"
        "GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I=",
        "pbkdf2-sha256$1000$c2FsdA==$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I=",
        "pbkdf2-sha256$1000$cHctaGFzaC10ZXN0LXNhbHQ==$c2hvcnQ=",
        "pbkdf2-sha256$1000$c2Fsd*NhbHQxMjM0NTY3OA==$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I=",
        "pbkdf2-sha256$1000$cHctaGFzaC10ZXN0LXNhbHQ==$hsH1f3w8qjz4ZqE/"
        "AGVUkRu0dBKssCAGxV1QP5PILlw=$x",
        "pbkdf2-md5$1000$cHctaGFzaC10ZXN0LXNhbHQ==$GDvusCaaQls3LWpkoP2YslI2dmSpdUE6haFHp6m1x6I=",
        "scrypt$1000$8$1$c2NyeXB0LXZlY3Rvci1zYWx0$Z+a4yqYQhgmpUmIkLnTJKWfwz2GLOWk0",
        "scrypt$1048576$64$1$c2NyeXB0LXZlY3Rvci1zYWx0$Z+a4yqYQhgmpUmIkLnTJKWfwz2GLOWk0",
        "scrypt$1024$8$c2NyeXB0LXZlY3Rvci1zYWx0$Z+a4yqYQhgmpUmIkLnTJKWfwz2GLOWk0",
        "$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *reason = NULL;
        g_assert_false(pw_hash_is_usable(bad[i], &reason));
        g_assert_nonnull(reason);
        if (*bad[i] != '\0')
            g_assert_null(strstr(reason, bad[i]));
        g_assert_cmpint(verify(bad[i], bad[i]), ==, PW_HASH_UNUSABLE);
    }
    const char *reason = NULL;
    g_assert_false(pw_hash_is_usable(NULL, &reason));
    g_assert_cmpint(verify(NULL, "x"), ==, PW_HASH_UNUSABLE);
}

/* A made hash is the documented format, verifies, and differs every time
 * (a fresh salt). */
static void test_make(void)
{
    const char *error = "unset";
    char *a = pw_hash_make("correct horse", 1000, &error);
    g_assert_null(error);
    char *b = pw_hash_make("correct horse", 1000, &error);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_cmpstr(a, !=, b);
    g_assert_true(g_str_has_prefix(a, "pbkdf2-sha256$1000$"));
    char **fields = g_strsplit(a, "$", -1);
    g_assert_cmpuint(g_strv_length(fields), ==, 4);
    gsize length = 0;
    g_free(g_base64_decode(fields[2], &length));
    g_assert_cmpuint(length, ==, 16);
    g_free(g_base64_decode(fields[3], &length));
    g_assert_cmpuint(length, ==, 32);
    g_strfreev(fields);
    g_assert_cmpint(verify(a, "correct horse"), ==, PW_HASH_MATCH);
    g_assert_cmpint(verify(b, "correct horse"), ==, PW_HASH_MATCH);
    g_assert_cmpint(verify(a, "correct horse "), ==, PW_HASH_MISMATCH);
    g_free(a);
    g_free(b);

    /* UTF-8 and an empty password are passwords too. */
    char *c = pw_hash_make("Grüße", 1000, &error);
    g_assert_cmpint(verify(c, "Grüße"), ==, PW_HASH_MATCH);
    g_free(c);
    char *d = pw_hash_make("", 1000, &error);
    g_assert_cmpint(verify(d, ""), ==, PW_HASH_MATCH);
    g_free(d);

    g_assert_null(pw_hash_make("x", 999, &error));
    g_assert_nonnull(error);
    g_assert_null(pw_hash_make("x", PW_HASH_MAX_ITERATIONS + 1, &error));
    g_assert_nonnull(error);
    g_assert_null(pw_hash_make(NULL, 1000, &error));
    g_assert_nonnull(error);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/password/formats", test_formats);
    g_test_add_func("/password/unusable", test_unusable);
    g_test_add_func("/password/make", test_make);
    return g_test_run();
}
