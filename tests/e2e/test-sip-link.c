/*
 * test-sip-link.c - pbx-sip end to end, the link to the SIP server: one ucd
 * with two pbx-sip instances on two real Kamailio servers (each with its own
 * baresip phones alice and bob) beside a pbx-sim instance, calls on both at
 * once; and a Kamailio stopped in the middle of a call and started again,
 * which ucd must notice (the keepalive), journal as link lost, and recover
 * from. And a server that publishes hint state only, shaped like Asterisk's
 * PJSIP (plugins/pbx-sip/tests/hint-server.c, bodies constructed from
 * Asterisk's source, not recorded): line state, no calls, no journal rows;
 * a click-to-dial whose REFER fails is one failed row.
 */
#include <string.h>

#include <ucd/ucd.h>

#include "e2e-util.h"
#include "harness.h"
#include "hint-server.h"
#include "sip-util.h"

/* Two companies' phones named alike: users are told apart by DRIVER/ADDRESS. */
static const char *const TWO_SERVERS_USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice1'><login>alice1</login><line>pbx-sip:one/alice</line></user>\n"
    "  <user id='file:bob1'><login>bob1</login><line>pbx-sip:one/bob</line></user>\n"
    "  <user id='file:alice2'><login>alice2</login><line>pbx-sip:two/alice</line></user>\n"
    "  <user id='file:bob2'><login>bob2</login><line>pbx-sip:two/bob</line></user>\n"
    "  <user id='file:sim201'><login>sim201</login><line>pbx-sim:office/201</line></user>\n"
    "</users>\n";

static gint by_text(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* Every line of `ucctl lines` as "DRIVER/LINE=USER STATE", sorted, one per
 * line (g_free it). */
static char *lines_table(harness *h)
{
    JsonNode *r = e2e_ctl(h, "lines", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    int cd = e2e_column(o, "driver"), cl = e2e_column(o, "line"), cu = e2e_column(o, "user"),
        cs = e2e_column(o, "state");
    JsonArray *rows = json_object_get_array_member(o, "rows");
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        g_ptr_array_add(out, g_strdup_printf("%s/%s=%s %s", json_array_get_string_element(row, cd),
                                             json_array_get_string_element(row, cl),
                                             json_array_get_string_element(row, cu),
                                             json_array_get_string_element(row, cs)));
    }
    json_node_free(r);
    g_ptr_array_sort(out, by_text);
    g_ptr_array_add(out, NULL);
    char *text = g_strjoinv("\n", (char **)out->pdata);
    g_ptr_array_free(out, TRUE);
    return text;
}

/* The value of field `name` in a control response (g_free it). */
static char *field(JsonNode *resp, const char *name)
{
    JsonObject *o = json_node_get_object(resp);
    JsonArray *fields = json_object_get_array_member(o, "fields");
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return g_strdup(json_object_get_string_member(f, "value"));
    }
    return NULL;
}

/* An inbound call to pbx-sim's line 201, answered and hung up there. */
static void sim_call_answered(harness *h)
{
    JsonNode *r = e2e_ctl(h, "sim-office", "call", "+4930123456", "201");
    char *call = field(r, "call");
    json_node_free(r);
    g_assert_nonnull(call);
    e2e_wait_presence_suffix(h, "file:sim201", "ringing");
    json_node_free(e2e_ctl(h, "answer", "201", call, NULL));
    e2e_wait_presence_suffix(h, "file:sim201", "ringing on_phone");
    json_node_free(e2e_ctl(h, "hangup", "201", call, NULL));
    e2e_wait_presence_suffix(h, "file:sim201", "ringing on_phone available");
    g_free(call);
}

/* One ucd, two SIP servers and a simulated PBX. On server one alice calls bob,
 * on server two bob calls alice, at the same time, same user names: each leg shows on its own
 * instance's line, the right users ring and talk, each call is one journal
 * row of its instance, and pbx-sim's calls go on beside them. */
static void test_two_instances(void)
{
    harness_peer *one = sip_peer_start(NULL);
    if (!one)
        return;
    harness_peer *two = sip_peer_start(NULL);
    g_assert_nonnull(two);
    char *s1 = sip_section("one", one, "alice;bob", NULL);
    char *s2 = sip_section("two", two, "alice;bob", NULL);
    char *sections = g_strconcat(s1, s2,
                                 "[module pbx-sim:office]\n"
                                 "lines = 201;202\n",
                                 NULL);
    const char *const modules[] = {"pbx-sip:one", "pbx-sip:two", "pbx-sim:office", NULL};
    harness *h = sip_ucd_start(TWO_SERVERS_USERS_XML, sections, modules);
    g_free(sections);
    g_free(s1);
    g_free(s2);
    const char *const users[] = {"file:alice1", "file:bob1", "file:alice2", "file:bob2",
                                 "file:sim201"};
    for (guint i = 0; i < G_N_ELEMENTS(users); i++)
        e2e_wait_presence_suffix(h, users[i], "available");

    char *lines = lines_table(h);
    g_assert_cmpstr(lines, ==,
                    "pbx-sim:office/201=sim201 idle\n"
                    "pbx-sim:office/202= idle\n"
                    "pbx-sip:one/alice=alice1 idle\n"
                    "pbx-sip:one/bob=bob1 idle\n"
                    "pbx-sip:two/alice=alice2 idle\n"
                    "pbx-sip:two/bob=bob2 idle");
    g_free(lines);

    sip_phone_dial(one, "alice", "bob");
    sip_phone_dial(two, "bob", "alice");
    /* alice's phone answers by itself (kamailio.sh): server two's call is
     * connected while server one's still rings */
    char *one_bob = sip_leg_on(h, "pbx-sip:one", "bob", "offering");
    char *two_alice = sip_leg_on(h, "pbx-sip:two", "alice", "connected");
    g_free(sip_leg_on(h, "pbx-sip:one", "alice", "ringback"));
    g_free(sip_leg_on(h, "pbx-sip:two", "bob", "connected"));
    e2e_wait_presence_suffix(h, "file:bob1", "ringing");
    e2e_wait_presence_suffix(h, "file:alice1", "on_phone");
    e2e_wait_presence_suffix(h, "file:alice2", "on_phone");
    e2e_wait_presence_suffix(h, "file:bob2", "on_phone");
    sim_call_answered(h); /* pbx-sim works while both SIP calls go on */
    sip_phone(one, "bob", "accept", "");
    g_free(sip_leg_on(h, "pbx-sip:one", "bob", "connected"));
    e2e_wait_presence_suffix(h, "file:bob1", "ringing on_phone");
    /* the legs of each call are on its own server's lines only */
    char *trace = sip_trace(h, "pbx-sip:one/alice");
    g_assert_nonnull(strstr(trace, " internal remote bob"));
    g_assert_null(strstr(trace, "two-"));
    g_free(trace);
    trace = sip_trace(h, "pbx-sip:two/alice");
    g_assert_nonnull(strstr(trace, " internal remote bob"));
    g_assert_null(strstr(trace, "one-"));
    g_free(trace);
    sip_phone(one, "alice", "hangup", "");
    sip_phone(two, "bob", "hangup", "");
    const char *const done[] = {"file:alice1", "file:bob1", "file:alice2", "file:bob2"};
    for (guint i = 0; i < G_N_ELEMENTS(done); i++)
        e2e_wait_presence_suffix(h, done[i], "on_phone available");

    /* one row per call, each with its instance's users only */
    sip_wait_journal(h,
                     "SELECT driver_instance, answer_ms > 0, (SELECT group_concat(user_id, ',') "
                     "FROM (SELECT user_id FROM participant WHERE conversation_id = c.id "
                     "ORDER BY user_id)) FROM conversation c ORDER BY driver_instance",
                     "pbx-sim:office|1|file:sim201\n"
                     "pbx-sip:one|1|file:alice1,file:bob1\n"
                     "pbx-sip:two|1|file:alice2,file:bob2\n");
    /* each instance's leg ids are its own */
    g_assert_true(g_str_has_prefix(one_bob, "one-"));
    g_assert_true(g_str_has_prefix(two_alice, "two-"));

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    harness_peer_stop(two);
    harness_peer_stop(one);
    g_free(one_bob);
    g_free(two_alice);
}

/* `ucctl calls` lists no call. */
static void assert_no_calls(harness *h)
{
    JsonNode *r = e2e_ctl(h, "calls", NULL, NULL, NULL);
    g_assert_cmpuint(
        json_array_get_length(json_object_get_array_member(json_node_get_object(r), "rows")), ==,
        0);
    json_node_free(r);
}

static void wait_both_lines(harness *h, const char *state, int seconds)
{
    sip_wait_line_state(h, "pbx-sip:kam", "alice", state, seconds);
    sip_wait_line_state(h, "pbx-sip:kam", "bob", state, seconds);
}

/* alice and bob talk; Kamailio stops. The keepalive notices: both lines go out
 * of service and the call is journaled as link lost. The phones hang up while
 * the server is away; it comes back, the lines are idle again, and a new call
 * is seen and journaled as usual. */
static void test_server_restart(void)
{
    harness_peer *peer = sip_peer_start(NULL);
    if (!peer)
        return;
    char *section = sip_section("kam", peer, "alice;bob", "keepalive = 1s\n");
    const char *const modules[] = {"pbx-sip:kam", NULL};
    harness *h = sip_ucd_start(SIP_USERS_ALICE_BOB, section, modules);
    g_free(section);
    wait_both_lines(h, "idle", 30);

    sip_phone_dial(peer, "alice", "bob");
    g_free(e2e_leg_on(h, "bob", "offering"));
    sip_phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "bob", "connected"));
    g_free(e2e_leg_on(h, "alice", "connected"));

    sip_peer_verb(peer, "halt");
    /* probes every second; generous for a daemon under valgrind */
    wait_both_lines(h, "out_of_service", 60);
    sip_phone(peer, "alice", "hangup", "");
    sip_phone(peer, "bob", "hangup", "");
    sip_peer_verb(peer, "resume");
    wait_both_lines(h, "idle", 90);

    /* the call is closed once, as link lost, not left open nor doubled */
    sip_wait_journal(h, "SELECT count(*), end_reason, answer_ms > 0 FROM conversation",
                     "1|link_lost|1\n");
    e2e_wait_presence_suffix(h, "file:alice", "offline available");
    e2e_wait_presence_suffix(h, "file:bob", "offline available");
    assert_no_calls(h);

    /* ucd recovered: the next call is seen and journaled normally */
    sip_phone_dial(peer, "alice", "bob");
    g_free(e2e_leg_on(h, "bob", "offering"));
    sip_phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "alice", "connected"));
    sip_phone(peer, "alice", "hangup", "");
    sip_wait_journal(h, "SELECT end_reason, answer_ms > 0 FROM conversation ORDER BY id",
                     "link_lost|1\nnormal|1\n");
    e2e_wait_presence_suffix(h, "file:alice", "offline available on_phone available");
    e2e_wait_presence_suffix(h, "file:bob", "offline available ringing on_phone available");

    sip_stop(h, peer);
}

/* Extensions 201 (alice) and 202 (bob) on the Asterisk-shaped server. */
static const char *const HINT_USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><line>pbx-sip:ast/201</line></user>\n"
    "  <user id='file:bob'><login>bob</login><line>pbx-sip:ast/202</line></user>\n"
    "</users>\n";

static void wait_hint_lines(harness *h, const char *state_201, const char *state_202)
{
    sip_wait_line_state(h, "pbx-sip:ast", "201", state_201, 30);
    sip_wait_line_state(h, "pbx-sip:ast", "202", state_202, 30);
}

/* Issue 12 items 29 and 30 through the daemon: with Asterisk's hints a missed
 * and an answered call move the lines (idle, ringing, busy) and leave no
 * call and no journal row (they made two rows each, the missed one
 * "answered"); a click-to-dial whose REFER the phone takes and then fails
 * (sipfrag 400, as Asterisk did) is the journal's only row, failed. */
static void test_asterisk_hints(void)
{
    hint_server *server = hint_server_new_threaded("127.0.83.2", "pbx.example.org");
    g_assert_nonnull(server);
    char *section = g_strdup_printf("[module pbx-sip:ast]\n"
                                    "server = %s\n"
                                    "domain = pbx.example.org\n"
                                    "lines = 201;202\n",
                                    hint_server_address(server));
    const char *const modules[] = {"pbx-sip:ast", NULL};
    harness *h = sip_ucd_start(HINT_USERS_XML, section, modules);
    g_free(section);
    wait_hint_lines(h, "idle", "idle");

    /* 201 calls 202, unanswered: 201 is "confirmed" from the first ring */
    hint_server_set(server, "201", HINT_INUSE, NULL, NULL);
    hint_server_set(server, "202", HINT_RINGING, "201", "Alice");
    wait_hint_lines(h, "busy", "ringing");
    hint_server_set(server, "201", HINT_IDLE, NULL, NULL);
    hint_server_set(server, "202", HINT_IDLE, NULL, NULL);
    wait_hint_lines(h, "idle", "idle");
    /* 202 calls 201, answered */
    hint_server_set(server, "202", HINT_INUSE, NULL, NULL);
    hint_server_set(server, "201", HINT_RINGING, "202", "Bob");
    wait_hint_lines(h, "ringing", "busy");
    hint_server_set(server, "201", HINT_INUSE, NULL, NULL);
    wait_hint_lines(h, "busy", "busy");
    assert_no_calls(h);
    hint_server_set(server, "201", HINT_IDLE, NULL, NULL);
    hint_server_set(server, "202", HINT_IDLE, NULL, NULL);
    wait_hint_lines(h, "idle", "idle");

    /* The journal keeps its rows in order: when the dial's row is there and
     * is the only one, the calls above made none. */
    json_node_free(e2e_ctl(h, "dial", "201", "202", NULL));
    sip_wait_journal(h, "SELECT count(*) FROM conversation", "1\n");
    char *rows = e2e_journal_sql(h, "SELECT outcome, answer_ms FROM conversation");
    char *want = g_strdup_printf("%d|0\n", UCD_OUTCOME_FAILED);
    g_assert_cmpstr(rows, ==, want);
    g_free(want);
    g_free(rows);
    rows = e2e_journal_sql(h, "SELECT line, user_id FROM participant");
    g_assert_cmpstr(rows, ==, "201|file:alice\n");
    g_free(rows);
    g_assert_cmpuint(hint_server_refers(server), ==, 1);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    hint_server_free(server);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sip/two-instances", test_two_instances);
    g_test_add_func("/sip/server-restart", test_server_restart);
    g_test_add_func("/sip/asterisk-hints", test_asterisk_hints);
    return g_test_run();
}
