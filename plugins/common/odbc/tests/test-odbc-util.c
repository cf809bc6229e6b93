/*
 * test-odbc-util.c - plugins/common/odbc alone: the connection string from
 * configuration keys and password redaction (no driver or server needed).
 */
#include <string.h>

#include <glib.h>

#include "odbc-util.h"

/* The connection string from the dsn, connection_string and user keys, and
 * the key named when they do not make one. */
static void test_odbc_config_target(void)
{
    const char *key = NULL, *why = NULL;
    char *target = odbc_config_target("ucd", NULL, "jo", &key, &why);
    g_assert_cmpstr(target, ==, "DSN=ucd;UID=jo");
    g_assert_null(key);
    g_free(target);
    target = odbc_config_target("", "Driver=X;Server=h;", "", &key, &why);
    g_assert_cmpstr(target, ==, "Driver=X;Server=h;");
    g_free(target);
    target = odbc_config_target(NULL, "Driver=X", "jo", &key, &why);
    g_assert_cmpstr(target, ==, "Driver=X;UID=jo");
    g_free(target);

    g_assert_null(odbc_config_target(NULL, "", NULL, &key, &why));
    g_assert_cmpstr(key, ==, "connection_string");
    g_assert_nonnull(strstr(why, "exactly one"));
    g_assert_null(odbc_config_target("ucd", "Driver=X", NULL, &key, &why));
    g_assert_cmpstr(key, ==, "dsn");
    g_assert_null(odbc_config_target("ucd;PWD=x", NULL, NULL, &key, &why));
    g_assert_cmpstr(key, ==, "dsn");
    g_assert_null(odbc_config_target("ucd", NULL, "jo;PWD=x", &key, &why));
    g_assert_cmpstr(key, ==, "user");
}

/* Every PWD=/Password= value (any case) and the secret itself become ***,
 * whatever else the text says. */
static void test_odbc_redact(void)
{
    char *r = odbc_redact("DSN=ucd;UID=jo;PWD=s3cret;pwd={x;y};Password=p", NULL);
    g_assert_null(strstr(r, "s3cret"));
    g_assert_null(strstr(r, "=p"));
    g_assert_nonnull(strstr(r, "UID=jo"));
    g_free(r);
    r = odbc_redact("login failed for s3cret at host", "s3cret");
    g_assert_cmpstr(r, ==, "login failed for *** at host");
    g_free(r);
    r = odbc_redact("nothing to hide", "");
    g_assert_cmpstr(r, ==, "nothing to hide");
    g_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/odbc/config-target", test_odbc_config_target);
    g_test_add_func("/odbc/redact", test_odbc_redact);
    return g_test_run();
}
