/*
 * test-pbx-ami.c - pbx-ami.so in the fake host against the replay peer
 * (tests/proto/ami-replay.h): a scripted AMI server on the same main context.
 *
 * Each test writes the script the driver must meet: the login, the resync
 * after it (CoreShowChannels, ExtensionStateList, the AstDB reads of every
 * line) and then what Asterisk sends - events of the real captures, or
 * expectations of the actions call control must send. The published events
 * are recorded as text, the actions the peer received are checked header by
 * header.
 */
#include <string.h>

#include "ami-replay.h"
#include "ami-script.h"
#include "fake-host.h"

static const ucd_plugin_descriptor *descriptor;

/* ---- recording what the driver publishes ------------------------------------------- */

typedef struct recorder {
    GMutex lock;
    GPtrArray *lines;         /* "line alice idle dnd=0 fwd=-" / "call ID LINE STATE CAUSE CONV" */
    GPtrArray *calls;         /* ucd_call_state_event copies as text, see call_text() */
    GHashTable *remote_names; /* call id -> remote_name */
    int64_t link_lost_ms;     /* the time of the last link_lost end, 0 when none */
} recorder;

static void on_publish(fake_module *module, const ucd_event *event, void *data)
{
    (void)module;
    recorder *r = data;
    g_mutex_lock(&r->lock);
    if (event->type == UCD_EVENT_LINE_STATE) {
        const ucd_line_state_event *e = event->payload;
        g_assert_cmpstr(e->driver_instance, ==, "pbx-ami:test");
        g_ptr_array_add(r->lines, g_strdup_printf("%s %s dnd=%u fwd=%s", e->line,
                                                  ucd_line_state_word(e->state), e->dnd,
                                                  e->forward_to ? e->forward_to : "-"));
    } else if (event->type == UCD_EVENT_CALL_STATE) {
        const ucd_call_state_event *e = event->payload;
        g_assert_cmpstr(e->driver_instance, ==, "pbx-ami:test");
        g_assert_true(g_str_has_prefix(e->call_id, "test-"));
        g_assert_true(g_str_has_prefix(e->conversation_id, "test-"));
        if (e->remote_name != NULL) {
            g_assert_true(g_utf8_validate(e->remote_name, -1, NULL));
            g_hash_table_insert(r->remote_names, g_strdup(e->call_id), g_strdup(e->remote_name));
        }
        if (e->cause == UCD_CAUSE_LINK_LOST)
            r->link_lost_ms = event->time_ms;
        g_ptr_array_add(r->calls,
                        g_strdup_printf("%s %s %s %s %s", e->call_id, e->line,
                                        ucd_call_state_word(e->state),
                                        ucd_call_cause_word(e->cause), e->conversation_id));
    }
    g_mutex_unlock(&r->lock);
}

/* The last line event of `line`, "" when none. */
static char *last_line(recorder *r, const char *line)
{
    char *prefix = g_strconcat(line, " ", NULL);
    char *found = g_strdup("");
    g_mutex_lock(&r->lock);
    for (guint i = 0; i < r->lines->len; i++)
        if (g_str_has_prefix(g_ptr_array_index(r->lines, i), prefix)) {
            g_free(found);
            found = g_strdup(g_ptr_array_index(r->lines, i));
        }
    g_mutex_unlock(&r->lock);
    g_free(prefix);
    return found;
}

/* Iterates the default context until `done(data)` or 15 s. */
static gboolean wait_for(gboolean (*done)(gpointer), gpointer data)
{
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (!done(data)) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return TRUE;
}

typedef struct line_wait {
    recorder *r;
    const char *line;
    const char *expected; /* "alice idle dnd=0 fwd=-" */
} line_wait;

static gboolean line_is(gpointer data)
{
    line_wait *w = data;
    char *got = last_line(w->r, w->line);
    gboolean ok = strcmp(got, w->expected) == 0;
    g_free(got);
    return ok;
}

static void wait_line(recorder *r, const char *line, const char *expected)
{
    line_wait w = {r, line, expected};
    if (!wait_for(line_is, &w)) {
        char *got = last_line(r, line);
        g_assert_cmpstr(got, ==, expected);
        g_free(got);
    }
}

typedef struct call_wait {
    recorder *r;
    const char *needle;
} call_wait;

static gboolean call_seen(gpointer data)
{
    call_wait *w = data;
    gboolean found = FALSE;
    g_mutex_lock(&w->r->lock);
    for (guint i = 0; i < w->r->calls->len && !found; i++)
        found = strstr(g_ptr_array_index(w->r->calls, i), w->needle) != NULL;
    g_mutex_unlock(&w->r->lock);
    return found;
}

static void wait_call(recorder *r, const char *needle)
{
    call_wait w = {r, needle};
    if (!wait_for(call_seen, &w)) {
        for (guint i = 0; i < r->calls->len; i++)
            g_printerr("call event: %s\n", (char *)g_ptr_array_index(r->calls, i));
        g_error("no call event containing '%s'", needle);
    }
}

/* ---- scripts ----------------------------------------------------------------------------- */

static GPtrArray *capture_steps(const char *dir, const char *name)
{
    char *path = g_build_filename(dir, name, NULL);
    GError *error = NULL;
    GPtrArray *steps = ami_script_load(path, &error);
    g_assert_no_error(error);
    g_free(path);
    return steps;
}

/* Appends a block in wire form as script text: CRLF lines back to LF ones,
 * without the lines that start with one of `drop` (NULL-terminated, may be
 * NULL). */
static void append_block(GString *out, const char *wire, const char *const *drop)
{
    char **lines = g_strsplit(wire, "\r\n", -1);
    for (char **l = lines; *l != NULL && l[1] != NULL; l++) {
        gboolean dropped = FALSE;
        for (const char *const *d = drop; d != NULL && *d != NULL; d++)
            dropped |= g_str_has_prefix(*l, *d);
        if (!dropped)
            g_string_append_printf(out, "%s\n", *l);
    }
    g_strfreev(lines);
}

/* The events Asterisk sent in a capture file (responses and the answers to
 * the capture's own actions left out), as capture-format blocks. */
static char *capture_events_in(const char *dir, const char *name)
{
    GPtrArray *steps = capture_steps(dir, name);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_RECV && g_str_has_prefix(step->text, "Event:") &&
            strstr(step->text, "\nActionID:") == NULL)
            append_block(out, step->text, NULL); /* ends with the block's empty line */
    }
    g_ptr_array_unref(steps);
    return g_string_free(out, FALSE);
}

static char *capture_events(const char *name)
{
    return capture_events_in(AMI_DATA_DIR, name);
}

/* The first step of `kind` whose text holds both needles (`b` may be NULL). */
static const ami_step *find_step(GPtrArray *steps, ami_step_kind kind, const char *a, const char *b)
{
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == kind && strstr(step->text, a) != NULL &&
            (b == NULL || strstr(step->text, b) != NULL))
            return step;
    }
    g_error("no step with '%s' and '%s'", a, b != NULL ? b : "");
}

/* One action of a real capture as the script's expectation (without the
 * headers in `drop`), its Response, and the async final event `final` if
 * not NULL: "ActionID: 4" picks the capture's fourth action. */
static void append_exchange(GString *script, GPtrArray *steps, const char *action_id,
                            const char *const *drop, const char *final)
{
    char *id = g_strdup_printf("\r\nActionID: %s\r\n", action_id);
    g_string_append(script, ">>> SENT\n");
    append_block(script, find_step(steps, AMI_STEP_SENT, id, NULL)->text, drop);
    append_block(script, find_step(steps, AMI_STEP_RECV, "Response:", id)->text, NULL);
    if (final != NULL)
        append_block(script, find_step(steps, AMI_STEP_RECV, final, id)->text, NULL);
    g_free(id);
}

/* One action of a real capture as the script's expectation and every block
 * Asterisk answered it with (Response, list events, their Complete). */
static void append_exchange_all(GString *script, GPtrArray *steps, const char *action_id)
{
    char *id = g_strdup_printf("\r\nActionID: %s\r\n", action_id);
    g_string_append(script, ">>> SENT\n");
    append_block(script, find_step(steps, AMI_STEP_SENT, id, NULL)->text, NULL);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_RECV && strstr(step->text, id) != NULL)
            append_block(script, step->text, NULL);
    }
    g_free(id);
}

/* ---- a driver with a peer ------------------------------------------------------------------ */

typedef struct fixture {
    ami_replay *peer;
    fake_module *module;
    recorder rec;
    void *impl;
    const ucd_pbx_v1 *pbx;
} fixture;

static void fixture_start(fixture *f, const char *script, const ami_replay_options *options,
                          const char *const *extra_config)
{
    GError *error = NULL;
    f->peer = ami_replay_new(script, options, NULL, &error);
    g_assert_no_error(error);
    char port[16];
    g_snprintf(port, sizeof port, "%u", ami_replay_port(f->peer));
    g_mutex_init(&f->rec.lock);
    f->rec.lines = g_ptr_array_new_with_free_func(g_free);
    f->rec.calls = g_ptr_array_new_with_free_func(g_free);
    f->rec.remote_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    f->module = fake_module_new(descriptor, "pbx-ami:test");
    f->module->on_publish = on_publish;
    f->module->publish_data = &f->rec;
    const char *const config[] = {"host",      "127.0.0.1",
                                  "port",      port,
                                  "username",  "ucd",
                                  "secret",    "s3cret-value",
                                  "keepalive", "1s",
                                  "timeout",   "1s",
                                  "lines",     "alice=PJSIP/alice;bob=PJSIP/bob",
                                  NULL};
    fake_module_set_pairs(f->module, config);
    fake_module_set_pairs(f->module, extra_config);
    fake_module_start(f->module);
    f->pbx = fake_module_service(f->module, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &f->impl);
    g_assert_nonnull(f->pbx);
}

static void fixture_stop(fixture *f)
{
    for (guint i = 0; i < f->module->log_lines->len; i++)
        g_assert_null(strstr(g_ptr_array_index(f->module->log_lines, i), "s3cret-value"));
    fake_module_stop(f->module);
    fake_module_free(f->module);
    ami_replay_free(f->peer);
    g_ptr_array_unref(f->rec.lines);
    g_ptr_array_unref(f->rec.calls);
    g_hash_table_unref(f->rec.remote_names);
    g_mutex_clear(&f->rec.lock);
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static const char *const two_lines[] = {"alice", "bob", NULL};

/* A header of the last action `name` the peer received. */
static const char *action_header(fixture *f, const char *name, const char *header)
{
    pami_message *m = ami_replay_last_action(f->peer, name);
    g_assert_nonnull(m);
    return pami_message_get(m, header);
}

/* TRUE when the last action `name` has a header `header` with `value` (a
 * header may repeat: Variable). */
static gboolean action_has(fixture *f, const char *name, const char *header, const char *value)
{
    pami_message *m = ami_replay_last_action(f->peer, name);
    g_assert_nonnull(m);
    for (guint i = 0; i < pami_message_count(m); i++)
        if (g_ascii_strcasecmp(pami_message_name_at(m, i), header) == 0 &&
            strcmp(pami_message_value_at(m, i), value) == 0)
            return TRUE;
    return FALSE;
}

static void assert_no_mismatch(fixture *f)
{
    GPtrArray *mismatches = ami_replay_mismatches(f->peer);
    for (guint i = 0; i < mismatches->len; i++)
        g_printerr("mismatch: %s\n", (char *)g_ptr_array_index(mismatches, i));
    g_assert_cmpuint(mismatches->len, ==, 0);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

/* A PJSIP call alice -> bob in the shape Asterisk 22 reports it (one
 * Linkedid, DialBegin/DialEnd, a basic bridge), and its end: data/. */
static char *data_file(const char *name)
{
    char *path = g_build_filename(DRIVER_DATA_DIR, name, NULL);
    char *text = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    g_free(path);
    return text;
}

static char *alice_calls_bob, *alice_bob_hangup;

static void test_call_events(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    g_string_append(script, alice_calls_bob);
    g_string_append(script, alice_bob_hangup);
    fixture_start(&f, script->str, NULL, NULL);

    wait_call(&f.rec, "test-1700000000.2 bob disconnected normal");
    wait_call(&f.rec, "test-1700000000.1 alice disconnected normal");
    wait_line(&f.rec, "alice", "alice idle dnd=0 fwd=-");
    wait_line(&f.rec, "bob", "bob idle dnd=0 fwd=-");
    /* every event of both legs carries the one conversation of Linkedid .1 */
    for (guint i = 0; i < f.rec.calls->len; i++)
        g_assert_true(g_str_has_suffix(g_ptr_array_index(f.rec.calls, i), " test-1700000000.1"));
    wait_call(&f.rec, "test-1700000000.2 bob offering none");
    wait_call(&f.rec, "test-1700000000.2 bob connected none");
    wait_call(&f.rec, "test-1700000000.1 alice connected none");
    /* bob's line went ringing, then busy, then idle */
    gboolean ringing = FALSE, busy = FALSE;
    for (guint i = 0; i < f.rec.lines->len; i++) {
        ringing |= strcmp(g_ptr_array_index(f.rec.lines, i), "bob ringing dnd=0 fwd=-") == 0;
        busy |= strcmp(g_ptr_array_index(f.rec.lines, i), "bob busy dnd=0 fwd=-") == 0;
    }
    g_assert_true(ringing && busy);
    assert_no_mismatch(&f);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* The real Local-channel capture: the four Local legs of one originated call
 * form one conversation; lines on the Local devices see them. */
static void test_capture_local(void)
{
    fixture f = {0};
    const char *const lines[] = {"100", "200", NULL};
    GString *script = ami_script_login_resync(lines, "");
    char *events = capture_events("capture_filtered.txt");
    g_string_append(script, events);
    const char *const config[] = {"lines", "100=Local/100@test;200=Local/200@test", NULL};
    fixture_start(&f, script->str, NULL, config);

    wait_line(&f.rec, "100", "100 idle dnd=0 fwd=-");
    wait_call(&f.rec, " 200 disconnected");
    wait_call(&f.rec, " 100 disconnected");
    wait_line(&f.rec, "100", "100 idle dnd=0 fwd=-");
    wait_line(&f.rec, "200", "200 idle dnd=0 fwd=-");
    /* one conversation (Linkedid 1795358381.8) for every leg */
    for (guint i = 0; i < f.rec.calls->len; i++)
        g_assert_true(g_str_has_suffix(g_ptr_array_index(f.rec.calls, i), " test-1795358381.8"));
    g_free(events);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* dial sends the Originate the README describes; a failure without a channel
 * is a failed leg with the id dial returned. */
static void test_dial(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    g_string_append(script, ">>> SENT\nAction: Originate\nActionID: 7\nChannel: PJSIP/alice\n"
                            "Context: from-internal\nExten: 0891234567\nPriority: 1\n"
                            "Async: true\nTimeout: 30000\n\n"
                            "Response: Success\nActionID: 7\n"
                            "Message: Originate successfully queued\n\n"
                            "Event: OriginateResponse\nActionID: 7\nResponse: Failure\n"
                            "Channel: PJSIP/alice\nContext: from-internal\nExten: 0891234567\n"
                            "Reason: 0\nUniqueid: <null>\nCallerIDNum: <unknown>\n\n"
                            /* refused at once (action_originate in main/manager.c) */
                            ">>> SENT\nAction: Originate\nActionID: 9\nExten: 999\n\n"
                            "Response: Error\nActionID: 9\nMessage: Extension does not exist.\n\n");
    fixture_start(&f, script->str, NULL, NULL);
    wait_line(&f.rec, "alice", "alice idle dnd=0 fwd=-");

    char call_id[128];
    g_assert_cmpint(f.pbx->dial(f.impl, "alice", "089 123-4567", call_id, sizeof call_id), ==,
                    UCD_OK);
    g_assert_true(g_str_has_prefix(call_id, "test-ucd."));
    char *needle = g_strdup_printf("%s alice disconnected failed", call_id);
    wait_call(&f.rec, needle);
    g_free(needle);
    /* Issue 12 item 14: the user's phone shows the number it will call
     * (its connected line), the called party sees the user: no CallerID
     * header, which Asterisk would show on both sides; no CALLERID either,
     * so the device's own caller ID stays. Quotes escaped for Asterisk's
     * Variable parser. */
    g_assert_null(action_header(&f, "Originate", "CallerID"));
    g_assert_true(action_has(&f, "Originate", "Variable",
                             "CONNECTEDLINE(all,i)=\\\"0891234567\\\" <0891234567>"));
    g_assert_false(action_has(&f, "Originate", "Variable", "CALLERID(all)=alice"));
    pami_message *originate = ami_replay_last_action(f.peer, "Originate");
    for (guint i = 0; i < pami_message_count(originate); i++)
        g_assert_false(g_str_has_prefix(pami_message_value_at(originate, i), "CALLERID("));
    g_assert_cmpstr(action_header(&f, "Originate", "ChannelId"), ==, call_id + strlen("test-"));
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "dial on alice to 0891234567"));
    /* a failed call is no failed action; a refused Originate is */
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 0);
    g_assert_cmpint(f.pbx->dial(f.impl, "alice", "999", NULL, 0), ==, UCD_OK);
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (fake_module_counter(f.module, "actions_failed") < 1 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 1);
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "Extension does not exist"));
    assert_no_mismatch(&f);

    /* refused before anything is sent */
    g_assert_cmpint(f.pbx->dial(f.impl, "nobody", "201", NULL, 0), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f.pbx->dial(f.impl, "alice", "12\r\nAction: Hangup", NULL, 0), ==,
                    UCD_E_INVALID);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Call control on a connected call: each operation sends its action. */
static void test_call_control(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    g_string_append(script, alice_calls_bob);
    g_string_append(
        script, ">>> SENT\nAction: PlayDTMF\nActionID: 5\nChannel: PJSIP/bob-00000002\nDigit: 1\n\n"
                "Response: Success\nActionID: 5\nMessage: DTMF successfully queued\n\n"
                ">>> SENT\nAction: PlayDTMF\nActionID: 5\nChannel: PJSIP/bob-00000002\nDigit: #\n\n"
                "Response: Success\nActionID: 5\nMessage: DTMF successfully queued\n\n"
                ">>> SENT\nAction: BlindTransfer\nActionID: 6\nChannel: PJSIP/alice-00000001\n"
                "Context: from-internal\nExten: 203\n\n"
                "Response: Success\nActionID: 6\nMessage: Transfer succeeded\n\n"
                ">>> SENT\nAction: Hangup\nActionID: 8\nChannel: PJSIP/bob-00000002\n\n"
                "Response: Success\nActionID: 8\nMessage: Channel Hungup\n\n"
                ">>> SENT\nAction: DBPut\nActionID: 9\nFamily: DND\nKey: alice\nVal: YES\n\n"
                "Response: Success\nActionID: 9\nMessage: Updated database successfully\n\n"
                ">>> SENT\nAction: DBPut\nActionID: 10\nFamily: CF\nKey: bob\nVal: 0891234567\n\n"
                "Response: Success\nActionID: 10\nMessage: Updated database successfully\n\n"
                ">>> SENT\nAction: DBPut\nActionID: 11\nFamily: CFB\nKey: bob\nVal: 204\n\n"
                "Response: Success\nActionID: 11\nMessage: Updated database successfully\n\n"
                ">>> SENT\nAction: DBDel\nActionID: 12\nFamily: CF\nKey: bob\n\n"
                "Response: Error\nActionID: 12\nMessage: Database entry not found\n\n");
    fixture_start(&f, script->str, NULL, NULL);
    wait_call(&f.rec, "test-1700000000.1 alice connected");
    wait_call(&f.rec, "test-1700000000.2 bob connected");

    g_assert_cmpint(f.pbx->capabilities(f.impl, "alice") & UCD_PBX_CAP_HOLD, ==, 0);
    g_assert_cmpint(f.pbx->capabilities(f.impl, "alice") & UCD_PBX_CAP_DIAL, !=, 0);
    g_assert_cmpint(f.pbx->hold(f.impl, "alice", "test-1700000000.1"), ==, UCD_E_UNSUPPORTED);
    g_assert_cmpint(f.pbx->transfer_consult(f.impl, "alice", "a", "b"), ==, UCD_E_UNSUPPORTED);
    g_assert_cmpint(f.pbx->hangup(f.impl, "alice", "test-nosuch"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f.pbx->send_dtmf(f.impl, "alice", "test-1700000000.1", "1x"), ==,
                    UCD_E_INVALID);
    /* DTMF goes out on the far side's channel: bob's */
    g_assert_cmpint(f.pbx->send_dtmf(f.impl, "alice", "test-1700000000.1", "1#"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->transfer_blind(f.impl, "alice", "test-1700000000.1", "203"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->hangup(f.impl, "bob", "test-1700000000.2"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->set_dnd(f.impl, "alice", 1), ==, UCD_OK);
    wait_line(&f.rec, "alice", "alice busy dnd=1 fwd=-");
    g_assert_cmpint(f.pbx->set_forward(f.impl, "bob", UCD_FORWARD_UNCONDITIONAL, "0891234567"), ==,
                    UCD_OK);
    wait_line(&f.rec, "bob", "bob busy dnd=0 fwd=0891234567");
    g_assert_cmpint(f.pbx->set_forward(f.impl, "bob", UCD_FORWARD_BUSY, "204"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->set_forward(f.impl, "bob", UCD_FORWARD_UNCONDITIONAL, NULL), ==, UCD_OK);
    /* deleting a key that is not there clears the forward too */
    wait_line(&f.rec, "bob", "bob busy dnd=0 fwd=-");
    assert_no_mismatch(&f);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Deflect redirects the channel that dials the ringing line; pickup
 * originates PickupChan of the ringing channel from the picker's device. */
static void test_ringing_control(void)
{
    fixture f = {0};
    const char *const lines[] = {"alice", "bob", NULL};
    GString *script = ami_script_login_resync(lines, "");
    /* only the ringing part of the call */
    const char *end = strstr(alice_calls_bob, "Event: Newstate\nChannel: PJSIP/bob-00000002\n"
                                              "ChannelState: 6");
    g_string_append_len(script, alice_calls_bob, end - alice_calls_bob);
    /* the called party sees the picker as configured (issue 12 item 14) */
    const char *const config[] = {"originate_callerid", "\"Alice, Sales\" <{line}>", NULL};
    g_string_append(script,
                    ">>> SENT\nAction: Redirect\nActionID: 5\nChannel: PJSIP/alice-00000001\n"
                    "Context: from-internal\nExten: 205\nPriority: 1\n\n"
                    "Response: Success\nActionID: 5\nMessage: Redirect successful\n\n"
                    ">>> SENT\nAction: Originate\nActionID: 6\nChannel: PJSIP/alice\n"
                    "Application: PickupChan\nData: PJSIP/bob-00000002\nAsync: true\n"
                    "Variable: CONNECTEDLINE(all,i)=\\\"bob\\\" <bob>\n"
                    "Variable: CALLERID(all)=\\\"Alice\\, Sales\\\" <alice>\n\n"
                    "Response: Success\nActionID: 6\n"
                    "Message: Originate successfully queued\n\n");
    fixture_start(&f, script->str, NULL, config);
    wait_call(&f.rec, "test-1700000000.2 bob offering");
    g_assert_cmpint(f.pbx->deflect(f.impl, "bob", "test-1700000000.2", "205"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->pickup(f.impl, "alice", "bob"), ==, UCD_OK);
    g_assert_cmpint(f.pbx->pickup(f.impl, "alice", "alice"), ==, UCD_E_NOT_FOUND);
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (ami_replay_last_action(f.peer, "Originate") == NULL && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    assert_no_mismatch(&f);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* A wrong secret: the lines go out of service, the secret is never logged
 * (fixture_stop checks every line), the driver keeps running. */
static void test_login_refused(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    const ami_replay_options options = {.secret = "the-right-one"};
    fixture_start(&f, script->str, &options, NULL);
    wait_line(&f.rec, "alice", "alice out_of_service dnd=0 fwd=-");
    wait_line(&f.rec, "bob", "bob out_of_service dnd=0 fwd=-");
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "Authentication failed"));
    g_assert_cmpint(f.pbx->dial(f.impl, "alice", "201", NULL, 0), ==, UCD_E_UNAVAILABLE);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

static void test_not_ami(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    const ami_replay_options options = {.banner = "HTTP/1.1 400 Bad Request"};
    fixture_start(&f, script->str, &options, NULL);
    wait_line(&f.rec, "alice", "alice out_of_service dnd=0 fwd=-");
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "not an AMI server"));
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* The peer stops answering during a call: the Ping times out, the link is
 * dead, the driver reconnects (to a new peer on the same port) whose
 * CoreShowChannels lacks the call: both legs close as link_lost. */
static void test_stall_resync(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    g_string_append(script, alice_calls_bob);
    fixture_start(&f, script->str, NULL, NULL);
    wait_call(&f.rec, "test-1700000000.1 alice connected");
    guint16 port = ami_replay_port(f.peer);

    ami_replay_stall(f.peer);
    wait_line(&f.rec, "alice", "alice out_of_service dnd=0 fwd=-");
    /* Issue 12 item 15: the legs end when the link was lost, before the
     * peer that answers the resync even exists. */
    int64_t peer_back_ms = g_get_real_time() / 1000;
    g_usleep(50000);
    ami_replay_free(f.peer);
    GString *second = ami_script_login_resync(two_lines, "");
    const ami_replay_options options = {.port = port};
    GError *error = NULL;
    f.peer = ami_replay_new(second->str, &options, NULL, &error);
    g_assert_no_error(error);

    wait_call(&f.rec, "test-1700000000.1 alice disconnected link_lost");
    wait_call(&f.rec, "test-1700000000.2 bob disconnected link_lost");
    g_assert_cmpint(f.rec.link_lost_ms, >, 0);
    g_assert_cmpint(f.rec.link_lost_ms, <, peer_back_ms);
    wait_line(&f.rec, "alice", "alice idle dnd=0 fwd=-");
    wait_line(&f.rec, "bob", "bob idle dnd=0 fwd=-");
    g_string_free(second, TRUE);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Junk in the stream: a truncated block, a line without a colon, an enormous
 * value, a Latin-1 caller name. No crash, the line state follows the call. */
static void test_bad_input(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    fixture_start(&f, script->str, NULL, NULL);
    wait_line(&f.rec, "bob", "bob idle dnd=0 fwd=-");

    const char junk[] = "Event: Newstate\r\nChannel: PJSIP/bob-0000\r\nno colon here\r\n\r\n";
    ami_replay_inject(f.peer, junk, sizeof junk - 1);
    GString *huge = g_string_new("Event: UserEvent\r\nUserEvent: x\r\nBody: ");
    for (int i = 0; i < 200000; i++)
        g_string_append_c(huge, 'x');
    g_string_append(huge, "\r\n\r\n");
    ami_replay_inject(f.peer, huge->str, huge->len);
    const char latin1[] =
        "Event: Newchannel\r\nChannel: PJSIP/bob-00000009\r\nChannelState: 4\r\n"
        "ChannelStateDesc: Ring\r\nCallerIDNum: bob\r\nConnectedLineNum: 0891234567\r\n"
        "ConnectedLineName: M\xfcller\r\nUniqueid: 1700000001.9\r\nLinkedid: 1700000001.9\r\n\r\n"
        "Event: Newstate\r\nChannel: PJSIP/bob-00000009\r\nChannelState: 5\r\n"
        "ChannelStateDesc: Ringing\r\nCallerIDNum: bob\r\nConnectedLineNum: 0891234567\r\n"
        "ConnectedLineName: M\xfcller\r\nUniqueid: 1700000001.9\r\nLinkedid: 1700000001.9\r\n\r\n";
    ami_replay_inject(f.peer, latin1, sizeof latin1 - 1);
    wait_call(&f.rec, "test-1700000001.9 bob offering");
    wait_line(&f.rec, "bob", "bob ringing dnd=0 fwd=-");
    const char *name = g_hash_table_lookup(f.rec.remote_names, "test-1700000001.9");
    if (name != NULL)
        g_assert_cmpstr(name, ==, "M\xc3\xbcller");
    /* a truncated block, then the peer goes away */
    const char cut[] = "Event: Hangup\r\nChannel: PJSIP/bob-000";
    ami_replay_inject(f.peer, cut, sizeof cut - 1);
    ami_replay_drop(f.peer);
    wait_line(&f.rec, "bob", "bob out_of_service dnd=0 fwd=-");
    g_string_free(huge, TRUE);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Asterisk stopped mid-call (pjsip-shutdown: the channels hang up, then
 * Event: Shutdown, then the socket closes): both legs end normally, the
 * lines go out of service at the Shutdown, with the reason logged, and the
 * driver connects again (the peer takes the second connection). */
static void test_shutdown(void)
{
    fixture f = {0};
    GString *script = ami_script_login_resync(two_lines, "");
    char *events = capture_events_in(AMI_CAPTURES_DIR, "pjsip-shutdown.txt");
    g_assert_nonnull(strstr(events, "Event: Shutdown\n"));
    g_string_append(script, events);
    fixture_start(&f, script->str, NULL, NULL);

    wait_call(&f.rec, " alice disconnected normal");
    wait_call(&f.rec, " bob disconnected normal");
    wait_line(&f.rec, "alice", "alice out_of_service dnd=0 fwd=-");
    wait_line(&f.rec, "bob", "bob out_of_service dnd=0 fwd=-");
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "Asterisk shut down (Cleanly)"));
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (ami_replay_accepted(f.peer) < 2 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpuint(ami_replay_accepted(f.peer), >=, 2);
    assert_no_mismatch(&f);
    g_free(events);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Dials `number` from `line`; the returned call id. */
static char *dial(fixture *f, const char *line, const char *number)
{
    char call_id[128];
    g_assert_cmpint(f->pbx->dial(f->impl, line, number, call_id, sizeof call_id), ==, UCD_OK);
    return g_strdup(call_id);
}

static void wait_failed_dial(fixture *f, const char *line, const char *number, const char *cause)
{
    char *call_id = dial(f, line, number);
    char *needle = g_strdup_printf("%s %s disconnected %s", call_id, line, cause);
    wait_call(&f->rec, needle);
    g_free(needle);
    g_free(call_id);
}

/* pjsip-originate's four Originates, the driver's against the real ones
 * (header by header: Channel, Context, Exten, Priority, Timeout,
 * Async), answered with the real Responses and OriginateResponses: success
 * (Reason 4), no such device (Reason 0, Uniqueid <unknown>): failed, a
 * phone that rejects (Reason 0 again): failed, no answer within Timeout
 * (Reason 3): no_answer. No channel events are replayed, so each failure is
 * the driver's own failed leg under the id dial returned. */
static void test_originate_real(void)
{
    fixture f = {0};
    const char *const lines[] = {"alice", "bob", "carol", "nobody", NULL};
    const char *const config[] = {"lines",
                                  "alice=PJSIP/alice;bob=PJSIP/bob;carol=PJSIP/carol;"
                                  "nobody=PJSIP/nobody",
                                  "originate_context",
                                  "internal",
                                  "originate_timeout",
                                  "20s",
                                  NULL};
    GPtrArray *steps = capture_steps(AMI_CAPTURES_DIR, "pjsip-originate.txt");
    GString *script = ami_script_login_resync(lines, "");
    /* the recorder's own tag, and its CallerID: the driver shows the
     * number on the user's phone with a Variable instead (issue 12 item 14) */
    const char *const ours[] = {"Variable:", "CallerID:", NULL};
    const char *const other_timeout[] = {"Timeout:", NULL};
    append_exchange(script, steps, "3", ours, "Event: OriginateResponse");
    append_exchange(script, steps, "4", NULL, "Event: OriginateResponse");
    append_exchange(script, steps, "5", NULL, "Event: OriginateResponse");
    append_exchange(script, steps, "6", other_timeout, "Event: OriginateResponse");
    g_assert_nonnull(strstr(script->str, "Reason: 3\nUniqueid: <unknown>\n"));
    fixture_start(&f, script->str, NULL, config);
    wait_line(&f.rec, "nobody", "nobody idle dnd=0 fwd=-");

    g_free(dial(&f, "alice", "202"));
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (
        !fake_module_log_has(f.module, UCD_LOG_INFO, "dial on alice: answered, now calling 202") &&
        g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_true(
        fake_module_log_has(f.module, UCD_LOG_INFO, "dial on alice: answered, now calling 202"));
    wait_failed_dial(&f, "nobody", "202", "failed");
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "Asterisk reason 0"));
    wait_failed_dial(&f, "carol", "201", "failed");
    wait_failed_dial(&f, "carol", "201", "no_answer");
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING, "Asterisk reason 3"));
    assert_no_mismatch(&f);
    g_ptr_array_unref(steps);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Issue 12 item 16: carol's phone rejects her own click-to-dial
 * (pjsip-originate, ActionID 5, with every event Asterisk sent meanwhile; the
 * recorded channel's Uniqueid becomes the ChannelId the driver chose). The
 * OriginateResponse (Reason 0) comes before the channel's Hangup with Cause
 * 17 User busy, TechCause 486, DialStatus BUSY: Asterisk's own cause says
 * busy, so the leg ends busy (the journal's outcome) and the warning, which
 * waits for that end, says busy too; no second, failed leg. */
static void test_originate_rejected(void)
{
    fixture f = {0};
    const char *const lines[] = {"carol", NULL};
    const char *const config[] = {"lines",    "carol=PJSIP/carol", "originate_context",
                                  "internal", "originate_timeout", "20s",
                                  NULL};
    GPtrArray *steps = capture_steps(AMI_CAPTURES_DIR, "pjsip-originate.txt");
    GString *script = ami_script_login_resync(lines, "");
    g_string_append(script, ">>> SENT\n");
    append_block(script, find_step(steps, AMI_STEP_SENT, "\r\nActionID: 5\r\n", NULL)->text, NULL);
    g_string_truncate(script, script->len - 1); /* the block's empty line */
    g_string_append(script, "ChannelId: {1795381150.12}\n\n");
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_RECV &&
            (g_strcmp0(step->section, "ORIGINATE TO carol WHO REJECTS") == 0 ||
             g_strcmp0(step->section, "PHONE carol rejects") == 0))
            append_block(script, step->text, NULL);
    }
    g_assert_nonnull(strstr(script->str, "Cause-txt: User busy\n"));
    fixture_start(&f, script->str, NULL, config);
    wait_line(&f.rec, "carol", "carol idle dnd=0 fwd=-");

    char *call_id = dial(&f, "carol", "201");
    char *needle = g_strdup_printf("%s carol disconnected busy", call_id);
    wait_call(&f.rec, needle);
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (!fake_module_log_has(f.module, UCD_LOG_WARNING, "dial on carol to 201 failed") &&
           g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING,
                                      "dial on carol to 201 failed: busy (Asterisk reason 0)"));
    guint ends = 0;
    for (guint i = 0; i < f.rec.calls->len; i++) {
        const char *text = g_ptr_array_index(f.rec.calls, i);
        ends += g_str_has_prefix(text, call_id) && strstr(text, " disconnected ") != NULL;
    }
    g_assert_cmpuint(ends, ==, 1);
    assert_no_mismatch(&f);
    g_free(needle);
    g_free(call_id);
    g_ptr_array_unref(steps);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* pjsip-dnd-cf: the driver's DND and forward writes are the real DBPut/DBDel
 * of the capture (Family, Key, Val header by header), and the dialplan that
 * made the call busy and forwarded it reads exactly those keys and values. */
static void test_astdb_real(void)
{
    fixture f = {0};
    const char *const lines[] = {"202", NULL};
    const char *const config[] = {"lines", "202=PJSIP/bob", NULL};
    GPtrArray *steps = capture_steps(AMI_CAPTURES_DIR, "pjsip-dnd-cf.txt");
    GString *script = ami_script_login_resync(lines, "");
    for (int id = 3; id <= 6; id++) {
        char text[4];
        g_snprintf(text, sizeof text, "%d", id);
        append_exchange(script, steps, text, NULL, NULL);
    }
    fixture_start(&f, script->str, NULL, config);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");

    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 1), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");
    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 0), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");
    g_assert_cmpint(f.pbx->set_forward(f.impl, "202", UCD_FORWARD_UNCONDITIONAL, "203"), ==,
                    UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=203");
    g_assert_cmpint(f.pbx->set_forward(f.impl, "202", UCD_FORWARD_UNCONDITIONAL, NULL), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");
    assert_no_mismatch(&f);

    /* what the recorded dialplan reads: DND/<exten> = YES, CF/<exten> */
    char *dialplan = ami_script_read(AMI_CAPTURES_DIR "/asterisk-pjsip-conf", "extensions.conf");
    char *family = g_strdup(action_header(&f, "DBPut", "Family")); /* the last: CF */
    g_assert_cmpstr(family, ==, "CF");
    g_assert_nonnull(strstr(dialplan, "${DB(DND/${EXTEN})}\" = \"YES\""));
    g_assert_nonnull(strstr(dialplan, "${DB(CF/${EXTEN})}"));
    g_free(family);
    g_free(dialplan);
    g_ptr_array_unref(steps);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Issue 12 item 12: turning DND off when the AstDB key is already gone.
 * Asterisk answers a DBDel of an absent key "Database entry could not be
 * deleted" (pjsip-actions, ActionID 12), the words it also uses for a
 * database error; the driver asks DBGet, which says "not found" (ActionID
 * 11): DND is off, no failure. When the key is still there (ActionID 9) the
 * DBDel really failed: counted, DND stays on. A refused DBPut (Asterisk's
 * "Failed to update entry", main/db.c) is counted too. */
static void test_astdb_absent_key(void)
{
    fixture f = {0};
    const char *const lines[] = {"202", NULL};
    const char *const config[] = {"lines", "202=PJSIP/bob", NULL};
    GPtrArray *steps = capture_steps(AMI_CAPTURES_DIR, "pjsip-actions.txt");
    GString *script = ami_script_login_resync(lines, "");
    append_exchange_all(script, steps, "8");  /* DBPut DND/202 YES */
    append_exchange_all(script, steps, "12"); /* DBDel: could not be deleted */
    append_exchange_all(script, steps, "11"); /* DBGet: not found */
    append_exchange_all(script, steps, "8");
    append_exchange_all(script, steps, "12");
    append_exchange_all(script, steps, "9"); /* DBGet: DND/202 is YES */
    g_string_append(script, ">>> SENT\nAction: DBPut\nActionID: 30\nFamily: CF\nKey: 202\n"
                            "Val: 203\n\nResponse: Error\nActionID: 30\n"
                            "Message: Failed to update entry\n\n");
    g_assert_nonnull(strstr(script->str, "Message: Database entry could not be deleted\n"));
    fixture_start(&f, script->str, NULL, config);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");

    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 1), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");
    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 0), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 0);
    g_assert_false(fake_module_log_has(f.module, UCD_LOG_WARNING, "DBDel"));

    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 1), ==, UCD_OK);
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");
    g_assert_cmpint(f.pbx->set_dnd(f.impl, "202", 0), ==, UCD_OK);
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (fake_module_counter(f.module, "actions_failed") < 1 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 1);
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_WARNING,
                                      "DBDel DND/202 failed: Database entry could not be deleted"));
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");

    g_assert_cmpint(f.pbx->set_forward(f.impl, "202", UCD_FORWARD_UNCONDITIONAL, "203"), ==,
                    UCD_OK);
    while (fake_module_counter(f.module, "actions_failed") < 2 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 2);
    g_assert_true(
        fake_module_log_has(f.module, UCD_LOG_WARNING, "DBPut CF/202 failed: Failed to update"));
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");
    assert_no_mismatch(&f);
    g_ptr_array_unref(steps);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Issue 12 item 13: DND and forwarding set on the phone with FreePBX's
 * feature codes. FreePBX sets Custom:DND<ext> and Custom:CF<ext>, which
 * Asterisk reports as DeviceStateChange; the driver reads the key again at
 * once (constructed-freepbx-dnd-cf-devstate.txt, built from FreePBX's
 * dialplan and Asterisk's source: no such recording exists). */
static void test_astdb_feature_codes(void)
{
    fixture f = {0};
    const char *const lines[] = {"202", NULL};
    const char *const config[] = {"lines", "202=PJSIP/bob", NULL};
    GString *script = ami_script_login_resync(lines, "");
    char *constructed =
        ami_script_read(AMI_CAPTURES_DIR, "constructed-freepbx-dnd-cf-devstate.txt");
    g_string_append(script, constructed);
    fixture_start(&f, script->str, NULL, config);

    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=-");
    wait_line(&f.rec, "202", "202 idle dnd=1 fwd=203");
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=203");
    wait_line(&f.rec, "202", "202 idle dnd=0 fwd=-");
    /* two DBGets at the resync, one per feature code: nothing for the
     * per-device Custom:DEVDND202 and Custom:DEVCF202 */
    guint reads = 0;
    GPtrArray *actions = ami_replay_actions(f.peer);
    for (guint i = 0; i < actions->len; i++)
        reads += g_strcmp0(pami_message_get(actions->pdata[i], "Action"), "DBGet") == 0;
    g_assert_cmpuint(reads, ==, 6);
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 0);
    assert_no_mismatch(&f);
    g_free(constructed);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Issue 12 item 13, changes AMI never reports (the CLI's `database put`):
 * astdb_refresh re-reads both families with DBGetTree (pjsip-actions'
 * recorded answer for CF: /CF/201 = 203); an Asterisk without DBGetTree
 * answers it as an unknown action (the recorded words for NoSuchAction), and
 * the driver reads each line's keys with DBGet instead. */
static void test_astdb_refresh(void)
{
    fixture f = {0};
    const char *const lines[] = {"201", NULL};
    const char *const config[] = {"lines", "201=PJSIP/alice", "astdb_refresh", "1s", NULL};
    GPtrArray *steps = capture_steps(AMI_CAPTURES_DIR, "pjsip-actions.txt");
    GString *script = ami_script_login_resync(lines, "");
    g_string_append(script, ">>> SENT\nAction: DBGetTree\nActionID: 40\nFamily: DND\n\n"
                            "Response: Success\nActionID: 40\nEventList: start\n"
                            "Message: Result will follow\n\n"
                            "Event: DBGetTreeComplete\nActionID: 40\nEventList: Complete\n"
                            "ListItems: 0\n\n");
    append_exchange_all(script, steps, "14"); /* DBGetTree CF: /CF/201 = 203 */
    g_string_append(script,
                    ">>> SENT\nAction: DBGetTree\nActionID: 41\nFamily: DND\n\n"
                    "Response: Error\nActionID: 41\nMessage: Invalid/unknown command: DBGetTree. "
                    "Use Action: ListCommands to show available commands.\n\n"
                    ">>> SENT\nAction: DBGet\nActionID: 42\nFamily: DND\nKey: 201\n\n"
                    "Response: Success\nActionID: 42\nEventList: start\n"
                    "Message: Result will follow\n\n"
                    "Event: DBGetResponse\nFamily: DND\nKey: 201\nVal: YES\nActionID: 42\n\n"
                    "Event: DBGetComplete\nActionID: 42\nEventList: Complete\nListItems: 1\n\n"
                    ">>> SENT\nAction: DBGet\nActionID: 43\nFamily: CF\nKey: 201\n\n"
                    "Response: Error\nActionID: 43\nMessage: Database entry not found\n\n");
    fixture_start(&f, script->str, NULL, config);

    wait_line(&f.rec, "201", "201 idle dnd=0 fwd=203");
    wait_line(&f.rec, "201", "201 idle dnd=1 fwd=-");
    assert_no_mismatch(&f);
    g_assert_true(fake_module_log_has(f.module, UCD_LOG_INFO, "DBGetTree refused"));
    g_assert_cmpint(fake_module_counter(f.module, "actions_failed"), ==, 0);
    g_ptr_array_unref(steps);
    g_string_free(script, TRUE);
    fixture_stop(&f);
}

/* Configuration mistakes name the key and the entry. */
static void test_config_errors(void)
{
    const char *const bad[][2] = {
        {"lines", "alice"},
        {"lines", "alice=PJSIP/alice;alice=PJSIP/carol"},
        {"lines", "al ice=PJSIP/alice"},
        {"lines", "alice=nodevice"},
        {"hints", "carol=300@ext-local"},
        {"hints", "alice=300"},
        {"port", "70000"},
        {"astdb_refresh", "500ms"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        fake_module *m = fake_module_new(descriptor, "pbx-ami:test");
        const char *const config[] = {"host",  "127.0.0.1",         "username", "ucd",
                                      "lines", "alice=PJSIP/alice", NULL};
        fake_module_set_pairs(m, config);
        fake_module_set(m, bad[i][0], bad[i][1]);
        g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
        g_assert_cmpstr(m->config_error_key, ==, bad[i][0]);
        fake_module_free(m);
    }
}

/* originate_callerid with {number}, as configurations spelled out the old
 * default before it became only what the called party sees (issue 12 item
 * 14), is warned about at init; a value without it is not. */
static void test_old_callerid_warned(void)
{
    const char *const values[] = {"\"{number}\" <{line}>", "\"Alice\" <{line}>"};
    for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
        fake_module *m = fake_module_new(descriptor, "pbx-ami:test");
        const char *const config[] = {"host",  "127.0.0.1",         "username", "ucd",
                                      "lines", "alice=PJSIP/alice", NULL};
        fake_module_set_pairs(m, config);
        fake_module_set(m, "originate_callerid", values[i]);
        g_assert_cmpint(fake_module_init(m), ==, UCD_OK);
        gboolean warned = fake_module_log_has(m, UCD_LOG_WARNING,
                                              "contains {number}: this key is now only the caller "
                                              "ID the called party sees");
        g_assert_cmpint(warned, ==, i == 0);
        if (i == 0)
            g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, values[0]));
        fake_module_stop(m);
        fake_module_free(m);
    }
}

int main(int argc, char **argv)
{
    void *handle = NULL;
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s PATH/pbx-ami.so", argv[0]);
    descriptor = fake_load_plugin(argv[1], "pbx-ami", &handle);
    alice_calls_bob = data_file("alice-calls-bob.txt");
    alice_bob_hangup = data_file("alice-bob-hangup.txt");
    g_test_add_func("/pbx-ami/config-errors", test_config_errors);
    g_test_add_func("/pbx-ami/old-callerid-warned", test_old_callerid_warned);
    g_test_add_func("/pbx-ami/call-events", test_call_events);
    g_test_add_func("/pbx-ami/capture-local", test_capture_local);
    g_test_add_func("/pbx-ami/dial", test_dial);
    g_test_add_func("/pbx-ami/call-control", test_call_control);
    g_test_add_func("/pbx-ami/ringing-control", test_ringing_control);
    g_test_add_func("/pbx-ami/login-refused", test_login_refused);
    g_test_add_func("/pbx-ami/not-ami", test_not_ami);
    g_test_add_func("/pbx-ami/stall-resync", test_stall_resync);
    g_test_add_func("/pbx-ami/bad-input", test_bad_input);
    g_test_add_func("/pbx-ami/shutdown", test_shutdown);
    g_test_add_func("/pbx-ami/originate-real", test_originate_real);
    g_test_add_func("/pbx-ami/originate-rejected", test_originate_rejected);
    g_test_add_func("/pbx-ami/astdb-real", test_astdb_real);
    g_test_add_func("/pbx-ami/astdb-absent-key", test_astdb_absent_key);
    g_test_add_func("/pbx-ami/astdb-feature-codes", test_astdb_feature_codes);
    g_test_add_func("/pbx-ami/astdb-refresh", test_astdb_refresh);
    int rc = g_test_run();
    g_free(alice_calls_bob);
    g_free(alice_bob_hangup);
    return rc;
}
