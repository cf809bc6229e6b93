/*
 * test-api-events.c - the WebSocket event stream (docs/api/events.md)
 * against the real ucd with pbx-sim and users-file (api-util.h): events of
 * a real call in order with growing numbers; what a PUBLIC viewer gets
 * (presence without note, no call, no number) and what a private number
 * shows as; reconnect with resume (exactly the missed events, then live),
 * resync (window, epoch, unknown seq); the protocol's refusals; in-band
 * renewal and the close at expiry (4001); a frame over max_ws_message
 * (1009, the daemon fine); a client that never reads, dropped (4008)
 * while a reading one keeps receiving.
 *
 * Users (tests/api/users.xml): alice admin (line 201), bob leader of sales
 * (202), carol sales (203), dave support (204). Permissions: default
 * public, sales business among itself: bob sees carol at BUSINESS, dave
 * sees her at PUBLIC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "api-util.h"
#include "harness.h"

/* pbx-sim's command in api-util's configuration. */
#define SIM    "sim"
#define WAIT_S 20

/* ---- small helpers --------------------------------------------------------- */

static JsonNode *ctl(api_env *e, const char *a0, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    const char *argv[] = {a0, a1, a2, a3, a4, NULL};
    return harness_ok(api_env_harness(e), argv);
}

/* The value of the reply field `name`, or NULL (g_free it). */
static char *reply_field(JsonNode *resp, const char *name)
{
    return g_strdup(harness_field(resp, name));
}

/* An inbound call from outside to `line`; the call id. */
static char *sim_call(api_env *e, const char *from, const char *line, gboolean private_number)
{
    JsonNode *r = ctl(e, SIM, "call", from, line, private_number ? "--private" : NULL);
    char *call = reply_field(r, "call");
    char *result = reply_field(r, "result");
    g_assert_cmpstr(result, ==, "ringing");
    g_free(result);
    json_node_free(r);
    return call;
}

static void act(api_env *e, const char *op, const char *line, const char *call)
{
    json_node_free(ctl(e, op, line, call, NULL, NULL));
}

static void presence_set(api_env *e, const char *user, const char *state)
{
    json_node_free(ctl(e, "presence", "set", user, state, NULL));
}

/* A counter's value from `ucctl counters`, 0 when absent. */
static gint64 counter(api_env *e, const char *name)
{
    const char *argv[] = {"counters", NULL};
    JsonNode *r = harness_ok(api_env_harness(e), argv);
    const char *v = harness_cell(r, name, "value");
    gint64 n = v ? g_ascii_strtoll(v, NULL, 10) : 0;
    json_node_free(r);
    return n;
}

static SoupWebsocketConnection *connect_ws(api_env *e, const char *token)
{
    GError *error = NULL;
    SoupWebsocketConnection *ws = api_ws_connect(e, token, &error);
    g_assert_no_error(error);
    g_assert_nonnull(ws);
    return ws;
}

static void send_json(SoupWebsocketConnection *ws, const char *text)
{
    soup_websocket_connection_send_text(ws, text);
}

static const char *op_of(JsonNode *n)
{
    JsonObject *o = json_node_get_object(n);
    return json_object_has_member(o, "op") ? json_object_get_string_member(o, "op") : NULL;
}

static gboolean is_event(JsonNode *n)
{
    return json_object_has_member(json_node_get_object(n), "seq") && op_of(n) == NULL;
}

static gint64 seq_of(JsonNode *n)
{
    return json_object_get_int_member(json_node_get_object(n), "seq");
}

static const char *kind_of(JsonNode *n)
{
    return json_object_get_string_member(json_node_get_object(n), "kind");
}

static JsonObject *data_of(JsonNode *n)
{
    return json_object_get_object_member(json_node_get_object(n), "data");
}

/* The next message that is the answer `op`; events before it go to
 * `events` (when not NULL, else they are dropped). */
static JsonNode *wait_op(SoupWebsocketConnection *ws, const char *op, GPtrArray *events)
{
    for (;;) {
        JsonNode *n = api_ws_next(ws, WAIT_S);
        if (n == NULL)
            g_error("no '%s' within %d s (state %d, close code %u)", op, WAIT_S,
                    soup_websocket_connection_get_state(ws),
                    soup_websocket_connection_get_close_code(ws));
        if (g_strcmp0(op_of(n), op) == 0)
            return n;
        if (events && is_event(n))
            g_ptr_array_add(events, n);
        else
            json_node_unref(n);
    }
}

/* Subscribes; the `subscribed` answer. */
static JsonNode *subscribe(SoupWebsocketConnection *ws, const char *kinds_json)
{
    char *msg = g_strdup_printf("{\"op\":\"subscribe\",\"kinds\":%s}", kinds_json);
    send_json(ws, msg);
    g_free(msg);
    JsonNode *n = wait_op(ws, "subscribed", NULL);
    g_assert_nonnull(json_object_get_string_member(json_node_get_object(n), "epoch"));
    return n;
}

/* Everything the server had queued for `ws` before now: a ping's pong
 * comes after every event sent before it. */
static GPtrArray *drain(SoupWebsocketConnection *ws)
{
    GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    send_json(ws, "{\"op\":\"ping\"}");
    json_node_unref(wait_op(ws, "pong", events));
    return events;
}

/* Events until one of `kind` whose data member `member` is `value`; all
 * of them (that one last) appended to `events`. */
static void collect_until(SoupWebsocketConnection *ws, GPtrArray *events, const char *kind,
                          const char *member, const char *value)
{
    for (;;) {
        JsonNode *n = api_ws_next(ws, WAIT_S);
        if (n == NULL)
            g_error("no %s event with %s=%s within %d s", kind, member, value, WAIT_S);
        if (!is_event(n)) {
            json_node_unref(n);
            continue;
        }
        g_ptr_array_add(events, n);
        JsonObject *d = data_of(n);
        if (strcmp(kind_of(n), kind) == 0 && json_object_has_member(d, member) &&
            g_strcmp0(json_object_get_string_member(d, member), value) == 0)
            return;
    }
}

static void assert_seqs_grow(GPtrArray *events)
{
    for (guint i = 1; i < events->len; i++)
        g_assert_cmpint(seq_of(events->pdata[i]), >, seq_of(events->pdata[i - 1]));
}

/* The states of `kind` events in order, as "a b c". */
static char *states(GPtrArray *events, const char *kind, const char *user_or_line)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < events->len; i++) {
        JsonNode *n = events->pdata[i];
        JsonObject *d = data_of(n);
        if (strcmp(kind_of(n), kind) != 0)
            continue;
        const char *who = json_object_has_member(d, "user_id")
                              ? json_object_get_string_member(d, "user_id")
                              : json_object_get_string_member(d, "line");
        if (user_or_line && g_strcmp0(who, user_or_line) != 0)
            continue;
        g_string_append_printf(s, "%s%s", s->len ? " " : "",
                               json_object_get_string_member(d, "state"));
    }
    return g_string_free(s, FALSE);
}

static gboolean any_text_contains(GPtrArray *events, const char *needle)
{
    for (guint i = 0; i < events->len; i++) {
        char *text = json_to_string(events->pdata[i], FALSE);
        gboolean hit = strstr(text, needle) != NULL;
        g_free(text);
        if (hit)
            return TRUE;
    }
    return FALSE;
}

static guint count_kind(GPtrArray *events, const char *kind)
{
    guint n = 0;
    for (guint i = 0; i < events->len; i++)
        n += strcmp(kind_of(events->pdata[i]), kind) == 0;
    return n;
}

static gboolean set_flag(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Waits until `ws` closes (reading and dropping what still comes); its
 * close code. */
static gushort wait_closed_within(SoupWebsocketConnection *ws, guint seconds)
{
    gboolean timed_out = FALSE;
    guint timer = g_timeout_add_seconds(seconds, set_flag, &timed_out);
    while (soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_CLOSED && !timed_out)
        g_main_context_iteration(NULL, TRUE);
    if (timed_out)
        g_error("the WebSocket did not close within %u s", seconds);
    g_source_remove(timer);
    return soup_websocket_connection_get_close_code(ws);
}

static gushort wait_closed(SoupWebsocketConnection *ws)
{
    return wait_closed_within(ws, WAIT_S);
}

/* ---- who is calling: "party" events ------------------------------------------- */

/* The "party" events about `call` in `events`. */
static GPtrArray *parties_of(GPtrArray *events, const char *call)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < events->len; i++) {
        JsonNode *n = events->pdata[i];
        if (strcmp(kind_of(n), "party") == 0 &&
            g_strcmp0(json_object_get_string_member(data_of(n), "call_id"), call) == 0)
            g_ptr_array_add(out, n);
    }
    return out;
}

/* alice calls carol from her desk number as the PBX sends it: the model
 * names her from the directory, right after the call's first event; carol
 * and her leader bob get it, dave (PUBLIC on carol) does not. A withheld
 * number and one nobody owns name nobody: no party event at all. */
static void test_party_events(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *dave = api_login(e, "dave", "pw-dave");
    SoupWebsocketConnection *wb = connect_ws(e, bob);
    SoupWebsocketConnection *wc = connect_ws(e, carol);
    SoupWebsocketConnection *wd = connect_ws(e, dave);
    json_node_unref(subscribe(wb, "[\"call\",\"party\"]"));
    json_node_unref(subscribe(wc, "[\"party\"]"));
    json_node_unref(subscribe(wd, "[\"*\"]"));

    char *call = sim_call(e, "+49 89 452133201", "203", FALSE);
    GPtrArray *carol_seen = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(wc, carol_seen, "party", "call_id", call);
    JsonObject *d = data_of(carol_seen->pdata[carol_seen->len - 1]);
    g_assert_cmpstr(json_object_get_string_member(d, "line"), ==, "203");
    g_assert_cmpstr(json_object_get_string_member(d, "user_id"), ==, "file:carol");
    g_assert_cmpstr(json_object_get_string_member(d, "remote_number"), ==, "+49 89 452133201");
    JsonObject *party = json_object_get_object_member(d, "party");
    g_assert_nonnull(party);
    g_assert_cmpstr(json_object_get_string_member(party, "name"), ==, "Alice Admin");
    g_assert_cmpstr(json_object_get_string_member(party, "source"), ==, "directory");
    g_assert_cmpstr(json_object_get_string_member(party, "user_id"), ==, "file:alice");
    /* carol's presence says with whom her phone rings: to bob (BUSINESS),
     * not to dave (PUBLIC) */
    guint status = 0;
    JsonNode *p = api_req(e, "GET", "/presence/carol", bob, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonObject *with = json_object_get_object_member(json_node_get_object(p), "on_call_with");
    g_assert_nonnull(with);
    g_assert_cmpstr(json_object_get_string_member(with, "name"), ==, "Alice Admin");
    json_node_unref(p);
    p = api_req(e, "GET", "/presence/carol", dave, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    g_assert_false(json_object_has_member(json_node_get_object(p), "on_call_with"));
    json_node_unref(p);
    act(e, "hangup", "203", call);

    /* bob: the call's first event comes before its party */
    GPtrArray *bob_seen = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(wb, bob_seen, "call", "state", "disconnected");
    GPtrArray *bob_parties = parties_of(bob_seen, call);
    g_assert_cmpuint(bob_parties->len, ==, 1);
    g_assert_cmpstr(kind_of(bob_seen->pdata[0]), ==, "call");
    g_assert_cmpstr(json_object_get_string_member(data_of(bob_seen->pdata[0]), "state"), ==,
                    "offering");
    g_ptr_array_free(bob_parties, TRUE);

    /* withheld, then a number nobody owns: calls, but no party */
    char *withheld = sim_call(e, "+49 89 452133201", "203", TRUE);
    act(e, "hangup", "203", withheld);
    char *stranger = sim_call(e, "+4930999", "203", FALSE);
    act(e, "hangup", "203", stranger);
    collect_until(wb, bob_seen, "call", "call_id", stranger);
    collect_until(wb, bob_seen, "call", "state", "disconnected");
    g_ptr_array_extend_and_steal(bob_seen, drain(wb));
    g_ptr_array_extend_and_steal(carol_seen, drain(wc));
    for (guint i = 0; i < 2; i++) {
        GPtrArray *seen = i ? carol_seen : bob_seen;
        GPtrArray *none = parties_of(seen, withheld);
        g_assert_cmpuint(none->len, ==, 0);
        g_ptr_array_free(none, TRUE);
        none = parties_of(seen, stranger);
        g_assert_cmpuint(none->len, ==, 0);
        g_ptr_array_free(none, TRUE);
    }

    /* dave saw presence, never a call or who is on it */
    GPtrArray *dave_seen = drain(wd);
    g_assert_cmpuint(count_kind(dave_seen, "party"), ==, 0);
    g_assert_cmpuint(count_kind(dave_seen, "call"), ==, 0);
    g_assert_false(any_text_contains(dave_seen, "Alice Admin"));
    g_assert_cmpuint(count_kind(dave_seen, "presence"), >, 0);

    g_ptr_array_free(dave_seen, TRUE);
    g_ptr_array_free(bob_seen, TRUE);
    g_ptr_array_free(carol_seen, TRUE);
    g_free(stranger);
    g_free(withheld);
    g_free(call);
    g_object_unref(wb);
    g_object_unref(wc);
    g_object_unref(wd);
    g_free(bob);
    g_free(carol);
    g_free(dave);
    api_env_stop(e);
}

/* ---- a call, seen by three users --------------------------------------------- */

static void test_call_events(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *dave = api_login(e, "dave", "pw-dave");
    const char *carol_id = "file:carol";
    SoupWebsocketConnection *wb = connect_ws(e, bob);
    SoupWebsocketConnection *wc = connect_ws(e, carol);
    SoupWebsocketConnection *wd = connect_ws(e, dave);
    json_node_unref(subscribe(wb, "[\"presence\",\"call\"]"));
    json_node_unref(subscribe(wc, "[\"call\"]"));
    json_node_unref(subscribe(wd, "[\"presence\",\"call\"]"));

    /* Carol takes a call from +4930111 and hangs up. */
    char *call = sim_call(e, "+4930111", "203", FALSE);
    act(e, "answer", "203", call);
    act(e, "hangup", "203", call);

    GPtrArray *seen = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(wb, seen, "call", "state", "disconnected");
    collect_until(wb, seen, "presence", "state", "available");
    g_ptr_array_extend_and_steal(seen, drain(wb));
    assert_seqs_grow(seen);
    char *calls = states(seen, "call", "203");
    g_assert_cmpstr(calls, ==, "offering connected disconnected");
    char *presence = states(seen, "presence", carol_id);
    g_assert_cmpstr(presence, ==, "ringing on_phone available");
    /* BUSINESS: the number and the presence's parts. */
    g_assert_true(any_text_contains(seen, "+4930111"));
    for (guint i = 0; i < seen->len; i++) {
        if (strcmp(kind_of(seen->pdata[i]), "presence") == 0)
            g_assert_true(json_object_has_member(data_of(seen->pdata[i]), "note"));
    }

    /* Dave (PUBLIC on carol): her presence without note, no call, no number. */
    GPtrArray *dave_seen = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(wd, dave_seen, "presence", "state", "available");
    g_ptr_array_extend_and_steal(dave_seen, drain(wd));
    assert_seqs_grow(dave_seen);
    char *dave_presence = states(dave_seen, "presence", carol_id);
    g_assert_cmpstr(dave_presence, ==, "ringing on_phone available");
    g_assert_cmpuint(count_kind(dave_seen, "call"), ==, 0);
    g_assert_false(any_text_contains(dave_seen, "+4930111"));
    g_assert_false(any_text_contains(dave_seen, call));
    for (guint i = 0; i < dave_seen->len; i++) {
        JsonObject *d = data_of(dave_seen->pdata[i]);
        g_assert_false(json_object_has_member(d, "note"));
        g_assert_false(json_object_has_member(d, "until_ms"));
        g_assert_false(json_object_has_member(d, "line_state"));
    }

    /* A withheld number: "anonymous" to bob, the number to carol (her line). */
    char *private_call = sim_call(e, "+4930222", "203", TRUE);
    act(e, "hangup", "203", private_call);
    GPtrArray *bob_private = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    GPtrArray *carol_private = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(wb, bob_private, "call", "call_id", private_call);
    collect_until(wc, carol_private, "call", "call_id", private_call);
    g_assert_false(any_text_contains(bob_private, "+4930222"));
    g_assert_true(any_text_contains(bob_private, "\"anonymous\""));
    g_assert_true(any_text_contains(carol_private, "+4930222"));

    g_ptr_array_free(bob_private, TRUE);
    g_ptr_array_free(carol_private, TRUE);
    g_free(private_call);
    g_free(dave_presence);
    g_ptr_array_free(dave_seen, TRUE);
    g_free(presence);
    g_free(calls);
    g_ptr_array_free(seen, TRUE);
    g_free(call);
    g_object_unref(wb);
    g_object_unref(wc);
    g_object_unref(wd);
    g_free(bob);
    g_free(carol);
    g_free(dave);
    api_env_stop(e);
}

/* A key made with ucctl (--scope `scope`): its secret. */
static char *api_key(api_env *e, const char *name, const char *scope)
{
    const char *argv[] = {"api", "keys", "create", name, "--scope", scope, NULL};
    JsonNode *r = harness_ok(api_env_harness(e), argv);
    char *key = reply_field(r, "key");
    g_assert_nonnull(key);
    json_node_free(r);
    return key;
}

/* An API key sees as the system, numbers masked; without events:read it
 * is refused before the upgrade. */
static void test_api_key(void)
{
    api_env *e = api_env_start(NULL);
    char *reader = api_key(e, "crm", "events:read");
    char *other = api_key(e, "other", "presence:read");
    GError *error = NULL;
    g_assert_null(api_ws_connect(e, other, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);

    SoupWebsocketConnection *ws = connect_ws(e, reader);
    json_node_unref(subscribe(ws, "[\"*\"]"));
    char *call = sim_call(e, "+4930333", "203", TRUE);
    act(e, "hangup", "203", call);
    GPtrArray *seen = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(ws, seen, "call", "call_id", call);
    collect_until(ws, seen, "presence", "state", "available");
    g_ptr_array_extend_and_steal(seen, drain(ws));
    assert_seqs_grow(seen);
    g_assert_cmpuint(count_kind(seen, "call"), >=, 2);
    g_assert_cmpuint(count_kind(seen, "line"), >=, 1);
    g_assert_false(any_text_contains(seen, "+4930333"));
    g_assert_true(any_text_contains(seen, "\"anonymous\""));
    for (guint i = 0; i < seen->len; i++) {
        if (strcmp(kind_of(seen->pdata[i]), "presence") == 0)
            g_assert_true(json_object_has_member(data_of(seen->pdata[i]), "note"));
    }

    g_ptr_array_free(seen, TRUE);
    g_free(call);
    g_object_unref(ws);
    g_free(reader);
    g_free(other);
    api_env_stop(e);
}

/* ---- reconnect ----------------------------------------------------------------- */

static gint64 last_seq(GPtrArray *events)
{
    g_assert_cmpuint(events->len, >, 0);
    return seq_of(events->pdata[events->len - 1]);
}

static void test_resume(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    /* The witness stays connected throughout. */
    SoupWebsocketConnection *witness = connect_ws(e, bob);
    json_node_unref(subscribe(witness, "[\"presence\"]"));
    SoupWebsocketConnection *w1 = connect_ws(e, bob);
    JsonNode *sub = subscribe(w1, "[\"presence\"]");
    char *epoch = g_strdup(json_object_get_string_member(json_node_get_object(sub), "epoch"));
    json_node_unref(sub);

    GPtrArray *before = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    presence_set(e, "file:carol", "away");
    collect_until(w1, before, "presence", "state", "away");
    gint64 last = last_seq(before);
    g_object_unref(w1);

    /* Missed while away: three changes, the witness sees them. */
    GPtrArray *witnessed = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(witness, witnessed, "presence", "state", "away");
    presence_set(e, "file:carol", "busy");
    presence_set(e, "file:carol", "dnd");
    presence_set(e, "file:carol", "out_of_office");
    GPtrArray *missed = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(witness, missed, "presence", "state", "out_of_office");
    g_assert_cmpuint(missed->len, >=, 3);

    SoupWebsocketConnection *w2 = connect_ws(e, bob);
    json_node_unref(subscribe(w2, "[\"presence\"]"));
    char *resume = g_strdup_printf(
        "{\"op\":\"resume\",\"after\":%" G_GINT64_FORMAT ",\"epoch\":\"%s\"}", last, epoch);
    send_json(w2, resume);
    GPtrArray *replayed = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    JsonNode *resumed = wait_op(w2, "resumed", replayed);
    JsonObject *ro = json_node_get_object(resumed);
    g_assert_cmpint(json_object_get_int_member(ro, "from"), ==, last + 1);
    g_assert_cmpint(json_object_get_int_member(ro, "to"), >=, last_seq(missed));
    /* Exactly the missed ones: same numbers, same messages. */
    g_assert_cmpuint(replayed->len, ==, missed->len);
    for (guint i = 0; i < missed->len; i++) {
        char *want = json_to_string(missed->pdata[i], FALSE);
        char *got = json_to_string(replayed->pdata[i], FALSE);
        g_assert_cmpstr(got, ==, want);
        g_free(want);
        g_free(got);
    }
    /* Then live, the next number, no repeat. */
    presence_set(e, "file:carol", "available");
    GPtrArray *live = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(w2, live, "presence", "state", "available");
    g_assert_cmpint(seq_of(live->pdata[0]), >, last_seq(missed));
    GPtrArray *witness_live = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(witness, witness_live, "presence", "state", "available");
    g_assert_cmpint(seq_of(live->pdata[live->len - 1]), ==, last_seq(witness_live));

    /* A second resume on one connection is refused. */
    send_json(w2, resume);
    JsonNode *err = wait_op(w2, "error", NULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(err), "code"), ==,
                    "conflict");
    json_node_unref(err);

    g_ptr_array_free(witness_live, TRUE);
    g_ptr_array_free(live, TRUE);
    json_node_unref(resumed);
    g_ptr_array_free(replayed, TRUE);
    g_free(resume);
    g_ptr_array_free(missed, TRUE);
    g_ptr_array_free(witnessed, TRUE);
    g_ptr_array_free(before, TRUE);
    g_object_unref(w2);
    g_object_unref(witness);
    g_free(epoch);
    g_free(bob);
    api_env_stop(e);
}

/* The answer to a resume on a new connection. */
static JsonNode *resume_answer(api_env *e, const char *token, const char *resume_json)
{
    SoupWebsocketConnection *ws = connect_ws(e, token);
    json_node_unref(subscribe(ws, "[\"presence\"]"));
    send_json(ws, resume_json);
    for (;;) {
        JsonNode *n = api_ws_next(ws, WAIT_S);
        g_assert_nonnull(n);
        if (op_of(n) != NULL) {
            g_object_unref(ws);
            return n;
        }
        json_node_unref(n);
    }
}

static void assert_resync(JsonNode *n, const char *reason)
{
    JsonObject *o = json_node_get_object(n);
    g_assert_cmpstr(op_of(n), ==, "resync");
    g_assert_cmpstr(json_object_get_string_member(o, "reason"), ==, reason);
    g_assert_nonnull(json_object_get_string_member(o, "message"));
    json_node_unref(n);
}

static void test_resync(void)
{
    api_env *e = api_env_start("[module api-http]\nreplay_window = 3\n");
    char *bob = api_login(e, "bob", "pw-bob");
    SoupWebsocketConnection *ws = connect_ws(e, bob);
    JsonNode *sub = subscribe(ws, "[\"presence\"]");
    char *epoch = g_strdup(json_object_get_string_member(json_node_get_object(sub), "epoch"));
    json_node_unref(sub);
    GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    presence_set(e, "file:carol", "away");
    collect_until(ws, events, "presence", "state", "away");
    gint64 last = last_seq(events);
    /* Four more events: the window of three no longer holds last + 1. */
    presence_set(e, "file:carol", "busy");
    presence_set(e, "file:carol", "dnd");
    presence_set(e, "file:carol", "out_of_office");
    presence_set(e, "file:carol", "available");
    collect_until(ws, events, "presence", "state", "available");
    gint64 newest = last_seq(events);

    char *msg = g_strdup_printf(
        "{\"op\":\"resume\",\"after\":%" G_GINT64_FORMAT ",\"epoch\":\"%s\"}", last, epoch);
    assert_resync(resume_answer(e, bob, msg), "window");
    g_free(msg);
    /* Within the window it still works. */
    msg = g_strdup_printf("{\"op\":\"resume\",\"after\":%" G_GINT64_FORMAT ",\"epoch\":\"%s\"}",
                          newest - 1, epoch);
    JsonNode *ok = resume_answer(e, bob, msg);
    g_assert_cmpstr(op_of(ok), ==, "resumed");
    json_node_unref(ok);
    g_free(msg);
    /* Another run's numbers; a number never sent. */
    assert_resync(
        resume_answer(e, bob, "{\"op\":\"resume\",\"after\":1,\"epoch\":\"0123456789abcdef\"}"),
        "epoch");
    assert_resync(resume_answer(e, bob, "{\"op\":\"resume\",\"after\":999999999}"), "unknown_seq");

    g_free(epoch);
    g_ptr_array_free(events, TRUE);
    g_object_unref(ws);
    g_free(bob);
    api_env_stop(e);
}

/* ---- the protocol's refusals ---------------------------------------------------- */

static void assert_error(SoupWebsocketConnection *ws, const char *message, const char *code)
{
    if (message)
        send_json(ws, message);
    JsonNode *n = wait_op(ws, "error", NULL);
    JsonObject *o = json_node_get_object(n);
    g_assert_cmpstr(json_object_get_string_member(o, "code"), ==, code);
    g_assert_cmpuint(strlen(json_object_get_string_member(o, "message")), >, 0);
    json_node_unref(n);
}

static void test_protocol_errors(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");

    /* No token, a bad token: 401 before the upgrade. */
    GError *error = NULL;
    SoupWebsocketConnection *none = api_ws_connect(e, NULL, &error);
    g_assert_null(none);
    g_assert_nonnull(error);
    g_clear_error(&error);
    SoupWebsocketConnection *bad = api_ws_connect(e, "ucda_forged", &error);
    g_assert_null(bad);
    g_assert_nonnull(error);
    g_clear_error(&error);
    /* Without a WebSocket handshake: the API's error shape. */
    guint status = 0;
    JsonNode *plain = api_req(e, "GET", "/events", bob, NULL, &status);
    g_assert_cmpuint(status, ==, 400);
    g_assert_nonnull(plain);
    json_node_unref(plain);
    plain = api_req(e, "GET", "/events", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 401);
    json_node_unref(plain);

    SoupWebsocketConnection *ws = connect_ws(e, bob);
    assert_error(ws, "not json", "invalid_json");
    assert_error(ws, "[1,2]", "bad_request");
    assert_error(ws, "{\"op\":\"dance\"}", "bad_request");
    assert_error(ws, "{\"op\":\"subscribe\"}", "invalid_argument");
    assert_error(ws, "{\"op\":\"subscribe\",\"kinds\":[\"presence\",\"gossip\"]}",
                 "invalid_argument");
    assert_error(ws, "{\"op\":\"subscribe\",\"kinds\":[7]}", "invalid_argument");
    assert_error(ws, "{\"op\":\"resume\",\"after\":0}", "bad_request"); /* not subscribed */
    assert_error(ws, "{\"op\":\"resume\",\"after\":\"x\"}", "invalid_argument");
    assert_error(ws, "{\"op\":\"renew\"}", "invalid_argument");
    soup_websocket_connection_send_binary(ws, "\x01\x02", 2);
    assert_error(ws, NULL, "bad_request");
    /* Still open and answering; "*" is every kind, unsubscribe removes. */
    JsonNode *sub = subscribe(ws, "[\"*\"]");
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(json_node_get_object(sub), "kinds")), ==,
        8);
    json_node_unref(sub);
    send_json(ws, "{\"op\":\"unsubscribe\",\"kinds\":[\"module\",\"line\"]}");
    sub = wait_op(ws, "subscribed", NULL);
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(json_node_get_object(sub), "kinds")), ==,
        6);
    json_node_unref(sub);
    g_ptr_array_free(drain(ws), TRUE);

    g_object_unref(ws);
    g_free(bob);
    api_env_stop(e);
}

/* ---- tokens -------------------------------------------------------------------- */

static void test_renew(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    char *bob2 = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    SoupWebsocketConnection *ws = connect_ws(e, bob);

    assert_error(ws, "{\"op\":\"renew\",\"token\":\"ucda_forged\"}", "unauthenticated");
    char *msg = g_strdup_printf("{\"op\":\"renew\",\"token\":\"%s\"}", carol);
    assert_error(ws, msg, "forbidden");
    g_free(msg);
    msg = g_strdup_printf("{\"op\":\"renew\",\"token\":\"%s\"}", bob2);
    send_json(ws, msg);
    g_free(msg);
    JsonNode *renewed = wait_op(ws, "renewed", NULL);
    gint64 expires_in = json_object_get_int_member(json_node_get_object(renewed), "expires_in");
    g_assert_cmpint(expires_in, >, 0);
    g_assert_cmpint(expires_in, <=, 8 * 3600);
    json_node_unref(renewed);
    /* The old session ends: the stream lives on the new token. */
    guint status = 0;
    JsonNode *out = api_req(e, "POST", "/auth/logout", bob, NULL, &status);
    g_assert_cmpuint(status / 100, ==, 2);
    if (out)
        json_node_unref(out);
    json_node_unref(subscribe(ws, "[\"presence\"]"));

    g_object_unref(ws);
    g_free(bob);
    g_free(bob2);
    g_free(carol);
    api_env_stop(e);
}

/* A session that ends (logout) ends its streams within the recheck's 30 s,
 * before the token would have expired. */
static void test_revoked(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    SoupWebsocketConnection *ws = connect_ws(e, bob);
    json_node_unref(subscribe(ws, "[\"presence\"]"));
    guint status = 0;
    JsonNode *out = api_req(e, "POST", "/auth/logout", bob, NULL, &status);
    g_assert_cmpuint(status / 100, ==, 2);
    if (out)
        json_node_unref(out);
    g_assert_cmpuint(wait_closed_within(ws, 45), ==, 4001);
    g_object_unref(ws);
    g_free(bob);
    api_env_stop(e);
}

/* Tokens of 6 s: one client renews half way and outlives its first token,
 * one does not and is closed with 4001. */
static void test_expiry(void)
{
    api_env *e = api_env_start("[module api-http]\nsession_lifetime = 6s\n");
    char *first = api_login(e, "bob", "pw-bob");
    SoupWebsocketConnection *lazy = connect_ws(e, first);
    SoupWebsocketConnection *keen = connect_ws(e, first);
    json_node_unref(subscribe(lazy, "[\"presence\"]"));
    json_node_unref(subscribe(keen, "[\"presence\"]"));
    g_usleep(3 * G_USEC_PER_SEC);
    char *second = api_login(e, "bob", "pw-bob");
    char *msg = g_strdup_printf("{\"op\":\"renew\",\"token\":\"%s\"}", second);
    send_json(keen, msg);
    g_free(msg);
    json_node_unref(wait_op(keen, "renewed", NULL));

    g_assert_cmpuint(wait_closed(lazy), ==, 4001);
    /* The first token has expired (the lazy one's close says so); the
     * keen one, on the second token (3 s younger), still answers. */
    g_ptr_array_free(drain(keen), TRUE);
    g_assert_cmpuint(wait_closed(keen), ==, 4001);

    g_object_unref(lazy);
    g_object_unref(keen);
    g_free(first);
    g_free(second);
    api_env_stop(e);
}

/* ---- limits ---------------------------------------------------------------------- */

static void test_huge_frame(void)
{
    api_env *e = api_env_start(NULL);
    char *bob = api_login(e, "bob", "pw-bob");
    SoupWebsocketConnection *ws = connect_ws(e, bob);
    char *huge = g_strnfill(200000, 'x');
    send_json(ws, huge);
    g_assert_cmpuint(wait_closed(ws), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
    g_free(huge);
    g_object_unref(ws);

    /* The daemon is fine: a new stream works, and so does REST. */
    ws = connect_ws(e, bob);
    json_node_unref(subscribe(ws, "[\"presence\"]"));
    presence_set(e, "file:carol", "away");
    GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    collect_until(ws, events, "presence", "state", "away");
    g_ptr_array_free(events, TRUE);
    guint status = 0;
    JsonNode *health = api_req(e, "GET", "/health", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    json_node_unref(health);
    g_object_unref(ws);
    g_free(bob);
    api_env_stop(e);
}

/* A raw WebSocket that subscribes to everything and never reads: its
 * receive buffer is made small so that the server's queue fills. */
static int raw_never_reader(api_env *e, const char *token)
{
    const char *base = api_env_base_url(e); /* http://127.0.0.1:PORT/api/v1 */
    GUri *uri = g_uri_parse(base, G_URI_FLAGS_NONE, NULL);
    g_assert_nonnull(uri);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), ==, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(g_uri_get_port(uri))};
    g_assert_cmpint(inet_pton(AF_INET, g_uri_get_host(uri), &sa.sin_addr), ==, 1);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
    char *request =
        g_strdup_printf("GET %s/events HTTP/1.1\r\nHost: %s:%d\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "Authorization: Bearer %s\r\n\r\n",
                        g_uri_get_path(uri), g_uri_get_host(uri), g_uri_get_port(uri), token);
    g_assert_cmpint(write(fd, request, strlen(request)), ==, (gssize)strlen(request));
    g_free(request);
    /* The 101's headers, byte by byte so as not to read a frame. */
    GString *head = g_string_new(NULL);
    char ch;
    while (!g_str_has_suffix(head->str, "\r\n\r\n") && read(fd, &ch, 1) == 1)
        g_string_append_c(head, ch);
    g_assert_true(g_str_has_prefix(head->str, "HTTP/1.1 101"));
    g_string_free(head, TRUE);
    /* A masked text frame (a client must mask). */
    const char *sub = "{\"op\":\"subscribe\",\"kinds\":[\"*\"]}";
    guint8 frame[128];
    gsize n = strlen(sub);
    const guint8 mask[4] = {1, 2, 3, 4};
    frame[0] = 0x81;
    frame[1] = 0x80 | (guint8)n;
    memcpy(frame + 2, mask, 4);
    for (gsize i = 0; i < n; i++)
        frame[6 + i] = (guint8)sub[i] ^ mask[i % 4];
    g_assert_cmpint(write(fd, frame, 6 + n), ==, (gssize)(6 + n));
    g_uri_unref(uri);
    return fd;
}

/* Reads what the server still sends until it closes the connection; the
 * code of a close frame among it, 0 when none came (the server closes the
 * socket 5 s after its close frame if the peer does not answer). */
static guint read_to_end(int fd)
{
    GByteArray *all = g_byte_array_new();
    guint8 buf[65536];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        g_assert_cmpint(poll(&p, 1, WAIT_S * 1000), ==, 1);
        gssize n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_byte_array_append(all, buf, (guint)n);
    }
    guint code = 0;
    for (gsize at = 0; at + 2 <= all->len;) {
        guint8 op = all->data[at] & 0x0f;
        guint64 len = all->data[at + 1] & 0x7f;
        gsize head = 2;
        if (len == 126 && at + 4 <= all->len) {
            len = ((guint64)all->data[at + 2] << 8) | all->data[at + 3];
            head = 4;
        } else if (len == 127 && at + 10 <= all->len) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | all->data[at + 2 + i];
            head = 10;
        }
        if (op == 0x8 && len >= 2 && at + head + 2 <= all->len)
            code = ((guint)all->data[at + head] << 8) | all->data[at + head + 1];
        at += head + len;
    }
    g_byte_array_free(all, TRUE);
    return code;
}

static void test_slow_client(void)
{
    api_env *e = api_env_start("[module api-http]\nws_queue_limit = 32768\n");
    char *alice = api_login(e, "alice", "pw-alice");
    char *bob = api_login(e, "bob", "pw-bob");
    int slow = raw_never_reader(e, alice);
    SoupWebsocketConnection *reader = connect_ws(e, bob);
    json_node_unref(subscribe(reader, "[\"presence\"]"));
    g_assert_cmpint(counter(e, "api-http.ws_dropped_slow"), ==, 0);

    /* Small bursts of calls until the never-reader is dropped; the reader
     * reads between them. */
    GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    int bursts = 0;
    for (; bursts < 200 && counter(e, "api-http.ws_dropped_slow") == 0; bursts++) {
        json_node_free(ctl(e, SIM, "burst", "100", NULL, NULL));
        g_ptr_array_extend_and_steal(events, drain(reader));
    }
    g_test_message("the never-reader was dropped after %d bursts of 100 calls (%" G_GINT64_FORMAT
                   " events sent to clients, %u to the reader)",
                   bursts, counter(e, "api-http.ws_events_sent"), events->len);
    g_assert_cmpint(counter(e, "api-http.ws_dropped_slow"), ==, 1);
    guint code = read_to_end(slow);
    g_assert_true(code == 0 || code == 4008);
    close(slow);

    /* The reader was never held up: it is connected and gets what comes. */
    presence_set(e, "file:carol", "away");
    collect_until(reader, events, "presence", "state", "away");
    assert_seqs_grow(events);
    g_assert_cmpuint(events->len, >, 10);
    g_assert_cmpint(soup_websocket_connection_get_state(reader), ==, SOUP_WEBSOCKET_STATE_OPEN);
    g_assert_cmpint(counter(e, "api-http.ws_clients"), ==, 1);

    g_ptr_array_free(events, TRUE);
    g_object_unref(reader);
    g_free(alice);
    g_free(bob);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/events/call", test_call_events);
    g_test_add_func("/api/events/party", test_party_events);
    g_test_add_func("/api/events/api-key", test_api_key);
    g_test_add_func("/api/events/resume", test_resume);
    g_test_add_func("/api/events/resync", test_resync);
    g_test_add_func("/api/events/protocol-errors", test_protocol_errors);
    g_test_add_func("/api/events/renew", test_renew);
    g_test_add_func("/api/events/expiry", test_expiry);
    g_test_add_func("/api/events/revoked", test_revoked);
    g_test_add_func("/api/events/huge-frame", test_huge_frame);
    g_test_add_func("/api/events/slow-client", test_slow_client);
    return g_test_run();
}
