/*
 * ami-replay-test.c - the replay peer itself (suite pbx-ami): it replays the
 * real capture with the client's ActionIDs, answers Ping and Filter, refuses
 * a wrong secret, records and answers unexpected actions, stalls, closes
 * mid-message, takes more script and raw bytes at runtime; and the program
 * ami-replay writes its port file and serves the same.
 */
#include "ami-replay.h"
#include "ami-script.h"
#include "ami-test-client.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT_MS 5000 /* safety limit only: the tests wait for messages */

typedef struct fixture {
    GMainContext *context;
    ami_replay *replay;
    ami_test_client *client;
} fixture;

static void start(fixture *f, const char *script, const ami_replay_options *options)
{
    f->context = g_main_context_new();
    GError *error = NULL;
    f->replay = ami_replay_new(script, options, f->context, &error);
    g_assert_no_error(error);
    f->client = ami_test_client_new(f->context, ami_replay_port(f->replay));
}

static void stop(fixture *f)
{
    ami_test_client_free(f->client);
    ami_replay_free(f->replay);
    while (g_main_context_iteration(f->context, FALSE)) {
    }
    g_main_context_unref(f->context);
}

static pami_message *received(const fixture *f, guint i)
{
    return g_ptr_array_index(f->client->messages, i);
}

#define LOGIN "Action: Login\r\nActionID: L1\r\nUsername: ucd\r\nSecret: %s\r\nEvents: on\r\n\r\n"
#define SCRIPT_LOGIN                                                                               \
    "<<< BANNER Asterisk Call Manager/11.0.0\n\n>>> SENT\nAction: Login\nActionID: 1\n"            \
    "Username: ucd\nSecret: x\n\nResponse: Success\nActionID: 1\n"                                 \
    "Message: Authentication accepted\n\n"

/* Sends the client's blocks of capture.txt with ActionIDs of its own and
 * gets every block Asterisk sent, with those ActionIDs. */
static void test_replays_capture(void)
{
    g_autofree char *script = ami_script_read(AMI_DATA_DIR, "capture.txt");
    g_autoptr(GPtrArray) steps = ami_script_parse(script);
    ami_replay_options options = {.secret = "ucdsecret"};
    fixture f = {0};
    start(&f, script, &options);
    guint expected_messages = 0;
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_RECV) {
            expected_messages++;
        } else if (step->kind == AMI_STEP_SENT) {
            ami_test_client_wait(f.client, expected_messages, WAIT_MS);
            g_autofree char *id = g_strdup_printf("ActionID: client-%u", i);
            g_autofree char *script_id = NULL;
            g_auto(GStrv) lines = g_strsplit(step->text, "\r\n", -1);
            for (guint l = 0; lines[l] != NULL; l++) {
                if (g_str_has_prefix(lines[l], "ActionID: ")) {
                    g_free(lines[l]);
                    lines[l] = g_strdup(id);
                }
            }
            g_autofree char *wire = g_strjoinv("\r\n", lines);
            ami_test_client_send(f.client, wire);
        }
    }
    g_assert_cmpuint(ami_test_client_wait(f.client, expected_messages, WAIT_MS), ==,
                     expected_messages);
    g_assert_cmpstr(f.client->banner, ==, "Asterisk Call Manager/11.0.0");
    g_assert_cmpuint(ami_replay_mismatches(f.replay)->len, ==, 0);
    g_assert_cmpuint(ami_replay_actions(f.replay)->len, ==, ami_script_count(steps, AMI_STEP_SENT));
    g_assert_cmpstr(pami_message_action_id(received(&f, 0)), ==, "client-1");
    gboolean originate_seen = FALSE;
    for (guint i = 0; i < f.client->messages->len; i++) {
        pami_message *m = received(&f, i);
        const char *id = pami_message_action_id(m);
        g_assert_true(id == NULL || g_str_has_prefix(id, "client-"));
        if (g_strcmp0(pami_message_event(m), "OriginateResponse") == 0) {
            originate_seen = TRUE;
            g_assert_nonnull(id);
        }
    }
    g_assert_true(originate_seen);
    pami_message *originate = ami_replay_last_action(f.replay, "originate");
    g_assert_cmpstr(pami_message_get(originate, "Channel"), ==, "Local/200@test");
    stop(&f);
}

static void test_ping_filter_unexpected(void)
{
    fixture f = {0};
    start(&f, SCRIPT_LOGIN, NULL);
    ami_test_client_send(f.client, "Action: Ping\r\nActionID: p1\r\n\r\n"
                                   "Action: Filter\r\nActionID: f1\r\nOperation: Add\r\n"
                                   "Filter: !Event: VarSet\r\n\r\n"
                                   "Action: Hangup\r\nActionID: h1\r\nChannel: x\r\n\r\n");
    g_assert_cmpuint(ami_test_client_wait(f.client, 3, WAIT_MS), ==, 3);
    g_assert_cmpstr(pami_message_get(received(&f, 0), "Ping"), ==, "Pong");
    g_assert_cmpstr(pami_message_action_id(received(&f, 0)), ==, "p1");
    g_assert_cmpstr(pami_message_response(received(&f, 1)), ==, "Success");
    g_assert_cmpstr(pami_message_action_id(received(&f, 1)), ==, "f1");
    g_assert_cmpstr(pami_message_response(received(&f, 2)), ==, "Error");
    g_assert_cmpstr(pami_message_get(received(&f, 2), "Message"), ==, "unexpected action");
    GPtrArray *mismatches = ami_replay_mismatches(f.replay);
    g_assert_cmpuint(mismatches->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(mismatches, 0), "Hangup"));
    /* The Login is still expected and answered with its ActionID. */
    g_autofree char *login = g_strdup_printf(LOGIN, "anything");
    ami_test_client_send(f.client, login);
    g_assert_cmpuint(ami_test_client_wait(f.client, 4, WAIT_MS), ==, 4);
    g_assert_cmpstr(pami_message_action_id(received(&f, 3)), ==, "L1");
    g_assert_cmpstr(pami_message_get(received(&f, 3), "Message"), ==, "Authentication accepted");
    g_assert_cmpuint(ami_replay_actions(f.replay)->len, ==, 4);
    stop(&f);
}

static void test_strict_closes(void)
{
    ami_replay_options options = {.strict = TRUE};
    fixture f = {0};
    start(&f, SCRIPT_LOGIN, &options);
    ami_test_client_send(f.client, "Action: Logoff\r\n\r\n");
    ami_test_client_wait(f.client, 1, WAIT_MS);
    g_assert_true(f.client->closed);
    g_assert_cmpuint(f.client->messages->len, ==, 0);
    g_assert_cmpuint(ami_replay_mismatches(f.replay)->len, ==, 1);
    stop(&f);
}

static void test_wrong_secret(void)
{
    ami_replay_options options = {.secret = "right"};
    fixture f = {0};
    start(&f, SCRIPT_LOGIN, &options);
    g_autofree char *login = g_strdup_printf(LOGIN, "wrong");
    ami_test_client_send(f.client, login);
    ami_test_client_wait(f.client, 2, WAIT_MS);
    g_assert_true(f.client->closed);
    g_assert_cmpuint(f.client->messages->len, ==, 1);
    g_assert_cmpstr(pami_message_response(received(&f, 0)), ==, "Error");
    g_assert_cmpstr(pami_message_get(received(&f, 0), "Message"), ==, "Authentication failed");
    g_assert_cmpuint(ami_replay_open(f.replay), ==, 0);
    stop(&f);
}

static void test_stall_after(void)
{
    ami_replay_options options = {.stall_after = 1, .banner = "Asterisk Call Manager/2.10.6"};
    fixture f = {0};
    start(&f, SCRIPT_LOGIN, &options);
    g_autofree char *login = g_strdup_printf(LOGIN, "x");
    ami_test_client_send(f.client, login);
    g_assert_cmpuint(ami_test_client_wait(f.client, 1, WAIT_MS), ==, 1);
    g_assert_cmpstr(f.client->banner, ==, "Asterisk Call Manager/2.10.6");
    ami_test_client_send(f.client, "Action: Ping\r\nActionID: p\r\n\r\n");
    ami_test_client_idle(f.client, 200);
    g_assert_cmpuint(f.client->messages->len, ==, 1); /* no Pong */
    g_assert_false(f.client->closed);
    g_assert_cmpuint(ami_replay_actions(f.replay)->len, ==, 2); /* but recorded */
    stop(&f);
}

static void test_close_mid_message(void)
{
    ami_replay_options options = {.close_after = 1};
    fixture f = {0};
    start(&f, SCRIPT_LOGIN "Event: FullyBooted\nStatus: Fully Booted\n\n", &options);
    g_autofree char *login = g_strdup_printf(LOGIN, "x");
    ami_test_client_send(f.client, login);
    ami_test_client_wait(f.client, 2, WAIT_MS);
    g_assert_true(f.client->closed);
    g_assert_cmpuint(f.client->messages->len, ==, 1);
    g_assert_true(pami_parser_pending(f.client->parser));
    stop(&f);
}

static void test_queue_and_inject(void)
{
    fixture f = {0};
    start(&f, SCRIPT_LOGIN, NULL);
    g_autofree char *login = g_strdup_printf(LOGIN, "x");
    ami_test_client_send(f.client, login);
    g_assert_cmpuint(ami_test_client_wait(f.client, 1, WAIT_MS), ==, 1);
    ami_replay_queue(f.replay, "Event: Hold\nChannel: PJSIP/alice-1\n\n"
                               ">>> Action: Hangup\nActionID: 9\nChannel: PJSIP/alice-1\n\n"
                               "Response: Success\nActionID: 9\nMessage: Channel Hungup\n\n");
    g_assert_cmpuint(ami_test_client_wait(f.client, 2, WAIT_MS), ==, 2);
    g_assert_cmpstr(pami_message_event(received(&f, 1)), ==, "Hold");
    ami_test_client_send(f.client,
                         "Action: Hangup\r\nActionID: mine\r\nChannel: PJSIP/bob\r\n\r\n");
    g_assert_cmpuint(ami_test_client_wait(f.client, 3, WAIT_MS), ==, 3);
    g_assert_cmpstr(pami_message_get(received(&f, 2), "Message"), ==, "unexpected action");
    ami_test_client_send(f.client,
                         "Action: Hangup\r\nActionID: mine2\r\nChannel: PJSIP/alice-1\r\n\r\n");
    g_assert_cmpuint(ami_test_client_wait(f.client, 4, WAIT_MS), ==, 4);
    g_assert_cmpstr(pami_message_action_id(received(&f, 3)), ==, "mine2");
    g_assert_cmpstr(pami_message_get(received(&f, 3), "Message"), ==, "Channel Hungup");
    ami_replay_inject(f.replay, "Event: Raw\r\nX: 1\r\n\r\n", 20);
    g_assert_cmpuint(ami_test_client_wait(f.client, 5, WAIT_MS), ==, 5);
    g_assert_cmpstr(pami_message_event(received(&f, 4)), ==, "Raw");
    stop(&f);
}

/* The program: port file, script, --log-actions with the secret masked. */
static void test_program(void)
{
    g_autofree char *dir = g_dir_make_tmp("ami-replay-XXXXXX", NULL);
    g_autofree char *port_file = g_build_filename(dir, "port", NULL);
    g_autofree char *log_file = g_build_filename(dir, "actions", NULL);
    g_autofree char *script = g_build_filename(AMI_DATA_DIR, "capture.txt", NULL);
    const char *argv[] = {AMI_REPLAY_PROGRAM, "--script", script,      "--port-file",
                          port_file,          "--secret", "ucdsecret", "--log-actions",
                          log_file,           NULL};
    GPid pid;
    GError *error = NULL;
    g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
    g_assert_no_error(error);
    g_autofree char *port = NULL;
    for (int i = 0; i < 5000 && !g_file_get_contents(port_file, &port, NULL, NULL); i++) {
        g_usleep(1000);
    }
    g_assert_nonnull(port);
    GMainContext *context = g_main_context_new();
    ami_test_client *client = ami_test_client_new(context, (guint16)atoi(port));
    g_autofree char *login = g_strdup_printf(LOGIN, "ucdsecret");
    ami_test_client_send(client, login);
    g_assert_cmpuint(ami_test_client_wait(client, 3, WAIT_MS), ==, 3); /* + 2 events */
    g_assert_cmpstr(pami_message_action_id(g_ptr_array_index(client->messages, 0)), ==, "L1");
    ami_test_client_free(client);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_autofree char *logged = NULL;
    g_file_get_contents(log_file, &logged, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(logged, "Action: Login\r\n"));
    g_assert_nonnull(strstr(logged, "Secret: ***\r\n"));
    g_assert_null(strstr(logged, "ucdsecret"));
    g_main_context_unref(context);
    g_unlink(port_file);
    g_unlink(log_file);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami-replay/capture", test_replays_capture);
    g_test_add_func("/ami-replay/ping-filter-unexpected", test_ping_filter_unexpected);
    g_test_add_func("/ami-replay/strict", test_strict_closes);
    g_test_add_func("/ami-replay/wrong-secret", test_wrong_secret);
    g_test_add_func("/ami-replay/stall-after", test_stall_after);
    g_test_add_func("/ami-replay/close-mid-message", test_close_mid_message);
    g_test_add_func("/ami-replay/queue-inject", test_queue_and_inject);
    g_test_add_func("/ami-replay/program", test_program);
    return g_test_run();
}
