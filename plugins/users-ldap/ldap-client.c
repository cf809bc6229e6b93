/*
 * ldap-client.c - connecting, binding and paged searching with libldap
 * (ldap-client.h).
 *
 * TLS options are set on each handle and then made effective with
 * LDAP_OPT_X_TLS_NEWCTX: libldap's global TLS context would otherwise be
 * shared with every other user of the library in the process, and with
 * whatever LDAPTLS_* variables or ldaprc files the environment holds.
 */
#include <string.h>
#include <sys/socket.h>

#include "ldap-client.h"
#include "ldap-tls-diagnose.h"

static char *ul_diagnostic(LDAP *ld, int rc)
{
    char *diag = NULL;
    if (ld != NULL)
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    char *text = diag != NULL && *diag != '\0'
                     ? g_strdup_printf("%s (%s)", ldap_err2string(rc), diag)
                     : g_strdup(ldap_err2string(rc));
    ldap_memfree(diag);
    return text;
}

static void ul_set_timeouts(LDAP *ld, const ul_server_config *config)
{
    struct timeval timeout = {.tv_sec = config->timeout_s, .tv_usec = 0};
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &timeout);
}

/* Per-handle TLS: verification on unless configured off, with the CA of the
 * configuration. libldap checks the host name against the certificate when
 * it demands one. */
static int ul_set_tls(LDAP *ld, const ul_server_config *config)
{
    int require = config->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
    if (rc == LDAP_OPT_SUCCESS && config->ca_file != NULL)
        rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, config->ca_file);
    if (rc == LDAP_OPT_SUCCESS && config->ca_dir != NULL)
        rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, config->ca_dir);
    int is_server = 0;
    if (rc == LDAP_OPT_SUCCESS)
        rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
    return rc;
}

/* ---- a deadline for connecting, TLS and binding ------------------------------ */

/* libldap has no timeout for the TLS handshake: a server that accepts the
 * connection and never answers it hangs ldaps:// and StartTLS for good
 * (LDAP_OPT_NETWORK_TIMEOUT covers connect(), LDAP_OPT_TIMEOUT the LDAP
 * operations; socket timeouts and a non-blocking socket did not help with
 * GnuTLS). So a watchdog thread shuts the socket down at the deadline: a
 * blocked read then ends at once and the attempt fails like a dead server.
 * libldap hands over the socket in its connection callback (called after
 * connect(), before TLS) and takes it back in lc_del before closing it, so
 * the watchdog never touches a descriptor reused by someone else. The watch
 * lives as long as the handle: lc_del with a NULL Sockbuf frees it. */
typedef struct ul_watch {
    ldap_conncb callbacks; /* first: libldap keeps a pointer to it */
    GMutex lock;
    GCond cond;
    int fd;             /* -1: no socket (yet, or any more) */
    gboolean connected; /* TCP connect succeeded at least once */
    gboolean fired;     /* the deadline shut the socket down */
    gboolean stopped;
    gint64 deadline; /* monotonic, microseconds */
    GThread *thread;
} ul_watch;

static gpointer ul_watch_run(gpointer data)
{
    ul_watch *watch = data;
    g_mutex_lock(&watch->lock);
    while (!watch->stopped && g_get_monotonic_time() < watch->deadline)
        g_cond_wait_until(&watch->cond, &watch->lock, watch->deadline);
    if (!watch->stopped && watch->fd >= 0) {
        shutdown(watch->fd, SHUT_RDWR);
        watch->fired = TRUE;
    }
    g_mutex_unlock(&watch->lock);
    return NULL;
}

static int ul_watch_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
                        struct ldap_conncb *ctx)
{
    ul_watch *watch = ctx->lc_arg;
    int fd = -1;
    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd);
    g_mutex_lock(&watch->lock);
    watch->fd = fd;
    watch->connected = TRUE;
    g_mutex_unlock(&watch->lock);
    return 0;
}

/* Stops the watchdog (the deadline no longer applies); idempotent. */
static void ul_watch_stop(ul_watch *watch)
{
    g_mutex_lock(&watch->lock);
    watch->stopped = TRUE;
    g_cond_signal(&watch->cond);
    g_mutex_unlock(&watch->lock);
    if (watch->thread != NULL)
        g_thread_join(watch->thread);
    watch->thread = NULL;
}

static void ul_watch_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
    ul_watch *watch = ctx->lc_arg;
    g_mutex_lock(&watch->lock);
    watch->fd = -1;
    g_mutex_unlock(&watch->lock);
    if (sb != NULL)
        return;
    /* The handle is being freed. */
    ul_watch_stop(watch);
    g_mutex_clear(&watch->lock);
    g_cond_clear(&watch->cond);
    g_free(watch);
}

/* Watches `ld` from now until ul_watch_stop, `timeout_s` at most. */
static ul_watch *ul_watch_new(LDAP *ld, int timeout_s)
{
    ul_watch *watch = g_new0(ul_watch, 1);
    watch->callbacks.lc_add = ul_watch_add;
    watch->callbacks.lc_del = ul_watch_del;
    watch->callbacks.lc_arg = watch;
    g_mutex_init(&watch->lock);
    g_cond_init(&watch->cond);
    watch->fd = -1;
    watch->deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &watch->callbacks) != LDAP_OPT_SUCCESS) {
        g_mutex_clear(&watch->lock);
        g_cond_clear(&watch->cond);
        g_free(watch);
        return NULL;
    }
    watch->thread = g_thread_new("ldap-deadline", ul_watch_run, watch);
    return watch;
}

/* ---- opening and binding ------------------------------------------------------- */

static gboolean ul_uses_tls(const ul_server_config *config, const char *uri)
{
    return g_ascii_strncasecmp(uri, "ldaps://", 8) == 0 || config->starttls;
}

/* Why connecting to `uri` failed with `rc`, in its own sentence: a deadline
 * that passed, a TLS handshake (what is wrong with the certificate, read by
 * ul_tls_diagnose), a server that wants TLS before a simple bind, a refused
 * bind, or a server that cannot be reached. Never the password. */
static char *ul_explain(const ul_server_config *config, const char *uri, LDAP *ld, int rc,
                        ul_watch *watch, const char *step, const char *dn)
{
    gboolean connected = watch != NULL && watch->connected;
    if (watch != NULL && watch->fired)
        return g_strdup_printf("no answer within %d s%s (timeout)", config->timeout_s,
                               ul_uses_tls(config, uri) && connected
                                   ? ": the server accepted the connection but did not "
                                     "complete the TLS handshake"
                                   : "");
    if (rc == LDAP_CONFIDENTIALITY_REQUIRED || rc == LDAP_STRONG_AUTH_REQUIRED)
        return g_strdup_printf("the server requires TLS before a simple bind (%s): set "
                               "starttls = true or use an ldaps:// URI",
                               ldap_err2string(rc));
    gboolean lost = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
    if (lost && connected && ul_uses_tls(config, uri)) {
        char *why =
            config->tls_verify ? ul_tls_diagnose(uri, config->ca_file, config->timeout_s) : NULL;
        char *text = g_strdup_printf("TLS failed: %s",
                                     why != NULL ? why
                                                 : "the handshake did not succeed (libldap "
                                                   "says no more)");
        g_free(why);
        return text;
    }
    if (lost || rc == LDAP_TIMEOUT)
        return g_strdup_printf("cannot reach the server: %s", ldap_err2string(rc));
    char *diag = ul_diagnostic(ld, rc);
    char *text = dn != NULL ? g_strdup_printf("%s as \"%s\" refused: %s", step, dn, diag)
                            : g_strdup_printf("%s failed: %s", step, diag);
    g_free(diag);
    return text;
}

static LDAP *ul_open(const ul_server_config *config, const char *uri, int *rc, char **why,
                     ul_watch **watch)
{
    LDAP *ld = NULL;
    *watch = NULL;
    *rc = ldap_initialize(&ld, uri);
    if (*rc != LDAP_SUCCESS) {
        *why = g_strdup_printf("%s: %s", uri, ldap_err2string(*rc));
        return NULL;
    }
    int version = LDAP_VERSION3;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ul_set_timeouts(ld, config);
    *rc = ul_set_tls(ld, config);
    if (*rc != LDAP_SUCCESS) {
        *why = g_strdup_printf("%s: TLS setup: %s", uri, ldap_err2string(*rc));
        ldap_unbind_ext_s(ld, NULL, NULL);
        return NULL;
    }
    *watch = ul_watch_new(ld, config->timeout_s);
    if (config->starttls && g_ascii_strncasecmp(uri, "ldap://", 7) == 0) {
        *rc = ldap_start_tls_s(ld, NULL, NULL);
        if (*rc != LDAP_SUCCESS) {
            char *text = ul_explain(config, uri, ld, *rc, *watch, "StartTLS", NULL);
            *why = g_str_has_prefix(text, "StartTLS")
                       ? g_strdup_printf("%s: %s", uri, text)
                       : g_strdup_printf("%s: StartTLS failed: %s", uri, text);
            g_free(text);
            ldap_unbind_ext_s(ld, NULL, NULL);
            *watch = NULL;
            return NULL;
        }
    }
    return ld;
}

static int ul_bind(LDAP *ld, const char *dn, const char *password)
{
    struct berval cred = {
        .bv_val = (char *)(password != NULL ? password : ""),
        .bv_len = password != NULL ? strlen(password) : 0,
    };
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

static gboolean ul_is_unreachable(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

/* Opens and binds to the first URI that works. */
static LDAP *ul_open_bound(const ul_server_config *config, const char *dn, const char *password,
                           int *rc_out, char **error, char **skipped)
{
    GString *reasons = g_string_new(NULL);
    int rc = LDAP_SERVER_DOWN;
    for (char **uri = config->uris; uri != NULL && *uri != NULL; uri++) {
        char *why = NULL;
        ul_watch *watch = NULL;
        LDAP *ld = ul_open(config, *uri, &rc, &why, &watch);
        if (ld != NULL) {
            rc = ul_bind(ld, dn, password);
            if (watch != NULL)
                ul_watch_stop(watch);
            if (rc == LDAP_SUCCESS) {
                if (skipped != NULL && reasons->len > 0)
                    *skipped = g_strdup(reasons->str);
                g_string_free(reasons, TRUE);
                *rc_out = rc;
                return ld;
            }
            /* A deadline that fired ends the attempt as a dead server would. */
            if (watch != NULL && watch->fired)
                rc = LDAP_TIMEOUT;
            char *text = ul_explain(config, *uri, ld, rc, watch, "bind", dn != NULL ? dn : "");
            why = g_strdup_printf("%s: %s", *uri, text);
            g_free(text);
            ldap_unbind_ext_s(ld, NULL, NULL);
        }
        if (reasons->len > 0)
            g_string_append(reasons, "; ");
        g_string_append(reasons, why);
        g_free(why);
        /* Wrong credentials are wrong on every replica: no fail-over. */
        if (!ul_is_unreachable(rc))
            break;
    }
    if (reasons->len == 0)
        g_string_append(reasons, "no LDAP URI configured");
    *rc_out = rc;
    if (error != NULL)
        *error = g_string_free(reasons, FALSE);
    else
        g_string_free(reasons, TRUE);
    return NULL;
}

LDAP *ul_ldap_connect(const ul_server_config *config, char **error, gboolean *unavailable,
                      char **skipped)
{
    int rc = LDAP_SUCCESS;
    LDAP *ld = ul_open_bound(config, config->bind_dn, config->bind_password, &rc, error, skipped);
    if (unavailable != NULL)
        *unavailable = ld == NULL && ul_is_unreachable(rc);
    return ld;
}

int ul_ldap_check_password(const ul_server_config *config, const char *dn, const char *password)
{
    int rc = LDAP_SUCCESS;
    LDAP *ld = ul_open_bound(config, dn, password, &rc, NULL, NULL);
    ul_ldap_close(ld);
    return rc;
}

void ul_ldap_close(LDAP *ld)
{
    if (ld != NULL)
        ldap_unbind_ext_s(ld, NULL, NULL);
}

/* ---- searching ---------------------------------------------------------------- */

typedef struct ul_page {
    struct berval *cookie; /* NULL or empty: no more pages */
    ber_int_t estimate;
} ul_page;

/* Reads the result message of one page: its code, and the paging cookie. */
static int ul_page_result(LDAP *ld, LDAPMessage *result, ul_page *page, char **diag)
{
    int code = LDAP_SUCCESS;
    char *message = NULL;
    LDAPControl **controls = NULL;
    int rc = ldap_parse_result(ld, result, &code, NULL, &message, NULL, &controls, 0);
    if (rc == LDAP_SUCCESS)
        rc = code;
    if (rc != LDAP_SUCCESS && message != NULL && *message != '\0')
        *diag = g_strdup(message);
    ldap_memfree(message);
    ber_bvfree(page->cookie);
    page->cookie = NULL;
    LDAPControl *paging =
        controls != NULL ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls, NULL) : NULL;
    if (paging != NULL) {
        struct berval cookie = {0, NULL};
        if (ldap_parse_pageresponse_control(ld, paging, &page->estimate, &cookie) == LDAP_SUCCESS &&
            cookie.bv_len > 0)
            page->cookie = ber_bvdup(&cookie);
        ber_memfree(cookie.bv_val);
    }
    ldap_controls_free(controls);
    return rc;
}

/* Sends the search of one page; its answers are read by ul_read_page. */
static int ul_send_page(LDAP *ld, const ul_server_config *config, const char *base, int scope,
                        const char *filter, char **attrs, gboolean paged, ul_page *page, int *msgid)
{
    LDAPControl *control = NULL;
    if (paged) {
        int rc = ldap_create_page_control(ld, config->page_size, page->cookie, 1, &control);
        if (rc != LDAP_SUCCESS)
            return rc;
    }
    LDAPControl *controls[] = {control, NULL};
    struct timeval timeout = {.tv_sec = config->timeout_s, .tv_usec = 0};
    int rc = ldap_search_ext(ld, base, scope, filter, attrs, 0, paged ? controls : NULL, NULL,
                             &timeout, LDAP_NO_LIMIT, msgid);
    if (control != NULL)
        ldap_control_free(control);
    return rc;
}

/* Reads the answers of one page as they arrive, one message at a time:
 * entries are decoded while the server still sends the rest of the page
 * (ldap_search_ext_s would first collect the whole page). Returns the page's
 * result code; `*stopped` when on_entry asked to stop. */
static int ul_read_page(LDAP *ld, const ul_server_config *config, int msgid, ul_page *page,
                        ul_entry_fn on_entry, void *data, guint64 *read, gboolean *stopped,
                        char **diag)
{
    struct timeval timeout = {.tv_sec = config->timeout_s, .tv_usec = 0};
    for (;;) {
        LDAPMessage *message = NULL;
        int type = ldap_result(ld, msgid, LDAP_MSG_ONE, &timeout, &message);
        if (type <= 0) {
            /* -1: the connection failed; 0: the server went quiet. */
            ldap_msgfree(message);
            int rc = LDAP_TIMEOUT;
            if (type < 0)
                ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
            else
                ldap_abandon_ext(ld, msgid, NULL, NULL);
            return rc != LDAP_SUCCESS ? rc : LDAP_OTHER;
        }
        if (type == LDAP_RES_SEARCH_ENTRY) {
            (*read)++;
            if (!on_entry(ld, message, data)) {
                ldap_msgfree(message);
                ldap_abandon_ext(ld, msgid, NULL, NULL);
                *stopped = TRUE;
                return LDAP_SUCCESS;
            }
        } else if (type == LDAP_RES_SEARCH_RESULT) {
            int rc = ul_page_result(ld, message, page, diag);
            ldap_msgfree(message);
            return rc;
        }
        ldap_msgfree(message); /* entries done with, and references (not followed) */
    }
}

gboolean ul_ldap_search(LDAP *ld, const ul_server_config *config, const char *base, int scope,
                        const char *filter, char **attrs, gboolean paged, ul_entry_fn on_entry,
                        ul_page_fn on_page, void *data, const gint *cancel, char **error)
{
    ul_page page = {0};
    guint64 read = 0;
    gboolean ok = TRUE;
    do {
        if (cancel != NULL && g_atomic_int_get(cancel)) {
            *error = g_strdup("stopped");
            ok = FALSE;
            break;
        }
        int msgid = -1;
        gboolean stopped = FALSE;
        char *diag = NULL;
        int rc = ul_send_page(ld, config, base, scope, filter, attrs, paged, &page, &msgid);
        if (rc == LDAP_SUCCESS)
            rc = ul_read_page(ld, config, msgid, &page, on_entry, data, &read, &stopped, &diag);
        if (stopped) {
            *error = g_strdup("stopped");
            ok = FALSE;
        } else if (rc != LDAP_SUCCESS) {
            char *text = diag != NULL ? g_strdup_printf("%s (%s)", ldap_err2string(rc), diag)
                                      : ul_diagnostic(ld, rc);
            *error =
                g_strdup_printf("search of \"%s\" failed after %" G_GUINT64_FORMAT " entries: %s",
                                base, read, text);
            g_free(text);
            ok = FALSE;
        }
        g_free(diag);
        if (ok && on_page != NULL)
            on_page(read, page.estimate > 0 ? (guint64)page.estimate : 0, data);
    } while (ok && paged && page.cookie != NULL);
    ber_bvfree(page.cookie);
    return ok;
}

char *ul_ldap_escape_filter_value(const char *value)
{
    struct berval in = {.bv_val = (char *)value, .bv_len = strlen(value)};
    struct berval out = {0, NULL};
    if (ldap_bv2escaped_filter_value(&in, &out) != 0)
        return NULL;
    char *escaped = g_strndup(out.bv_val, out.bv_len);
    ber_memfree(out.bv_val);
    return escaped;
}
