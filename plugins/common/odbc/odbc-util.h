/*
 * odbc-util.h - what every plugin that speaks ODBC needs first: a connection
 * with a login timeout, and error texts that say what the driver said but
 * never contain a password.
 */
#ifndef UCD_ODBC_UTIL_H
#define UCD_ODBC_UTIL_H

#include <sql.h>
#include <sqlext.h>

#include <glib.h>

/* A copy of `text` in which the value of every PWD=, Password= (any case)
 * setting of a connection string, and `secret` itself when not NULL or
 * empty, are replaced by "***". For every message that could quote a
 * connection string. g_free the result. */
char *odbc_redact(const char *text, const char *secret);

/* "what: [SQLSTATE] driver message; ..." for the diagnostic records of
 * `handle`, redacted with `secret`. When `sqlstate` is not NULL it gets the
 * first record's SQLSTATE (6 bytes, "" when none). g_free the result. */
char *odbc_diagnostic(SQLSMALLINT type, SQLHANDLE handle, const char *what, const char *secret,
                      char sqlstate[6]);

/* `target` (a connection string, "DSN=name;..." for a data source) with
 * PWD={password} appended when `password` is not NULL or empty (braces
 * doubled as ODBC quotes them). g_free the result; it holds the password. */
char *odbc_connection_string(const char *target, const char *password);

/* The configuration keys a plugin connects with (see odbc_config_target),
 * for its key table; `help_prefix` goes in front of each help text ("" or
 * "odbc: "). Needs <ucd/ucd.h>. (Formatted by hand: clang-format cannot lay
 * out a macro of initializers readably.) */
// clang-format off
#define ODBC_UTIL_CONNECTION_KEYS(help_prefix)                                                     \
    {"dsn", UCD_CONFIG_STRING, 0, NULL, help_prefix "a data source name from odbc.ini"},           \
    {"connection_string", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL,                                 \
     help_prefix "an ODBC connection string (Driver=...;Server=...), instead of dsn"},             \
    {"user", UCD_CONFIG_STRING, 0, NULL, help_prefix "user name, appended as UID"},                \
    {"password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, help_prefix "password, appended as PWD"}
// clang-format on

/* The connection string (without the password) that the keys `dsn`,
 * `connection_string` and `user` describe (NULL or "" when not set):
 * "DSN=dsn" or the connection string, then ";UID=user" when a user is given.
 * NULL when they are not usable, with `*bad_key` (the key to name in the
 * configuration error) and `*why` set to static texts: not exactly one of
 * dsn and connection_string, a dsn that is not a plain name, a user with
 * ';', '{' or '}' (which would change the connection string). g_free the
 * result. */
char *odbc_config_target(const char *dsn, const char *connection_string, const char *user,
                         const char **bad_key, const char **why);

/* Allocates an environment (ODBC 3) and a connection and connects to
 * `target` + `password` with a login timeout of `timeout_s` seconds (0 =
 * the driver's). TRUE with `*env` and `*dbc` set, or FALSE with `*error`
 * set (redacted) and nothing left allocated. */
gboolean odbc_connect(const char *target, const char *password, int timeout_s, SQLHENV *env,
                      SQLHDBC *dbc, char **error);
/* Disconnects and frees what odbc_connect made; NULL handles are skipped. */
void odbc_disconnect(SQLHENV env, SQLHDBC dbc);

#endif /* UCD_ODBC_UTIL_H */
