/*
 * test-api-calls.c - GET /calls and POST /calls of the client API against
 * the real ucd with pbx-sim (api-util.h): calls made, answered, held,
 * transferred, deflected, picked up and hung up through the API, seen in
 * GET /calls and in `ucctl calls`; forward and DND; private numbers masked
 * for all but the line's user; the calls service's refusals (403 for a
 * line the caller may not control, 422 for a missing capability, each with
 * the service's message); every malformed request; API keys held to the
 * lines of their listed users.
 */
#include "routes-check.h"

/* The calls test's world: tokens, the PBX driver and its sim command. */
typedef struct world {
    api_env *e;
    tokens t;
    char *driver; /* "pbx-sim:office" */
    char *sim;    /* "sim-office" */
} world;

static void world_start(world *w, const char *extra)
{
    char *config = g_strconcat(ADMIN_CONFIG, extra ? extra : "", NULL);
    w->e = api_env_start(config);
    g_free(config);
    tokens_login(w->e, &w->t);
    JsonNode *me = req_ok(w->e, "GET", "/me", w->t.alice, NULL, 200);
    JsonArray *lines = json_object_get_array_member(obj(me), "lines");
    w->driver = g_strdup(str(json_array_get_object_element(lines, 0), "driver"));
    json_node_free(me);
    /* ucctl's command of a pbx-sim instance: "sim-" and the instance in
     * lower case, '_' as '-' (plugins/pbx-sim/README.md) */
    const char *colon = strchr(w->driver, ':');
    char *instance = g_ascii_strdown(colon ? colon + 1 : "", -1);
    g_strdelimit(instance, "_", '-');
    w->sim = colon ? g_strconcat("sim-", instance, NULL) : g_strdup("sim");
    g_free(instance);
}

static void world_stop(world *w)
{
    tokens_free(&w->t);
    g_free(w->driver);
    g_free(w->sim);
    api_env_stop(w->e);
}

/* POST /calls `body` as `token`, which must answer 202; the call id of the
 * answer (g_free; NULL when it has none). */
static char *control(world *w, const char *token, const char *body)
{
    JsonNode *r = req_ok(w->e, "POST", "/calls", token, body, 202);
    char *call_id = g_strdup(str(obj(r), "call_id"));
    g_assert_nonnull(str(obj(r), "driver"));
    g_assert_nonnull(str(obj(r), "line"));
    json_node_free(r);
    return call_id;
}

/* control() with the body made from `fmt` and its arguments. */
static char *controlf(world *w, const char *token, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static char *controlf(world *w, const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *call_id = control(w, token, body);
    g_free(body);
    return call_id;
}

/* Waits (10 s) until GET /calls as `token` shows a leg on `line` in
 * `state` (NULL: none on `line` at all); the leg (free the node) or NULL. */
static JsonNode *wait_leg(world *w, const char *token, const char *line, const char *state)
{
    for (int i = 0; i < 500; i++) {
        JsonNode *list = req_ok(w->e, "GET", "/calls", token, NULL, 200);
        JsonArray *items = items_of(list);
        JsonNode *found = NULL;
        for (guint j = 0; j < json_array_get_length(items); j++) {
            JsonObject *leg = json_array_get_object_element(items, j);
            if (g_strcmp0(str(leg, "line"), line) == 0 &&
                (!state || g_strcmp0(str(leg, "state"), state) == 0))
                found = json_node_copy(json_array_get_element(items, j));
        }
        json_node_free(list);
        if ((found != NULL) == (state != NULL))
            return found;
        if (found)
            json_node_free(found);
        g_usleep(20000);
    }
    g_error("no leg on line %s in state %s", line, state ? state : "(none)");
    return NULL;
}

/* The call id of the leg on `line` in `state`, waited for. */
static char *leg_id(world *w, const char *token, const char *line, const char *state)
{
    JsonNode *leg = wait_leg(w, token, line, state);
    char *id = g_strdup(str(obj(leg), "call_id"));
    json_node_free(leg);
    return id;
}

/* A call from outside number `from` to `line`; the id pbx-sim gave it. */
static char *sim_call(world *w, const char *from, const char *line, gboolean private_number)
{
    JsonNode *r = private_number ? ctl(w->e, w->sim, "call", from, line, "--private", NULL)
                                 : ctl(w->e, w->sim, "call", from, line, NULL);
    char *result = ctl_field(r, "result");
    g_assert_cmpstr(result, ==, "ringing");
    g_free(result);
    char *id = ctl_field(r, "call");
    json_node_free(r);
    return id;
}

static gboolean ucctl_calls_have(world *w, const char *call_id)
{
    JsonNode *r = ctl(w->e, "calls", NULL);
    gboolean found = ctl_rows_have(r, call_id);
    json_node_free(r);
    return found;
}

/* ---- a call made, answered, held and hung up through the API ---- */

static void test_dial_to_hangup(void)
{
    world w = {0};
    world_start(&w, NULL);

    /* alice dials bob from her own line (neither line nor user: hers) */
    char *a = control(&w, w.t.alice, "{\"action\":\"dial\",\"number\":\"202\"}");
    g_assert_nonnull(a);
    JsonNode *leg = wait_leg(&w, w.t.alice, "201", "ringback");
    g_assert_cmpstr(str(obj(leg), "call_id"), ==, a);
    g_assert_cmpstr(str(obj(leg), "user_id"), ==, "file:alice");
    g_assert_cmpstr(str(obj(leg), "driver"), ==, w.driver);
    g_assert_cmpstr(str(obj(leg), "remote_number"), ==, "202");
    /* issue 15: the model names who 202 is, bob, from the directory */
    JsonObject *party = json_object_get_object_member(obj(leg), "party");
    g_assert_nonnull(party);
    g_assert_cmpstr(str(party, "name"), ==, "Bob Boss");
    g_assert_cmpstr(str(party, "source"), ==, "directory");
    g_assert_cmpstr(str(party, "user_id"), ==, "file:bob");
    json_node_free(leg);
    g_assert_true(ucctl_calls_have(&w, a));

    /* bob's phone rings: he sees it, answers it */
    char *b = leg_id(&w, w.t.bob, "202", "offering");
    g_free(controlf(&w, w.t.bob, "{\"action\":\"answer\",\"call_id\":\"%s\"}", b));
    json_node_free(wait_leg(&w, w.t.alice, "201", "connected"));

    /* dtmf, hold and retrieve on alice's leg */
    g_free(
        controlf(&w, w.t.alice, "{\"action\":\"dtmf\",\"call_id\":\"%s\",\"digits\":\"12#\"}", a));
    g_free(
        controlf(&w, w.t.alice, "{\"action\":\"hold\",\"call_id\":\"%s\",\"user\":\"alice\"}", a));
    json_node_free(wait_leg(&w, w.t.alice, "201", "held"));
    g_free(controlf(&w, w.t.alice,
                    "{\"action\":\"retrieve\",\"call_id\":\"%s\",\"line\":\"%s/201\"}", a,
                    w.driver));
    json_node_free(wait_leg(&w, w.t.alice, "201", "connected"));

    /* carol (business on bob) sees his leg; dave (public) does not */
    JsonNode *list = req_ok(w.e, "GET", "/calls?user=bob", w.t.carol, NULL, 200);
    g_assert_cmpstr(str(item_by(items_of(list), "call_id", b), "remote_number"), ==, "201");
    g_assert_null(item_by(items_of(list), "call_id", a)); /* alice's: public to carol */
    json_node_free(list);
    list = req_ok(w.e, "GET", "/calls", w.t.dave, NULL, 200);
    g_assert_cmpuint(json_array_get_length(items_of(list)), ==, 0);
    json_node_free(list);
    expect_error(w.e, "GET", "/calls?user=bob", w.t.dave, NULL, 403, "forbidden", "business");
    expect_error(w.e, "GET", "/calls?user=nobody", w.t.dave, NULL, 404, "not_found", "nobody");
    /* ... and bob's call is in his user object for carol, not for dave */
    JsonNode *u = req_ok(w.e, "GET", "/users/bob", w.t.carol, NULL, 200);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(obj(u), "calls")), ==, 1);
    json_node_free(u);

    /* a line dave may not control: the calls service's refusal */
    char *body = g_strdup_printf("{\"action\":\"hangup\",\"call_id\":\"%s\",\"line\":\"%s/202\"}",
                                 b, w.driver);
    expect_error(w.e, "POST", "/calls", w.t.dave, body, 403, "forbidden", "may not use 'hangup'");
    g_free(body);
    /* carol may not either (business on bob is not enough) */
    body = g_strdup_printf("{\"action\":\"hold\",\"call_id\":\"%s\",\"user\":\"bob\"}", b);
    expect_error(w.e, "POST", "/calls", w.t.carol, body, 403, "forbidden", "may not use 'hold'");
    /* the admin acts as the console's admin does: on bob's line, the call
     * stays bob's, and the log names her */
    g_free(control(&w, w.t.alice, body));
    JsonNode *held = wait_leg(&w, w.t.bob, "202", "held");
    g_assert_cmpstr(str(obj(held), "user_id"), ==, "file:bob");
    json_node_free(held);
    g_assert_true(harness_wait_log(api_env_harness(w.e), "admin alice: hold on line 202 of"));
    g_free(controlf(&w, w.t.alice,
                    "{\"action\":\"retrieve\",\"call_id\":\"%s\",\"line\":\"%s/202\"}", b,
                    w.driver));
    json_node_free(wait_leg(&w, w.t.bob, "202", "connected"));
    g_free(body);

    /* alice hangs up: the legs are gone, from the API and from ucctl */
    body = g_strdup_printf("{\"action\":\"hangup\",\"call_id\":\"%s\"}", a);
    char *acted = control(&w, w.t.alice, body);
    g_assert_cmpstr(acted, ==, a);
    g_free(acted);
    g_free(body);
    g_assert_null(wait_leg(&w, w.t.alice, "201", NULL));
    g_assert_null(wait_leg(&w, w.t.bob, "202", NULL));
    g_assert_false(ucctl_calls_have(&w, a));
    body = g_strdup_printf("{\"action\":\"hangup\",\"call_id\":\"%s\"}", a);
    expect_error(w.e, "POST", "/calls", w.t.alice, body, 404, "not_found", NULL);
    g_free(body);

    g_free(a);
    g_free(b);
    world_stop(&w);
}

/* ---- transfer, deflect, pickup, consultation ---- */

static void test_transfers(void)
{
    world w = {0};
    world_start(&w, NULL);
    /* carol may take dave's ringing calls */
    json_node_free(ctl(w.e, "permissions", "grant", "file:dave", "file:carol", "team", NULL));

    char *outside = sim_call(&w, "+493012345", "202", FALSE);
    g_free(outside);
    char *b = leg_id(&w, w.t.bob, "202", "offering");
    g_free(controlf(&w, w.t.bob, "{\"action\":\"answer\",\"call_id\":\"%s\"}", b));
    json_node_free(wait_leg(&w, w.t.bob, "202", "connected"));

    /* bob hands it to carol, carol sends it on to dave, and takes it back */
    g_free(controlf(&w, w.t.bob, "{\"action\":\"transfer\",\"call_id\":\"%s\",\"number\":\"203\"}",
                    b));
    char *c = leg_id(&w, w.t.carol, "203", "offering");
    g_assert_null(wait_leg(&w, w.t.bob, "202", NULL));
    g_free(controlf(&w, w.t.carol, "{\"action\":\"deflect\",\"call_id\":\"%s\",\"number\":\"204\"}",
                    c));
    char *d = leg_id(&w, w.t.dave, "204", "offering");
    /* bob may not take dave's calls (public), carol may (team) */
    expect_error(w.e, "POST", "/calls", w.t.bob, "{\"action\":\"pickup\",\"target\":\"dave\"}", 403,
                 "forbidden", "needs permission level team");
    g_free(control(&w, w.t.carol, "{\"action\":\"pickup\",\"target\":\"dave\"}"));
    char *c2 = leg_id(&w, w.t.carol, "203", "connected");
    g_assert_null(wait_leg(&w, w.t.dave, "204", NULL));
    /* nothing rings at carol's now: the service says so */
    expect_error(w.e, "POST", "/calls", w.t.dave, "{\"action\":\"pickup\",\"target\":\"carol\"}",
                 404, "not_found", "no call is ringing");
    g_free(controlf(&w, w.t.carol, "{\"action\":\"hangup\",\"call_id\":\"%s\"}", c2));
    g_assert_null(wait_leg(&w, w.t.carol, "203", NULL));

    /* a consultation: bob holds a caller, calls carol, joins them */
    outside = sim_call(&w, "+493012346", "202", FALSE);
    g_free(outside);
    char *held = leg_id(&w, w.t.bob, "202", "offering");
    g_free(controlf(&w, w.t.bob, "{\"action\":\"answer\",\"call_id\":\"%s\"}", held));
    json_node_free(wait_leg(&w, w.t.bob, "202", "connected"));
    g_free(controlf(&w, w.t.bob, "{\"action\":\"hold\",\"call_id\":\"%s\"}", held));
    json_node_free(wait_leg(&w, w.t.bob, "202", "held"));
    char *active = control(&w, w.t.bob, "{\"action\":\"dial\",\"number\":\"203\"}");
    char *carol_leg = leg_id(&w, w.t.carol, "203", "offering");
    g_free(controlf(&w, w.t.carol, "{\"action\":\"answer\",\"call_id\":\"%s\"}", carol_leg));
    json_node_free(wait_leg(&w, w.t.carol, "203", "connected"));
    g_free(controlf(&w, w.t.bob,
                    "{\"action\":\"consult_transfer\",\"call_id\":\"%s\",\"other_call_id\":\"%s\"}",
                    held, active));
    g_assert_null(wait_leg(&w, w.t.bob, "202", NULL));
    JsonNode *leg = wait_leg(&w, w.t.carol, "203", "connected");
    g_assert_cmpstr(str(obj(leg), "remote_number"), ==, "+493012346");
    json_node_free(leg);

    g_free(active);
    g_free(carol_leg);
    g_free(held);
    g_free(b);
    g_free(c);
    g_free(c2);
    g_free(d);
    world_stop(&w);
}

/* ---- forward and do-not-disturb ---- */

static JsonNode *line_of(world *w, const char *token, const char *address)
{
    char *enc = g_uri_escape_string(w->driver, NULL, TRUE);
    char *path = g_strdup_printf("/lines/%s/%s", enc, address);
    JsonNode *line = req_ok(w->e, "GET", path, token, NULL, 200);
    g_free(path);
    g_free(enc);
    return line;
}

/* Waits until line `address`'s `member` is `value` ("true"/"false" for
 * DND, NULL for a forward off). */
static void wait_line(world *w, const char *address, const char *member, const char *value)
{
    for (int i = 0; i < 500; i++) {
        JsonNode *line = line_of(w, w->t.dave, address);
        JsonNode *m = json_object_get_member(obj(line), member);
        char *got = JSON_NODE_HOLDS_NULL(m) ? NULL
                    : json_node_get_value_type(m) == G_TYPE_BOOLEAN
                        ? g_strdup(json_node_get_boolean(m) ? "true" : "false")
                        : g_strdup(json_node_get_string(m));
        gboolean done = g_strcmp0(got, value) == 0;
        g_free(got);
        json_node_free(line);
        if (done)
            return;
        g_usleep(20000);
    }
    g_error("line %s never had %s = %s", address, member, value ? value : "null");
}

static void test_forward_dnd(void)
{
    world w = {0};
    world_start(&w, NULL);
    g_free(control(&w, w.t.dave, "{\"action\":\"dnd\",\"on\":true}"));
    wait_line(&w, "204", "dnd", "true");
    g_free(control(&w, w.t.dave, "{\"action\":\"dnd\",\"on\":false}"));
    wait_line(&w, "204", "dnd", "false");
    g_free(control(&w, w.t.dave, "{\"action\":\"forward\",\"number\":\"201\"}"));
    wait_line(&w, "204", "forward_to", "201");
    g_free(control(&w, w.t.dave,
                   "{\"action\":\"forward\",\"forward_type\":\"unconditional\",\"number\":null}"));
    wait_line(&w, "204", "forward_to", NULL);
    g_free(control(&w, w.t.dave,
                   "{\"action\":\"forward\",\"forward_type\":\"no_answer\",\"number\":\"203\"}"));

    /* another's forwarding needs personal: carol has not, then has */
    expect_error(w.e, "POST", "/calls", w.t.carol,
                 "{\"action\":\"dnd\",\"user\":\"dave\",\"on\":true}", 403, "forbidden",
                 "personal");
    json_node_free(ctl(w.e, "permissions", "grant", "file:dave", "file:carol", "personal", NULL));
    g_free(control(&w, w.t.carol, "{\"action\":\"dnd\",\"user\":\"dave\",\"on\":true}"));
    wait_line(&w, "204", "dnd", "true");
    world_stop(&w);
}

/* ---- what the API refuses before the service, and what the service does ---- */

static void test_bad_requests(void)
{
    world w = {0};
    world_start(&w, NULL);
    const char *t = w.t.dave;
    static const struct {
        const char *body;
        const char *code;
        const char *needle;
    } bad[] = {
        {"{}", "invalid_argument", "action: missing"},
        {"{\"action\":\"fly\"}", "invalid_argument", "action: 'fly'"},
        {"{\"action\":7}", "invalid_argument", "action: a string"},
        {"{\"action\":\"dial\",\"number\":202}", "invalid_argument", "number"},
        {"{\"action\":\"dial\",\"number\":\"\"}", "invalid_argument", "number"},
        {"{\"action\":\"dial\",\"number\":\"201\",\"digits\":\"1\"}", "invalid_argument",
         "digits: not taken by dial"},
        {"{\"action\":\"hangup\",\"number\":\"201\"}", "invalid_argument", "number: not taken"},
        {"{\"action\":\"dial\",\"number\":\"201\",\"colour\":\"red\"}", "unknown_field", "colour"},
        {"{\"action\":\"dnd\"}", "invalid_argument", "on: missing"},
        {"{\"action\":\"dnd\",\"on\":\"yes\"}", "invalid_argument", "on: true or false"},
        {"{\"action\":\"forward\",\"forward_type\":\"sometimes\",\"number\":\"201\"}",
         "invalid_argument", "forward_type"},
        {"{\"action\":\"forward\",\"forward_type\":1}", "invalid_argument", "forward_type"},
        {"{\"action\":\"dial\",\"number\":null}", "invalid_argument", "number"},
        {"{\"action\":\"dial\",\"line\":[\"201\"],\"number\":\"201\"}", "invalid_argument", "line"},
        /* the service's own refusals of a well-formed request */
        {"{\"action\":\"dial\"}", "invalid_argument", "no number"},
        {"{\"action\":\"hangup\"}", "invalid_argument", "no call id"},
        {"{\"action\":\"consult_transfer\",\"call_id\":\"x\"}", "invalid_argument",
         "other_call_id"},
        {"{\"action\":\"pickup\"}", "invalid_argument", NULL},
        {"{\"action\":\"hangup\",\"call_id\":\"no-such-call\"}", "not_found", NULL},
        {"{\"action\":\"dial\",\"line\":\"299\",\"number\":\"201\"}", "not_found", "299"},
        {"{\"action\":\"dial\",\"user\":\"nobody\",\"number\":\"201\"}", "not_found", "nobody"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        expect_error(w.e, "POST", "/calls", t, bad[i].body,
                     400 + (g_strcmp0(bad[i].code, "not_found") == 0 ? 4 : 0), bad[i].code,
                     bad[i].needle);
    char *long_number = g_strnfill(200, '1');
    char *body = g_strdup_printf("{\"action\":\"dial\",\"number\":\"%s\"}", long_number);
    expect_error(w.e, "POST", "/calls", t, body, 400, "invalid_argument", "number");
    g_free(body);
    g_free(long_number);
    expect_error(w.e, "POST", "/calls", t, "{\"action\":", 400, "invalid_json", NULL);
    expect_error(w.e, "POST", "/calls", t, NULL, 400, NULL, NULL);
    /* a line of another user: 403 with the service's reason */
    body =
        g_strdup_printf("{\"action\":\"dial\",\"line\":\"%s/201\",\"number\":\"203\"}", w.driver);
    expect_error(w.e, "POST", "/calls", t, body, 403, "forbidden", "belongs to alice");
    g_free(body);
    /* nothing was dialled by any of it */
    JsonNode *list = req_ok(w.e, "GET", "/calls", w.t.alice, NULL, 200);
    g_assert_cmpuint(json_array_get_length(items_of(list)), ==, 0);
    json_node_free(list);
    world_stop(&w);
}

/* Whether line `address` offers capability `cap`, as dave sees it. */
static gboolean line_can(world *w, const char *address, const char *cap)
{
    JsonNode *line = line_of(w, w->t.dave, address);
    JsonArray *caps = json_object_get_array_member(obj(line), "capabilities");
    gboolean can = FALSE;
    for (guint i = 0; i < json_array_get_length(caps); i++)
        can = can || g_strcmp0(json_array_get_string_element(caps, i), cap) == 0;
    json_node_free(line);
    return can;
}

/* A line without the capability: 422 with the calls service's message.
 * Dave's line 204 becomes one of pbx-sim's limited lines (monitor, dial
 * and hangup only) by a reload of its configuration. */
static void test_capability(void)
{
    world w = {0};
    world_start(&w, NULL);
    g_free(control(&w, w.t.dave, "{\"action\":\"dnd\",\"on\":false}"));
    harness *h = api_env_harness(w.e);
    char *conf = NULL;
    g_assert_true(g_file_get_contents(h->conf, &conf, NULL, NULL));
    g_assert_nonnull(strstr(conf, "traffic = false\n"));
    char **parts = g_strsplit(conf, "traffic = false\n", 2);
    char *limited = g_strconcat(parts[0], "traffic = false\nlimited_lines = 204\n", parts[1], NULL);
    g_assert_true(g_file_set_contents(h->conf, limited, -1, NULL));
    json_node_free(ctl(w.e, "reload", NULL));
    g_assert_true(harness_wait_state(h, w.driver, "running"));
    for (int i = 0; i < 500 && line_can(&w, "204", "dnd"); i++)
        g_usleep(20000);
    g_assert_false(line_can(&w, "204", "dnd"));
    g_assert_true(line_can(&w, "204", "dial"));

    expect_error(w.e, "POST", "/calls", w.t.dave, "{\"action\":\"dnd\",\"on\":true}", 422,
                 "unsupported", "no line of dave supports dnd (capability 'dnd')");
    char *by_line =
        g_strdup_printf("{\"action\":\"dnd\",\"line\":\"%s/204\",\"on\":true}", w.driver);
    expect_error(w.e, "POST", "/calls", w.t.dave, by_line, 422, "unsupported",
                 "line 204 (pbx-sim) does not support dnd (capability 'dnd')");
    g_free(by_line);
    expect_error(w.e, "POST", "/calls", w.t.dave, "{\"action\":\"forward\",\"number\":\"201\"}",
                 422, "unsupported", "capability 'forward'");
    /* what the line can do still works */
    char *call = control(&w, w.t.dave, "{\"action\":\"dial\",\"number\":\"201\"}");
    /* the driver's answer comes before its leg reaches the model */
    json_node_free(wait_leg(&w, w.t.dave, "204", "ringback"));
    char *body = g_strdup_printf("{\"action\":\"hold\",\"call_id\":\"%s\"}", call);
    expect_error(w.e, "POST", "/calls", w.t.dave, body, 422, "unsupported", "capability 'hold'");
    g_free(body);
    g_free(controlf(&w, w.t.dave, "{\"action\":\"hangup\",\"call_id\":\"%s\"}", call));
    g_assert_null(wait_leg(&w, w.t.dave, "204", NULL));

    /* a line without a user: only the system and an admin may act on it,
     * a key only on its users' lines */
    body = g_strdup_printf("{\"action\":\"dnd\",\"line\":\"%s/210\",\"on\":true}", w.driver);
    expect_error(w.e, "POST", "/calls", w.t.carol, body, 403, "forbidden", "no user's line");
    g_free(control(&w, w.t.alice, body));
    char *off = g_strdup_printf("{\"action\":\"dnd\",\"line\":\"%s/210\",\"on\":false}", w.driver);
    g_free(control(&w, w.t.alice, off));
    g_free(off);
    char *key = make_key(w.e, "ops", "calls:control", "dave");
    expect_error(w.e, "POST", "/calls", key, body, 403, "forbidden", "no user's line");
    g_free(body);
    g_free(key);
    g_free(call);
    g_strfreev(parts);
    g_free(limited);
    g_free(conf);
    world_stop(&w);
}

/* ---- private numbers and API keys ---- */

static void test_private_and_keys(void)
{
    world w = {0};
    world_start(&w, NULL);
    char *outside = sim_call(&w, "+4930999777", "202", TRUE);
    g_free(outside);
    JsonNode *leg = wait_leg(&w, w.t.bob, "202", "offering");
    g_assert_true(json_object_get_boolean_member(obj(leg), "private"));
    g_assert_cmpstr(str(obj(leg), "remote_number"), ==, "+4930999777");
    char *b = g_strdup(str(obj(leg), "call_id"));
    json_node_free(leg);
    /* carol and the admin see the leg, never the number */
    const char *others[] = {w.t.carol, w.t.alice};
    for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
        leg = wait_leg(&w, others[i], "202", "offering");
        g_assert_cmpstr(str(obj(leg), "remote_number"), ==, "anonymous");
        g_assert_true(json_object_get_null_member(obj(leg), "remote_name"));
        g_assert_true(json_object_get_null_member(obj(leg), "party"));
        json_node_free(leg);
        JsonNode *u = req_ok(w.e, "GET", "/users/bob", others[i], NULL, 200);
        char *text = json_to_string(u, FALSE);
        g_assert_null(strstr(text, "30999777"));
        g_free(text);
        json_node_free(u);
    }
    char *reader = make_key(w.e, "reader", "calls:read", NULL);
    JsonNode *list = req_ok(w.e, "GET", "/calls", reader, NULL, 200);
    char *text = json_to_string(list, FALSE);
    g_assert_nonnull(item_by(items_of(list), "call_id", b));
    g_assert_null(strstr(text, "30999777"));
    g_free(text);
    json_node_free(list);
    expect_error(w.e, "POST", "/calls", reader,
                 "{\"action\":\"dial\",\"user\":\"bob\","
                 "\"number\":\"203\"}",
                 403, "forbidden", NULL);

    /* a key for bob's lines: his yes, alice's no, and it must say whose */
    char *crm = make_key(w.e, "crm", "calls:read,calls:control", "bob");
    g_free(controlf(&w, crm, "{\"action\":\"answer\",\"line\":\"%s/202\",\"call_id\":\"%s\"}",
                    w.driver, b));
    json_node_free(wait_leg(&w, w.t.bob, "202", "connected"));
    char *body =
        g_strdup_printf("{\"action\":\"dial\",\"line\":\"%s/201\",\"number\":\"203\"}", w.driver);
    expect_error(w.e, "POST", "/calls", crm, body, 403, "forbidden", "crm");
    g_free(body);
    expect_error(w.e, "POST", "/calls", crm,
                 "{\"action\":\"dial\",\"user\":\"alice\","
                 "\"number\":\"203\"}",
                 403, "forbidden", "alice");
    expect_error(w.e, "POST", "/calls", crm,
                 "{\"action\":\"pickup\",\"user\":\"bob\","
                 "\"target\":\"carol\"}",
                 403, "forbidden", "carol");
    expect_error(w.e, "POST", "/calls", crm, "{\"action\":\"dial\",\"number\":\"203\"}", 400,
                 "invalid_argument", "line or user");
    expect_error(w.e, "POST", "/calls", crm,
                 "{\"action\":\"dial\",\"line\":\"999\","
                 "\"number\":\"203\"}",
                 404, "not_found", "999");
    g_free(controlf(&w, crm, "{\"action\":\"hangup\",\"user\":\"bob\",\"call_id\":\"%s\"}", b));
    g_assert_null(wait_leg(&w, w.t.bob, "202", NULL));
    g_free(crm);
    g_free(reader);
    g_free(b);
    world_stop(&w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/calls/dial-to-hangup", test_dial_to_hangup);
    g_test_add_func("/api/calls/transfers", test_transfers);
    g_test_add_func("/api/calls/forward-dnd", test_forward_dnd);
    g_test_add_func("/api/calls/bad-requests", test_bad_requests);
    g_test_add_func("/api/calls/capability", test_capability);
    g_test_add_func("/api/calls/private-and-keys", test_private_and_keys);
    return g_test_run();
}
