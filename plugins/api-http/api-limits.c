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
 * request, and released once its GSocket is closed: libsoup 3.2 closes the
 * socket of a connection that ends but may keep the GSocket object long
 * after, so the counted sockets are checked every second (and at once when
 * an address is at its limit). One over the limit is shut down at once.
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
    gulong started_id, read_id, finished_id;
    GHashTable *counted; /* GSocket (a reference) -> its address */
    guint sweep;
    ucd_counter *timeouts, *refused;
    /* Timers of requests still running point here: they may outlive us
     * when the module stops, hence the reference. */
    gint refs;
};

/* A request's timer, kept on the message (or, between the requests of a
 * kept-alive connection, on its socket): either outlives the socket. */
typedef struct deadline {
    guint source;
    api_limits *limits;
    GSocket *socket; /* not a reference */
    gboolean idle;   /* between requests: libsoup does not watch the socket */
    char *address;
} deadline;

static void limits_unref(api_limits *limits)
{
    if (--limits->refs > 0)
        return;
    api_conn_table_free(limits->table);
    g_free(limits);
}

/* Releases the counts of closed sockets. */
static void sweep_closed(api_limits *limits)
{
    GHashTableIter it;
    gpointer socket, address;
    g_hash_table_iter_init(&it, limits->counted);
    while (g_hash_table_iter_next(&it, &socket, &address)) {
        if (g_socket_is_closed(socket)) {
            api_conn_table_release(limits->table, address);
            g_hash_table_iter_remove(&it);
        }
    }
}

static gboolean sweep_tick(gpointer data)
{
    sweep_closed(data);
    return G_SOURCE_CONTINUE;
}

api_limits *api_limits_new(api_ctx *ctx)
{
    api_limits *limits = g_new0(api_limits, 1);
    limits->refs = 1;
    limits->ctx = ctx;
    limits->table = api_conn_table_new((guint)ctx->config.max_connections_per_address);
    limits->counted = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, g_free);
    limits->sweep = g_timeout_add_seconds(1, sweep_tick, limits);
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
        g_signal_handler_disconnect(limits->server, limits->finished_id);
    }
    g_source_remove(limits->sweep);
    g_hash_table_unref(limits->counted);
    limits->counted = NULL;
    limits->ctx = NULL;
    limits_unref(limits);
}

guint api_limits_connections(api_limits *limits, const char *address)
{
    sweep_closed(limits);
    return api_conn_table_count(limits->table, address);
}

static void deadline_free(gpointer p)
{
    deadline *d = p;
    if (d->source)
        g_source_remove(d->source);
    limits_unref(d->limits);
    g_free(d->address);
    g_free(d);
}

static gboolean deadline_passed(gpointer p)
{
    deadline *d = p;
    d->source = 0;
    if (g_socket_is_closed(d->socket))
        return G_SOURCE_REMOVE;
    if (d->limits->ctx) {
        api_ctx *ctx = d->limits->ctx;
        ucd_info(ctx->host, ctx->self,
                 "closing a connection from %s: no complete request within %" G_GINT64_FORMAT
                 " ms (request_timeout)",
                 d->address, ctx->config.request_timeout_ms);
        ctx->host->counter_add(d->limits->timeouts, 1);
    }
    /* While a request is read, libsoup sees the end and frees the
     * connection. Between requests it does not watch the socket (libsoup
     * 3.2 leaves a connection whose client left after an answer in
     * CLOSE-WAIT for good): the socket is closed, which frees the fd. */
    if (d->idle)
        g_socket_close(d->socket, NULL);
    else
        g_socket_shutdown(d->socket, TRUE, TRUE, NULL);
    return G_SOURCE_REMOVE;
}

static deadline *deadline_new(api_limits *limits, GSocket *socket, const char *address,
                              gboolean idle)
{
    deadline *d = g_new0(deadline, 1);
    d->idle = idle;
    d->limits = limits;
    limits->refs++;
    d->socket = socket;
    d->address = g_strdup(address);
    d->source = g_timeout_add((guint)limits->ctx->config.request_timeout_ms, deadline_passed, d);
    return d;
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
    if (!g_hash_table_contains(limits->counted, socket) && !is_exempt(limits, address)) {
        gboolean taken = api_conn_table_acquire(limits->table, address);
        if (!taken) {
            sweep_closed(limits);
            taken = api_conn_table_acquire(limits->table, address);
        }
        if (!taken) {
            limits->ctx->host->counter_add(limits->refused, 1);
            if (limits->ctx->host->log_enabled(limits->ctx->self, UCD_LOG_DEBUG))
                ucd_debug(limits->ctx->host, limits->ctx->self,
                          "refusing a connection from %s: it holds %u already "
                          "(max_connections_per_address)",
                          address, api_conn_table_count(limits->table, address));
            g_socket_shutdown(socket, TRUE, TRUE, NULL);
            return;
        }
        g_hash_table_insert(limits->counted, g_object_ref(socket), g_strdup(address));
    }
    g_object_set_data(G_OBJECT(socket), "api-idle", NULL);
    g_object_set_data_full(G_OBJECT(msg), "api-deadline",
                           deadline_new(limits, socket, address, FALSE), deadline_free);
}

static void on_request_read(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    (void)server;
    (void)data;
    g_object_set_data(G_OBJECT(msg), "api-deadline", NULL);
}

/* An answer went out on a connection libsoup keeps open: it reads the next
 * request only when bytes come, so the idle time is timed here. */
static void on_request_finished(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    (void)server;
    api_limits *limits = data;
    GSocket *socket = soup_server_message_get_socket(msg);
    const char *address = soup_server_message_get_remote_host(msg);
    if (socket && address && !g_socket_is_closed(socket))
        g_object_set_data_full(G_OBJECT(socket), "api-idle",
                               deadline_new(limits, socket, address, TRUE), deadline_free);
}

void api_limits_attach(api_limits *limits, SoupServer *server)
{
    limits->server = server;
    limits->started_id =
        g_signal_connect(server, "request-started", G_CALLBACK(on_request_started), limits);
    limits->read_id = g_signal_connect(server, "request-read", G_CALLBACK(on_request_read), limits);
    limits->finished_id =
        g_signal_connect(server, "request-finished", G_CALLBACK(on_request_finished), limits);
}

static void add_size(const char *name, const char *value, gpointer data)
{
    *(gsize *)data += strlen(name) + strlen(value) + 4; /* ": " and CRLF */
}

/* A refused request's connection, taken over from libsoup: its answer is
 * written, then what the client still sends is read and dropped for a
 * while (at most LINGER_MS and LINGER_BYTES), so that closing does not
 * reset the connection before the client read the answer. */
#define LINGER_MS    2000
#define LINGER_BYTES (4 * 1024 * 1024)

typedef struct refusal {
    GIOStream *stream;
    char *answer;
    gsize length;
    gsize dropped;
    GCancellable *cancel;
    guint timer;
    char buffer[8192];
} refusal;

static void refusal_free(refusal *r)
{
    if (r->timer)
        g_source_remove(r->timer);
    g_io_stream_close(r->stream, NULL, NULL);
    g_object_unref(r->stream);
    g_object_unref(r->cancel);
    g_free(r->answer);
    g_free(r);
}

static void drop_read(GObject *source, GAsyncResult *result, gpointer data)
{
    refusal *r = data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);
    if (n <= 0 || (r->dropped += (gsize)n) > LINGER_BYTES ||
        g_cancellable_is_cancelled(r->cancel)) {
        refusal_free(r);
        return;
    }
    g_input_stream_read_async(g_io_stream_get_input_stream(r->stream), r->buffer, sizeof r->buffer,
                              G_PRIORITY_LOW, r->cancel, drop_read, r);
}

static gboolean linger_over(gpointer data)
{
    refusal *r = data;
    r->timer = 0;
    g_cancellable_cancel(r->cancel); /* the pending read ends, and frees r */
    return G_SOURCE_REMOVE;
}

static void answer_written(GObject *source, GAsyncResult *result, gpointer data)
{
    refusal *r = data;
    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, NULL)) {
        refusal_free(r);
        return;
    }
    GSocket *socket = g_object_get_data(G_OBJECT(r->stream), "GSocket");
    if (G_IS_SOCKET_CONNECTION(r->stream))
        socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(r->stream));
    if (socket && G_IS_SOCKET_CONNECTION(r->stream))
        g_socket_shutdown(socket, FALSE, TRUE, NULL); /* the client sees the end */
    r->timer = g_timeout_add(LINGER_MS, linger_over, r);
    g_input_stream_read_async(g_io_stream_get_input_stream(r->stream), r->buffer, sizeof r->buffer,
                              G_PRIORITY_LOW, r->cancel, drop_read, r);
}

/* Answers and closes without reading the rest of the request: libsoup
 * would read a body it is told to refuse (it skips it only for a client
 * that sent Expect: 100-continue), so the connection is taken from it. */
static void refuse(SoupServerMessage *msg, guint status, const char *code, const char *text)
{
    JsonNode *node = api_error_node(code, text);
    char *json = json_to_string(node, FALSE);
    json_node_unref(node);
    GIOStream *stream = soup_server_message_steal_connection(msg);
    if (stream == NULL) {
        g_free(json);
        return;
    }
    refusal *r = g_new0(refusal, 1);
    r->stream = stream;
    r->cancel = g_cancellable_new();
    r->answer = g_strdup_printf("HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                                "Content-Length: %zu\r\nConnection: close\r\n"
                                "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
                                "\r\n%s",
                                status, soup_status_get_phrase(status), strlen(json), json);
    r->length = strlen(r->answer);
    g_free(json);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(stream), r->answer, r->length,
                                    G_PRIORITY_DEFAULT, NULL, answer_written, r);
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
