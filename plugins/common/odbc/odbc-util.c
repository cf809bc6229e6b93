/*
 * odbc-util.c - ODBC connections and redacted diagnostics.
 */
#include "odbc-util.h"

#include <stdint.h>
#include <string.h>

char *odbc_redact(const char *text, const char *secret)
{
    static GRegex *pattern;
    if (g_once_init_enter(&pattern)) {
        /* A value is either {braced, with }} for a brace} or runs to the next ';'. */
        GRegex *compiled =
            g_regex_new("\\b(pwd|password)(\\s*=\\s*)(\\{(?:[^}]|\\}\\})*\\}?|[^;]*)",
                        G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&pattern, compiled);
    }
    if (text == NULL)
        return NULL;
    char *redacted = g_regex_replace(pattern, text, -1, 0, "\\1\\2***", 0, NULL);
    if (redacted == NULL)
        redacted = g_strdup("(message withheld)");
    if (secret != NULL && *secret != '\0' && strstr(redacted, secret) != NULL) {
        char **parts = g_strsplit(redacted, secret, -1);
        g_free(redacted);
        redacted = g_strjoinv("***", parts);
        g_strfreev(parts);
    }
    return redacted;
}

char *odbc_diagnostic(SQLSMALLINT type, SQLHANDLE handle, const char *what, const char *secret,
                      char sqlstate[6])
{
    GString *out = g_string_new(what);
    if (sqlstate != NULL)
        sqlstate[0] = '\0';
    for (SQLSMALLINT i = 1; i <= 5 && handle != SQL_NULL_HANDLE; i++) {
        SQLCHAR state[6] = {0};
        SQLCHAR message[512] = {0};
        SQLINTEGER native = 0;
        SQLSMALLINT length = 0;
        SQLRETURN rc = SQLGetDiagRec(type, handle, i, state, &native, message,
                                     (SQLSMALLINT)sizeof(message), &length);
        if (!SQL_SUCCEEDED(rc))
            break;
        if (i == 1 && sqlstate != NULL)
            memcpy(sqlstate, state, 6);
        g_string_append_printf(out, "%s[%s] %s", i == 1 ? ": " : "; ", (char *)state,
                               (char *)message);
    }
    char *redacted = odbc_redact(out->str, secret);
    g_string_free(out, TRUE);
    return redacted;
}

char *odbc_connection_string(const char *target, const char *password)
{
    if (password == NULL || *password == '\0')
        return g_strdup(target);
    char **parts = g_strsplit(password, "}", -1);
    char *quoted = g_strjoinv("}}", parts);
    g_strfreev(parts);
    const char *separator = g_str_has_suffix(target, ";") ? "" : ";";
    char *full = g_strdup_printf("%s%sPWD={%s}", target, separator, quoted);
    g_free(quoted);
    return full;
}

static const char *nonempty(const char *text)
{
    return text != NULL && *text != '\0' ? text : NULL;
}

char *odbc_config_target(const char *dsn, const char *connection_string, const char *user,
                         const char **bad_key, const char **why)
{
    dsn = nonempty(dsn);
    connection_string = nonempty(connection_string);
    user = nonempty(user);
    *bad_key = NULL;
    *why = NULL;
    if ((dsn == NULL) == (connection_string == NULL)) {
        *bad_key = dsn ? "dsn" : "connection_string";
        *why = "set exactly one of dsn and connection_string";
    } else if (dsn != NULL && strpbrk(dsn, ";{}=") != NULL) {
        *bad_key = "dsn";
        *why = "must be a plain data source name";
    } else if (user != NULL && strpbrk(user, ";{}") != NULL) {
        *bad_key = "user";
        *why = "must not contain ; { or }";
    }
    if (*bad_key != NULL)
        return NULL;
    GString *text = g_string_new(NULL);
    if (dsn != NULL)
        g_string_append_printf(text, "DSN=%s", dsn);
    else
        g_string_append(text, connection_string);
    if (user != NULL)
        g_string_append_printf(text, "%sUID=%s", g_str_has_suffix(text->str, ";") ? "" : ";", user);
    return g_string_free(text, FALSE);
}

gboolean odbc_connect(const char *target, const char *password, int timeout_s, SQLHENV *env,
                      SQLHDBC *dbc, char **error)
{
    *env = SQL_NULL_HENV;
    *dbc = SQL_NULL_HDBC;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, env))) {
        *error = g_strdup("ODBC: cannot allocate an environment");
        return FALSE;
    }
    SQLSetEnvAttr(*env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, *env, dbc))) {
        *error = odbc_diagnostic(SQL_HANDLE_ENV, *env, "ODBC: cannot allocate a connection",
                                 password, NULL);
        odbc_disconnect(*env, SQL_NULL_HDBC);
        *env = SQL_NULL_HENV;
        return FALSE;
    }
    if (timeout_s > 0)
        SQLSetConnectAttr(*dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(intptr_t)timeout_s, 0);
    char *connection = odbc_connection_string(target, password);
    SQLRETURN rc = SQLDriverConnect(*dbc, NULL, (SQLCHAR *)connection, SQL_NTS, NULL, 0, NULL,
                                    SQL_DRIVER_NOPROMPT);
    memset(connection, 0, strlen(connection));
    g_free(connection);
    if (!SQL_SUCCEEDED(rc)) {
        *error = odbc_diagnostic(SQL_HANDLE_DBC, *dbc, "ODBC connect failed", password, NULL);
        SQLFreeHandle(SQL_HANDLE_DBC, *dbc);
        SQLFreeHandle(SQL_HANDLE_ENV, *env);
        *env = SQL_NULL_HENV;
        *dbc = SQL_NULL_HDBC;
        return FALSE;
    }
    return TRUE;
}

void odbc_disconnect(SQLHENV env, SQLHDBC dbc)
{
    if (dbc != SQL_NULL_HDBC) {
        SQLDisconnect(dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    }
    if (env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, env);
}
