/*
 * pbx-sip-test.c - pbx-sip.so in the fake host (tests/fake-host), no network
 * peer: its configuration keys; and pbx-sip-numbers.c (built in here too):
 * remote identities and numbers to dial through a fake number service.
 *
 * With Kamailio (tests/peers/kamailio.sh): the driver on real lines, its
 * click-to-dial (own leg hidden, a failed dial published) and hangup through
 * Kamailio's JSON-RPC.
 *
 * With hint-server.c (a SIP server shaped like Asterisk's PJSIP hints, in
 * this process): line state only from hint-state dialogs, no calls; and a
 * click-to-dial whose REFER the phone takes, then fails (sipfrag 400).
 *
 *   pbx-sip-test PBX_SIP_SO KAMAILIO_SH
 */
#include <string.h>

#include "fake-host.h"
#include "harness.h"
#include "hint-server.h"
#include "pbx-sip.h"

static const ucd_plugin_descriptor *descriptor;
static const char *peer_script;

/* A module with the required keys set and `key` = `value` (NULL: unset). */
static fake_module *module_with(const char *key, const char *value)
{
    fake_module *m = fake_module_new(descriptor, "pbx-sip:t");
    const char *const pairs[] = {"server", "127.0.0.1:9", "domain", "example.org",
                                 "lines",  "alice;bob",   NULL};
    fake_module_set_pairs(m, pairs);
    if (key)
        fake_module_set(m, key, value);
    return m;
}

/* init's result for `key` = `value`; a refusal must name the key. */
static int init_with(const char *key, const char *value)
{
    fake_module *m = module_with(key, value);
    int rc = fake_module_init(m);
    if (rc != UCD_OK)
        g_assert_cmpstr(m->config_error_key, ==, key);
    else
        fake_module_stop(m);
    fake_module_free(m);
    return rc;
}

static void test_keepalive_key(void)
{
    g_assert_cmpint(init_with(NULL, NULL), ==, UCD_OK); /* the default, 30 s */
    g_assert_cmpint(init_with("keepalive", "0"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "1s"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "5m"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "999ms"), !=, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "1ms"), !=, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "2d"), !=, UCD_OK);
}

/* ---- remote identities (pbx-sip-numbers.c) ---- */

/* "NUMBER|NAME|FLAGS" for a remote identity, "-" for NULL. */
static char *identity(const char *uri, const char *display)
{
    char *number = NULL, *name = NULL;
    uint32_t flags = 99;
    sip_remote_identity(uri, display, &number, &name, &flags);
    char *text =
        g_strdup_printf("%s|%s|%u", number ? number : "-", name ? name : "-", (unsigned)flags);
    g_free(number);
    g_free(name);
    return text;
}

static void assert_identity(const char *uri, const char *display, const char *expected)
{
    char *text = identity(uri, display);
    g_assert_cmpstr(text, ==, expected);
    g_free(text);
}

static void assert_listen(const char *listen, const char *server, const char *expected)
{
    GError *error = NULL;
    char *uri = sip_listen_uri(listen, server, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(uri, ==, expected);
    g_free(uri);
}

/* The stack binds what `listen` says, else the local address facing the
 * server: loopback for a server on this host (never the wildcard). */
static void test_listen(void)
{
    assert_listen("192.0.2.10", "127.0.0.1:5060", "sip:192.0.2.10:*");
    assert_listen("192.0.2.10:5070", "127.0.0.1:5060", "sip:192.0.2.10:5070");
    assert_listen("::1", "127.0.0.1:5060", "sip:[::1]:*");
    assert_listen("[::1]:5070", "127.0.0.1:5060", "sip:[::1]:5070");
    assert_listen("[::1]", "127.0.0.1:5060", "sip:[::1]:*");
    assert_listen(NULL, "127.0.0.1:5060", "sip:127.0.0.1:*");
    assert_listen("", "127.0.0.2",
                  "sip:127.0.0.1:*"); /* empty = unset; the route to 127/8 leaves from 127.0.0.1 */

    GError *error = NULL;
    g_assert_null(sip_listen_uri(NULL, "no-such-host.invalid:5060", &error));
    g_assert_nonnull(error);
    g_error_free(error);
}

static void test_remote_identity(void)
{
    assert_identity("sip:bob@127.0.0.1", "Bob", "bob|Bob|0");
    assert_identity("SIP:bob@127.0.0.1:5060;transport=udp", NULL, "bob|-|0");
    assert_identity(" <sip:alice@example.org> ", NULL, "alice|-|0");
    assert_identity("sips:%2B4989123456@example.org;user=phone", NULL, "+4989123456|-|0");
    assert_identity("sip:+49-89-123;isub=7@gw.example.org;user=phone?Subject=hi", NULL,
                    "+4989123|-|0");
    assert_identity("tel:+49-89-123;phone-context=example.org", "Office", "+4989123|Office|0");
    assert_identity("tel:(089)%20123.456", NULL, "089123456|-|0");
    assert_identity("sip:j.doe@example.org", NULL, "j.doe|-|0"); /* a name keeps its dots */
    assert_identity("sip:gateway.example.org", NULL, "sip:gateway.example.org|-|0");
    assert_identity(NULL, NULL, "-|-|0");
}

static void test_remote_identity_withheld(void)
{
    const char *const withheld[][2] = {
        {"sip:anonymous@anonymous.invalid", "Anonymous"},
        {"sip:anonymous@anonymous.invalid", NULL},
        {"sip:Anonymous@example.org", NULL},
        {"sips:x@ANONYMOUS.INVALID;user=phone", NULL},
        {"sip:+4989123@example.org", " anonymous "},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(withheld); i++)
        assert_identity(withheld[i][0], withheld[i][1], "-|-|1"); /* UCD_CALL_FLAG_PRIVATE */
    assert_identity("sip:anonymousx@example.org", NULL, "anonymousx|-|0");
}

/* ---- numbers to dial (pbx-sip-numbers.c) ---- */

static char *last_context;

/* A number service with one location: "0049..." is national ("0" + rest),
 * three digits an extension, "+1 ..." international, anything else no number. */
static int fake_normalize(void *impl, const char *context, const char *raw, ucd_number_info *out)
{
    (void)impl;
    g_free(last_context);
    last_context = g_strdup(context);
    *out = (ucd_number_info){.struct_size = sizeof(*out)};
    if (g_str_has_prefix(raw, "0049")) {
        out->kind = UCD_NUMBER_NATIONAL;
        g_snprintf(out->dialable, sizeof(out->dialable), "0%s", raw + 4);
    } else if (strlen(raw) == 3 && g_ascii_isdigit(raw[0])) {
        out->kind = UCD_NUMBER_INTERNAL;
        g_strlcpy(out->extension, raw, sizeof(out->extension));
        g_strlcpy(out->dialable, "should-not-be-used", sizeof(out->dialable));
    } else if (g_str_has_prefix(raw, "+1 ")) {
        out->kind = UCD_NUMBER_INTERNATIONAL;
        g_strlcpy(out->dialable, "0012125550100", sizeof(out->dialable));
    } else {
        return UCD_E_INVALID;
    }
    return UCD_OK;
}

static const ucd_numbers_v1 fake_numbers = {.struct_size = sizeof(ucd_numbers_v1),
                                            .normalize = fake_normalize};

/* "USER" or "invalid" for `number` dialled from module `m`. */
static char *dial_user_part(fake_module *m, const char *number)
{
    char *user = NULL;
    int rc = sip_dial_user_part(&fake_host, m, m->id, number, &user);
    if (rc != UCD_OK) {
        g_assert_cmpint(rc, ==, UCD_E_INVALID);
        g_assert_null(user);
        return g_strdup("invalid");
    }
    return user;
}

static void assert_dials(fake_module *m, const char *number, const char *expected)
{
    char *user = dial_user_part(m, number);
    g_assert_cmpstr(user, ==, expected);
    g_free(user);
}

static void test_dial_numbers(void)
{
    fake_module *m = fake_module_new(descriptor, "pbx-sip:t");
    /* No number service: the number as typed, if it is a user part. */
    assert_dials(m, "0049891234", "0049891234");
    assert_dials(m, " bob ", "bob");
    assert_dials(m, "+1 212 5550100", "invalid");
    assert_dials(m, "", "invalid");
    assert_dials(m, NULL, "invalid");

    fake_provide_service("numbers-fake", UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, &fake_numbers,
                         NULL);
    assert_dials(m, "0049891234", "0891234"); /* the dialable form */
    g_assert_cmpstr(last_context, ==, "pbx-sip:t");
    assert_dials(m, "201", "201");                      /* the extension */
    assert_dials(m, "+1 212 5550100", "0012125550100"); /* no longer invalid */
    assert_dials(m, "bob", "bob");                      /* not a number: a SIP user */
    assert_dials(m, "bob smith", "invalid");
    assert_dials(m, "a<b>", "invalid");
    fake_withdraw_services();
    fake_module_free(m);
    g_clear_pointer(&last_context, g_free);
}

/* ---- with Kamailio ---- */

/* Generous: CI runs this on a loaded machine (load 10 on 2 cores). */
#define WAIT_US (30 * G_USEC_PER_SEC)
/* A kamailio.sh verb: its own bounds (30 s for a phone's answer) come first,
 * so its message says what went wrong. */
#define PEER_VERB_US (90 * G_USEC_PER_SEC)

/* Call events as "LINE CALL_ID STATE CAUSE REMOTE". */
static void record(fake_module *m, const ucd_event *event, void *data)
{
    (void)m;
    if (event->type != UCD_EVENT_CALL_STATE)
        return;
    const ucd_call_state_event *c = event->payload;
    g_ptr_array_add(data,
                    g_strdup_printf("%s %s %s %s %s", c->line, c->call_id,
                                    ucd_call_state_word(c->state), ucd_call_cause_word(c->cause),
                                    c->remote_number ? c->remote_number : "-"));
}

/* The first recorded event of `line` containing `what`, or NULL. */
static const char *find_event(GPtrArray *events, const char *line, const char *what)
{
    for (guint i = 0; i < events->len; i++) {
        const char *e = g_ptr_array_index(events, i);
        if (g_str_has_prefix(e, line) && e[strlen(line)] == ' ' && strstr(e, what))
            return e;
    }
    return NULL;
}

/* find_event, waiting for it while the default context (the driver's) runs;
 * NULL after the wait, when every event recorded is printed: a wait that runs
 * out is timing-bound and rare, and the log alone must say what came instead. */
static const char *wait_event(GPtrArray *events, const char *line, const char *what)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    const char *e;
    while ((e = find_event(events, line, what)) == NULL && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
    }
    if (e == NULL) {
        g_printerr("no event '%s %s' within %d s; recorded:\n", line, what,
                   (int)(WAIT_US / G_USEC_PER_SEC));
        for (guint i = 0; i < events->len; i++)
            g_printerr("  %s\n", (const char *)g_ptr_array_index(events, i));
    }
    return e;
}

static void on_phone_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_assert_true(g_subprocess_wait_check_finish(G_SUBPROCESS(source), result, NULL));
    *(gboolean *)data = TRUE;
}

/* "kamailio.sh ua DIR PHONE COMMAND [PARAMS]" while the driver runs. */
static void phone(harness_peer *peer, const char *who, const char *command, const char *params)
{
    GSubprocess *p =
        g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE, NULL, "bash", peer_script, "ua",
                         harness_peer_get(peer, "SIP_DIR"), who, command, params, NULL);
    g_assert_nonnull(p);
    gboolean done = FALSE;
    g_subprocess_wait_check_async(p, NULL, on_phone_done, &done);
    gint64 deadline = g_get_monotonic_time() + PEER_VERB_US;
    while (!done && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_assert_true(done);
    g_object_unref(p);
}

#ifdef PBX_SIP_RPC
/* The call id (2nd word) of an event line; g_free. */
static char *call_id_of(const char *event)
{
    char **words = g_strsplit(event, " ", 3);
    char *id = g_strdup(words[1]);
    g_strfreev(words);
    return id;
}
#endif

/* The driver on alice, bob and carol at the peer (with rpc_url when built
 * with JSON-RPC), recording into `events`. */
static fake_module *start_on(harness_peer *peer, GPtrArray *events)
{
    fake_module *m = fake_module_new(descriptor, "pbx-sip:k");
    char *server = g_strdup_printf("%s:%s", harness_peer_get(peer, "SIP_HOST"),
                                   harness_peer_get(peer, "SIP_PORT"));
    fake_module_set(m, "server", server);
    g_free(server);
    fake_module_set(m, "domain", harness_peer_get(peer, "SIP_DOMAIN"));
    fake_module_set(m, "lines", "alice;bob;carol");
#ifdef PBX_SIP_RPC
    fake_module_set(m, "rpc_url", harness_peer_get(peer, "SIP_RPC"));
#endif
    m->on_publish = record;
    m->publish_data = events;
    fake_module_start(m);
    return m;
}

/* dial() until the line's subscription is up (UNAVAILABLE before). */
static int dial_when_up(const ucd_pbx_v1 *pbx, void *impl, const char *line, const char *number)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    int rc;
    while ((rc = pbx->dial(impl, line, number, NULL, 0)) == UCD_E_UNAVAILABLE &&
           g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    return rc;
}

static void test_on_kamailio(void)
{
    harness_peer *peer = harness_peer_start(peer_script, "SIP_DIR", NULL);
    if (peer == NULL)
        return;
    GPtrArray *events = g_ptr_array_new_with_free_func(g_free);
    fake_module *m = start_on(peer, events);
    void *impl = NULL;
    const ucd_pbx_v1 *pbx = fake_module_service(m, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &impl);
    g_assert_nonnull(pbx);
#ifdef PBX_SIP_RPC
    g_assert_cmpuint(pbx->capabilities(impl, "bob") & UCD_PBX_CAP_HANGUP, !=, 0);
#else
    g_assert_cmpuint(pbx->capabilities(impl, "bob") & UCD_PBX_CAP_HANGUP, ==, 0);
#endif

    /* A dial from carol, who has no phone: one leg dialing -> disconnected. */
    g_assert_cmpint(dial_when_up(pbx, impl, "carol", "bob"), ==, UCD_OK);
    g_assert_nonnull(wait_event(events, "carol", "dialing none bob"));
    g_assert_nonnull(wait_event(events, "carol", "disconnected failed bob"));
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "SIP 404"));

    /* alice's phone is called and sent on to bob: bob rings, alice's line
     * shows her call to bob, never the driver's own leg (an offering one). */
    g_assert_cmpint(dial_when_up(pbx, impl, "alice", "bob"), ==, UCD_OK);
    g_assert_nonnull(wait_event(events, "bob", "offering"));
    g_assert_nonnull(wait_event(events, "alice", "ringback"));
    phone(peer, "bob", "accept", "");
    const char *bob_talks = wait_event(events, "bob", "connected");
    g_assert_nonnull(bob_talks);
#ifdef PBX_SIP_RPC
    /* Hang up bob's call through Kamailio's dlg.end_dlg. */
    char *call_id = call_id_of(bob_talks);
    g_assert_cmpint(pbx->hangup(impl, "bob", "no-such-call"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(pbx->hangup(impl, "bob", call_id), ==, UCD_OK);
    g_free(call_id);
#else
    g_test_message("built without libsoup-3: no JSON-RPC hangup to test");
    if (g_strcmp0(g_getenv("CI"), "true") == 0)
        g_test_fail_printf("CI must build the JSON-RPC extras (apt-get install libsoup-3.0-dev)");
    phone(peer, "bob", "hangup", "");
#endif
    g_assert_nonnull(wait_event(events, "bob", "disconnected normal"));
    g_assert_nonnull(wait_event(events, "alice", "disconnected normal"));
    g_assert_null(find_event(events, "alice", "offering"));

    fake_module_stop(m);
    fake_module_free(m);
    g_ptr_array_unref(events);
    harness_peer_stop(peer);
}

/* Issue 12 item 30 with real peers: alice's phone takes the REFER to a user
 * with no phone; Kamailio answers the phone's INVITE 404 and the phone's
 * sipfrag NOTIFY says so (baresip: "SIP/2.0 404 Not Found"). The dial has
 * failed: a warning with the status and one failed leg on alice's line. */
static void test_refer_call_fails_on_kamailio(void)
{
    harness_peer *peer = harness_peer_start(peer_script, "SIP_DIR", NULL);
    if (peer == NULL)
        return;
    GPtrArray *events = g_ptr_array_new_with_free_func(g_free);
    fake_module *m = start_on(peer, events);
    void *impl = NULL;
    const ucd_pbx_v1 *pbx = fake_module_service(m, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &impl);
    g_assert_nonnull(pbx);

    g_assert_cmpint(dial_when_up(pbx, impl, "alice", "nobody"), ==, UCD_OK);
    g_assert_nonnull(wait_event(events, "alice", "disconnected failed nobody"));
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    while (!fake_module_log_has(m, UCD_LOG_WARNING, "reported its call failed (SIP 404)") &&
           g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "reported its call failed (SIP 404)"));
    /* Kamailio refuses the phone's call before it is a dialog (kamailio.sh):
     * nothing else on alice's line, so exactly the failed leg. */
    guint on_alice = 0;
    for (guint i = 0; i < events->len; i++)
        on_alice += g_str_has_prefix(g_ptr_array_index(events, i), "alice ");
    g_assert_cmpuint(on_alice, ==, 2);
    g_assert_nonnull(find_event(events, "alice", "dialing none nobody"));

    fake_module_stop(m);
    fake_module_free(m);
    g_ptr_array_unref(events);
    harness_peer_stop(peer);
}

/* ---- a server with hint state only (Asterisk-shaped, hint-server.c) ---- */

/* The test's own loopback address, away from any real SIP server. */
#define HINT_HOST "127.0.83.1"

/* Call and line events as "call LINE STATE CAUSE REMOTE" / "line LINE STATE". */
static void record_all(fake_module *m, const ucd_event *event, void *data)
{
    if (event->type == UCD_EVENT_CALL_STATE) {
        record(m, event, data);
        const ucd_call_state_event *c = event->payload;
        g_ptr_array_add(data,
                        g_strdup_printf("call %s %s", c->line, ucd_call_state_word(c->state)));
    } else if (event->type == UCD_EVENT_LINE_STATE) {
        const ucd_line_state_event *l = event->payload;
        g_ptr_array_add(data, g_strdup_printf("line %s %u", l->line, (unsigned)l->state));
    }
}

/* Runs the default context until `what` is the LAST event recorded for
 * `line` of the kind given by prefix ("line"); FALSE after the wait. */
static gboolean wait_line_state(GPtrArray *events, const char *line, uint32_t state)
{
    char *prefix = g_strdup_printf("line %s ", line);
    char *want = g_strdup_printf("line %s %u", line, (unsigned)state);
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    gboolean seen = FALSE;
    while (!seen && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        const char *last = NULL;
        for (guint i = 0; i < events->len; i++)
            if (g_str_has_prefix(g_ptr_array_index(events, i), prefix))
                last = g_ptr_array_index(events, i);
        seen = g_strcmp0(last, want) == 0;
        if (!seen)
            g_usleep(2000);
    }
    g_free(prefix);
    g_free(want);
    return seen;
}

static guint count_prefix(GPtrArray *events, const char *prefix)
{
    guint n = 0;
    for (guint i = 0; i < events->len; i++)
        n += g_str_has_prefix(g_ptr_array_index(events, i), prefix);
    return n;
}

/* The driver on lines 201 and 202 at the hint server. */
static fake_module *start_on_hints(hint_server *server, GPtrArray *events)
{
    fake_module *m = fake_module_new(descriptor, "pbx-sip:ast");
    fake_module_set(m, "server", hint_server_address(server));
    fake_module_set(m, "listen", HINT_HOST);
    fake_module_set(m, "domain", "pbx.example.org");
    fake_module_set(m, "lines", "201;202");
    fake_module_set(m, "keepalive", "0");
    m->on_publish = record_all;
    m->publish_data = events;
    fake_module_start(m);
    return m;
}

/* Issue 12 item 29: Asterisk's hints (bodies constructed from
 * res_pjsip_dialog_info_body_generator.c) made every call two journal rows
 * without numbers, a missed call "answered". The line state follows the
 * hint; no call event at all is published. */
static void test_asterisk_hints(void)
{
    hint_server *server = hint_server_new(HINT_HOST, "pbx.example.org");
    g_assert_nonnull(server);
    GPtrArray *events = g_ptr_array_new_with_free_func(g_free);
    fake_module *m = start_on_hints(server, events);
    g_assert_true(wait_line_state(events, "201", UCD_LINE_IDLE));
    g_assert_true(wait_line_state(events, "202", UCD_LINE_IDLE));

    /* 201 calls 202, who does not answer: the caller's hint is "confirmed"
     * from the first ring, the callee's "early" with the caller's identity. */
    hint_server_set(server, "201", HINT_INUSE, NULL, NULL);
    hint_server_set(server, "202", HINT_RINGING, "201", "Alice");
    g_assert_true(wait_line_state(events, "201", UCD_LINE_BUSY));
    g_assert_true(wait_line_state(events, "202", UCD_LINE_RINGING));
    hint_server_set(server, "201", HINT_IDLE, NULL, NULL);
    hint_server_set(server, "202", HINT_IDLE, NULL, NULL);
    g_assert_true(wait_line_state(events, "201", UCD_LINE_IDLE));
    g_assert_true(wait_line_state(events, "202", UCD_LINE_IDLE));

    /* Then an answered one, 202 calling 201, and a ring without caller id. */
    hint_server_set(server, "202", HINT_INUSE, NULL, NULL);
    hint_server_set(server, "201", HINT_RINGING, NULL, NULL);
    g_assert_true(wait_line_state(events, "201", UCD_LINE_RINGING));
    hint_server_set(server, "201", HINT_INUSE, NULL, NULL);
    g_assert_true(wait_line_state(events, "201", UCD_LINE_BUSY));
    g_assert_true(wait_line_state(events, "202", UCD_LINE_BUSY));
    hint_server_set(server, "201", HINT_IDLE, NULL, NULL);
    hint_server_set(server, "202", HINT_IDLE, NULL, NULL);
    g_assert_true(wait_line_state(events, "201", UCD_LINE_IDLE));
    g_assert_true(wait_line_state(events, "202", UCD_LINE_IDLE));

    /* No legs, so nothing for the journal; said once per line in the log. */
    g_assert_cmpuint(count_prefix(events, "call "), ==, 0);
    g_assert_true(fake_module_log_has(m, UCD_LOG_INFO, "line 201: the server publishes hint"));
    g_assert_true(fake_module_log_has(m, UCD_LOG_INFO, "pbx-ami"));

    fake_module_stop(m);
    fake_module_free(m);
    g_ptr_array_unref(events);
    hint_server_free(server);
}

/* Issue 12 item 30: the phone takes the REFER (202), then its sipfrag NOTIFY
 * says "400 Bad Request" (Asterisk, REFER before the bridge): a failed dial,
 * warned with the status and shown as one failed leg. */
static void test_refer_fails(void)
{
    hint_server *server = hint_server_new(HINT_HOST, "pbx.example.org");
    g_assert_nonnull(server);
    GPtrArray *events = g_ptr_array_new_with_free_func(g_free);
    fake_module *m = start_on_hints(server, events);
    void *impl = NULL;
    const ucd_pbx_v1 *pbx = fake_module_service(m, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &impl);
    g_assert_nonnull(pbx);

    g_assert_cmpint(dial_when_up(pbx, impl, "201", "202"), ==, UCD_OK);
    g_assert_nonnull(wait_event(events, "201", "dialing none 202"));
    g_assert_nonnull(wait_event(events, "201", "disconnected failed 202"));
    g_assert_cmpuint(hint_server_refers(server), ==, 1);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "SIP 400"));
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "dial from 201 to 202 failed"));
    g_assert_cmpuint(count_prefix(events, "call 201 dialing"), ==, 1);
    g_assert_cmpuint(count_prefix(events, "call 202"), ==, 0);

    fake_module_stop(m);
    fake_module_free(m);
    g_ptr_array_unref(events);
    hint_server_free(server);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s PBX_SIP_SO KAMAILIO_SH", argv[0]);
    peer_script = argv[2];
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "pbx-sip", &handle);
    g_test_add_func("/pbx-sip/keepalive-key", test_keepalive_key);
    g_test_add_func("/pbx-sip/listen", test_listen);
    g_test_add_func("/pbx-sip/remote-identity", test_remote_identity);
    g_test_add_func("/pbx-sip/remote-identity-withheld", test_remote_identity_withheld);
    g_test_add_func("/pbx-sip/dial-numbers", test_dial_numbers);
    g_test_add_func("/pbx-sip/on-kamailio", test_on_kamailio);
    g_test_add_func("/pbx-sip/refer-call-fails-on-kamailio", test_refer_call_fails_on_kamailio);
    g_test_add_func("/pbx-sip/asterisk-hints", test_asterisk_hints);
    g_test_add_func("/pbx-sip/refer-fails", test_refer_fails);
    int rc = g_test_run();
    /* No dlclose: a static GPrivate in the plugin (the dialog-info parser's
     * per-thread context) owns a key GLib never frees; unloading the plugin
     * would turn that into a 4-byte "leak" under LeakSanitizer. */
    (void)handle;
    return rc;
}
