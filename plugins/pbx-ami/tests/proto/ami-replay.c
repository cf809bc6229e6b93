/*
 * ami-replay.c - the scripted AMI server (see ami-replay.h).
 *
 * Each connection is a small state machine over the shared script: `step` is
 * the next step to play; sending blocks advances it until an expectation,
 * where it waits for the client's action. Every asynchronous operation holds a
 * reference on its connection, so a connection closed (or a peer freed) while
 * a read or write is under way is freed only when that operation returns.
 *
 * A connection queues at most PLAY_AHEAD bytes beyond what the socket took
 * and goes on playing as writes complete: a long script (a benchmark's
 * thousands of calls) starts flowing at once instead of being formatted
 * whole first.
 */
#include "ami-replay.h"

#include <stdio.h>
#include <string.h>

#include "ami-parse.h"
#include "ami-script.h"

#define DEFAULT_BANNER "Asterisk Call Manager/11.0.0"
#define PLAY_AHEAD     (256 * 1024)

typedef struct replay_client replay_client;

struct ami_replay {
    GMainContext *context;
    GSocketService *service;
    guint16 port;
    ami_replay_options options;                      /* strings owned below */
    char *secret, *banner, *log_path, *hold_section; /* hold_section NULL once released */
    GTlsCertificate *certificate;                    /* NULL: plain TCP */
    GPtrArray *steps;                                /* of ami_step * */
    GPtrArray *expected; /* pami_message * per step (NULL unless SENT) */
    guint loop_start;
    GList *clients; /* of replay_client *, open ones */
    guint accepted;
    GPtrArray *actions;    /* of pami_message * */
    GPtrArray *mismatches; /* of char * */
};

struct replay_client {
    gint refs;
    ami_replay *r; /* NULL once the connection is closed */
    GSocketConnection *socket_conn;
    GIOStream *stream; /* the socket connection, or the TLS one over it */
    GCancellable *cancel;
    pami_parser *parser;
    GHashTable *ids;    /* script ActionID -> client ActionID */
    GHashTable *values; /* recorded value -> the client's ("{VALUE}" expectations) */
    guint step;
    guint actions_seen;
    guint messages_sent;
    gboolean stalled;
    GString *out;  /* queued, not yet written */
    char *writing; /* the buffer being written */
    gboolean close_after_write;
    char buf[16384];
};

static void client_read(replay_client *c);
static void client_close(replay_client *c);
static void client_play(replay_client *c);

static replay_client *client_ref(replay_client *c)
{
    c->refs++;
    return c;
}

static void client_unref(replay_client *c)
{
    if (--c->refs > 0) {
        return;
    }
    pami_parser_free(c->parser);
    g_hash_table_unref(c->ids);
    g_hash_table_unref(c->values);
    g_string_free(c->out, TRUE);
    g_free(c->writing);
    g_object_unref(c->cancel);
    g_clear_object(&c->stream);
    g_object_unref(c->socket_conn);
    g_free(c);
}

/* GIO binds an async operation to the thread-default context of the moment
 * it starts; the peer's context may not be that one. */
static void context_enter(ami_replay *r)
{
    g_main_context_push_thread_default(r->context);
}

static void context_leave(ami_replay *r)
{
    g_main_context_pop_thread_default(r->context);
}

/* ---- writing ---- */

static void start_write(replay_client *c);

static void on_written(GObject *source, GAsyncResult *result, gpointer user_data)
{
    replay_client *c = user_data;
    GError *error = NULL;
    gboolean ok = g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error);
    g_clear_error(&error);
    g_clear_pointer(&c->writing, g_free);
    if (c->r != NULL) {
        if (!ok || (c->out->len == 0 && c->close_after_write)) {
            client_close(c);
        } else {
            if (c->out->len > 0) {
                start_write(c);
            }
            client_play(c); /* the rest of a script that did not fit PLAY_AHEAD */
        }
    }
    client_unref(c);
}

static void start_write(replay_client *c)
{
    gsize len = c->out->len;
    c->writing = g_string_free(c->out, FALSE);
    c->out = g_string_new(NULL);
    context_enter(c->r);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(c->stream), c->writing, len,
                                    G_PRIORITY_DEFAULT, c->cancel, on_written, client_ref(c));
    context_leave(c->r);
}

static void client_send(replay_client *c, const char *data, gsize len)
{
    if (c->r == NULL) {
        return;
    }
    g_string_append_len(c->out, data, (gssize)len);
    if (c->writing == NULL) {
        start_write(c);
    }
}

/* ---- connection life ---- */

static void client_close(replay_client *c)
{
    ami_replay *r = c->r;
    if (r == NULL) {
        return;
    }
    c->r = NULL;
    g_cancellable_cancel(c->cancel);
    g_socket_close(g_socket_connection_get_socket(c->socket_conn), NULL);
    r->clients = g_list_remove(r->clients, c);
    client_unref(c);
}

static void on_read(GObject *source, GAsyncResult *result, gpointer user_data)
{
    replay_client *c = user_data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);
    if (c->r != NULL) {
        if (n <= 0) {
            client_close(c);
        } else {
            pami_parser_feed(c->parser, c->buf, (gsize)n);
            client_read(c); /* does nothing once the connection is closed */
        }
    }
    client_unref(c);
}

static void client_read(replay_client *c)
{
    if (c->r == NULL) {
        return;
    }
    context_enter(c->r);
    g_input_stream_read_async(g_io_stream_get_input_stream(c->stream), c->buf, sizeof c->buf,
                              G_PRIORITY_DEFAULT, c->cancel, on_read, client_ref(c));
    context_leave(c->r);
}

/* ---- what the peer sends ---- */

/* Sends a block of the script with the client's ActionIDs in place of the
 * script's; with close_after reached, sends half of it and closes. */
static void send_block(replay_client *c, const char *text)
{
    GString *block = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(text, "\r\n", -1);
    for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++) {
        const char *id = g_str_has_prefix(lines[i], "ActionID: ")
                             ? g_hash_table_lookup(c->ids, lines[i] + strlen("ActionID: "))
                             : NULL;
        g_string_append_printf(block, "%s\r\n", id != NULL ? "ActionID: " : lines[i]);
        if (id != NULL) {
            g_string_insert(block, block->len - 2, id);
        }
    }
    GHashTableIter it;
    gpointer recorded, sent;
    g_hash_table_iter_init(&it, c->values);
    while (g_hash_table_iter_next(&it, &recorded, &sent))
        g_string_replace(block, recorded, sent, 0);
    guint close_after = c->r->options.close_after;
    if (close_after > 0 && c->messages_sent >= close_after) {
        client_send(c, block->str, block->len / 2);
        c->close_after_write = TRUE;
    } else {
        client_send(c, block->str, block->len);
        c->messages_sent++;
    }
    g_string_free(block, TRUE);
}

/* Sends a response built here (Ping, Filter, errors). */
static void send_response(replay_client *c, const char *response, const char *action_id,
                          const char *name, const char *value)
{
    pami_message *m = pami_message_new();
    pami_message_add(m, "Response", response);
    if (action_id != NULL) {
        pami_message_add(m, "ActionID", action_id);
    }
    pami_message_add(m, name, value);
    g_autofree char *wire = pami_message_to_wire(m);
    client_send(c, wire, strlen(wire));
    pami_message_unref(m);
}

/* TRUE when `step` starts the section the peer holds back. */
static gboolean held_at(const ami_replay *r, guint step_index)
{
    const ami_step *step = g_ptr_array_index(r->steps, step_index);
    if (r->hold_section == NULL || g_strcmp0(step->section, r->hold_section) != 0) {
        return FALSE;
    }
    const ami_step *before = step_index > 0 ? g_ptr_array_index(r->steps, step_index - 1) : NULL;
    return before == NULL || g_strcmp0(before->section, r->hold_section) != 0;
}

/* Plays the script from the current step up to the next expectation (or
 * the held section, or until PLAY_AHEAD bytes wait to be written). */
static void client_play(replay_client *c)
{
    GPtrArray *steps = c->r != NULL ? c->r->steps : NULL;
    while (c->r != NULL && !c->stalled && !c->close_after_write && c->out->len < PLAY_AHEAD) {
        if (c->step >= steps->len) {
            if (!c->r->options.loop || c->r->loop_start >= steps->len) {
                return;
            }
            c->step = c->r->loop_start;
        }
        const ami_step *step = g_ptr_array_index(steps, c->step);
        if (step->kind == AMI_STEP_SENT || held_at(c->r, c->step)) {
            return; /* wait for the client's action, or the release */
        }
        c->step++;
        if (step->kind == AMI_STEP_RECV) {
            send_block(c, step->text);
        }
    }
}

/* ---- what the client sends ---- */

static void log_action(ami_replay *r, pami_message *action)
{
    if (r->log_path == NULL) {
        return;
    }
    pami_message *masked = pami_message_new();
    for (guint i = 0; i < pami_message_count(action); i++) {
        const char *name = pami_message_name_at(action, i);
        gboolean secret = g_ascii_strcasecmp(name, "Secret") == 0;
        pami_message_add(masked, name, secret ? "***" : pami_message_value_at(action, i));
    }
    g_autofree char *wire = pami_message_to_wire(masked);
    pami_message_unref(masked);
    FILE *f = fopen(r->log_path, "a");
    if (f != NULL) {
        fputs(wire, f);
        fclose(f);
    }
}

/* TRUE for an expectation's "{VALUE}": whatever the client sends stands for
 * VALUE from then on. */
static gboolean is_placeholder(const char *value)
{
    size_t n = strlen(value);
    return n > 2 && value[0] == '{' && value[n - 1] == '}';
}

/* `value` when one of the headers `name` of `m` has it (a header may repeat:
 * Variable), else the first header's value, or NULL when there is none. */
static const char *header_with_value(const pami_message *m, const char *name, const char *value)
{
    for (guint i = 0; i < pami_message_count(m); i++)
        if (g_ascii_strcasecmp(pami_message_name_at(m, i), name) == 0 &&
            strcmp(pami_message_value_at(m, i), value) == 0)
            return pami_message_value_at(m, i);
    return pami_message_get(m, name);
}

/* NULL when `action` fulfils `expected`, else what differs. */
static char *compare_action(const ami_replay *r, const pami_message *expected,
                            const pami_message *action)
{
    const char *want = pami_message_get(expected, "Action");
    const char *got = pami_message_get(action, "Action");
    if (got == NULL || g_ascii_strcasecmp(want, got) != 0) {
        return g_strdup_printf("expected Action: %s, got Action: %s", want,
                               got != NULL ? got : "(none)");
    }
    gboolean login = g_ascii_strcasecmp(want, "Login") == 0;
    for (guint i = 0; i < pami_message_count(expected); i++) {
        const char *name = pami_message_name_at(expected, i);
        const char *value = pami_message_value_at(expected, i);
        if (g_ascii_strcasecmp(name, "Action") == 0 || g_ascii_strcasecmp(name, "ActionID") == 0 ||
            strcmp(value, "*") == 0 || (login && g_ascii_strcasecmp(name, "Username") != 0)) {
            continue;
        }
        if (is_placeholder(value) && pami_message_get(action, name) != NULL) {
            continue;
        }
        const char *have = header_with_value(action, name, value);
        if (g_strcmp0(have, value) != 0) {
            return g_strdup_printf("%s: expected %s: %s, got %s", want, name, value,
                                   have != NULL ? have : "(none)");
        }
    }
    return NULL;
}

/* The Login secret check; FALSE after answering a wrong secret. */
static gboolean secret_ok(replay_client *c, pami_message *action)
{
    const char *secret = c->r->secret;
    if (secret == NULL || g_ascii_strcasecmp(pami_message_get(action, "Action"), "Login") != 0 ||
        g_strcmp0(pami_message_get(action, "Secret"), secret) == 0) {
        return TRUE;
    }
    send_response(c, "Error", pami_message_action_id(action), "Message", "Authentication failed");
    c->close_after_write = TRUE;
    return FALSE;
}

/* The action the script waits for arrived: remember the ActionID mapping. */
static void expectation_met(replay_client *c, const pami_message *expected, pami_message *action)
{
    const char *script_id = pami_message_action_id(expected);
    const char *client_id = pami_message_action_id(action);
    if (script_id != NULL && client_id != NULL) {
        g_hash_table_replace(c->ids, g_strdup(script_id), g_strdup(client_id));
    }
    for (guint i = 0; i < pami_message_count(expected); i++) {
        const char *value = pami_message_value_at(expected, i);
        const char *sent = pami_message_get(action, pami_message_name_at(expected, i));
        if (is_placeholder(value) && sent != NULL) {
            g_hash_table_replace(c->values, g_strndup(value + 1, strlen(value) - 2),
                                 g_strdup(sent));
        }
    }
    c->step++;
    if (secret_ok(c, action)) {
        client_play(c);
    }
}

/* An action the script does not expect here. */
static void unexpected_action(replay_client *c, pami_message *action, char *why)
{
    const char *name = pami_message_get(action, "Action");
    const char *id = pami_message_action_id(action);
    if (name != NULL && g_ascii_strcasecmp(name, "Ping") == 0) {
        send_response(c, "Success", id, "Ping", "Pong");
    } else if (name != NULL && g_ascii_strcasecmp(name, "Filter") == 0) {
        send_response(c, "Success", id, "Message", "Filter Added Successfully");
    } else {
        g_ptr_array_add(c->r->mismatches, why != NULL ? g_strdup(why)
                                                      : g_strdup_printf("unexpected Action: %s",
                                                                        name ? name : "(none)"));
        if (c->r->options.strict) {
            client_close(c);
        } else {
            send_response(c, "Error", id, "Message", "unexpected action");
        }
    }
    g_free(why);
}

static void on_action(pami_message *action, void *user_data)
{
    replay_client *c = user_data;
    ami_replay *r = c->r;
    if (r == NULL) {
        return;
    }
    g_ptr_array_add(r->actions, pami_message_ref(action));
    log_action(r, action);
    c->actions_seen++;
    if (c->stalled || c->close_after_write) {
        return;
    }
    if (r->options.stall_after > 0 && c->actions_seen > r->options.stall_after) {
        c->stalled = TRUE;
        return;
    }
    pami_message *expected =
        c->step < r->steps->len ? g_ptr_array_index(r->expected, c->step) : NULL;
    char *why = expected != NULL ? compare_action(r, expected, action) : NULL;
    if (expected != NULL && why == NULL) {
        expectation_met(c, expected, action);
    } else {
        unexpected_action(c, action, why);
    }
}

/* ---- accepting ---- */

static gboolean on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
                            gpointer user_data)
{
    (void)service;
    (void)source;
    ami_replay *r = user_data;
    replay_client *c = g_new0(replay_client, 1);
    c->refs = 1;
    c->r = r;
    c->socket_conn = g_object_ref(connection);
    c->cancel = g_cancellable_new();
    c->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    c->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    c->out = g_string_new(NULL);
    pami_parse_callbacks cb = {.message = on_action, .user_data = c};
    c->parser = pami_parser_new(&cb, FALSE, 0, 0);
    if (r->certificate != NULL) {
        c->stream =
            G_IO_STREAM(g_tls_server_connection_new(G_IO_STREAM(connection), r->certificate, NULL));
    }
    if (c->stream == NULL) {
        c->stream = G_IO_STREAM(g_object_ref(connection));
    }
    r->clients = g_list_append(r->clients, c);
    r->accepted++;
    client_ref(c); /* playing may close it */
    g_autofree char *banner = g_strdup_printf("%s\r\n", r->banner);
    client_send(c, banner, strlen(banner));
    client_play(c);
    client_read(c);
    client_unref(c);
    return TRUE;
}

/* ---- the script ---- */

static void keep_message(pami_message *m, void *user_data)
{
    pami_message **slot = user_data;
    if (*slot == NULL) {
        *slot = pami_message_ref(m);
    }
}

/* The first message of a block in wire form. */
static pami_message *parse_block(const char *text)
{
    pami_message *m = NULL;
    pami_parse_callbacks cb = {.message = keep_message, .user_data = &m};
    pami_parser *p = pami_parser_new(&cb, FALSE, 0, 0);
    pami_parser_feed(p, text, strlen(text));
    pami_parser_free(p);
    return m;
}

/* Appends script text; expectation blocks are parsed once, here. */
static void add_script(ami_replay *r, const char *script)
{
    GPtrArray *more = ami_script_parse(script);
    g_ptr_array_set_free_func(more, NULL); /* the steps move to r->steps */
    for (guint i = 0; i < more->len; i++) {
        ami_step *step = g_ptr_array_index(more, i);
        gboolean sent = step->kind == AMI_STEP_SENT;
        g_ptr_array_add(r->steps, step);
        g_ptr_array_add(r->expected, sent ? parse_block(step->text) : NULL);
    }
    g_ptr_array_unref(more);
}

/* The script's banner, else the usual one. */
static const char *script_banner(const ami_replay *r)
{
    for (guint i = 0; i < r->steps->len; i++) {
        const ami_step *step = g_ptr_array_index(r->steps, i);
        if (step->kind == AMI_STEP_BANNER) {
            return step->text;
        }
    }
    return DEFAULT_BANNER;
}

static ami_step_kind step_kind_at(const ami_replay *r, guint i)
{
    return ((const ami_step *)g_ptr_array_index(r->steps, i))->kind;
}

/* Where --loop starts again: after the first expectation (the Login) and
 * the blocks that answer it. */
static guint find_loop_start(const ami_replay *r)
{
    guint i = 0;
    while (i < r->steps->len && step_kind_at(r, i) != AMI_STEP_SENT) {
        i++;
    }
    for (i++; i < r->steps->len && step_kind_at(r, i) == AMI_STEP_RECV; i++) {
        const ami_step *step = g_ptr_array_index(r->steps, i);
        if (!g_str_has_prefix(step->text, "Response:")) {
            break;
        }
    }
    return i;
}

/* ---- the peer ---- */

static gboolean listen_loopback(ami_replay *r, GError **error)
{
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new(loopback, r->options.port);
    g_autoptr(GSocketAddress) effective = NULL;
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(r->service), address, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL, &effective, error)) {
        return FALSE;
    }
    r->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
    return TRUE;
}

static void copy_options(ami_replay *r, const ami_replay_options *options)
{
    if (options != NULL) {
        r->options = *options;
    }
    r->secret = g_strdup(r->options.secret);
    r->log_path = g_strdup(r->options.log_actions);
    r->banner = g_strdup(r->options.banner != NULL ? r->options.banner : script_banner(r));
    r->hold_section = g_strdup(r->options.hold_section);
    r->options.secret = r->options.banner = r->options.log_actions = NULL;
    r->options.hold_section = NULL;
    r->options.tls_cert = r->options.tls_key = NULL;
}

ami_replay *ami_replay_new(const char *script, const ami_replay_options *options,
                           GMainContext *context, GError **error)
{
    ami_replay *r = g_new0(ami_replay, 1);
    r->context =
        context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    r->steps = ami_script_parse("");
    r->expected = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    r->actions = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    r->mismatches = g_ptr_array_new_with_free_func(g_free);
    add_script(r, script);
    r->loop_start = find_loop_start(r);
    if (options != NULL && options->tls_cert != NULL) {
        r->certificate =
            g_tls_certificate_new_from_files(options->tls_cert, options->tls_key, error);
        if (r->certificate == NULL) {
            ami_replay_free(r);
            return NULL;
        }
    }
    copy_options(r, options);
    context_enter(r);
    r->service = g_socket_service_new();
    gboolean ok = listen_loopback(r, error);
    if (ok) {
        g_signal_connect(r->service, "incoming", G_CALLBACK(on_incoming), r);
        g_socket_service_start(r->service);
    }
    context_leave(r);
    if (!ok) {
        ami_replay_free(r);
        return NULL;
    }
    return r;
}

void ami_replay_free(ami_replay *r)
{
    if (r == NULL) {
        return;
    }
    ami_replay_drop(r);
    if (r->service != NULL) {
        g_signal_handlers_disconnect_by_data(r->service, r);
        g_socket_service_stop(r->service);
        g_socket_listener_close(G_SOCKET_LISTENER(r->service));
        g_object_unref(r->service);
    }
    g_clear_object(&r->certificate);
    g_ptr_array_unref(r->steps);
    g_ptr_array_unref(r->expected);
    g_ptr_array_unref(r->actions);
    g_ptr_array_unref(r->mismatches);
    g_free(r->secret);
    g_free(r->banner);
    g_free(r->log_path);
    g_free(r->hold_section);
    g_main_context_unref(r->context);
    g_free(r);
}

guint16 ami_replay_port(const ami_replay *r)
{
    return r->port;
}

GPtrArray *ami_replay_actions(const ami_replay *r)
{
    return r->actions;
}

pami_message *ami_replay_last_action(const ami_replay *r, const char *action)
{
    for (guint i = r->actions->len; i > 0; i--) {
        pami_message *m = g_ptr_array_index(r->actions, i - 1);
        const char *name = pami_message_get(m, "Action");
        if (name != NULL && g_ascii_strcasecmp(name, action) == 0) {
            return m;
        }
    }
    return NULL;
}

GPtrArray *ami_replay_mismatches(const ami_replay *r)
{
    return r->mismatches;
}

guint ami_replay_accepted(const ami_replay *r)
{
    return r->accepted;
}

guint ami_replay_open(const ami_replay *r)
{
    return g_list_length(r->clients);
}

void ami_replay_queue(ami_replay *r, const char *script)
{
    add_script(r, script);
    for (GList *l = r->clients; l != NULL;) {
        replay_client *c = l->data;
        l = l->next; /* playing may close it */
        client_play(c);
    }
}

void ami_replay_release(ami_replay *r)
{
    g_clear_pointer(&r->hold_section, g_free);
    for (GList *l = r->clients; l != NULL;) {
        replay_client *c = l->data;
        l = l->next; /* playing may close it */
        client_play(c);
    }
}

void ami_replay_inject(ami_replay *r, const char *data, gsize len)
{
    for (GList *l = r->clients; l != NULL; l = l->next) {
        client_send(l->data, data, len);
    }
}

void ami_replay_stall(ami_replay *r)
{
    for (GList *l = r->clients; l != NULL; l = l->next) {
        ((replay_client *)l->data)->stalled = TRUE;
    }
}

void ami_replay_drop(ami_replay *r)
{
    while (r->clients != NULL) {
        client_close(r->clients->data);
    }
}
