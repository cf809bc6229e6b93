/*
 * api-limits.c - see api-limits.h.
 *
 * libsoup's server has no request timeout and no connection limit, so both
 * hang off its signals. "request-started" comes when a connection begins to
 * read a request (at once after accept, and after each answer on a kept-alive
 * connection): a timer starts there and "request-read" (the whole request is
 * in) stops it. When it fires, the socket is shut down: libsoup sees the end
 * of the stream and frees the connection as for a client that left, so a
 * slow client holds nothing longer than request_timeout. A handler that
 * takes long (a deferred answer, the WebSocket) is not timed: the request is
 * in by then.
 *
 * A connection is counted for its peer address the first time it starts a
 * request; the count drops when libsoup frees the connection's GSocket (data
 * attached to it). One over the limit is shut down at once.
 */
#include "api-limits.h"

#include <string.h>

#include "api-call-internal.h"

/* ---- the table ---- */

struct api_conn_table {
    guint per_address;
    GHashTable *counts; /* address -> count (GUINT_TO_POINTER) */
};

api_conn_table *api_conn_table_new(guint per_address)
{
    api_conn_table *t = g_new0(api_conn_table, 1);
    t->per_address = per_address;
    t->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return t;
}

void api_conn_table_free(api_conn_table *table)
{
    if (table == NULL)
        return;
    g_hash_table_unref(table->counts);
    g_free(table);
}

guint api_conn_table_count(api_conn_table *table, const char *address)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(table->counts, address));
}

gboolean api_conn_table_acquire(api_conn_table *table, const char *address)
{
    guint n = api_conn_table_count(table, address);
    if (n >= table->per_address)
        return FALSE;
    g_hash_table_replace(table->counts, g_strdup(address), GUINT_TO_POINTER(n + 1));
    return TRUE;
}

void api_conn_table_release(api_conn_table *table, const char *address)
{
    guint n = api_conn_table_count(table, address);
    if (n <= 1)
        g_hash_table_remove(table->counts, address);
    else
        g_hash_table_replace(table->counts, g_strdup(address), GUINT_TO_POINTER(n - 1));
}

/* ---- the server side ---- */

struct api_limits {
    api_ctx *ctx;
    api_conn_table *table;
    SoupServer *server;
    gulong started_id, read_id;
    ucd_counter *timeouts, *refused;
    /* Connections still counted point here; they outlive us when the
     * module stops before libsoup frees them, hence the reference. */
    gint refs;
};

/* A counted connection: released when its GSocket is freed. */
typedef struct counted {
    api_limits *limits;
    char *address;
} counted;

/* A request's timer, kept on the message. */
typedef struct deadline {
    guint source;
    api_limits *limits;
    GSocket *socket;
    char *address;
} deadline;

static void limits_unref(api_limits *limits)
{
    if (--limits->refs > 0)
        return;
    api_conn_table_free(limits->table);
    g_free(limits);
}

api_limits *api_limits_new(api_ctx *ctx)
{
    api_limits *limits = g_new0(api_limits, 1);
    limits->refs = 1;
    limits->ctx = ctx;
    limits->table = api_conn_table_new((guint)ctx->config.max_connections_per_address);
    limits->timeouts = ctx->host->counter_new(ctx->self, "request_timeouts", UCD_COUNTER_MONOTONIC,
                                              "connections closed for an incomplete request");
    limits->refused =
        ctx->host->counter_new(ctx->self, "connections_refused", UCD_COUNTER_MONOTONIC,
                               "connections over max_connections_per_address");
    return limits;
}

void api_limits_free(api_limits *limits)
{
    if (limits == NULL)
        return;
    if (limits->server) {
        g_signal_handler_disconnect(limits->server, limits->started_id);
        g_signal_handler_disconnect(limits->server, limits->read_id);
    }
    limits->ctx = NULL;
    limits_unref(limits);
}

guint api_limits_connections(api_limits *limits, const char *address)
{
    return api_conn_table_count(limits->table, address);
}

static void counted_free(gpointer p)
{
    counted *c = p;
    api_conn_table_release(c->limits->table, c->address);
    limits_unref(c->limits);
    g_free(c->address);
    g_free(c);
}

static void deadline_free(gpointer p)
{
    deadline *d = p;
    if (d->source)
        g_source_remove(d->source);
    g_object_unref(d->socket);
    limits_unref(d->limits);
    g_free(d->address);
    g_free(d);
}

static gboolean deadline_passed(gpointer p)
{
    deadline *d = p;
    d->source = 0;
    if (d->limits->ctx) {
        api_ctx *ctx = d->limits->ctx;
        ucd_info(ctx->host, ctx->self,
                 "closing a connection from %s: no complete request within %" G_GINT64_FORMAT
                 " ms (request_timeout)",
                 d->address, ctx->config.request_timeout_ms);
        ctx->host->counter_add(d->limits->timeouts, 1);
    }
    g_socket_shutdown(d->socket, TRUE, TRUE, NULL);
    return G_SOURCE_REMOVE;
}

static gboolean is_exempt(api_limits *limits, const char *address)
{
    const char *const *proxies = limits->ctx->config.trusted_proxies;
    return proxies && g_strv_contains(proxies, address);
}

static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    (void)server;
    api_limits *limits = data;
    GSocket *socket = soup_server_message_get_socket(msg);
    const char *address = soup_server_message_get_remote_host(msg);
    if (socket == NULL || address == NULL)
        return;
    if (g_object_get_data(G_OBJECT(socket), "api-counted") == NULL && !is_exempt(limits, address)) {
        if (!api_conn_table_acquire(limits->table, address)) {
            limits->ctx->host->counter_add(limits->refused, 1);
            if (limits->ctx->host->log_enabled(limits->ctx->self, UCD_LOG_DEBUG))
                ucd_debug(limits->ctx->host, limits->ctx->self,
                          "refusing a connection from %s: it holds %u already "
                          "(max_connections_per_address)",
                          address, api_conn_table_count(limits->table, address));
            g_socket_shutdown(socket, TRUE, TRUE, NULL);
            return;
        }
        counted *c = g_new0(counted, 1);
        c->limits = limits;
        limits->refs++;
        c->address = g_strdup(address);
        g_object_set_data_full(G_OBJECT(socket), "api-counted", c, counted_free);
    }
    deadline *d = g_new0(deadline, 1);
    d->limits = limits;
    limits->refs++;
    d->socket = g_object_ref(socket);
    d->address = g_strdup(address);
    d->source = g_timeout_add((guint)limits->ctx->config.request_timeout_ms, deadline_passed, d);
    g_object_set_data_full(G_OBJECT(msg), "api-deadline", d, deadline_free);
}

static void on_request_read(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    (void)server;
    (void)data;
    g_object_set_data(G_OBJECT(msg), "api-deadline", NULL);
}

void api_limits_attach(api_limits *limits, SoupServer *server)
{
    limits->server = server;
    limits->started_id =
        g_signal_connect(server, "request-started", G_CALLBACK(on_request_started), limits);
    limits->read_id = g_signal_connect(server, "request-read", G_CALLBACK(on_request_read), limits);
}

static void add_size(const char *name, const char *value, gpointer data)
{
    *(gsize *)data += strlen(name) + strlen(value) + 4; /* ": " and CRLF */
}

static void refuse(SoupServerMessage *msg, guint status, const char *code, const char *text)
{
    /* The rest of the request is not read: the connection must end. */
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                                 "close");
    api_message_error(msg, status, code, text);
}

gboolean api_limits_check_headers(api_limits *limits, SoupServerMessage *msg)
{
    const api_config *config = &limits->ctx->config;
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    gsize size = 0;
    soup_message_headers_foreach(h, add_size, &size);
    if ((gint64)size > config->max_header) {
        char *text = g_strdup_printf("the request's headers have %zu bytes, more than the "
                                     "%" G_GINT64_FORMAT " allowed",
                                     size, config->max_header);
        refuse(msg, 431 /* Request Header Fields Too Large */, API_ERR_TOO_LARGE, text);
        g_free(text);
        return FALSE;
    }
    SoupEncoding encoding = soup_message_headers_get_encoding(h);
    if (encoding == SOUP_ENCODING_CHUNKED) {
        refuse(msg, SOUP_STATUS_LENGTH_REQUIRED, API_ERR_BAD_REQUEST,
               "a request body needs a Content-Length (chunked bodies are not taken)");
        return FALSE;
    }
    goffset length =
        encoding == SOUP_ENCODING_CONTENT_LENGTH ? soup_message_headers_get_content_length(h) : 0;
    if (length > config->max_body) {
        char *text = g_strdup_printf("the body has %" G_GOFFSET_FORMAT " bytes, more than the "
                                     "%" G_GINT64_FORMAT " allowed (max_body)",
                                     length, config->max_body);
        refuse(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, API_ERR_TOO_LARGE, text);
        g_free(text);
        return FALSE;
    }
    return TRUE;
}
