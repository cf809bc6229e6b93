/*
 * stream.c - the event stream at /api/v1/events: the WebSocket upgrade (the
 * token checked before it: 401 without one that holds), the bus
 * subscription that numbers events and keeps them in the replay ring, and
 * the fan-out to the clients.
 *
 * Everything runs on the main loop: the bus delivers there, libsoup serves
 * there. An event's JSON is built once per view when it arrives (not per
 * client), then each client's pump decides, with the permission check of
 * stream-filter.c, what of it the client gets. Sending never blocks: a
 * frame goes into libsoup's queue and a client whose queue grows past
 * ws_queue_limit is closed (stream-client.c), so 10,000 clients are served
 * in one loop turn per event.
 */
#include <string.h>

#include "api-address.h"
#include "stream-client.h"

/* ---- the lookups of the filter, over the core's services ----------------- */

static guint lookup_level(gpointer data, const char *viewer, const char *subject)
{
    api_ctx *ctx = data;
    uint32_t level = UCD_PERM_BLOCKED;
    if (ctx->perms == NULL || ctx->perms->level(ctx->perms_impl, viewer, subject, &level) != UCD_OK)
        return UCD_PERM_BLOCKED;
    return level;
}

static int keep_user_id(const ucd_directory_user *user, void *data)
{
    *(const char **)data = user->id ? g_intern_string(user->id) : NULL;
    return 1;
}

static const char *lookup_line_user(gpointer data, const char *driver, const char *line)
{
    api_ctx *ctx = data;
    const char *id = NULL;
    if (ctx->dir && line)
        ctx->dir->line_user(ctx->dir_impl, driver, line, keep_user_id, &id);
    return id;
}

static int add_leaders(const ucd_directory_group *group, void *data)
{
    for (const char *const *l = group->leaders; l && *l; l++)
        g_ptr_array_add(data, (gpointer)g_intern_string(*l));
    return 0;
}

typedef struct leaders_query {
    api_ctx *ctx;
    GPtrArray *out;
} leaders_query;

static int add_groups_leaders(const ucd_directory_user *user, void *data)
{
    leaders_query *q = data;
    for (const char *const *g = user->groups; g && *g; g++)
        q->ctx->dir->get_group(q->ctx->dir_impl, *g, add_leaders, q->out);
    return 1;
}

static void lookup_leaders_of(gpointer data, const char *user, GPtrArray *out)
{
    api_ctx *ctx = data;
    leaders_query q = {ctx, out};
    if (ctx->dir)
        ctx->dir->get_user(ctx->dir_impl, user, add_groups_leaders, &q);
}

/* ---- the bus ----------------------------------------------------------- */

static void on_event(const ucd_event *event, void *data)
{
    api_stream *s = data;
    int kind = stream_kind_of_event(event->type);
    if (kind < 0 || event->payload == NULL || s->stopping)
        return;
    guint64 seq = ++s->seq;
    GBytes *full = stream_json_event(event, seq, STREAM_VIEW_FULL);
    GBytes *reduced = stream_json_reduces(event)
                          ? stream_json_event(event, seq, STREAM_VIEW_REDUCED)
                          : g_bytes_ref(full);
    stream_event *e = stream_event_new(kind, seq, event->time_ms, full, reduced);
    stream_filter_prepare(&s->lookup, event, e);
    stream_replay_push(s->replay, e);
    stream_event_unref(e);

    for (guint i = 0; i < s->clients->len; i++)
        stream_client_pump(s->clients->pdata[i]);
}

/* Expired tokens are found within a second; a revoked session or a
 * disabled user within AUTH_RECHECK_MS even when the token has not expired. */
#define AUTH_TICK_MS    1000
#define AUTH_RECHECK_MS 30000

/* Each tick rechecks a slice of the clients' tokens (every client once per
 * AUTH_RECHECK_MS, 10,000 clients never at once) and any that expired. */
static void check_tokens(void *data)
{
    api_stream *s = data;
    gint64 now = g_get_real_time() / 1000;
    guint slices = AUTH_RECHECK_MS / AUTH_TICK_MS;
    guint slice = s->auth_ticks++ % slices;
    for (guint i = 0; i < s->clients->len; i++) {
        stream_client *c = s->clients->pdata[i];
        if (i % slices == slice || stream_client_expired(c, now))
            stream_client_recheck(c);
    }
}

/* ---- the upgrade ------------------------------------------------------- */

/* The API's error shape, for an answer before the upgrade. */
static void refuse(SoupServerMessage *msg, guint status, const char *code, const char *message)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "code");
    json_builder_add_string_value(b, code);
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, message);
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    char *text = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);
    soup_server_message_set_status(msg, status, NULL);
    if (status == SOUP_STATUS_UNAUTHORIZED)
        soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                     "WWW-Authenticate", "Bearer");
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, strlen(text));
}

/* The bearer token of Authorization, else ?token= (browsers cannot set
 * headers on a WebSocket). */
static const char *token_of(SoupServerMessage *msg, GHashTable *query)
{
    const char *auth =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
    if (auth && g_ascii_strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        return *t ? t : NULL;
    }
    const char *t = query ? g_hash_table_lookup(query, "token") : NULL;
    return t && *t ? t : NULL;
}

static gboolean has_scope(const api_principal *p, const char *scope)
{
    for (char **s = p->scopes; s && *s; s++) {
        if (strcmp(*s, scope) == 0)
            return TRUE;
    }
    return FALSE;
}

/* What the handler found, until libsoup has written the 101. */
typedef struct upgrade {
    api_stream *stream;
    char *token;
    api_principal principal;
} upgrade;

static void upgrade_free(gpointer data, GClosure *closure)
{
    upgrade *u = data;
    (void)closure;
    api_principal_clear(&u->principal);
    g_free(u->token);
    g_free(u);
}

/* The 101 is out: the connection is the stream's from here. */
static void on_switched(SoupServerMessage *msg, gpointer data)
{
    upgrade *u = data;
    api_stream *s = u->stream;
    if (s->stopping)
        return;
    /* A read timeout the server set against slow requests would end an
     * idle but healthy socket: the WebSocket's keepalive takes over. */
    GSocket *socket = soup_server_message_get_socket(msg);
    if (socket)
        g_socket_set_timeout(socket, 0);
    GIOStream *io = soup_server_message_steal_connection(msg);
    if (io == NULL)
        return;
    const char *origin =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Origin");
    stream_client_new(s, io, soup_server_message_get_uri(msg), origin, u->token, &u->principal);
}

static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer data)
{
    api_stream *s = data;
    (void)server;
    if (strcmp(path, API_PREFIX "/events") != 0) {
        refuse(msg, SOUP_STATUS_NOT_FOUND, API_ERR_NOT_FOUND, "no such resource");
        return;
    }
    if (strcmp(soup_server_message_get_method(msg), "GET") != 0) {
        refuse(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, API_ERR_METHOD,
               "the event stream is a WebSocket: GET with Upgrade");
        return;
    }
    if (s->stopping || s->subscription == NULL) {
        refuse(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, API_ERR_UNAVAILABLE,
               "the event stream is not running");
        return;
    }
    const char *token = token_of(msg, query);
    if (token == NULL) {
        refuse(msg, SOUP_STATUS_UNAUTHORIZED, API_ERR_UNAUTHENTICATED,
               "a token is needed: Authorization: Bearer TOKEN or ?token=TOKEN");
        return;
    }
    upgrade *u = g_new0(upgrade, 1);
    u->stream = s;
    u->token = g_strdup(token);
    const char *code = NULL;
    char *message = NULL;
    char *address = api_client_address(&s->ctx->config, msg);
    gboolean holds = api_auth_resolve(s->ctx->auth, token, address, &u->principal, &code, &message);
    g_free(address);
    if (!holds) {
        refuse(msg, SOUP_STATUS_UNAUTHORIZED, code ? code : API_ERR_UNAUTHENTICATED,
               message ? message : "the token does not hold");
        g_free(message);
        upgrade_free(u, NULL);
        return;
    }
    g_free(message);
    if (u->principal.user_id == NULL && !has_scope(&u->principal, "events:read")) {
        refuse(msg, SOUP_STATUS_FORBIDDEN, API_ERR_FORBIDDEN,
               "this API key lacks the scope events:read");
        upgrade_free(u, NULL);
        return;
    }
    GError *error = NULL;
    if (!soup_websocket_server_check_handshake(msg, NULL, NULL, NULL, &error)) {
        refuse(msg, SOUP_STATUS_BAD_REQUEST, API_ERR_BAD_REQUEST, error->message);
        g_error_free(error);
        upgrade_free(u, NULL);
        return;
    }
    /* No extension is offered: permessage-deflate would cost memory per
     * client and make the queued-bytes count inexact. */
    soup_websocket_server_process_handshake(msg, NULL, NULL, NULL, NULL);
    g_signal_connect_data(msg, "wrote-informational", G_CALLBACK(on_switched), u, upgrade_free, 0);
}

/* ---- api-stream.h ---------------------------------------------------------- */

api_stream *api_stream_new(api_ctx *ctx)
{
    api_stream *s = g_new0(api_stream, 1);
    s->ctx = ctx;
    g_snprintf(s->epoch, sizeof s->epoch, "%08x%08x", g_random_int(), g_random_int());
    gint64 window = ctx->config.replay_window;
    s->replay = stream_replay_new((guint)CLAMP(window, 1, G_MAXINT32));
    s->lookup = (stream_lookup){.level = lookup_level,
                                .line_user = lookup_line_user,
                                .leaders_of = lookup_leaders_of,
                                .data = ctx};
    s->clients = g_ptr_array_new();
    const ucd_host *host = ctx->host;
    s->clients_connected = host->counter_new(ctx->self, "ws_clients", UCD_COUNTER_GAUGE,
                                             "WebSocket event stream clients connected now");
    s->events_sent = host->counter_new(ctx->self, "ws_events_sent", UCD_COUNTER_MONOTONIC,
                                       "events sent to event stream clients");
    s->dropped_slow = host->counter_new(ctx->self, "ws_dropped_slow", UCD_COUNTER_MONOTONIC,
                                        "event stream clients closed because they read too "
                                        "slowly (ws_queue_limit)");
    return s;
}

void api_stream_start(api_stream *stream)
{
    api_ctx *ctx = stream->ctx;
    uint64_t mask = 0;
    for (uint32_t type = 0; type < UCD_EVENT_TYPE_COUNT_; type++) {
        if (stream_kind_of_event(type) >= 0)
            mask |= UCD_EVENT_MASK(type);
    }
    /* A burst of calls is thousands of events in one loop turn; the stream
     * keeps up (it only builds JSON), so a deep queue loses none. */
    ucd_event_filter filter = {
        .struct_size = sizeof filter, .type_mask = mask, .queue_size = 65536};
    stream->stopping = FALSE;
    if (ctx->host->subscribe(ctx->self, &filter, on_event, stream, &stream->subscription) !=
        UCD_OK) {
        ucd_error(ctx->host, ctx->self, "event stream: cannot subscribe to the bus");
        stream->subscription = NULL;
    }
    stream->auth_timer =
        ctx->host->timer_add(ctx->self, AUTH_TICK_MS, UCD_TIMER_REPEAT, check_tokens, stream);
}

void api_stream_stop(api_stream *stream)
{
    api_ctx *ctx = stream->ctx;
    stream->stopping = TRUE;
    for (guint i = 0; i < stream->clients->len; i++)
        stream_client_close(stream->clients->pdata[i], SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                            "the server stops");
    if (stream->subscription)
        ctx->host->unsubscribe(ctx->self, stream->subscription);
    stream->subscription = NULL;
    if (stream->auth_timer)
        ctx->host->timer_remove(ctx->self, stream->auth_timer);
    stream->auth_timer = NULL;
}

void api_stream_free(api_stream *stream)
{
    if (stream == NULL)
        return;
    if (stream->sweep_idle)
        g_source_remove(stream->sweep_idle);
    for (guint i = 0; i < stream->clients->len; i++)
        stream_client_free(stream->clients->pdata[i]);
    g_ptr_array_free(stream->clients, TRUE);
    stream_replay_free(stream->replay);
    g_free(stream);
}

void api_stream_attach(api_stream *stream, SoupServer *server)
{
    soup_server_add_handler(server, API_PREFIX "/events", on_request, stream, NULL);
}

guint api_stream_client_count(api_stream *stream)
{
    guint n = 0;
    for (guint i = 0; i < stream->clients->len; i++)
        n += !stream_client_closed(stream->clients->pdata[i]);
    return n;
}
