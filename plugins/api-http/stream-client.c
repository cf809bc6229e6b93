/*
 * stream-client.c - one client of the event stream: its socket, what it
 * asked for (kinds, a resume), its token, and the pump that sends it what
 * it is owed.
 *
 * Counting what waits in the socket. libsoup 3.2 queues every frame in
 * memory and writes it when the socket takes it, and tells nobody how much
 * waits. So the client's connection writes through a meter: a pass-through
 * output stream that counts the bytes libsoup writes. Bytes handed to
 * libsoup (each message's frame: payload and header; the server does not
 * mask, and no extension is negotiated, so the size is exact) minus bytes
 * of data frames written is what waits. The meter follows the frames it
 * writes, so the control frames libsoup adds itself (keepalive pings, pongs,
 * the close) do not count as data written: over days of pings the figure
 * would otherwise drift low until no queue ever looked full.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "stream-client.h"

/* ---- the meter: a pass-through output stream that counts ---------------- */

typedef struct StreamMeterOutput {
    GOutputStream parent;
    GOutputStream *base;  /* pollable */
    guint64 written;      /* bytes of data frames (text, binary, continuation) */
    guint8 head[14];      /* the header of the frame being written, so far */
    guint head_len;       /* bytes of it seen */
    guint64 payload_left; /* bytes of the frame's payload still to come */
    gboolean data_frame;  /* the frame being written is a data frame */
} StreamMeterOutput;
typedef struct StreamMeterOutputClass {
    GOutputStreamClass parent_class;
} StreamMeterOutputClass;

static void meter_output_pollable_init(GPollableOutputStreamInterface *iface);
GType stream_meter_output_get_type(void);

/* The header's full length once its first two bytes are known. */
static guint header_size(const guint8 *head)
{
    guint len7 = head[1] & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((head[1] & 0x80) ? 4 : 0);
}

/* Follows the frames in `n` bytes just written. */
static void meter_count(StreamMeterOutput *m, const guint8 *p, gsize n)
{
    while (n > 0) {
        if (m->payload_left > 0) {
            gsize take = (gsize)MIN(m->payload_left, n);
            m->payload_left -= take;
            m->written += m->data_frame ? take : 0;
            p += take;
            n -= take;
            continue;
        }
        m->head[m->head_len++] = *p++;
        n--;
        if (m->head_len < 2 || m->head_len < header_size(m->head))
            continue;
        guint64 len = m->head[1] & 0x7f;
        if (len == 126)
            len = ((guint64)m->head[2] << 8) | m->head[3];
        else if (len == 127)
            for (int i = 0; i < 8; i++)
                len = (i ? len << 8 : 0) | m->head[2 + i];
        m->data_frame = (m->head[0] & 0x08) == 0; /* opcodes 0-7: data */
        m->written += m->data_frame ? m->head_len : 0;
        m->payload_left = len;
        m->head_len = 0;
    }
}

G_DEFINE_TYPE_WITH_CODE(StreamMeterOutput, stream_meter_output, G_TYPE_OUTPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_OUTPUT_STREAM,
                                              meter_output_pollable_init))

static gssize meter_write(GOutputStream *stream, const void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
    StreamMeterOutput *m = (StreamMeterOutput *)stream;
    gssize n = g_output_stream_write(m->base, buffer, count, cancellable, error);
    if (n > 0)
        meter_count(m, buffer, (gsize)n);
    return n;
}

static gboolean meter_flush(GOutputStream *stream, GCancellable *cancellable, GError **error)
{
    return g_output_stream_flush(((StreamMeterOutput *)stream)->base, cancellable, error);
}

/* The base stream belongs to the connection, which closes it. */
static gboolean meter_close(GOutputStream *stream, GCancellable *cancellable, GError **error)
{
    (void)stream;
    (void)cancellable;
    (void)error;
    return TRUE;
}

static gboolean meter_can_poll(GPollableOutputStream *stream)
{
    return g_pollable_output_stream_can_poll(
        G_POLLABLE_OUTPUT_STREAM(((StreamMeterOutput *)stream)->base));
}

static gboolean meter_is_writable(GPollableOutputStream *stream)
{
    return g_pollable_output_stream_is_writable(
        G_POLLABLE_OUTPUT_STREAM(((StreamMeterOutput *)stream)->base));
}

static GSource *meter_create_source(GPollableOutputStream *stream, GCancellable *cancellable)
{
    StreamMeterOutput *m = (StreamMeterOutput *)stream;
    GSource *base = g_pollable_output_stream_create_source(G_POLLABLE_OUTPUT_STREAM(m->base), NULL);
    GSource *source = g_pollable_source_new_full(stream, base, cancellable);
    g_source_unref(base);
    return source;
}

static gssize meter_write_nonblocking(GPollableOutputStream *stream, const void *buffer,
                                      gsize count, GError **error)
{
    StreamMeterOutput *m = (StreamMeterOutput *)stream;
    gssize n = g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(m->base), buffer,
                                                          count, NULL, error);
    if (n > 0)
        meter_count(m, buffer, (gsize)n);
    return n;
}

static void meter_output_pollable_init(GPollableOutputStreamInterface *iface)
{
    iface->can_poll = meter_can_poll;
    iface->is_writable = meter_is_writable;
    iface->create_source = meter_create_source;
    iface->write_nonblocking = meter_write_nonblocking;
}

static void meter_output_finalize(GObject *object)
{
    g_object_unref(((StreamMeterOutput *)object)->base);
    G_OBJECT_CLASS(stream_meter_output_parent_class)->finalize(object);
}

static void stream_meter_output_class_init(StreamMeterOutputClass *klass)
{
    GOutputStreamClass *out = G_OUTPUT_STREAM_CLASS(klass);
    out->write_fn = meter_write;
    out->flush = meter_flush;
    out->close_fn = meter_close;
    G_OBJECT_CLASS(klass)->finalize = meter_output_finalize;
}

static void stream_meter_output_init(StreamMeterOutput *self)
{
    (void)self;
}

/* The connection with the meter on its output; closing it closes the base. */
typedef struct StreamMeterIO {
    GIOStream parent;
    GIOStream *base;
    StreamMeterOutput *output;
} StreamMeterIO;
typedef struct StreamMeterIOClass {
    GIOStreamClass parent_class;
} StreamMeterIOClass;

GType stream_meter_io_get_type(void);
G_DEFINE_TYPE(StreamMeterIO, stream_meter_io, G_TYPE_IO_STREAM)

static GInputStream *meter_io_input(GIOStream *stream)
{
    return g_io_stream_get_input_stream(((StreamMeterIO *)stream)->base);
}

static GOutputStream *meter_io_output(GIOStream *stream)
{
    return G_OUTPUT_STREAM(((StreamMeterIO *)stream)->output);
}

static gboolean meter_io_close(GIOStream *stream, GCancellable *cancellable, GError **error)
{
    return g_io_stream_close(((StreamMeterIO *)stream)->base, cancellable, error);
}

static void meter_io_closed(GObject *base, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    GError *error = NULL;
    if (g_io_stream_close_finish(G_IO_STREAM(base), result, &error))
        g_task_return_boolean(task, TRUE);
    else
        g_task_return_error(task, error);
    g_object_unref(task);
}

/* On the base's own asynchronous close, never GIOStream's default (which
 * runs the synchronous close in a thread, beside the main loop's sources on
 * the same socket). */
static void meter_io_close_async(GIOStream *stream, int priority, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer data)
{
    GTask *task = g_task_new(stream, cancellable, callback, data);
    g_io_stream_close_async(((StreamMeterIO *)stream)->base, priority, cancellable, meter_io_closed,
                            task);
}

static gboolean meter_io_close_finish(GIOStream *stream, GAsyncResult *result, GError **error)
{
    (void)stream;
    return g_task_propagate_boolean(G_TASK(result), error);
}

static void meter_io_finalize(GObject *object)
{
    StreamMeterIO *io = (StreamMeterIO *)object;
    g_object_unref(io->output);
    g_object_unref(io->base);
    G_OBJECT_CLASS(stream_meter_io_parent_class)->finalize(object);
}

static void stream_meter_io_class_init(StreamMeterIOClass *klass)
{
    GIOStreamClass *io = G_IO_STREAM_CLASS(klass);
    io->get_input_stream = meter_io_input;
    io->get_output_stream = meter_io_output;
    io->close_fn = meter_io_close;
    io->close_async = meter_io_close_async;
    io->close_finish = meter_io_close_finish;
    G_OBJECT_CLASS(klass)->finalize = meter_io_finalize;
}

static void stream_meter_io_init(StreamMeterIO *self)
{
    (void)self;
}

static StreamMeterIO *meter_io_new(GIOStream *base)
{
    StreamMeterIO *io = g_object_new(stream_meter_io_get_type(), NULL);
    io->base = base;
    io->output = g_object_new(stream_meter_output_get_type(), NULL);
    io->output->base = g_object_ref(g_io_stream_get_output_stream(base));
    return io;
}

/* ---- the client -------------------------------------------------------- */

struct stream_client {
    api_stream *stream;
    SoupWebsocketConnection *ws;
    StreamMeterOutput *meter; /* the connection's */
    guint64 queued;           /* bytes of frames handed to libsoup */
    char *token;
    api_principal principal;
    stream_viewer viewer;
    guint kinds; /* 1 << stream_kind */

    /* Where the client is in the stream: the last seq given or passed. */
    guint64 cursor;
    gboolean subscribed;
    guint64 live_start; /* the cursor at the first subscribe: live from the next one */

    /* A resume: the ring's (replay_from - 1, replay_to] first, paced; then
     * the events that came live before the resume are not sent again: the
     * cursor skips to resume_pos and goes on from there. */
    gboolean resumed;   /* asked once; a second resume is refused */
    gboolean replaying; /* walking the ring, paced, until the cursor is live */
    gboolean resumed_sent;
    guint64 replay_from;
    guint64 replay_to;
    guint64 resume_pos;
    guint retry_source; /* the next pump of a paced replay */

    gboolean closing;
    gboolean closed;
};

static gint64 now_ms(void)
{
    return g_get_real_time() / 1000;
}

guint64 stream_client_buffered(stream_client *client)
{
    guint64 written = client->meter->written;
    return client->queued > written ? client->queued - written : 0;
}

/* The size of a server frame (unmasked) with `payload` bytes. */
static guint64 frame_size(gsize payload)
{
    return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

static void send_bytes(stream_client *c, GBytes *bytes)
{
    if (c->closing || soup_websocket_connection_get_state(c->ws) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    c->queued += frame_size(g_bytes_get_size(bytes));
    soup_websocket_connection_send_message(c->ws, SOUP_WEBSOCKET_DATA_TEXT, bytes);
}

/* Sends `node` (taken) as one text message. */
static void send_node(stream_client *c, JsonNode *node)
{
    char *text = json_to_string(node, FALSE);
    GBytes *bytes = g_bytes_new_take(text, strlen(text));
    send_bytes(c, bytes);
    g_bytes_unref(bytes);
    json_node_unref(node);
}

/* A builder for {"op": OP, ...}, the object left open. */
static JsonBuilder *op_begin(const char *op)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "op");
    json_builder_add_string_value(b, op);
    return b;
}

static void op_send(stream_client *c, JsonBuilder *b)
{
    json_builder_end_object(b);
    send_node(c, json_builder_get_root(b));
    g_object_unref(b);
}

static void send_error(stream_client *c, const char *code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void send_error(stream_client *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    JsonBuilder *b = op_begin("error");
    json_builder_set_member_name(b, "code");
    json_builder_add_string_value(b, code);
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, message);
    op_send(c, b);
    g_free(message);
}

void stream_client_close(stream_client *client, gushort code, const char *reason)
{
    if (client->closing)
        return;
    client->closing = TRUE;
    if (client->retry_source)
        g_source_remove(client->retry_source);
    client->retry_source = 0;
    if (soup_websocket_connection_get_state(client->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(client->ws, code, reason);
}

gboolean stream_client_closed(stream_client *client)
{
    return client->closed;
}

static void drop_slow(stream_client *c, const char *why)
{
    api_ctx *ctx = c->stream->ctx;
    ucd_info(ctx->host, ctx->self, "event stream: %s (%s) dropped: %s",
             c->principal.login ? c->principal.login : c->principal.key_name,
             c->principal.address ? c->principal.address : "?", why);
    ctx->host->counter_add(c->stream->dropped_slow, 1);
    stream_client_close(c, STREAM_CLOSE_TOO_SLOW, "too slow");
}

static gboolean pump_again(gpointer data)
{
    stream_client *c = data;
    c->retry_source = 0;
    stream_client_pump(c);
    return G_SOURCE_REMOVE;
}

static void send_resumed(stream_client *c)
{
    JsonBuilder *b = op_begin("resumed");
    json_builder_set_member_name(b, "from");
    json_builder_add_int_value(b, (gint64)c->replay_from);
    json_builder_set_member_name(b, "to");
    json_builder_add_int_value(b, (gint64)c->replay_to);
    op_send(c, b);
    c->resumed_sent = TRUE;
}

void stream_client_pump(stream_client *client)
{
    stream_client *c = client;
    api_stream *s = c->stream;
    guint64 limit = (guint64)MAX(s->ctx->config.ws_queue_limit, 1);
    guint64 last = stream_replay_last(s->replay);

    while (!c->closing) {
        if (c->replaying && !c->resumed_sent && c->cursor >= c->replay_to) {
            send_resumed(c);
            c->cursor = MAX(c->cursor, c->resume_pos);
        }
        if (c->cursor >= last) {
            if (c->replaying && c->resumed_sent)
                c->replaying = FALSE;
            return;
        }
        /* A replay goes on as the socket takes it, half the limit at a time. */
        if (c->replaying && stream_client_buffered(c) >= limit / 2) {
            if (c->retry_source == 0)
                c->retry_source = g_timeout_add(20, pump_again, c);
            return;
        }
        stream_event *e = stream_replay_get(s->replay, c->cursor + 1);
        if (e == NULL) {
            drop_slow(c, "its replay fell out of the window");
            return;
        }
        c->cursor = e->seq;
        if (!(c->kinds & (1u << e->kind)))
            continue;
        stream_view view = stream_filter_view(&s->lookup, &c->viewer, e);
        if (view == STREAM_VIEW_NONE)
            continue;
        GBytes *bytes = stream_event_bytes(e, view);
        if (!c->replaying &&
            stream_client_buffered(c) + frame_size(g_bytes_get_size(bytes)) > limit) {
            drop_slow(c, "more than ws_queue_limit bytes wait for it");
            return;
        }
        send_bytes(c, bytes);
        s->ctx->host->counter_add(s->events_sent, 1);
    }
}

/* ---- the protocol (docs/api/events.md) ------------------------------------ */

/* The kinds of a subscribe or unsubscribe as a mask; 0 and an error sent
 * when the list is missing, empty or names an unknown kind. */
static guint kinds_of(stream_client *c, JsonObject *o)
{
    JsonNode *n = json_object_get_member(o, "kinds");
    if (n == NULL || !JSON_NODE_HOLDS_ARRAY(n) ||
        json_array_get_length(json_node_get_array(n)) == 0) {
        send_error(c, API_ERR_INVALID_ARGUMENT, "'kinds' must be a non-empty list of kinds");
        return 0;
    }
    JsonArray *a = json_node_get_array(n);
    guint mask = 0;
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *k = json_array_get_element(a, i);
        const char *word = JSON_NODE_HOLDS_VALUE(k) && json_node_get_value_type(k) == G_TYPE_STRING
                               ? json_node_get_string(k)
                               : NULL;
        int kind = stream_kind_from_word(word);
        if (word && strcmp(word, "*") == 0) {
            mask |= STREAM_KIND_MASK_ALL;
        } else if (kind < 0) {
            send_error(c, API_ERR_INVALID_ARGUMENT,
                       "unknown kind '%s' (line, call, presence, conversation, directory, "
                       "appointment, module or *)",
                       word ? word : "(not a string)");
            return 0;
        } else {
            mask |= 1u << kind;
        }
    }
    return mask;
}

static void send_subscribed(stream_client *c)
{
    JsonBuilder *b = op_begin("subscribed");
    json_builder_set_member_name(b, "kinds");
    json_builder_begin_array(b);
    for (int k = 0; k < STREAM_KIND_COUNT_; k++) {
        if (c->kinds & (1u << k))
            json_builder_add_string_value(b, stream_kind_word(k));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "seq");
    json_builder_add_int_value(b, (gint64)c->cursor);
    json_builder_set_member_name(b, "epoch");
    json_builder_add_string_value(b, c->stream->epoch);
    op_send(c, b);
}

static void on_subscribe(stream_client *c, JsonObject *o, gboolean add)
{
    guint mask = kinds_of(c, o);
    if (mask == 0)
        return;
    if (add) {
        c->kinds |= mask;
        if (!c->subscribed)
            c->live_start = c->cursor;
        c->subscribed = TRUE;
    } else {
        c->kinds &= ~mask;
    }
    send_subscribed(c);
}

static void send_resync(stream_client *c, const char *reason, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void send_resync(stream_client *c, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    JsonBuilder *b = op_begin("resync");
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, reason);
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, message);
    json_builder_set_member_name(b, "seq");
    json_builder_add_int_value(b, (gint64)c->cursor);
    json_builder_set_member_name(b, "epoch");
    json_builder_add_string_value(b, c->stream->epoch);
    op_send(c, b);
    g_free(message);
}

static void on_resume(stream_client *c, JsonObject *o)
{
    JsonNode *after_node = json_object_get_member(o, "after");
    JsonNode *epoch_node = json_object_get_member(o, "epoch");
    if (after_node == NULL || !JSON_NODE_HOLDS_VALUE(after_node) ||
        json_node_get_value_type(after_node) != G_TYPE_INT64 || json_node_get_int(after_node) < 0) {
        send_error(c, API_ERR_INVALID_ARGUMENT, "'after' must be the last seq received (>= 0)");
        return;
    }
    if (epoch_node && (!JSON_NODE_HOLDS_VALUE(epoch_node) ||
                       json_node_get_value_type(epoch_node) != G_TYPE_STRING)) {
        send_error(c, API_ERR_INVALID_ARGUMENT, "'epoch' must be the string 'subscribed' gave");
        return;
    }
    if (!c->subscribed) {
        send_error(c, API_ERR_BAD_REQUEST,
                   "subscribe before resume: the replay sends the "
                   "subscribed kinds");
        return;
    }
    if (c->resumed) {
        send_error(c, API_ERR_CONFLICT, "this connection has resumed already");
        return;
    }
    c->resumed = TRUE;

    guint64 after = (guint64)json_node_get_int(after_node);
    const char *epoch = epoch_node ? json_node_get_string(epoch_node) : NULL;
    if (epoch && strcmp(epoch, c->stream->epoch) != 0) {
        send_resync(c, "epoch", "the server restarted since epoch %s: its events are gone", epoch);
        return;
    }
    switch (stream_replay_check(c->stream->replay, after)) {
    case STREAM_RESUME_FUTURE:
        send_resync(c, "unknown_seq",
                    "seq %" G_GUINT64_FORMAT " was never sent (the last is %" G_GUINT64_FORMAT
                    "): did the server restart?",
                    after, stream_replay_last(c->stream->replay));
        return;
    case STREAM_RESUME_TOO_OLD:
        if (after < c->live_start) {
            send_resync(c, "window",
                        "the events after %" G_GUINT64_FORMAT
                        " are no longer kept (the oldest kept is %" G_GUINT64_FORMAT ")",
                        after, stream_replay_oldest(c->stream->replay));
            return;
        }
        break;
    case STREAM_RESUME_OK:
        break;
    }
    c->replay_from = after + 1;
    if (after >= c->live_start) {
        /* Live since before `after`: nothing was missed. */
        c->replay_to = after;
        send_resumed(c);
        return;
    }
    c->replay_to = c->live_start;
    c->resume_pos = c->cursor;
    c->cursor = after;
    c->replaying = TRUE;
    stream_client_pump(c);
}

static gboolean same_identity(const api_principal *a, const api_principal *b)
{
    if (a->user_id || b->user_id)
        return g_strcmp0(a->user_id, b->user_id) == 0;
    return g_strcmp0(a->key_name, b->key_name) == 0;
}

static void set_principal(stream_client *c, api_principal *p)
{
    api_principal_clear(&c->principal);
    c->principal = *p;
    memset(p, 0, sizeof *p);
    c->viewer.user_id = c->principal.user_id ? g_intern_string(c->principal.user_id) : NULL;
    c->viewer.admin = c->principal.role >= UCD_HTTP_ROLE_ADMIN;
}

static void on_renew(stream_client *c, JsonObject *o)
{
    JsonNode *n = json_object_get_member(o, "token");
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        send_error(c, API_ERR_INVALID_ARGUMENT, "'token' must be the new access token");
        return;
    }
    const char *token = json_node_get_string(n);
    api_principal p = {0};
    const char *code = NULL;
    char *message = NULL;
    api_ctx *ctx = c->stream->ctx;
    if (!api_auth_resolve(ctx->auth, token, c->principal.address, &p, &code, &message)) {
        send_error(c, code ? code : API_ERR_UNAUTHENTICATED, "the new token does not hold: %s",
                   message ? message : "unknown token");
        g_free(message);
        api_principal_clear(&p);
        return;
    }
    if (!same_identity(&p, &c->principal)) {
        send_error(c, API_ERR_FORBIDDEN, "the new token is another user's: open a new stream");
        api_principal_clear(&p);
        return;
    }
    g_free(c->token);
    c->token = g_strdup(token);
    set_principal(c, &p);
    JsonBuilder *b = op_begin("renewed");
    json_builder_set_member_name(b, "expires_in");
    if (c->principal.expires_ms)
        json_builder_add_int_value(b, MAX(0, (c->principal.expires_ms - now_ms()) / 1000));
    else
        json_builder_add_null_value(b);
    op_send(c, b);
}

static void on_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
    stream_client *c = data;
    (void)ws;
    if (c->closing)
        return;
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        send_error(c, API_ERR_BAD_REQUEST, "send JSON text messages, not binary");
        return;
    }
    gsize length = 0;
    const char *text = g_bytes_get_data(message, &length);
    JsonParser *parser = json_parser_new_immutable();
    GError *error = NULL;
    if (!json_parser_load_from_data(parser, text ? text : "", (gssize)length, &error)) {
        send_error(c, API_ERR_INVALID_JSON, "the message is not JSON: %s", error->message);
        g_error_free(error);
        g_object_unref(parser);
        return;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *op_node = o ? json_object_get_member(o, "op") : NULL;
    const char *op = op_node && JSON_NODE_HOLDS_VALUE(op_node) &&
                             json_node_get_value_type(op_node) == G_TYPE_STRING
                         ? json_node_get_string(op_node)
                         : NULL;
    if (op == NULL)
        send_error(c, API_ERR_BAD_REQUEST, "a message is an object with an 'op' string");
    else if (strcmp(op, "subscribe") == 0)
        on_subscribe(c, o, TRUE);
    else if (strcmp(op, "unsubscribe") == 0)
        on_subscribe(c, o, FALSE);
    else if (strcmp(op, "resume") == 0)
        on_resume(c, o);
    else if (strcmp(op, "renew") == 0)
        on_renew(c, o);
    else if (strcmp(op, "ping") == 0)
        op_send(c, op_begin("pong"));
    else
        send_error(c, API_ERR_BAD_REQUEST,
                   "unknown op '%s' (subscribe, unsubscribe, resume, renew, ping)", op);
    g_object_unref(parser);
}

/* ---- the token's life ---------------------------------------------------- */

void stream_client_recheck(stream_client *client)
{
    stream_client *c = client;
    if (c->closing)
        return;
    api_principal p = {0};
    const char *code = NULL;
    char *message = NULL;
    api_ctx *ctx = c->stream->ctx;
    gboolean holds =
        api_auth_resolve(ctx->auth, c->token, c->principal.address, &p, &code, &message);
    if (holds && (c->principal.expires_ms == 0 || c->principal.expires_ms > now_ms()) &&
        same_identity(&p, &c->principal)) {
        /* The role may have changed (admin group); the identity may not. */
        set_principal(c, &p);
    } else {
        ucd_info(ctx->host, ctx->self, "event stream: %s (%s) closed: %s",
                 c->principal.login ? c->principal.login : c->principal.key_name,
                 c->principal.address ? c->principal.address : "?",
                 message ? message : "token expired");
        stream_client_close(c, STREAM_CLOSE_TOKEN_EXPIRED, "token expired");
    }
    g_free(message);
    api_principal_clear(&p);
}

gboolean stream_client_expired(stream_client *client, gint64 now)
{
    return client->principal.expires_ms != 0 && client->principal.expires_ms <= now &&
           !client->closing;
}

/* ---- life ------------------------------------------------------------------ */

/* libsoup 3.2 closes the socket on a message over the size limit without
 * telling the client why: say it with the close code first (1009). */
static void on_error(SoupWebsocketConnection *ws, GError *error, gpointer data)
{
    stream_client *c = data;
    api_ctx *ctx = c->stream->ctx;
    gboolean too_big =
        error->domain == SOUP_WEBSOCKET_ERROR && error->code == SOUP_WEBSOCKET_CLOSE_TOO_BIG;
    ucd_info(ctx->host, ctx->self, "event stream: %s (%s): %s",
             c->principal.login ? c->principal.login : c->principal.key_name,
             c->principal.address ? c->principal.address : "?", error->message);
    if (too_big && !c->closing &&
        soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN) {
        c->closing = TRUE;
        soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
    }
}

/* Closed clients leave here, never while the list is walked. */
static gboolean sweep_closed(gpointer data)
{
    api_stream *s = data;
    s->sweep_idle = 0;
    for (guint i = s->clients->len; i-- > 0;) {
        stream_client *c = s->clients->pdata[i];
        if (stream_client_closed(c)) {
            g_ptr_array_remove_index_fast(s->clients, i);
            stream_client_free(c);
        }
    }
    return G_SOURCE_REMOVE;
}

void stream_sweep_later(api_stream *s)
{
    if (s->sweep_idle == 0)
        s->sweep_idle = g_idle_add(sweep_closed, s);
}

static void on_closed(SoupWebsocketConnection *ws, gpointer data)
{
    stream_client *c = data;
    (void)ws;
    c->closing = TRUE;
    c->closed = TRUE;
    if (c->retry_source)
        g_source_remove(c->retry_source);
    c->retry_source = 0;
    api_ctx *ctx = c->stream->ctx;
    ctx->host->counter_add(c->stream->clients_connected, -1);
    ucd_debug(ctx->host, ctx->self, "event stream: %s (%s) gone (close code %u)",
              c->principal.login ? c->principal.login : c->principal.key_name,
              c->principal.address ? c->principal.address : "?",
              soup_websocket_connection_get_close_code(c->ws));
    stream_sweep_later(c->stream);
}

stream_client *stream_client_new(api_stream *stream, GIOStream *io, GUri *uri, const char *origin,
                                 const char *token, api_principal *principal)
{
    stream_client *c = g_new0(stream_client, 1);
    c->stream = stream;
    StreamMeterIO *metered = meter_io_new(io);
    c->meter = g_object_ref(metered->output);
    c->ws = soup_websocket_connection_new(G_IO_STREAM(metered), uri,
                                          SOUP_WEBSOCKET_CONNECTION_SERVER, origin, NULL, NULL);
    g_object_unref(metered);
    c->token = g_strdup(token);
    c->cursor = stream_replay_last(stream->replay);
    set_principal(c, principal);

    api_config *config = &stream->ctx->config;
    soup_websocket_connection_set_max_incoming_payload_size(c->ws, (guint64)config->max_ws_message);
    if (config->ws_ping_interval_ms > 0)
        soup_websocket_connection_set_keepalive_interval(
            c->ws, (guint)MAX(config->ws_ping_interval_ms / 1000, 1));
    g_signal_connect(c->ws, "message", G_CALLBACK(on_message), c);
    g_signal_connect(c->ws, "closed", G_CALLBACK(on_closed), c);
    g_signal_connect(c->ws, "error", G_CALLBACK(on_error), c);
    g_ptr_array_add(stream->clients, c);
    stream->ctx->host->counter_add(stream->clients_connected, 1);
    return c;
}

void stream_client_free(stream_client *client)
{
    if (client == NULL)
        return;
    if (client->retry_source)
        g_source_remove(client->retry_source);
    g_signal_handlers_disconnect_by_data(client->ws, client);
    if (!client->closed)
        client->stream->ctx->host->counter_add(client->stream->clients_connected, -1);
    g_object_unref(client->ws);
    g_object_unref(client->meter);
    api_principal_clear(&client->principal);
    g_free(client->token);
    g_free(client);
}
