/*
 * ami-conn.c - one AMI session, kept alive (see ami-conn.h).
 *
 * Each connection attempt is a `link`: socket, TLS, reader, write queue. A
 * link is reference counted and every asynchronous operation holds a
 * reference, so when the session goes DOWN (or is freed) the link is cut off
 * (link->conn = NULL, its operations cancelled) and late callbacks of an old
 * attempt find it cut off and do nothing.
 *
 * Actions wait in `pending` by ActionID. Every action has a deadline; missing
 * it means the link is dead (Asterisk answers every action at once, so
 * silence is never a slow answer), except the wait for an async action's
 * final event, which may legitimately take a minute and fails alone.
 */
#include "ami-conn.h"

#include <string.h>

#include "ami-parse.h"

#define AMI_BANNER_PREFIX "Asterisk Call Manager/"

typedef struct ami_link ami_link;

struct pami_conn {
    /* configuration (strings owned) */
    char *host, *tls_ca_file, *username, *secret, *events;
    guint16 port;
    gboolean tls, tls_verify;
    guint keepalive_ms, timeout_ms, retry_min_ms, retry_max_ms;

    GMainContext *context;
    pami_conn_callbacks callbacks;
    pami_conn_state state;
    ami_link *link;         /* the current attempt; NULL while DOWN */
    char *banner;           /* of the current link, once seen */
    GHashTable *pending;    /* ActionID -> pending_action (owned) */
    guint64 next_action_id; /* never reset: ActionIDs stay unique */
    guint backoff_ms;       /* the next retry delay */
    GSource *retry_timer;   /* while DOWN */
    GSource *keepalive;     /* while UP */
    GSource *setup_timer;   /* from connecting until the banner */
    gboolean ping_pending;
    guint filters_pending; /* answers awaited before UP */
};

struct ami_link {
    gint refs;
    pami_conn *conn; /* NULL once cut off */
    GCancellable *cancel;
    GSocketConnection *socket;
    GIOStream *stream; /* the socket, or TLS over it */
    pami_parser *parser;
    GString *out;       /* queued for writing */
    char *writing;      /* being written */
    char *cert_problem; /* why verification refused the certificate */
    char buf[16384];
};

typedef struct pending_action {
    pami_conn *conn;
    char *id;
    char *action;      /* its name, for messages */
    char *final_event; /* NULL unless async */
    guint final_timeout_ms;
    pami_action_cb cb;
    void *user_data;
    pami_message *response;
    GPtrArray *events;
    gboolean in_list;     /* the response said "EventList: start" */
    gboolean final_early; /* the final event came before the response */
    GSource *timer;
} pending_action;

static void link_read(ami_link *l);
static void go_down(pami_conn *c, const char *reason, guint retry_ms);
static void send_internal(pami_conn *c, pami_message *action, pami_action_cb cb);
static gboolean on_keepalive(gpointer data);
static void go_up(pami_conn *c);

/* ---- logging and small helpers ---- */

static void conn_log(pami_conn *c, pami_log_level level, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void conn_log(pami_conn *c, pami_log_level level, const char *format, ...)
{
    if (c->callbacks.log == NULL) {
        return;
    }
    va_list args;
    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    c->callbacks.log(level, text, c->callbacks.user_data);
}

static void set_state(pami_conn *c, pami_conn_state state, const char *reason)
{
    c->state = state;
    if (c->callbacks.state != NULL) {
        c->callbacks.state(state, reason, state == PAMI_CONN_UP ? c->banner : NULL,
                           c->callbacks.user_data);
    }
}

/* GIO binds an async operation to the thread-default context of the moment
 * it starts; ours may not be that one. */
static void context_enter(pami_conn *c)
{
    g_main_context_push_thread_default(c->context);
}

static void context_leave(pami_conn *c)
{
    g_main_context_pop_thread_default(c->context);
}

static GSource *add_timer(pami_conn *c, guint ms, GSourceFunc func, gpointer data)
{
    GSource *source = g_timeout_source_new(ms);
    g_source_set_callback(source, func, data, NULL);
    g_source_attach(source, c->context);
    return source;
}

static void drop_timer(GSource **source)
{
    if (*source != NULL) {
        g_source_destroy(*source);
        g_source_unref(*source);
        *source = NULL;
    }
}

/* ---- the link ---- */

static ami_link *link_ref(ami_link *l)
{
    l->refs++;
    return l;
}

static void link_unref(ami_link *l)
{
    if (--l->refs > 0) {
        return;
    }
    pami_parser_free(l->parser);
    g_string_free(l->out, TRUE);
    g_free(l->writing);
    g_free(l->cert_problem);
    g_clear_object(&l->stream);
    g_clear_object(&l->socket);
    g_object_unref(l->cancel);
    g_free(l);
}

/* Cuts the link off from the session and closes its socket. */
static void link_cut(ami_link *l)
{
    l->conn = NULL;
    g_cancellable_cancel(l->cancel);
    if (l->socket != NULL) {
        g_socket_close(g_socket_connection_get_socket(l->socket), NULL);
    }
    link_unref(l);
}

static void start_write(ami_link *l);

static void on_written(GObject *source, GAsyncResult *result, gpointer user_data)
{
    ami_link *l = user_data;
    GError *error = NULL;
    gboolean ok = g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error);
    g_clear_pointer(&l->writing, g_free);
    if (l->conn != NULL && !ok) {
        g_autofree char *reason = g_strdup_printf("write failed: %s", error->message);
        go_down(l->conn, reason, 0);
    } else if (l->conn != NULL && l->out->len > 0) {
        start_write(l);
    }
    g_clear_error(&error);
    link_unref(l);
}

static void start_write(ami_link *l)
{
    gsize len = l->out->len;
    l->writing = g_string_free(l->out, FALSE);
    l->out = g_string_new(NULL);
    context_enter(l->conn);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(l->stream), l->writing, len,
                                    G_PRIORITY_DEFAULT, l->cancel, on_written, link_ref(l));
    context_leave(l->conn);
}

static void link_send(ami_link *l, const char *data, gsize len)
{
    g_string_append_len(l->out, data, (gssize)len);
    if (l->writing == NULL) {
        start_write(l);
    }
}

/* ---- pending actions ---- */

static void pending_free(gpointer data)
{
    pending_action *a = data;
    drop_timer(&a->timer);
    pami_message_unref(a->response);
    g_ptr_array_unref(a->events);
    g_free(a->id);
    g_free(a->action);
    g_free(a->final_event);
    g_free(a);
}

/* Takes the action out of `pending`, runs its callback once and frees it. */
static void pending_finish(pending_action *a, const GError *error)
{
    pami_conn *c = a->conn;
    g_hash_table_steal(c->pending, a->id);
    drop_timer(&a->timer);
    a->cb(error != NULL && a->response == NULL ? NULL : a->response, a->events, error,
          a->user_data);
    pending_free(a);
}

static void pending_fail(pending_action *a, GIOErrorEnum code, const char *why)
{
    GError *error = g_error_new(G_IO_ERROR, code, "%s: %s", a->action, why);
    pending_finish(a, error);
    g_error_free(error);
}

/* Fails every pending action (link down, freed). */
static void fail_all(pami_conn *c, GIOErrorEnum code, const char *why)
{
    GList *actions = g_hash_table_get_values(c->pending);
    for (GList *i = actions; i != NULL; i = i->next) {
        pending_fail(i->data, code, why);
    }
    g_list_free(actions);
}

static gboolean on_action_timeout(gpointer data)
{
    pending_action *a = data;
    pami_conn *c = a->conn;
    g_source_unref(a->timer);
    a->timer = NULL;
    if (a->response != NULL && !a->in_list) {
        /* The answer came; only the async final event is late. */
        pending_fail(a, G_IO_ERROR_TIMED_OUT, "no final event in time");
        return G_SOURCE_REMOVE;
    }
    /* No answer, or a list that stopped half way: Asterisk answers a
     * session's actions in order, so the session is stuck. */
    g_autofree char *reason =
        g_strdup_printf("no answer to %s within %u s", a->action, (c->timeout_ms + 999) / 1000);
    pending_fail(a, G_IO_ERROR_TIMED_OUT, reason);
    go_down(c, reason, 0);
    return G_SOURCE_REMOVE;
}

static void pending_arm(pending_action *a, guint ms)
{
    drop_timer(&a->timer);
    a->timer = add_timer(a->conn, ms, on_action_timeout, a);
}

/* A copy of `action` with a fresh ActionID right after the Action: header. */
static pami_message *with_action_id(const pami_message *action, const char *id)
{
    pami_message *m = pami_message_new();
    for (guint i = 0; i < pami_message_count(action); i++) {
        const char *name = pami_message_name_at(action, i);
        if (g_ascii_strcasecmp(name, "ActionID") != 0) {
            pami_message_add(m, name, pami_message_value_at(action, i));
        }
        if (i == 0) {
            pami_message_add(m, "ActionID", id);
        }
    }
    return m;
}

/* The wire trace for the debug log, the secret masked. */
static void trace_action(pami_conn *c, const pami_message *m)
{
    if (c->callbacks.log == NULL) {
        return;
    }
    GString *text = g_string_new("sent:");
    for (guint i = 0; i < pami_message_count(m); i++) {
        const char *name = pami_message_name_at(m, i);
        gboolean secret = g_ascii_strcasecmp(name, "Secret") == 0;
        g_string_append_printf(text, " %s: %s;", name,
                               secret ? "***" : pami_message_value_at(m, i));
    }
    conn_log(c, PAMI_LOG_DEBUG, "%s", text->str);
    g_string_free(text, TRUE);
}

static void send_action(pami_conn *c, pami_message *action, const char *final_event,
                        guint final_timeout_ms, pami_action_cb cb, void *user_data)
{
    pending_action *a = g_new0(pending_action, 1);
    a->conn = c;
    a->id = g_strdup_printf("ucd-%" G_GUINT64_FORMAT, ++c->next_action_id);
    a->action = g_strdup(pami_message_value_at(action, 0));
    a->final_event = g_strdup(final_event);
    a->final_timeout_ms = final_timeout_ms != 0 ? final_timeout_ms : 60000;
    a->cb = cb;
    a->user_data = user_data;
    a->events = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    g_hash_table_insert(c->pending, a->id, a);
    pending_arm(a, c->timeout_ms);
    pami_message *m = with_action_id(action, a->id);
    trace_action(c, m);
    g_autofree char *wire = pami_message_to_wire(m);
    pami_message_unref(m);
    link_send(c->link, wire, strlen(wire));
}

/* ---- incoming messages ---- */

static gboolean is_list_end(const pami_message *event)
{
    const char *list = pami_message_get(event, "EventList");
    const char *name = pami_message_event(event);
    return (list != NULL && g_ascii_strcasecmp(list, "Complete") == 0) ||
           (name != NULL && g_str_has_suffix(name, "Complete"));
}

static void on_response(pending_action *a, pami_message *response)
{
    a->response = pami_message_ref(response);
    gboolean success = g_ascii_strcasecmp(pami_message_response(response), "Error") != 0;
    const char *list = pami_message_get(response, "EventList");
    if (success && list != NULL && g_ascii_strcasecmp(list, "start") == 0) {
        a->in_list = TRUE;
        pending_arm(a, a->conn->timeout_ms);
    } else if (success && a->final_event != NULL && !a->final_early) {
        pending_arm(a, a->final_timeout_ms);
    } else {
        pending_finish(a, NULL);
    }
}

/* An event carrying the ActionID of a pending action; FALSE when it is not
 * part of that action's answer. */
static gboolean on_action_event(pending_action *a, pami_message *event)
{
    if (a->in_list) {
        g_ptr_array_add(a->events, pami_message_ref(event));
        if (is_list_end(event)) {
            pending_finish(a, NULL);
        } else {
            pending_arm(a, a->conn->timeout_ms);
        }
        return TRUE;
    }
    const char *name = pami_message_event(event);
    if (a->final_event == NULL || g_ascii_strcasecmp(name, a->final_event) != 0) {
        return FALSE;
    }
    g_ptr_array_add(a->events, pami_message_ref(event));
    if (a->response != NULL) {
        pending_finish(a, NULL);
    } else {
        a->final_early = TRUE;
    }
    return TRUE;
}

static gboolean is_shutdown(const pami_message *m)
{
    const char *name = pami_message_event(m);
    return name != NULL && g_ascii_strcasecmp(name, "Shutdown") == 0;
}

/* Event: Shutdown is Asterisk's last word (pjsip-shutdown: the socket closes
 * right after): the link is down now, not when the close is noticed, and
 * the session comes back with the usual backoff once Asterisk does. */
static void go_down_shutdown(pami_conn *c, const pami_message *m)
{
    const char *how = pami_message_get(m, "Shutdown");
    const char *restart = pami_message_get(m, "Restart");
    g_autofree char *reason = g_strdup_printf(
        "Asterisk shut down (%s%s)", how != NULL ? how : "no reason given",
        restart != NULL && g_ascii_strcasecmp(restart, "True") == 0 ? ", restarting" : "");
    go_down(c, reason, 0);
}

static void on_message(pami_message *m, void *user_data)
{
    ami_link *l = user_data;
    pami_conn *c = l->conn;
    if (c == NULL) {
        return;
    }
    const char *id = pami_message_action_id(m);
    pending_action *a = id != NULL ? g_hash_table_lookup(c->pending, id) : NULL;
    pami_kind kind = pami_message_kind(m);
    if (kind == PAMI_KIND_RESPONSE && a != NULL && a->response == NULL) {
        on_response(a, m);
    } else if (kind == PAMI_KIND_EVENT && a != NULL && on_action_event(a, m)) {
        return;
    } else if (kind == PAMI_KIND_EVENT) {
        if (c->callbacks.event != NULL) {
            c->callbacks.event(m, c->callbacks.user_data);
        }
        if (l->conn == c && is_shutdown(m)) {
            go_down_shutdown(c, m);
        }
    } else if (kind != PAMI_KIND_EVENT) {
        conn_log(c, PAMI_LOG_DEBUG, "ignored a message nobody waits for (ActionID %s)",
                 id != NULL ? id : "none");
    }
}

/* ---- login ---- */

/* NULL when `response` is a success, else Asterisk's reason. */
static const char *refusal(const pami_message *response)
{
    if (g_ascii_strcasecmp(pami_message_response(response), "Success") == 0) {
        return NULL;
    }
    const char *message = pami_message_get(response, "Message");
    return message != NULL ? message : "no reason given";
}

static void on_filter_answer(pami_message *response, GPtrArray *events, const GError *error,
                             void *user_data)
{
    (void)events;
    pami_conn *c = user_data;
    const char *refused = error == NULL ? refusal(response) : NULL;
    if (error != NULL) {
        return; /* the link went down; go_down() has said why */
    }
    if (refused != NULL) {
        conn_log(c, PAMI_LOG_DEBUG, "event filter refused (%s); VarSet/Newexten may still arrive",
                 refused);
    }
    if (--c->filters_pending == 0) {
        go_up(c);
    }
}

/* Logged in and the filters answered: actions may flow. */
static void go_up(pami_conn *c)
{
    c->backoff_ms = c->retry_min_ms;
    c->keepalive = add_timer(c, c->keepalive_ms, on_keepalive, c);
    conn_log(c, PAMI_LOG_INFO, "logged in to %s:%u as %s (%s)", c->host, c->port, c->username,
             c->banner);
    set_state(c, PAMI_CONN_UP, NULL);
}

static void send_filters(pami_conn *c)
{
    static const char *const filters[] = {"!Event: VarSet", "!Event: Newexten"};
    c->filters_pending = G_N_ELEMENTS(filters);
    for (guint i = 0; i < G_N_ELEMENTS(filters); i++) {
        pami_message *m = pami_message_new();
        pami_message_add(m, "Action", "Filter");
        pami_message_add(m, "Operation", "Add");
        pami_message_add(m, "Filter", filters[i]);
        send_internal(c, m, on_filter_answer);
        pami_message_unref(m);
    }
}

static void on_login_answer(pami_message *response, GPtrArray *events, const GError *error,
                            void *user_data)
{
    (void)events;
    pami_conn *c = user_data;
    if (error != NULL) {
        return; /* the link went down; go_down() has said why */
    }
    const char *refused = refusal(response);
    if (refused == NULL) {
        send_filters(c);
        return;
    }
    g_autofree char *reason = g_strdup_printf("login refused: %s", refused);
    go_down(c, reason, c->retry_max_ms);
}

static void send_login(pami_conn *c)
{
    pami_message *m = pami_message_new();
    pami_message_add(m, "Action", "Login");
    pami_message_add(m, "Username", c->username);
    pami_message_add(m, "Secret", c->secret);
    pami_message_add(m, "Events", c->events);
    send_internal(c, m, on_login_answer);
    pami_message_unref(m);
}

static void on_banner(const char *line, void *user_data)
{
    ami_link *l = user_data;
    pami_conn *c = l->conn;
    if (c == NULL) {
        return;
    }
    if (!g_str_has_prefix(line, AMI_BANNER_PREFIX)) {
        /* g_utf8_substring() reads up to the end index: never past the line. */
        g_autofree char *shown = g_utf8_substring(line, 0, MIN(g_utf8_strlen(line, -1), 80));
        g_autofree char *reason = g_strdup_printf("not an AMI server: %s", shown);
        go_down(c, reason, c->retry_max_ms);
        return;
    }
    drop_timer(&c->setup_timer);
    g_free(c->banner);
    c->banner = g_strdup(line);
    send_login(c);
}

/* ---- keepalive ---- */

static void on_pong(pami_message *response, GPtrArray *events, const GError *error, void *user_data)
{
    (void)response;
    (void)events;
    (void)error;
    pami_conn *c = user_data;
    c->ping_pending = FALSE;
}

static gboolean on_keepalive(gpointer data)
{
    pami_conn *c = data;
    if (!c->ping_pending) {
        c->ping_pending = TRUE;
        pami_message *m = pami_message_new();
        pami_message_add(m, "Action", "Ping");
        send_internal(c, m, on_pong);
        pami_message_unref(m);
    }
    return G_SOURCE_CONTINUE;
}

static void send_internal(pami_conn *c, pami_message *action, pami_action_cb cb)
{
    send_action(c, action, NULL, 0, cb, c);
}

/* ---- reading ---- */

static void on_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    ami_link *l = user_data;
    GError *error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);
    if (l->conn != NULL && n > 0) {
        pami_parser_feed(l->parser, l->buf, (gsize)n);
        link_read(l); /* nothing when the messages took the link down */
    } else if (l->conn != NULL) {
        const char *middle = pami_parser_pending(l->parser) ? " in the middle of a message" : "";
        g_autofree char *reason =
            n == 0 ? g_strdup_printf("connection closed by the server%s", middle)
            : l->cert_problem != NULL
                ? g_strdup_printf("TLS certificate refused: %s", l->cert_problem)
                : g_strdup_printf("read failed%s: %s", middle, error->message);
        go_down(l->conn, reason, 0);
    }
    g_clear_error(&error);
    link_unref(l);
}

static void link_read(ami_link *l)
{
    if (l->conn == NULL) {
        return;
    }
    context_enter(l->conn);
    g_input_stream_read_async(g_io_stream_get_input_stream(l->stream), l->buf, sizeof l->buf,
                              G_PRIORITY_DEFAULT, l->cancel, on_read, link_ref(l));
    context_leave(l->conn);
}

/* ---- connecting ---- */

/* Says in words which checks the certificate failed. */
static char *describe_tls_errors(GTlsCertificateFlags errors)
{
    static const struct {
        GTlsCertificateFlags flag;
        const char *text;
    } names[] = {
        {G_TLS_CERTIFICATE_UNKNOWN_CA, "not signed by a trusted authority"},
        {G_TLS_CERTIFICATE_BAD_IDENTITY, "does not match the host name"},
        {G_TLS_CERTIFICATE_NOT_ACTIVATED, "not yet valid"},
        {G_TLS_CERTIFICATE_EXPIRED, "expired"},
        {G_TLS_CERTIFICATE_REVOKED, "revoked"},
        {G_TLS_CERTIFICATE_INSECURE, "uses an insecure algorithm"},
    };
    GString *text = g_string_new("the server's certificate is");
    const char *sep = " ";
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (errors & names[i].flag) {
            g_string_append_printf(text, "%s%s", sep, names[i].text);
            sep = ", ";
        }
    }
    if (*sep == ' ') {
        g_string_append(text, " not acceptable");
    }
    return g_string_free(text, FALSE);
}

static gboolean on_accept_certificate(GTlsConnection *tls, GTlsCertificate *cert,
                                      GTlsCertificateFlags errors, gpointer user_data)
{
    (void)tls;
    (void)cert;
    ami_link *l = user_data;
    g_autofree char *problem = describe_tls_errors(errors);
    if (l->conn != NULL && !l->conn->tls_verify) {
        conn_log(l->conn, PAMI_LOG_WARNING, "TLS verification is off: accepting %s:%u although %s",
                 l->conn->host, l->conn->port, problem);
        return TRUE;
    }
    g_free(l->cert_problem);
    l->cert_problem = g_steal_pointer(&problem);
    return FALSE;
}

/* Wraps the socket in TLS (the handshake runs with the first read/write). */
static gboolean start_tls(pami_conn *c, ami_link *l, GError **error)
{
    g_autoptr(GSocketConnectable) identity = g_network_address_new(c->host, c->port);
    GIOStream *tls = g_tls_client_connection_new(G_IO_STREAM(l->socket), identity, error);
    if (tls == NULL) {
        return FALSE;
    }
    if (c->tls_ca_file != NULL) {
        g_autoptr(GTlsDatabase) db = g_tls_file_database_new(c->tls_ca_file, error);
        if (db == NULL) {
            g_object_unref(tls);
            return FALSE;
        }
        g_tls_connection_set_database(G_TLS_CONNECTION(tls), db);
    }
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(on_accept_certificate), l);
    l->stream = tls;
    return TRUE;
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
    ami_link *l = user_data;
    GError *error = NULL;
    GSocketConnection *socket =
        g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(source), result, &error);
    pami_conn *c = l->conn;
    if (c != NULL && socket != NULL) {
        l->socket = socket;
        if (!c->tls) {
            l->stream = G_IO_STREAM(g_object_ref(socket));
        }
        if (c->tls && !start_tls(c, l, &error)) {
            g_autofree char *reason = g_strdup_printf("TLS setup failed: %s", error->message);
            go_down(c, reason, c->retry_max_ms);
        } else {
            link_read(l);
        }
    } else if (c != NULL) {
        go_down(c, error->message, 0);
    } else if (socket != NULL) {
        g_object_unref(socket);
    }
    g_clear_error(&error);
    link_unref(l);
}

/* No banner within the deadline: the TCP connect hangs, or the server waits
 * for us to speak first (not AMI). */
static gboolean on_setup_timeout(gpointer data)
{
    pami_conn *c = data;
    g_source_unref(c->setup_timer);
    c->setup_timer = NULL;
    g_autofree char *reason =
        g_strdup_printf("%s within %u s", c->link->socket == NULL ? "no connection" : "no banner",
                        (c->timeout_ms + 999) / 1000);
    go_down(c, reason, 0);
    return G_SOURCE_REMOVE;
}

static void start_connect(pami_conn *c)
{
    ami_link *l = g_new0(ami_link, 1);
    l->refs = 1;
    l->conn = c;
    l->cancel = g_cancellable_new();
    l->out = g_string_new(NULL);
    pami_parse_callbacks cb = {.banner = on_banner, .message = on_message, .user_data = l};
    l->parser = pami_parser_new(&cb, TRUE, 0, 0);
    c->link = l;
    set_state(c, PAMI_CONN_CONNECTING, NULL);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    /* AMI goes straight to the PBX: no HTTP/SOCKS proxy from the desktop
     * settings (and no libproxy thread started to look one up). */
    g_socket_client_set_enable_proxy(client, FALSE);
    c->setup_timer = add_timer(c, c->timeout_ms, on_setup_timeout, c);
    context_enter(c);
    g_socket_client_connect_to_host_async(client, c->host, c->port, l->cancel, on_connected,
                                          link_ref(l));
    context_leave(c);
}

static gboolean on_retry(gpointer data)
{
    pami_conn *c = data;
    g_source_unref(c->retry_timer);
    c->retry_timer = NULL;
    start_connect(c);
    return G_SOURCE_REMOVE;
}

/* The link is dead or refused: DOWN, pending actions fail, a retry is
 * scheduled after `retry_ms` (0 = the current backoff, which then doubles). */
static void go_down(pami_conn *c, const char *reason, guint retry_ms)
{
    if (c->link == NULL) {
        return;
    }
    link_cut(c->link);
    c->link = NULL;
    drop_timer(&c->keepalive);
    drop_timer(&c->setup_timer);
    c->ping_pending = FALSE;
    c->state = PAMI_CONN_DOWN; /* callbacks below must not send */
    g_autofree char *why = g_strdup_printf("link down: %s", reason);
    fail_all(c, G_IO_ERROR_NOT_CONNECTED, why);
    if (retry_ms == 0) {
        retry_ms = c->backoff_ms;
        c->backoff_ms = MIN(c->backoff_ms * 2, c->retry_max_ms);
    }
    /* Debug only: the driver says each new reason once (a server down for
     * an hour must not write a warning every retry). */
    conn_log(c, PAMI_LOG_DEBUG, "AMI %s:%u: %s; retrying in %u ms", c->host, c->port, reason,
             retry_ms);
    c->retry_timer = add_timer(c, retry_ms, on_retry, c);
    set_state(c, PAMI_CONN_DOWN, reason);
}

/* ---- the API ---- */

static void copy_config(pami_conn *c, const pami_conn_config *config)
{
    c->host = g_strdup(config->host != NULL ? config->host : "localhost");
    c->port = config->port != 0 ? config->port : (config->tls ? 5039 : 5038);
    c->tls = config->tls;
    c->tls_verify = config->tls_verify;
    c->tls_ca_file = g_strdup(config->tls_ca_file);
    c->username = g_strdup(config->username != NULL ? config->username : "");
    c->secret = g_strdup(config->secret != NULL ? config->secret : "");
    c->events = g_strdup(config->events != NULL ? config->events : "call,system,agent,user");
    c->keepalive_ms = config->keepalive_ms != 0 ? config->keepalive_ms : 20000;
    c->timeout_ms = config->timeout_ms != 0 ? config->timeout_ms : 10000;
    c->retry_min_ms = config->retry_min_ms != 0 ? config->retry_min_ms : 1000;
    c->retry_max_ms =
        MAX(config->retry_max_ms != 0 ? config->retry_max_ms : 30000, c->retry_min_ms);
}

pami_conn *pami_conn_new(const pami_conn_config *config, GMainContext *context,
                         const pami_conn_callbacks *callbacks)
{
    g_return_val_if_fail(config != NULL, NULL);
    pami_conn *c = g_new0(pami_conn, 1);
    copy_config(c, config);
    c->context =
        context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    if (callbacks != NULL) {
        c->callbacks = *callbacks;
    }
    c->pending = g_hash_table_new(g_str_hash, g_str_equal);
    c->backoff_ms = c->retry_min_ms;
    start_connect(c);
    return c;
}

void pami_conn_free(pami_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->link != NULL) {
        link_cut(c->link);
        c->link = NULL;
    }
    c->state = PAMI_CONN_DOWN;
    fail_all(c, G_IO_ERROR_CANCELLED, "freed");
    drop_timer(&c->keepalive);
    drop_timer(&c->setup_timer);
    drop_timer(&c->retry_timer);
    g_hash_table_unref(c->pending);
    memset(c->secret, 0, strlen(c->secret)); /* wiped, as promised */
    g_free(c->secret);
    g_free(c->host);
    g_free(c->tls_ca_file);
    g_free(c->username);
    g_free(c->events);
    g_free(c->banner);
    g_main_context_unref(c->context);
    g_free(c);
}

pami_conn_state pami_conn_get_state(const pami_conn *c)
{
    return c->state;
}

gboolean pami_conn_send(pami_conn *c, pami_message *action, const char *final_event,
                        guint final_timeout_ms, pami_action_cb cb, void *user_data)
{
    g_return_val_if_fail(c != NULL && action != NULL && cb != NULL, FALSE);
    g_return_val_if_fail(pami_message_kind(action) == PAMI_KIND_ACTION, FALSE);
    if (c->state != PAMI_CONN_UP) {
        return FALSE;
    }
    send_action(c, action, final_event, final_timeout_ms, cb, user_data);
    return TRUE;
}

void pami_conn_reconnect(pami_conn *c)
{
    g_return_if_fail(c != NULL);
    if (c->link != NULL) {
        c->backoff_ms = c->retry_min_ms;
        go_down(c, "reconnect requested", c->retry_min_ms);
    } else {
        drop_timer(&c->retry_timer);
        c->backoff_ms = c->retry_min_ms;
        start_connect(c);
    }
}
