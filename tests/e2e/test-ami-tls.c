/*
 * test-ami-tls.c - pbx-ami over TLS through the real ucd: ami-replay serves
 * AMI over TLS with a self-signed certificate made here with the openssl
 * program (CN and subjectAltName 127.0.0.1). Two instances log in to it: one
 * trusts that certificate (tls_ca_file) and gets the call the script holds;
 * the other verifies against the system's store, is refused the link (lines
 * out_of_service, the certificate problem named in the log and in `ucctl
 * ami-INSTANCE status`) and ucd runs on.
 *
 * Without the openssl program the test fails under CI=true and is skipped
 * otherwise.
 */
#include <string.h>

#include "test-ami-util.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><line>bob</line></user>\n"
    "  <user id='file:carol'><login>carol</login><line>carol</line></user>\n"
    "</users>\n";

/* Makes DIR/cert.pem and DIR/key.pem for 127.0.0.1; FALSE when the openssl
 * program is missing. */
static gboolean make_certificate(const char *dir)
{
    char *openssl = g_find_program_in_path("openssl");
    if (openssl == NULL)
        return FALSE;
    char *cert = g_build_filename(dir, "cert.pem", NULL);
    char *key = g_build_filename(dir, "key.pem", NULL);
    const char *const argv[] = {openssl,
                                "req",
                                "-x509",
                                "-newkey",
                                "ec",
                                "-pkeyopt",
                                "ec_paramgen_curve:prime256v1",
                                "-nodes",
                                "-keyout",
                                key,
                                "-out",
                                cert,
                                "-days",
                                "2",
                                "-subj",
                                "/CN=127.0.0.1",
                                "-addext",
                                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                NULL};
    int status = -1;
    char *err = NULL;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                 &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("openssl req failed: %s", err);
    g_free(err);
    g_free(key);
    g_free(cert);
    g_free(openssl);
    return TRUE;
}

static void test_tls(void)
{
    char *dir = g_dir_make_tmp("ucd-ami-tls-XXXXXX", NULL);
    g_assert_nonnull(dir);
    if (!make_certificate(dir)) {
        if (g_strcmp0(g_getenv("CI"), "true") == 0)
            g_error("the openssl program is missing (CI=true: no skipping)");
        g_test_skip("no openssl program to make a certificate");
        g_free(dir);
        return;
    }
    char *cert = g_build_filename(dir, "cert.pem", NULL);
    char *key = g_build_filename(dir, "key.pem", NULL);

    const char *const lines[] = {"alice", "bob", NULL};
    char *head = ami_script_head(lines, "");
    char *call = ami_driver_data("alice-calls-bob.txt");
    char *hangup = ami_driver_data("alice-bob-hangup.txt");
    char *script = g_strconcat(head, call, hangup, NULL);
    const char *const tls_args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    ami_peer *peer = ami_peer_start(script, tls_args);
    char *modules = g_strdup_printf("[module pbx-ami:trusted]\n"
                                    "host = 127.0.0.1\nport = %s\ntls = true\n"
                                    "tls_ca_file = %s\n"
                                    "username = ucd\nsecret = e2e-secret\n"
                                    "lines = alice=PJSIP/alice;bob=PJSIP/bob\n"
                                    "[module pbx-ami:untrusted]\n"
                                    "host = 127.0.0.1\nport = %s\ntls = true\n"
                                    "username = ucd\nsecret = e2e-secret\n"
                                    "lines = carol=PJSIP/carol\n",
                                    peer->port, cert, peer->port);
    harness *h = ami_ucd_start(USERS_XML, modules);
    g_assert_true(harness_wait_state(h, "pbx-ami:trusted", "running"));
    g_assert_true(harness_wait_state(h, "pbx-ami:untrusted", "running"));

    /* verification on, the certificate trusted: the call lands */
    ami_wait_journal(h,
                     "SELECT c.driver_instance, p.line, p.user_id FROM conversation c "
                     "JOIN participant p ON p.conversation_id = c.id ORDER BY 2",
                     "pbx-ami:trusted|alice|file:alice\npbx-ami:trusted|bob|file:bob\n");
    ami_wait_status_field(h, "ami-trusted", "link", "up");
    char *server = g_strdup_printf("127.0.0.1:%s (tls)", peer->port);
    ami_wait_status_field(h, "ami-trusted", "server", server);
    g_free(server);
    e2e_wait_presence_suffix(h, "file:bob", "on_phone available");

    /* verification on, the certificate unknown: no link, the reason said */
    ami_wait_line_state(h, "pbx-ami:untrusted", "carol", "out_of_service");
    g_assert_true(harness_wait_log(h, "not signed by a trusted authority"));
    char *log = harness_log(h);
    g_assert_nonnull(strstr(log, "TLS certificate refused"));
    g_free(log);
    JsonNode *r = e2e_ctl(h, "ami-untrusted", "status", NULL, NULL);
    char *link = ami_field(r, "link");
    char *reason = ami_field(r, "last_error");
    g_assert_cmpstr(link, !=, "up");
    g_assert_nonnull(strstr(reason, "certificate"));
    g_free(reason);
    g_free(link);
    json_node_free(r);
    /* ucd runs on: the trusted link stays up, the journal took the call once */
    ami_wait_status_field(h, "ami-trusted", "link", "up");
    ami_wait_journal(h, "SELECT count(*), end_reason FROM conversation", "1|normal\n");
    ami_assert_secret_hidden(h, "e2e-secret", "ami-untrusted");

    ami_ucd_stop(h);
    ami_peer_stop(peer);
    ami_remove_dir(dir);
    g_free(modules);
    g_free(script);
    g_free(hangup);
    g_free(call);
    g_free(head);
    g_free(key);
    g_free(cert);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami/tls", test_tls);
    return g_test_run();
}
