/*
 * test-sip-auth.c - pbx-sip end to end with digest authentication of the
 * driver's own SIP account: Kamailio (kamailio.sh with KAMAILIO_AUTH)
 * challenges every SUBSCRIBE, INVITE and REFER the driver's user starts. With
 * the right password monitoring and click-to-dial work; with a wrong one the
 * lines are out of service, ucd keeps running and says why, and the password
 * shows in no log and no ucctl output.
 */
#include <string.h>

#include "e2e-util.h"
#include "harness.h"
#include "sip-util.h"

#define SIP_USER     "ucdwatch"
#define SIP_PASSWORD "Kx7-pw-9qZ"
#define WRONG_PW     "Wr0ng-pw-4tT"

/* ucd with pbx-sip as SIP_USER with `password` on `peer`. */
static harness *start_ucd(harness_peer *peer, const char *password)
{
    char *keys = g_strdup_printf("user = %s\npassword = %s\n", SIP_USER, password);
    char *section = sip_section("kam", peer, "alice;bob", keys);
    const char *const modules[] = {"pbx-sip:kam", NULL};
    harness *h = sip_ucd_start(SIP_USERS_ALICE_BOB, section, modules);
    g_free(section);
    g_free(keys);
    return h;
}

/* Fails the test if `secret` occurs in the file at `path`. */
static void assert_file_lacks(const char *path, const char *secret)
{
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    if (strstr(text, secret) != NULL)
        g_error("%s shows the password", path);
    g_free(text);
}

/* Runs the real `ucctl ARGS...`, fails if its output shows `secret`, and
 * returns the output (g_free it). */
static char *ucctl_without(harness *h, const char *secret, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)harness_env("UCCTL_BIN"));
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    harness_run(h, (const char *const *)argv->pdata, &out, &err);
    g_assert_nonnull(out);
    if (strstr(out, secret) != NULL || strstr(err, secret) != NULL)
        g_error("ucctl %s shows the password", args[0]);
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    return out;
}

static char *kamailio_log(harness_peer *peer)
{
    return g_build_filename(harness_peer_get(peer, "SIP_DIR"), "kamailio.log", NULL);
}

/* Neither ucd's log nor Kamailio's holds `secret`. */
static void assert_logs_lack(harness *h, harness_peer *peer, const char *secret)
{
    assert_file_lacks(h->log_path, secret);
    char *path = kamailio_log(peer);
    assert_file_lacks(path, secret);
    g_free(path);
}

/* Waits (up to 30 s) until Kamailio logged `n` challenges or refusals of
 * `method` requests from SIP_USER (kamailio.sh logs both alike). */
static void wait_kamailio_refusals(harness_peer *peer, const char *method, guint n)
{
    char *path = kamailio_log(peer);
    char *needle = g_strdup_printf("auth: %s from %s refused", method, SIP_USER);
    guint seen = 0;
    for (int i = 0; i < 1500 && seen < n; i++) {
        char *text = NULL;
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        seen = 0;
        for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
            seen++;
        g_free(text);
        if (seen < n)
            g_usleep(20000);
    }
    g_assert_cmpuint(seen, >=, n);
    g_free(needle);
    g_free(path);
}

/* Neither a log nor any ucctl view holds `secret`. */
static void assert_secret_kept(harness *h, harness_peer *peer, const char *secret)
{
    assert_logs_lack(h, peer, secret);
    const char *const views[][4] = {
        {"status", NULL},
        {"modules", NULL},
        {"lines", NULL},
        {"calls", NULL},
        {"counters", NULL},
        {"check-config", NULL},
        {"--json", "modules", NULL},
        {"caps", "alice", NULL},
        {"journal", "tail", NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(views); i++)
        g_free(ucctl_without(h, secret, views[i]));
    /* the support bundle holds the configuration (redacted) and the recent
     * log: the pbx-sip section must be in it, its password not */
    char *path = g_build_filename(h->dir, "bundle.txt", NULL);
    const char *const bundle[] = {"log", "export", path, NULL};
    g_free(ucctl_without(h, secret, bundle));
    assert_file_lacks(path, secret);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "user=" SIP_USER "\n"));
    g_assert_nonnull(strstr(text, "password=<redacted>\n"));
    g_assert_nonnull(strstr(text, "== recent log =="));
    g_free(text);
    g_free(path);
}

/* The right password: the subscriptions and the click-to-dial INVITE pass the
 * challenge, so ucd sees the lines and bob's phone rings for alice's dial. */
static void test_digest_auth(void)
{
    harness_peer *peer = sip_peer_start(SIP_USER ":" SIP_PASSWORD);
    if (!peer)
        return;
    harness *h = start_ucd(peer, SIP_PASSWORD);
    sip_wait_line_state(h, "pbx-sip:kam", "alice", "idle", 30);
    sip_wait_line_state(h, "pbx-sip:kam", "bob", "idle", 30);

    json_node_free(e2e_ctl(h, "dial", "alice", "bob", NULL));
    g_free(e2e_leg_on(h, "bob", "offering"));
    sip_phone(peer, "bob", "accept", "");
    g_free(e2e_leg_on(h, "alice", "connected"));
    sip_phone(peer, "bob", "hangup", "");
    e2e_wait_presence_suffix(h, "file:alice", "on_phone available");
    e2e_wait_presence_suffix(h, "file:bob", "on_phone available");
    sip_wait_journal(h, SIP_LINES_OF_CONVERSATIONS, "1|alice,bob\n");
    /* the challenges were real: each line's first SUBSCRIBE and the INVITE */
    wait_kamailio_refusals(peer, "SUBSCRIBE", 2);
    wait_kamailio_refusals(peer, "INVITE", 1);
    assert_secret_kept(h, peer, SIP_PASSWORD);

    g_assert_cmpint(harness_stop(h), ==, 0);
    assert_logs_lack(h, peer, SIP_PASSWORD);
    harness_free(h);
    harness_peer_stop(peer);
}

/* A wrong password: Kamailio refuses every SUBSCRIBE, the lines stay out of
 * service, dialing is refused, ucd runs on and its log names the refusal. */
static void test_digest_auth_wrong(void)
{
    harness_peer *peer = sip_peer_start(SIP_USER ":" SIP_PASSWORD);
    if (!peer)
        return;
    harness *h = start_ucd(peer, WRONG_PW);

    /* the log line of a refused subscription names the line and the code */
    g_assert_true(harness_wait_log(h, "SIP 407"));
    sip_wait_line_state(h, "pbx-sip:kam", "alice", "out_of_service", 30);
    sip_wait_line_state(h, "pbx-sip:kam", "bob", "out_of_service", 30);
    char *log = harness_log(h);
    g_assert_nonnull(strstr(log, "line alice"));
    g_assert_nonnull(strstr(log, "line bob"));
    g_free(log);
    /* the subscriber keeps trying (each try is challenged, then refused) */
    wait_kamailio_refusals(peer, "SUBSCRIBE", 6);

    json_node_free(e2e_ctl(h, "status", NULL, NULL, NULL)); /* ucd answers */
    const char *const dial[] = {"dial", "alice", "bob", NULL};
    JsonNode *r = harness_request(h, dial);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);
    char *state = sip_line_state(h, "pbx-sip:kam", "alice");
    g_assert_cmpstr(state, ==, "out_of_service");
    g_free(state);
    assert_secret_kept(h, peer, WRONG_PW);
    assert_secret_kept(h, peer, SIP_PASSWORD);

    g_assert_cmpint(harness_stop(h), ==, 0);
    assert_logs_lack(h, peer, WRONG_PW);
    harness_free(h);
    harness_peer_stop(peer);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sip/digest-auth", test_digest_auth);
    g_test_add_func("/sip/digest-auth-wrong", test_digest_auth_wrong);
    return g_test_run();
}
