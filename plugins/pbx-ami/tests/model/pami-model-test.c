/*
 * pami-model-test.c - the channel model on real Asterisk captures
 * (tests/captures), on variants built from them, and on hand-written PJSIP
 * scenarios made of the fields Asterisk documents for each event.
 *
 * Every change the model reports is written as one line of text (see
 * model-replay.c), so a test states the exact sequence it expects and a
 * failure shows the difference.
 */
#include <string.h>

#include <ucd/event.h>

#include "ami-model.h"
#include "model-replay.h"
#include "pjsip-scenarios.h"

/* Lines replay_new() maps (model-replay.c). */
#define MAPPED_LINES 8

/* ---- helpers ------------------------------------------------------------------------- */

/* A copy of `m` with header `name` dropped (NULL: none) and the value of
 * header `set` replaced by `value` (NULL: none). */
static pami_message *message_edit(const pami_message *m, const char *drop, const char *set,
                                  const char *value)
{
    pami_message *copy = pami_message_new();
    for (guint i = 0; i < pami_message_count(m); i++) {
        const char *name = pami_message_name_at(m, i);
        if (drop != NULL && g_ascii_strcasecmp(name, drop) == 0)
            continue;
        gboolean replace = set != NULL && g_ascii_strcasecmp(name, set) == 0;
        pami_message_add(copy, name, replace ? value : pami_message_value_at(m, i));
    }
    return copy;
}

static GPtrArray *messages_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
}

static gboolean is_event(const pami_message *m, const char *name)
{
    return g_strcmp0(pami_message_event(m), name) == 0;
}

/* Per leg (normalized channel name), the states it went through with their
 * causes: what must not depend on the order of events across channels. */
static GHashTable *leg_histories(const replay *r)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < r->out->len; i++) {
        g_auto(GStrv) f = g_strsplit(r->out->pdata[i], " ", 6);
        if (strcmp(f[0], "leg") != 0)
            continue;
        g_auto(GStrv) states = g_strsplit(f[3], ">", 2);
        if (strcmp(states[0], states[1]) == 0)
            continue; /* a far-end update: its timing may differ */
        const char *cause = strstr(r->out->pdata[i], "cause=");
        g_autofree char *c = g_strndup(cause, strcspn(cause, " "));
        char *old = g_hash_table_lookup(h, f[2]);
        char *now = g_strdup_printf("%s %s:%s:%s", old ? old : "", f[1], f[3], c);
        g_hash_table_insert(h, g_strdup(f[2]), now);
    }
    return h;
}

static void assert_same_histories(const replay *a, const replay *b)
{
    g_autoptr(GHashTable) ha = leg_histories(a);
    g_autoptr(GHashTable) hb = leg_histories(b);
    GHashTableIter it;
    gpointer key, value;
    g_assert_cmpuint(g_hash_table_size(ha), ==, g_hash_table_size(hb));
    g_hash_table_iter_init(&it, ha);
    while (g_hash_table_iter_next(&it, &key, &value))
        g_assert_cmpstr(value, ==, g_hash_table_lookup(hb, key));
}

/* Replays `messages` into a fresh model; normalized output. */
static replay *replay_messages(GPtrArray *messages)
{
    replay *r = replay_new();
    r->normalize = TRUE;
    replay_feed(r, messages);
    return r;
}

static replay *replay_normalized(const char *capture)
{
    replay *r = replay_new();
    r->normalize = TRUE;
    replay_load(r, capture, NULL);
    replay_feed(r, r->messages);
    return r;
}

/* Replays hand-written events ("Name: value|..." each, NULL-terminated) into
 * a fresh model, told first of the driver's Originate `originate_id` to
 * `number` when `originate_id` is not NULL. PAMI_DUMP=1 prints the changes. */
static replay *replay_events(const char *const *events, const char *originate_id,
                             const char *number)
{
    replay *r = replay_new();
    if (originate_id != NULL)
        pami_model_expect_originate(r->model, originate_id, number);
    g_autoptr(GPtrArray) messages = messages_new();
    for (guint i = 0; events[i] != NULL; i++)
        g_ptr_array_add(messages, replay_message(events[i]));
    replay_feed(r, messages);
    if (g_getenv("PAMI_DUMP") != NULL)
        replay_dump(r);
    return r;
}

/* ---- the Local-channel captures ------------------------------------------------------ */

/* The call of capture_filtered.txt (Originate Local/200@test to exten 100,
 * from another AMI client; 200 dials Local/100@test; answered; hung up) as
 * the lines see it. Local/200's ";1" is what the Originate dialled (answered
 * at once: Local channels never ring); its ";2" runs the dialplan of 200 and
 * dials Local/100 (whose ";1" is dialled, whose ";2" runs 100). One
 * conversation: the Linkedid. The Originate sent ";1" to 100 once answered:
 * its Hangup is the first event that shows it (Newexten is filtered), so
 * both Local/200 halves learn the requested number 100 there (Asterisk's CDR
 * dst for the call), ";1" turning internal (100 is a line). Then
 * Custom:alice's device state and hint 300 move line alice. */
static const char *const filtered_call[] = {
    "leg 200 Local/200@test-00000004;2 idle>dialing dir=outbound cause=none remote=-/- req=- "
    "rel=- flags=0 conv=1795358381.8",
    "line 200 unknown>dialing",
    "leg 200 Local/200@test-00000004;2 dialing>dialing dir=outbound cause=none remote=5551000/UCD "
    "Test req=- rel=- flags=0 conv=1795358381.8",
    "leg 100 Local/100@test-00000005;2 idle>dialing dir=outbound cause=none remote=-/- req=- "
    "rel=- flags=0 conv=1795358381.8",
    "line 100 unknown>dialing",
    "leg 100 Local/100@test-00000005;2 dialing>dialing dir=outbound cause=none remote=200/UCD "
    "Test req=- rel=- flags=0 conv=1795358381.8",
    "leg 100 Local/100@test-00000005;2 dialing>connected dir=outbound cause=none remote=200/UCD "
    "Test req=- rel=- flags=0 conv=1795358381.8",
    "line 100 dialing>busy",
    "leg 100 Local/100@test-00000005;1 idle>connected dir=internal cause=none remote=5551000/UCD "
    "Test req=200 rel=- flags=0 conv=1795358381.8",
    "leg 200 Local/200@test-00000004;2 dialing>connected dir=internal cause=none "
    "remote=5551000/UCD Test req=- rel=- flags=0 conv=1795358381.8",
    "line 200 dialing>busy",
    "leg 200 Local/200@test-00000004;1 idle>connected dir=outbound cause=none remote=5551000/UCD "
    "Test req=- rel=- flags=0 conv=1795358381.8",
    "leg 200 Local/200@test-00000004;1 connected>disconnected dir=internal cause=normal "
    "remote=5551000/UCD Test req=100 rel=- flags=0 conv=1795358381.8",
    "leg 200 Local/200@test-00000004;2 connected>connected dir=internal cause=none "
    "remote=5551000/UCD Test req=100 rel=- flags=0 conv=1795358381.8",
    "line 200 busy>idle",
    "leg 200 Local/200@test-00000004;2 connected>disconnected dir=internal cause=normal "
    "remote=5551000/UCD Test req=100 rel=- flags=0 conv=1795358381.8",
    "leg 100 Local/100@test-00000005;1 connected>disconnected dir=internal cause=normal "
    "remote=5551000/UCD Test req=200 rel=- flags=0 conv=1795358381.8",
    "line 100 busy>idle",
    "leg 100 Local/100@test-00000005;2 connected>disconnected dir=outbound cause=normal "
    "remote=200/UCD Test req=- rel=- flags=0 conv=1795358381.8",
    "line alice unknown>busy",
    "line alice busy>ringing",
    "line alice ringing>idle",
    NULL,
};

static void test_capture_filtered(void)
{
    replay *r = replay_capture("capture_filtered.txt", NULL);
    replay_assert(r, filtered_call);
    g_assert_cmpuint(replay_conversations(r), ==, 1);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    g_assert_cmpuint(pami_model_line_state(r->model, "100"), ==, UCD_LINE_IDLE);
    g_assert_cmpuint(pami_model_line_state(r->model, "alice"), ==, UCD_LINE_IDLE);
    g_assert_cmpuint(pami_model_line_state(r->model, "nosuch"), ==, UCD_LINE_UNKNOWN);
    replay_free(r);
}

/* capture.txt is another run of the same session, unfiltered (VarSet and
 * Newexten included) and in another order across channels: each leg goes
 * through the same states, the call is one conversation. */
static void test_capture_other_run(void)
{
    replay *a = replay_normalized("capture_filtered.txt");
    replay *b = replay_normalized("capture.txt");
    assert_same_histories(a, b);
    g_assert_cmpuint(replay_conversations(b), ==, 1);
    g_assert_cmpuint(pami_model_leg_count(b->model), ==, 0);
    g_autoptr(GPtrArray) lines_a = replay_select(a, "line alice");
    g_autoptr(GPtrArray) lines_b = replay_select(b, "line alice");
    g_assert_cmpuint(lines_a->len, ==, lines_b->len);
    replay_free(a);
    replay_free(b);
}

/* capture2.txt: the model meets a call already up through CoreShowChannels
 * (a resync on a fresh model: four legs appear connected), then the call is
 * hung up; the second CoreShowChannels finds nothing and changes nothing. */

static void test_capture2_resync(void)
{
    replay *r = replay_new();
    replay_load(r, "capture2.txt", NULL);
    pami_model_link_down(r->model, 0); /* as the driver does before connecting */
    replay_feed(r, r->messages);
    g_autoptr(GPtrArray) connected = replay_select(r, "leg ");
    guint appeared = 0, ended = 0;
    for (guint i = 0; i < connected->len; i++) {
        const char *line = connected->pdata[i];
        appeared += strstr(line, " idle>connected ") != NULL;
        ended += strstr(line, " connected>disconnected ") != NULL &&
                 strstr(line, "cause=normal") != NULL;
    }
    g_assert_cmpuint(appeared, ==, 4);
    g_assert_cmpuint(ended, ==, 4);
    g_assert_cmpuint(connected->len, ==, 8);
    g_assert_cmpuint(replay_conversations(r), ==, 1);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    g_assert_cmpuint(pami_model_line_state(r->model, "400"), ==, UCD_LINE_IDLE);
    g_assert_cmpuint(pami_model_line_state(r->model, "500"), ==, UCD_LINE_IDLE);
    replay_free(r);
}

/* ---- variants built from the captures ------------------------------------------------- */

/* The channel an event is mainly about, for reordering. */
static const char *primary_channel(const pami_message *m)
{
    const char *id = pami_message_get(m, "Uniqueid");
    if (id == NULL)
        id = pami_message_get(m, "DestUniqueid");
    if (id == NULL)
        id = pami_message_get(m, "Device");
    return id;
}

/* Swaps neighbouring events about different channels, `swaps` times at
 * random: the kind of reordering two Asterisk runs show. */
static GPtrArray *reordered(GPtrArray *messages, guint32 seed, guint swaps)
{
    GPtrArray *out = messages_new();
    GRand *rand = g_rand_new_with_seed(seed);
    for (guint i = 0; i < messages->len; i++)
        g_ptr_array_add(out, pami_message_ref(messages->pdata[i]));
    for (guint n = 0; n < swaps; n++) {
        guint i = (guint)g_rand_int_range(rand, 0, (gint32)out->len - 1);
        const char *a = primary_channel(out->pdata[i]), *b = primary_channel(out->pdata[i + 1]);
        if (a == NULL || b == NULL || strcmp(a, b) == 0 ||
            pami_message_event(out->pdata[i]) == NULL ||
            pami_message_event(out->pdata[i + 1]) == NULL)
            continue;
        gpointer t = out->pdata[i];
        out->pdata[i] = out->pdata[i + 1];
        out->pdata[i + 1] = t;
    }
    g_rand_free(rand);
    return out;
}

static void test_reordered(void)
{
    replay *base = replay_normalized("capture_filtered.txt");
    for (guint32 seed = 1; seed <= 40; seed++) {
        g_autoptr(GPtrArray) shuffled = reordered(base->messages, seed, 60);
        replay *r = replay_messages(shuffled);
        assert_same_histories(base, r);
        g_assert_cmpuint(replay_conversations(r), ==, 1);
        g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
        g_assert_cmpuint(pami_model_line_state(r->model, "100"), ==, UCD_LINE_IDLE);
        g_assert_cmpuint(pami_model_line_state(r->model, "200"), ==, UCD_LINE_IDLE);
        replay_free(r);
    }
    replay_free(base);
}

/* Every DeviceStateChange twice and every Newstate twice: nothing changes. */
static void test_duplicated(void)
{
    replay *base = replay_normalized("capture_filtered.txt");
    g_autoptr(GPtrArray) doubled = messages_new();
    for (guint i = 0; i < base->messages->len; i++) {
        pami_message *m = base->messages->pdata[i];
        g_ptr_array_add(doubled, pami_message_ref(m));
        if (is_event(m, "DeviceStateChange") || is_event(m, "Newstate") ||
            is_event(m, "ExtensionStatus"))
            g_ptr_array_add(doubled, pami_message_ref(m));
    }
    replay *r = replay_messages(doubled);
    g_assert_cmpuint(r->out->len, ==, base->out->len);
    for (guint i = 0; i < r->out->len; i++)
        g_assert_cmpstr(r->out->pdata[i], ==, base->out->pdata[i]);
    replay_free(r);
    replay_free(base);
}

/* Events with headers missing or emptied: Channel: (and the caller's
 * Uniqueid) gone from every DialBegin, Exten emptied everywhere. Legs still
 * reach the same states; nothing is assigned to the wrong channel. */
static void test_missing_headers(void)
{
    replay *base = replay_normalized("capture_filtered.txt");
    g_autoptr(GPtrArray) no_channel = messages_new();
    g_autoptr(GPtrArray) no_exten = messages_new();
    for (guint i = 0; i < base->messages->len; i++) {
        pami_message *m = base->messages->pdata[i];
        if (is_event(m, "DialBegin")) {
            pami_message *a = message_edit(m, "Channel", NULL, NULL);
            g_ptr_array_add(no_channel, message_edit(a, "Uniqueid", NULL, NULL));
            pami_message_unref(a);
        } else {
            g_ptr_array_add(no_channel, pami_message_ref(m));
        }
        g_ptr_array_add(no_exten, message_edit(m, NULL, "Exten", ""));
    }
    replay *r = replay_messages(no_channel);
    g_assert_cmpuint(replay_conversations(r), ==, 1);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    g_autoptr(GPtrArray) ends = replay_select(r, "leg ");
    guint disconnected = 0;
    for (guint i = 0; i < ends->len; i++)
        disconnected += strstr(ends->pdata[i], ">disconnected") != NULL;
    g_assert_cmpuint(disconnected, ==, 4);
    replay_free(r);

    r = replay_messages(no_exten);
    assert_same_histories(base, r);
    for (guint i = 0; i < r->out->len; i++)
        g_assert_null(strstr(r->out->pdata[i], "req=200"));
    replay_free(r);
    replay_free(base);
}

/* A Hangup for a channel the model never saw (on a mapped device, even) and
 * events for channels that already ended change nothing. */
static void test_unknown_channel(void)
{
    replay *base = replay_normalized("capture_filtered.txt");
    g_autoptr(GPtrArray) messages = messages_new();
    g_ptr_array_add(messages,
                    replay_message("Event: Hangup|Channel: PJSIP/alice-000000ff|Uniqueid: 9.1|"
                                   "Linkedid: 9.1|ChannelState: 6|Cause: 16"));
    for (guint i = 0; i < base->messages->len; i++)
        g_ptr_array_add(messages, pami_message_ref(base->messages->pdata[i]));
    /* Late events about the Local/100 ;1 channel, long after its Hangup. */
    g_ptr_array_add(messages, replay_message("Event: Newstate|Channel: Local/100@test-00000005;1|"
                                             "Uniqueid: 1795358381.10|Linkedid: 1795358381.8|"
                                             "ChannelState: 6"));
    g_ptr_array_add(messages,
                    replay_message("Event: BridgeLeave|Channel: Local/100@test-00000005;1|"
                                   "Uniqueid: 1795358381.10|BridgeUniqueid: x"));
    replay *r = replay_messages(messages);
    g_assert_cmpuint(r->out->len, ==, base->out->len);
    for (guint i = 0; i < r->out->len; i++)
        g_assert_cmpstr(r->out->pdata[i], ==, base->out->pdata[i]);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    replay_free(r);
    replay_free(base);
}

/* "UCD Test" written as Latin-1 "M\xfcller": the reader converts, the model
 * passes valid UTF-8 on. */
static char *latin1_name(const char *text)
{
    GString *s = g_string_new(NULL);
    const char *p = text, *hit;
    while ((hit = strstr(p, "UCD Test")) != NULL) {
        g_string_append_len(s, p, hit - p);
        g_string_append(s, "M\xfcller");
        p = hit + strlen("UCD Test");
    }
    g_string_append(s, p);
    return g_string_free(s, FALSE);
}

static void test_non_utf8_name(void)
{
    replay *r = replay_capture("capture_filtered.txt", latin1_name);
    gboolean seen = FALSE;
    for (guint i = 0; i < r->out->len; i++)
        seen |= strstr(r->out->pdata[i], "remote=5551000/M\xc3\xbcller ") != NULL;
    g_assert_true(seen);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    replay_free(r);
}

/* The link drops while the call is up; the resync's CoreShowChannels answer
 * lacks the call: its legs end link_lost, lines leave out_of_service. A
 * second time the answer lists two of the four channels: only the other two
 * end. */
static guint count_matching(const replay *r, guint from, const char *a, const char *b)
{
    guint n = 0;
    for (guint i = from; i < r->out->len; i++)
        n += strstr(r->out->pdata[i], a) != NULL && (b == NULL || strstr(r->out->pdata[i], b));
    return n;
}

static guint feed_until_bridged(replay *r)
{
    guint i;
    g_autoptr(GPtrArray) head = messages_new();
    guint bridged = 0;
    for (i = 0; i < r->messages->len && bridged < 2; i++) {
        g_ptr_array_add(head, pami_message_ref(r->messages->pdata[i]));
        bridged += is_event(r->messages->pdata[i], "BridgeEnter");
    }
    replay_feed(r, head);
    return i;
}

static pami_message *as_core_show_channel(const pami_message *newstate)
{
    return message_edit(newstate, NULL, "Event", "CoreShowChannel");
}

static void test_link_lost(void)
{
    replay *r = replay_new();
    replay_load(r, "capture_filtered.txt", NULL);
    feed_until_bridged(r);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 4);
    guint mark = r->out->len;
    pami_model_link_down(r->model, 1000);
    g_assert_cmpuint(count_matching(r, mark, "line ", ">out_of_service"), ==, MAPPED_LINES);
    g_assert_cmpuint(pami_model_line_state(r->model, "200"), ==, UCD_LINE_OUT_OF_SERVICE);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 4); /* kept until the resync */
    mark = r->out->len;
    pami_model_resync_begin(r->model);
    pami_model_resync_end(r->model, 2000);
    g_assert_cmpuint(count_matching(r, mark, ">disconnected", "cause=link_lost"), ==, 4);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    g_assert_cmpuint(pami_model_line_state(r->model, "200"), ==, UCD_LINE_IDLE);
    g_assert_cmpuint(pami_model_line_state(r->model, "alice"), ==, UCD_LINE_IDLE);
    /* The rest of the capture (the call's end) now concerns channels that
     * are gone: no more leg changes. */
    mark = r->out->len;
    replay_feed(r, r->messages);
    replay_free(r);

    r = replay_new();
    replay_load(r, "capture_filtered.txt", NULL);
    feed_until_bridged(r);
    pami_model_link_down(r->model, 1000);
    pami_model_resync_begin(r->model);
    for (guint i = 0; i < r->messages->len; i++) {
        const pami_message *m = r->messages->pdata[i];
        if (is_event(m, "Newstate") &&
            g_str_has_prefix(pami_message_get(m, "Channel"), "Local/100@test")) {
            pami_message *listed = as_core_show_channel(m);
            pami_model_event(r->model, listed, 1500);
            pami_message_unref(listed);
        }
    }
    mark = r->out->len;
    pami_model_resync_end(r->model, 2000);
    g_assert_cmpuint(count_matching(r, mark, ">disconnected", "cause=link_lost"), ==, 2);
    g_assert_cmpuint(count_matching(r, mark, "leg 100 ", NULL), ==, 0);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 2);
    g_assert_cmpuint(pami_model_line_state(r->model, "100"), ==, UCD_LINE_BUSY);
    replay_free(r);
}

/* Issue 12 item 15: a call that ended while the link was down ends when the
 * link was lost (the first link_down; reconnect attempts report it again),
 * not at the resync: the outage is no talk time. */
static void on_leg_time(const pami_leg_change *change, void *user_data)
{
    if (change->cause == UCD_CAUSE_LINK_LOST)
        *(int64_t *)user_data = change->time_ms;
}

static void test_link_lost_time(void)
{
    int64_t ended_ms = -1;
    const pami_model_callbacks cb = {.leg = on_leg_time, .user_data = &ended_ms};
    pami_model *m = pami_model_new(&cb);
    g_assert_true(pami_model_map_device(m, "PJSIP/alice", "201"));
    const char *const events[] = {
        "Event: Newchannel|Channel: PJSIP/alice-00000001|ChannelState: 4|Exten: 202|"
        "Uniqueid: 1700000000.1|Linkedid: 1700000000.1",
        "Event: Newstate|Channel: PJSIP/alice-00000001|ChannelState: 6|"
        "Uniqueid: 1700000000.1|Linkedid: 1700000000.1",
    };
    for (guint i = 0; i < G_N_ELEMENTS(events); i++) {
        pami_message *e = replay_message(events[i]);
        pami_model_event(m, e, 500);
        pami_message_unref(e);
    }
    g_assert_cmpuint(pami_model_leg_count(m), ==, 1);
    pami_model_link_down(m, 1000);
    pami_model_link_down(m, 3000); /* a failed reconnect */
    pami_model_resync_begin(m);
    pami_model_resync_end(m, 8000);
    g_assert_cmpint(ended_ms, ==, 1000);
    g_assert_cmpuint(pami_model_leg_count(m), ==, 0);

    /* the next outage counts from its own start */
    pami_message *e = replay_message("Event: Newstate|Channel: PJSIP/alice-00000002|"
                                     "ChannelState: 6|Uniqueid: 1700000000.2|"
                                     "Linkedid: 1700000000.2");
    pami_model_event(m, e, 9000);
    pami_message_unref(e);
    pami_model_link_down(m, 12000);
    pami_model_resync_begin(m);
    pami_model_resync_end(m, 20000);
    g_assert_cmpint(ended_ms, ==, 12000);
    pami_model_free(m);
}

/* ---- hand-written PJSIP scenarios ---------------------------------------------------- */

/* The pickup codes the next scenarios run with (NULL: the model's default). */
static const char *const *scenario_codes;

static replay *replay_scenario(const char *const *events)
{
    replay *r = replay_new();
    if (scenario_codes != NULL)
        pami_model_set_pickup_codes(r->model, scenario_codes);
    g_autoptr(GPtrArray) messages = messages_new();
    for (guint i = 0; events[i] != NULL; i++)
        g_ptr_array_add(messages, replay_message(events[i]));
    replay_feed(r, messages);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    return r;
}

static void check_scenario(const char *const *events, const char *const *expected)
{
    replay *r = replay_scenario(events);
    g_autoptr(GPtrArray) legs = replay_select(r, "leg ");
    g_ptr_array_add(legs, NULL);
    if (g_getenv("PAMI_DUMP") != NULL)
        replay_dump(r);
    replay *only_legs = replay_new();
    g_ptr_array_set_size(only_legs->out, 0);
    for (guint i = 0; legs->pdata[i] != NULL; i++)
        g_ptr_array_add(only_legs->out, g_strdup(legs->pdata[i]));
    replay_assert(only_legs, expected);
    replay_free(only_legs);
    replay_free(r);
}

static void test_pjsip_basic(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>connected dir=internal cause=none remote=201/Alice "
        "req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>disconnected dir=internal cause=normal "
        "remote=202/Bob req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 connected>disconnected dir=internal cause=normal "
        "remote=201/Alice req=- rel=- flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_basic, expected);
}

static void test_pjsip_busy(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>disconnected dir=internal cause=busy remote=201/Alice "
        "req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>disconnected dir=internal cause=busy remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_busy, expected);
}

static void test_pjsip_noanswer(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>disconnected dir=internal cause=no_answer "
        "remote=201/Alice req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>disconnected dir=internal cause=normal "
        "remote=202/Bob req=202 rel=- flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_noanswer, expected);
}

static void test_pjsip_blind_transfer(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>connected dir=internal cause=none remote=201/Alice "
        "req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 connected>transferred dir=internal cause=transferred "
        "remote=201/Alice req=- rel=203 flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000003 idle>offering dir=internal cause=transferred "
        "remote=201/Alice req=202 rel=202 flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000003 offering>connected dir=internal cause=none remote=201/Alice "
        "req=202 rel=202 flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000003 connected>disconnected dir=internal cause=normal "
        "remote=201/Alice req=202 rel=202 flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>disconnected dir=internal cause=normal "
        "remote=202/Bob req=202 rel=- flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_blind_transfer, expected);
}

static void test_pjsip_attended_transfer(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>connected dir=internal cause=none remote=201/Alice "
        "req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 connected>held dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000004 idle>dialing dir=internal cause=none remote=-/- req=203 rel=- "
        "flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000004 dialing>dialing dir=internal cause=none remote=203/Carol "
        "req=203 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000004 dialing>ringback dir=internal cause=none remote=203/Carol "
        "req=203 rel=- flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000005 idle>offering dir=internal cause=none remote=202/Bob req=- "
        "rel=- flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000005 offering>connected dir=internal cause=none remote=202/Bob "
        "req=- rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000004 ringback>connected dir=internal cause=none remote=203/Carol "
        "req=203 rel=- flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000005 connected>connected dir=internal cause=transferred "
        "remote=202/Bob req=- rel=202 flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>connected dir=internal cause=transferred "
        "remote=202/Bob req=202 rel=202 flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 held>transferred dir=internal cause=transferred "
        "remote=201/Alice req=- rel=203 flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000004 connected>transferred dir=internal cause=transferred "
        "remote=203/Carol req=203 rel=203 flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>disconnected dir=internal cause=normal "
        "remote=202/Bob req=202 rel=202 flags=0 conv=100.1",
        "leg 203 PJSIP/carol-00000005 connected>disconnected dir=internal cause=normal "
        "remote=202/Bob req=- rel=202 flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_attended_transfer, expected);
}

/* The pjsip_pickup scenario's legs: alice's call ringing bob, carol's pickup
 * leg and bob's end, the end of the call. */
#define PICKUP_RINGING                                                                             \
    "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "        \
    "rel=- flags=0 conv=100.1",                                                                    \
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "     \
        "req=202 rel=- flags=0 conv=100.1",                                                        \
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "    \
        "req=202 rel=- flags=0 conv=100.1",                                                        \
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- " \
        "rel=- flags=0 conv=100.1"
#define PICKUP_PICKED                                                                              \
    "leg 203 PJSIP/carol-00000006 idle>connected dir=internal cause=picked_up remote=201/Alice "   \
    "req=202 rel=202 flags=0 conv=100.1",                                                          \
        "leg 202 PJSIP/bob-00000002 offering>disconnected dir=internal cause=picked_up "           \
        "remote=201/Alice req=- rel=203 flags=0 conv=100.1"
#define PICKUP_END                                                                                 \
    "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=203/Carol "    \
    "req=202 rel=- flags=0 conv=100.1",                                                            \
        "leg 203 PJSIP/carol-00000006 connected>disconnected dir=internal cause=normal "           \
        "remote=201/Alice req=202 rel=202 flags=0 conv=100.1",                                     \
        "leg 201 PJSIP/alice-00000001 connected>disconnected dir=internal cause=normal "           \
        "remote=203/Carol req=202 rel=- flags=0 conv=100.1"

/* carol dials *8 (a pickup code by default): no leg until the Pickup, then
 * one leg in alice's conversation. */
static void test_pjsip_pickup(void)
{
    static const char *const expected[] = {PICKUP_RINGING, PICKUP_PICKED, PICKUP_END, NULL};
    check_scenario(pjsip_pickup, expected);
}

/* With no pickup codes configured the call to *8 is an ordinary call until
 * the Pickup: it is reported, ends, and the pickup is a new leg. */
static void test_pjsip_pickup_no_codes(void)
{
    static const char *const none[] = {NULL};
    static const char *const expected[] = {
        PICKUP_RINGING,
        "leg 203 PJSIP/carol-00000006 idle>dialing dir=outbound cause=none remote=-/- req=*8 rel=- "
        "flags=0 conv=300.6",
        "leg 203 PJSIP/carol-00000006 dialing>connected dir=outbound cause=none remote=201/Alice "
        "req=*8 rel=- flags=0 conv=300.6",
        PICKUP_PICKED,
        "leg 203 PJSIP/carol-00000006 connected>disconnected dir=internal cause=normal "
        "remote=201/Alice req=- rel=- flags=0 conv=300.6",
        PICKUP_END,
        NULL,
    };
    scenario_codes = none;
    check_scenario(pjsip_pickup, expected);
    scenario_codes = NULL;
}

#define CAROL7(state, exten)                                                                       \
    "Channel: PJSIP/carol-00000007|Uniqueid: 300.7|Linkedid: 300.7|ChannelState: " state           \
    "|CallerIDNum: 203|CallerIDName: Carol|Exten: " exten

/* A pickup code that finds nothing to pick up (Asterisk answers, then hangs
 * up): a feature code, not a call - no leg at all. Directed pickup "**202"
 * too. */
static void test_pickup_code_nothing(void)
{
    static const char *const group[] = {
        "Event: Newchannel|" CAROL7("4", "*8"),
        "Event: Newstate|" CAROL7("6", "*8"),
        "Event: Hangup|" CAROL7("6", "*8") "|Cause: 16",
        NULL,
    };
    static const char *const directed[] = {
        "Event: Newchannel|" CAROL7("4", "**202"),
        "Event: Newstate|" CAROL7("6", "**202"),
        "Event: Hangup|" CAROL7("6", "**202") "|Cause: 16",
        NULL,
    };
    static const char *const expected[] = {NULL};
    check_scenario(group, expected);
    check_scenario(directed, expected);
}

/* A number that starts like a pickup code but dials someone (FreePBX's
 * intercom *80201) is a call after all: reported from its DialBegin on. */
static void test_pickup_code_dials(void)
{
    static const char *const events[] = {
        "Event: Newchannel|" CAROL7("4", "*80201"),
        "Event: Newchannel|Channel: PJSIP/alice-00000008|Uniqueid: 300.8|Linkedid: 300.7|"
        "ChannelState: 0|CallerIDNum: 201|Exten: s",
        "Event: DialBegin|" CAROL7("4", "*80201") "|DestChannel: PJSIP/alice-00000008|"
                                                  "DestUniqueid: 300.8|DestLinkedid: "
                                                  "300.7|DestChannelState: 0|DestCallerIDNum: 201",
        "Event: Hangup|Channel: PJSIP/alice-00000008|Uniqueid: 300.8|Linkedid: 300.7|"
        "ChannelState: 0|Cause: 16",
        "Event: Hangup|" CAROL7("4", "*80201") "|Cause: 16",
        NULL,
    };
    replay *r = replay_scenario(events);
    g_autoptr(GPtrArray) legs = replay_select(r, "leg 203 ");
    g_assert_cmpuint(legs->len, >=, 2);
    g_assert_true(g_str_has_prefix(legs->pdata[0], "leg 203 PJSIP/carol-00000007 idle>dialing "));
    g_assert_nonnull(strstr(legs->pdata[0], " req=*80201 "));
    g_assert_true(strstr(legs->pdata[legs->len - 1], ">disconnected ") != NULL);
    replay_free(r);
}

/* Asterisk's ids are EPOCH.SEQUENCE with an integer sequence: when calls
 * .9 and .10 of one second join (a bridge), the older .9 is the kept
 * conversation, with or without a system-name prefix. Fed .10 first, so
 * the merge has to move the reported conversation. */
static void check_merge_keeps(const char *older, const char *newer)
{
    g_autofree char *a = g_strdup_printf("Channel: PJSIP/alice-0000000a|Uniqueid: %s|"
                                         "Linkedid: %s|ChannelState: 6|CallerIDNum: 201",
                                         newer, newer);
    g_autofree char *b = g_strdup_printf("Channel: PJSIP/bob-00000009|Uniqueid: %s|"
                                         "Linkedid: %s|ChannelState: 6|CallerIDNum: 202",
                                         older, older);
    g_autofree char *e1 = g_strconcat("Event: Newchannel|", a, NULL);
    g_autofree char *e2 = g_strconcat("Event: Newchannel|", b, NULL);
    g_autofree char *e3 = g_strconcat("Event: BridgeEnter|BridgeUniqueid: b9|", a, NULL);
    g_autofree char *e4 = g_strconcat("Event: BridgeEnter|BridgeUniqueid: b9|", b, NULL);
    g_autofree char *e5 = g_strconcat("Event: Hangup|", a, "|Cause: 16", NULL);
    g_autofree char *e6 = g_strconcat("Event: Hangup|", b, "|Cause: 16", NULL);
    const char *const events[] = {e1, e2, e3, e4, e5, e6, NULL};
    replay *r = replay_scenario(events);
    g_autoptr(GPtrArray) ends = replay_select(r, "leg ");
    g_autofree char *kept = g_strdup_printf(" conv=%s", older);
    guint ended = 0;
    for (guint i = 0; i < ends->len; i++)
        if (strstr(ends->pdata[i], ">disconnected ") != NULL) {
            g_assert_true(g_str_has_suffix(ends->pdata[i], kept));
            ended++;
        }
    g_assert_cmpuint(ended, ==, 2);
    replay_free(r);
}

static void test_uniqueid_order(void)
{
    check_merge_keeps("1795358381.9", "1795358381.10");
    check_merge_keeps("1795358381.99", "1795358381.100");
    check_merge_keeps("1795358380.12", "1795358381.2"); /* the epoch first */
    check_merge_keeps("pbx1-1795358381.9", "pbx1-1795358381.10");
}

#define ALICE9(state)                                                                              \
    "Channel: PJSIP/alice-00000009|Uniqueid: ucd.1.1|Linkedid: ucd.1.1|ChannelState: " state       \
    "|CallerIDNum: 202|CallerIDName: 202|Context: from-internal|Exten: 202"

/* Click-to-dial: the driver's Originate rings alice's phone before it dials.
 * A live Asterisk sent the phone's Ringing before the Originate's DialBegin
 * (the one without Channel:): told of the Originate's ChannelId beforehand,
 * the model reports the leg as alice's outgoing call from its first event,
 * never as an inbound call to her. */
static void check_originate_rings_first(const char *number, const char *expect)
{
    static const char *const events[] = {
        "Event: Newchannel|" ALICE9("0"),
        "Event: Newstate|" ALICE9("5"),
        "Event: DialBegin|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|"
        "DestLinkedid: ucd.1.1|DestChannelState: 5|DialString: PJSIP/alice",
        "Event: Newstate|" ALICE9("6"),
        "Event: DialEnd|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|DialStatus: ANSWER",
        "Event: Hangup|" ALICE9("6") "|Cause: 16",
        NULL,
    };
    replay *r = replay_events(events, "ucd.1.1", number);
    g_autoptr(GPtrArray) legs = replay_select(r, "leg ");
    g_assert_cmpuint(legs->len, >=, 2);
    for (guint i = 0; i < legs->len; i++) {
        const char *leg = legs->pdata[i];
        g_assert_null(strstr(leg, "offering"));
        g_assert_nonnull(strstr(leg, expect));
        g_autofree char *requested = g_strdup_printf(" req=%s ", number);
        g_assert_nonnull(strstr(leg, requested));
    }
    g_assert_true(g_str_has_prefix(legs->pdata[0], "leg 201 PJSIP/alice-00000009 idle>dialing"));
    replay_free(r);
}

/* To an outside number: outbound; to another line: internal from the start,
 * with the line as requested number. */
static void test_originate_rings_first(void)
{
    check_originate_rings_first("5550100", "dir=outbound");
    check_originate_rings_first("202", "dir=internal");
}

/* Click-to-dial answered by the user's phone, then the dialled party does
 * not answer and the user hangs up: the user's leg is never connected (the
 * DialEnd comes before the Hangup), so the call does not count as answered. */
static void test_originate_unanswered(void)
{
    static const char *const events[] = {
        "Event: Newchannel|" ALICE9("0"),
        "Event: DialBegin|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|"
        "DestLinkedid: ucd.1.1|DestChannelState: 0|DialString: PJSIP/alice",
        "Event: Newstate|" ALICE9("5"),
        "Event: Newstate|" ALICE9("6"),
        "Event: DialEnd|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|DialStatus: ANSWER",
        "Event: Newchannel|Channel: PJSIP/carol-0000000a|Uniqueid: 300.10|Linkedid: ucd.1.1|"
        "ChannelState: 0|CallerIDNum: 203|CallerIDName: Carol|Exten: s",
        "Event: DialBegin|" ALICE9(
            "6") "|DestChannel: PJSIP/carol-0000000a|DestUniqueid: 300.10|"
                 "DestLinkedid: ucd.1.1|DestChannelState: 0|DialString: carol",
        "Event: Newstate|Channel: PJSIP/carol-0000000a|Uniqueid: 300.10|Linkedid: ucd.1.1|"
        "ChannelState: 5|CallerIDNum: 203|CallerIDName: Carol|Exten: s",
        "Event: DialEnd|" ALICE9("6") "|DestChannel: PJSIP/carol-0000000a|DestUniqueid: 300.10|"
                                      "DialStatus: CANCEL",
        "Event: Hangup|Channel: PJSIP/carol-0000000a|Uniqueid: 300.10|Linkedid: ucd.1.1|"
        "ChannelState: 5|Cause: 16",
        "Event: Hangup|" ALICE9("6") "|Cause: 16",
        NULL,
    };
    replay *r = replay_events(events, "ucd.1.1", "203");
    g_autoptr(GPtrArray) legs = replay_select(r, "leg ");
    gboolean rang = FALSE;
    for (guint i = 0; i < legs->len; i++) {
        const char *leg = legs->pdata[i];
        g_assert_null(strstr(leg, ">connected"));
        rang |= strstr(leg, "leg 201 ") != NULL && strstr(leg, ">ringback") != NULL;
    }
    g_assert_true(rang);
    g_assert_cmpuint(pami_model_leg_count(r->model), ==, 0);
    replay_free(r);
}

/* alice's channel in `state` at dialplan extension `exten`. */
#define ALICE9_AT(state, exten)                                                                    \
    "Channel: PJSIP/alice-00000009|Uniqueid: ucd.1.1|Linkedid: ucd.1.1|ChannelState: " state       \
    "|CallerIDNum: 202|CallerIDName: 202|Context: from-internal|Exten: " exten

/* An Originate made by another AMI client (no expectation): Asterisk rings
 * alice's phone (Exten "s"), and once the dial is answered sends the channel
 * to the Originate's Exten (`after`). Newexten, which would say so at once, is
 * filtered; the Hangup (or a DialBegin) carries it. Asterisk's CDR has that
 * Exten as dst (cdr.c: an originated channel is its record's Party A, whose
 * exten follows its snapshots), so the leg's requested number is it: reported
 * once known, never the "s" of a snapshot made before Asterisk moved it. An
 * Originate to an application leaves the Exten as it was: no number. */
static void check_originated_elsewhere(const char *after, const char *expect_last)
{
    g_autofree char *up_after = g_strdup_printf("Event: Newstate|" ALICE9_AT("6", "%s"), after);
    g_autofree char *hangup =
        g_strdup_printf("Event: Hangup|" ALICE9_AT("6", "%s") "|Cause: 16", after);
    const char *const events[] = {
        "Event: Newchannel|" ALICE9_AT("0", "s"),
        "Event: DialBegin|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|"
        "DestLinkedid: ucd.1.1|DestChannelState: 0|DestExten: s|DialString: alice",
        "Event: Newstate|" ALICE9_AT("5", "s"),
        "Event: Newstate|" ALICE9_AT("6", "s"),
        "Event: DialEnd|DestChannel: PJSIP/alice-00000009|DestUniqueid: ucd.1.1|DestExten: s|"
        "DialStatus: ANSWER",
        /* a snapshot published before Asterisk moved the channel */
        "Event: NewConnectedLine|" ALICE9_AT("6", "s"),
        up_after,
        hangup,
        NULL,
    };
    replay *r = replay_events(events, NULL, NULL);
    g_autoptr(GPtrArray) legs = replay_select(r, "leg 201 ");
    g_assert_cmpuint(legs->len, >=, 2);
    for (guint i = 0; i < legs->len; i++)
        g_assert_null(strstr(legs->pdata[i], " req=s "));
    g_assert_nonnull(strstr(legs->pdata[legs->len - 1], ">disconnected"));
    g_assert_nonnull(strstr(legs->pdata[legs->len - 1], expect_last));
    replay_free(r);
}

static void test_originated_elsewhere(void)
{
    /* to an outside number's exten; to another line (internal); to an
     * application (the Exten stays "s") */
    check_originated_elsewhere("600", " dir=outbound cause=normal remote=-/- req=600 ");
    check_originated_elsewhere("202", " dir=internal cause=normal remote=-/- req=202 ");
    check_originated_elsewhere("s", " dir=outbound cause=normal remote=-/- req=- ");
}

/* capture_filtered.txt's Originate of Local/200@test to 100: both halves of
 * Local/200 (one line's call) end with the requested number 100, so the
 * journal row, whose first leg is the ";2" half, says 100 as the CDR does. */
static void test_originated_local_pair(void)
{
    replay *r = replay_normalized("capture_filtered.txt");
    g_autoptr(GPtrArray) legs = replay_select(r, "leg 200 ");
    guint ended = 0;
    for (guint i = 0; i < legs->len; i++)
        if (strstr(legs->pdata[i], ">disconnected") != NULL) {
            g_assert_nonnull(strstr(legs->pdata[i], " req=100 "));
            ended++;
        }
    g_assert_cmpuint(ended, ==, 2);
    replay_free(r);
}

static void test_pjsip_hold(void)
{
    static const char *const expected[] = {
        "leg 201 PJSIP/alice-00000001 idle>dialing dir=internal cause=none remote=-/- req=202 "
        "rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>dialing dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 dialing>ringback dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 idle>offering dir=internal cause=none remote=201/Alice req=- "
        "rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 offering>connected dir=internal cause=none remote=201/Alice "
        "req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 ringback>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>held dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 held>connected dir=internal cause=none remote=202/Bob "
        "req=202 rel=- flags=0 conv=100.1",
        "leg 202 PJSIP/bob-00000002 connected>disconnected dir=internal cause=normal "
        "remote=201/Alice req=- rel=- flags=0 conv=100.1",
        "leg 201 PJSIP/alice-00000001 connected>disconnected dir=internal cause=normal "
        "remote=202/Bob req=202 rel=- flags=0 conv=100.1",
        NULL,
    };
    check_scenario(pjsip_hold, expected);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pami-model/capture-filtered", test_capture_filtered);
    g_test_add_func("/pami-model/capture-other-run", test_capture_other_run);
    g_test_add_func("/pami-model/capture2-resync", test_capture2_resync);
    g_test_add_func("/pami-model/reordered", test_reordered);
    g_test_add_func("/pami-model/duplicated", test_duplicated);
    g_test_add_func("/pami-model/missing-headers", test_missing_headers);
    g_test_add_func("/pami-model/unknown-channel", test_unknown_channel);
    g_test_add_func("/pami-model/non-utf8-name", test_non_utf8_name);
    g_test_add_func("/pami-model/link-lost", test_link_lost);
    g_test_add_func("/pami-model/link-lost-time", test_link_lost_time);
    g_test_add_func("/pami-model/pjsip/basic", test_pjsip_basic);
    g_test_add_func("/pami-model/pjsip/busy", test_pjsip_busy);
    g_test_add_func("/pami-model/pjsip/noanswer", test_pjsip_noanswer);
    g_test_add_func("/pami-model/pjsip/blind-transfer", test_pjsip_blind_transfer);
    g_test_add_func("/pami-model/pjsip/attended-transfer", test_pjsip_attended_transfer);
    g_test_add_func("/pami-model/pjsip/pickup", test_pjsip_pickup);
    g_test_add_func("/pami-model/pjsip/pickup-no-codes", test_pjsip_pickup_no_codes);
    g_test_add_func("/pami-model/pickup-code-nothing", test_pickup_code_nothing);
    g_test_add_func("/pami-model/pickup-code-dials", test_pickup_code_dials);
    g_test_add_func("/pami-model/uniqueid-order", test_uniqueid_order);
    g_test_add_func("/pami-model/pjsip/hold", test_pjsip_hold);
    g_test_add_func("/pami-model/originate-rings-first", test_originate_rings_first);
    g_test_add_func("/pami-model/originate-unanswered", test_originate_unanswered);
    g_test_add_func("/pami-model/originated-elsewhere", test_originated_elsewhere);
    g_test_add_func("/pami-model/originated-local-pair", test_originated_local_pair);
    return g_test_run();
}
