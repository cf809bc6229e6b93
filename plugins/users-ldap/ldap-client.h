/*
 * ldap-client.h - the plugin's use of libldap: connecting with TLS verified by
 * default, fail-over over several URIs, simple binds, and paged searches
 * (RFC 2696) that a server's size limit cannot truncate.
 *
 * Every function here blocks: call them from a work function, never on the
 * main loop. Nothing here logs a password or keeps one after the call.
 */
#ifndef USERS_LDAP_CLIENT_H
#define USERS_LDAP_CLIENT_H

#include <glib.h>
#include <ldap.h>

/* How to reach the directory: copied from the configuration at init and
 * read-only afterwards, so work functions on several threads share it. */
typedef struct ul_server_config {
    char **uris;         /* ldap:// or ldaps://, tried in order */
    gboolean starttls;   /* StartTLS on ldap:// URIs */
    gboolean tls_verify; /* FALSE only when the admin said so */
    char *ca_file;
    char *ca_dir;
    char *bind_dn;       /* NULL: anonymous */
    char *bind_password; /* secret */
    int timeout_s;
    int page_size;
} ul_server_config;

/* Connects to the first URI of `config` that answers, StartTLS when asked,
 * and binds as the service account, each URI within `timeout_s` whatever
 * the server does (a TLS handshake that gets no answer included). NULL with
 * the reasons in `*error`, one sentence per URI naming it (a timeout, what
 * is wrong with a certificate, a server that wants TLS, a refused bind;
 * never the password); `*unavailable` tells a server that could not be
 * reached or timed out (TRUE) from one that refused. When a later URI
 * served, `*skipped` (may be NULL) gets why the earlier ones did not. */
LDAP *ul_ldap_connect(const ul_server_config *config, char **error, gboolean *unavailable,
                      char **skipped);

/* Connects like ul_ldap_connect but binds as `dn` with `password`: the login
 * check. Returns LDAP_SUCCESS, LDAP_INVALID_CREDENTIALS, or another libldap
 * code (LDAP_SERVER_DOWN when no URI answered). The connection is closed. */
int ul_ldap_check_password(const ul_server_config *config, const char *dn, const char *password);

/* Called for each entry of a search; return FALSE to stop (the search then
 * fails with "stopped"). */
typedef gboolean (*ul_entry_fn)(LDAP *ld, LDAPMessage *entry, void *data);
/* Called after each page with the entries read so far and the server's
 * estimate of the total (0: unknown). */
typedef void (*ul_page_fn)(guint64 read, guint64 estimate, void *data);

/* Searches `base` with `scope` and `filter` page by page and calls `on_entry`
 * for each entry. `attrs` is NULL-terminated. `paged` FALSE sends one plain
 * search (for the root DSE). TRUE when the whole result arrived; FALSE with
 * `*error` set when the search failed at any page: the caller must then
 * treat what it saw as incomplete. `cancel` (may be NULL) is polled between
 * pages. */
gboolean ul_ldap_search(LDAP *ld, const ul_server_config *config, const char *base, int scope,
                        const char *filter, char **attrs, gboolean paged, ul_entry_fn on_entry,
                        ul_page_fn on_page, void *data, const gint *cancel, char **error);

/* RFC 4515: `value` escaped for use inside a filter ("*" -> "\2a"). Free with
 * g_free. */
char *ul_ldap_escape_filter_value(const char *value);

void ul_ldap_close(LDAP *ld);

#endif /* USERS_LDAP_CLIENT_H */
