/*
 * test-ami-bad-peer.c - pbx-ami against peers that misbehave, through the
 * real ucd: the daemon must survive each, say what went wrong, keep its
 * other instances working and keep the journal right.
 *
 * - refused: a banner that is not AMI, a Login refused for a wrong secret
 *   (that secret in no log line and no ucctl output), beside a good server;
 * - stall: the server stops answering mid-call (ami-replay --stall-after: the
 *   keepalive Ping stays unanswered), the lines go out_of_service; then a good
 *   server on the same port: the resync finds no channel, the call that was
 *   live ends link_lost in the journal, at the time the link was lost;
 * - junk: a replayed script with lines without a colon, blocks cut short, a
 *   1 MB header value and a Latin-1 caller name; another server closing the
 *   stream in the middle of a block on every connection.
 */
#include <signal.h>
#include <string.h>

#include "test-ami-util.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "  <user id='file:carol'><login>carol</login><line>carol</line></user>\n"
    "  <user id='file:dave'><login>dave</login><line>dave</line></user>\n"
    "</users>\n";

/* A [module pbx-ami:NAME] section; `extra` adds keys ("" for none). */
static char *section(const char *name, const ami_peer *peer, const char *secret, const char *lines,
                     const char *extra)
{
    return g_strdup_printf("[module pbx-ami:%s]\n"
                           "host = 127.0.0.1\nport = %s\nusername = ucd\nsecret = %s\n"
                           "lines = %s\n%s",
                           name, peer->port, secret, lines, extra);
}

/* The login and resync for `lines`, then `body`. */
static char *script_with(const char *const *lines, const char *body)
{
    char *head = ami_script_head(lines, "");
    char *script = g_strconcat(head, body, NULL);
    g_free(head);
    return script;
}

/* The whole call alice -> bob of the driver tests' data. */
static char *alice_bob_call(void)
{
    char *call = ami_driver_data("alice-calls-bob.txt");
    char *hangup = ami_driver_data("alice-bob-hangup.txt");
    char *both = g_strconcat(call, hangup, NULL);
    g_free(hangup);
    g_free(call);
    return both;
}

/* ---- not AMI, refused login --------------------------------------------------------- */

static void test_refused(void)
{
    const char *const carol[] = {"carol", NULL}, *const dave[] = {"dave", NULL};
    const char *const alice_bob[] = {"alice", "bob", NULL};
    char *call = alice_bob_call();
    char *good_script = script_with(alice_bob, call);
    char *carol_script = script_with(carol, "");
    char *dave_script = script_with(dave, "");
    const char *const http[] = {"--banner", "HTTP/1.1 400 Bad Request", NULL};
    ami_peer *good = ami_peer_start(good_script, NULL);
    ami_peer *not_ami = ami_peer_start(carol_script, http);
    ami_peer *refusing = ami_peer_start(dave_script, NULL);
    char *s1 = section("good", good, "e2e-secret", "alice=PJSIP/alice;bob=PJSIP/bob", "");
    char *s2 = section("notami", not_ami, "e2e-secret", "carol=PJSIP/carol", "");
    char *s3 = section("login", refusing, "wrong-secret-4711", "dave=PJSIP/dave", "");
    char *modules = g_strconcat(s1, s2, s3, NULL);
    harness *h = ami_ucd_start(USERS_XML, modules);

    /* a banner that is not AMI */
    ami_wait_line_state(h, "pbx-ami:notami", "carol", "out_of_service");
    g_assert_true(harness_wait_log(h, "not an AMI server"));
    JsonNode *r = e2e_ctl(h, "ami-notami", "status", NULL, NULL);
    char *reason = ami_field(r, "last_error");
    g_assert_nonnull(strstr(reason, "HTTP/1.1 400 Bad Request"));
    g_free(reason);
    json_node_free(r);
    /* a refused login: said, the secret never shown */
    ami_wait_line_state(h, "pbx-ami:login", "dave", "out_of_service");
    g_assert_true(harness_wait_log(h, "Authentication failed"));
    ami_wait_status_field(h, "ami-login", "last_error", "login refused: Authentication failed");
    /* the good server meanwhile: its call lands */
    ami_wait_journal(h,
                     "SELECT c.driver_instance, p.line FROM conversation c "
                     "JOIN participant p ON p.conversation_id = c.id ORDER BY 2",
                     "pbx-ami:good|alice\npbx-ami:good|bob\n");
    ami_wait_status_field(h, "ami-good", "link", "up");
    e2e_wait_presence_suffix(h, "file:dave", "offline");
    ami_assert_secret_hidden(h, "wrong-secret-4711", "ami-login");
    g_assert_false(ami_peer_received(refusing, "wrong-secret-4711"));
    g_assert_true(harness_wait_state(h, "pbx-ami:login", "running"));

    ami_ucd_stop(h);
    ami_peer_stop(good);
    ami_peer_stop(not_ami);
    ami_peer_stop(refusing);
    g_free(modules);
    g_free(s3);
    g_free(s2);
    g_free(s1);
    g_free(dave_script);
    g_free(carol_script);
    g_free(good_script);
    g_free(call);
}

/* ---- a server that stops answering ------------------------------------------------------ */

static void test_stall(void)
{
    const char *const alice_bob[] = {"alice", "bob", NULL};
    char *call = ami_driver_data("alice-calls-bob.txt");
    char *script = script_with(alice_bob, call);
    /* Login, the two Filter actions (VarSet, Newexten), CoreShowChannels,
     * ExtensionStateList, two DBGet per line: 9 actions answered, then
     * nothing, the keepalive Ping neither (the first one 2 s after login:
     * the resync is long done by then, under valgrind too). */
    const char *const stall[] = {"--stall-after", "9", NULL};
    ami_peer *stalling = ami_peer_start(script, stall);
    char *s = section("pbx", stalling, "e2e-secret", "alice=PJSIP/alice;bob=PJSIP/bob",
                      "keepalive = 2s\ntimeout = 3s\n");
    harness *h = ami_ucd_start(USERS_XML, s);

    char *leg = e2e_leg_on(h, "alice", "connected");
    g_assert_cmpstr(leg, ==, "pbx-1700000000.1");
    g_free(leg);
    /* From now on the peer answers no connection at all (the kernel still
     * accepts them): a reconnect must not meet the script's call again. */
    g_subprocess_send_signal(stalling->proc, SIGSTOP);
    ami_wait_line_state(h, "pbx-ami:pbx", "alice", "out_of_service");
    ami_wait_line_state(h, "pbx-ami:pbx", "bob", "out_of_service");
    /* the link was found dead before this (issue 12 item 15) */
    int64_t lost_by_ms = g_get_real_time() / 1000;
    g_assert_true(harness_wait_log(h, "down"));
    /* alice's call is still live for the model: on the phone, not offline */
    e2e_wait_presence_suffix(h, "file:alice", "on_phone");
    /* the call stays open while nobody can say how it ended */
    char *rows = e2e_journal_sql(h, "SELECT count(*) FROM conversation");
    g_assert_cmpstr(rows, ==, "0\n");
    g_free(rows);

    /* a good server again, on the same port: no channel there any more */
    char *port = g_strdup(stalling->port);
    g_subprocess_force_exit(stalling->proc);
    ami_peer_stop(stalling);
    char *empty = script_with(alice_bob, "");
    const char *const same_port[] = {"--port", port, NULL};
    ami_peer *good = ami_peer_start(empty, same_port);
    ami_wait_journal(h,
                     "SELECT c.end_reason, p.line, p.user_id FROM conversation c "
                     "JOIN participant p ON p.conversation_id = c.id ORDER BY 2",
                     "link_lost|alice|file:alice\nlink_lost|bob|file:bob\n");
    /* the call ended when the link was lost, not at the resync: the outage
     * is no talk time */
    char *sql =
        g_strdup_printf("SELECT end_ms <= %" G_GINT64_FORMAT " FROM conversation", lost_by_ms);
    rows = e2e_journal_sql(h, sql);
    g_assert_cmpstr(rows, ==, "1\n");
    g_free(rows);
    g_free(sql);
    ami_wait_line_state(h, "pbx-ami:pbx", "alice", "idle");
    ami_wait_line_state(h, "pbx-ami:pbx", "bob", "idle");
    ami_wait_status_field(h, "ami-pbx", "resynced", "yes");
    /* (offline in between when the legs end before the lines come back) */
    e2e_wait_presence_suffix(h, "file:alice", " available");
    g_assert_true(ami_peer_received(good, "Action: CoreShowChannels"));

    ami_ucd_stop(h);
    ami_peer_stop(good);
    g_free(empty);
    g_free(port);
    g_free(s);
    g_free(script);
    g_free(call);
}

/* ---- junk in the stream ----------------------------------------------------------------- */

/* Blocks no Asterisk sends, then a call from outside ringing on bob, whose
 * caller name is Latin-1 ("Müller" from an old trunk), that the caller gives
 * up (as the real pjsip-cancel capture has it, shortened). */
static char *junk_script_body(void)
{
    GString *s = g_string_new(NULL);
    /* lines without a colon, a header name that is not UTF-8 */
    g_string_append(s, "Event: Newstate\nChannel: PJSIP/bob-0000\nno colon here\n"
                       "N\xe4me: x\n\n");
    /* blocks cut short: a Newchannel without Uniqueid, a Hangup of nothing */
    g_string_append(s, "Event: Newchannel\nChannel: PJSIP/bob-00000007\n\n"
                       "Event: Hangup\nChannel: PJSIP/bob-000\n\n"
                       "Event: DialBegin\n\n");
    /* a 1 MB header value */
    g_string_append(s, "Event: UserEvent\nUserEvent: big\nBody: ");
    for (int i = 0; i < 1024 * 1024; i++)
        g_string_append_c(s, 'x');
    g_string_append(s, "\n\n");
    /* the call: a trunk channel dials bob, who rings; the caller gives up */
    const char *const blocks[] = {
        "Event: Newchannel\nChannel: PJSIP/trunk-00000008\nChannelState: 4\n"
        "ChannelStateDesc: Ring\nCallerIDNum: 0891234567\nCallerIDName: M\xfcller\n"
        "Exten: bob\nUniqueid: 1700000001.8\nLinkedid: 1700000001.8\n",
        "Event: Newchannel\nChannel: PJSIP/bob-00000009\nChannelState: 0\n"
        "ChannelStateDesc: Down\nCallerIDNum: bob\nConnectedLineNum: 0891234567\n"
        "ConnectedLineName: M\xfcller\nUniqueid: 1700000001.9\nLinkedid: 1700000001.8\n",
        "Event: DialBegin\nChannel: PJSIP/trunk-00000008\nCallerIDName: M\xfcller\n"
        "Uniqueid: 1700000001.8\nLinkedid: 1700000001.8\nDestChannel: PJSIP/bob-00000009\n"
        "DestUniqueid: 1700000001.9\nDestLinkedid: 1700000001.8\nDialString: bob\n",
        "Event: Newstate\nChannel: PJSIP/bob-00000009\nChannelState: 5\n"
        "ChannelStateDesc: Ringing\nConnectedLineName: M\xfcller\n"
        "Uniqueid: 1700000001.9\nLinkedid: 1700000001.8\n",
        "Event: DialEnd\nChannel: PJSIP/trunk-00000008\nUniqueid: 1700000001.8\n"
        "Linkedid: 1700000001.8\nDestChannel: PJSIP/bob-00000009\n"
        "DestUniqueid: 1700000001.9\nDialStatus: CANCEL\n",
        "Event: Hangup\nChannel: PJSIP/bob-00000009\nChannelState: 5\n"
        "Uniqueid: 1700000001.9\nLinkedid: 1700000001.8\nCause: 16\n",
        "Event: Hangup\nChannel: PJSIP/trunk-00000008\nChannelState: 4\n"
        "Uniqueid: 1700000001.8\nLinkedid: 1700000001.8\nCause: 16\n",
    };
    for (guint i = 0; i < G_N_ELEMENTS(blocks); i++)
        g_string_append_printf(s, "%s\n", blocks[i]);
    return g_string_free(s, FALSE);
}

static void test_junk(void)
{
    const char *const bob[] = {"bob", NULL}, *const carol[] = {"carol", NULL};
    char *body = junk_script_body();
    char *junk_script = script_with(bob, body);
    /* Login, CoreShowChannels (2 blocks), ExtensionStateList (2), DBGet x2:
     * 7 blocks, then half of the Newchannel and the stream ends. */
    char *cut_script = script_with(carol, "Event: Newchannel\nChannel: PJSIP/carol-00000001\n"
                                          "ChannelState: 4\nChannelStateDesc: Ring\n"
                                          "Uniqueid: 1700000002.1\nLinkedid: 1700000002.1\n\n");
    const char *const cut_args[] = {"--close-after", "7", NULL};
    ami_peer *junk = ami_peer_start(junk_script, NULL);
    ami_peer *cut = ami_peer_start(cut_script, cut_args);
    char *s1 = section("junk", junk, "e2e-secret", "bob=PJSIP/bob", "");
    char *s2 = section("cut", cut, "e2e-secret", "carol=PJSIP/carol", "");
    char *modules = g_strconcat(s1, s2, NULL);
    harness *h = ami_ucd_start(USERS_XML, modules);

    /* the call after the junk: one row, its name valid UTF-8 */
    ami_wait_journal(h, "SELECT count(*) FROM conversation", "1\n");
    char *names = e2e_journal_sql(h, "SELECT source_name, source_number, destination_name, "
                                     "driver_instance, end_reason, outcome FROM conversation");
    g_assert_true(g_utf8_validate(names, -1, NULL));
    g_assert_cmpstr(names, ==, "M\xc3\xbcller|0891234567|Bob|pbx-ami:junk|no_answer|1\n");
    g_free(names);
    ami_wait_line_state(h, "pbx-ami:junk", "bob", "idle");
    ami_wait_status_field(h, "ami-junk", "link", "up");
    e2e_wait_presence_suffix(h, "file:bob", "ringing available");
    /* the stream cut in a block: the link is down, ucd goes on */
    char *down = g_strdup_printf("link to 127.0.0.1:%s down", cut->port);
    g_assert_true(harness_wait_log(h, down));
    g_free(down);
    ami_wait_line_state(h, "pbx-ami:cut", "carol", "out_of_service");
    ami_wait_status_field(h, "ami-junk", "link", "up");

    ami_ucd_stop(h);
    ami_peer_stop(junk);
    ami_peer_stop(cut);
    g_free(modules);
    g_free(s2);
    g_free(s1);
    g_free(cut_script);
    g_free(junk_script);
    g_free(body);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami/bad-peer/refused", test_refused);
    g_test_add_func("/ami/bad-peer/stall", test_stall);
    g_test_add_func("/ami/bad-peer/junk", test_junk);
    return g_test_run();
}
