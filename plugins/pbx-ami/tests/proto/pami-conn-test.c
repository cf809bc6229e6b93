/*
 * pami-conn-test.c - the AMI session against the replay peer, in process
 * (suite pbx-ami): the whole real capture through login, filters, actions, a
 * list, an async Originate and its OriginateResponse; a refused login (the
 * secret in no log line), a banner that is not AMI, a peer that stalls
 * mid-action (timeout -> DOWN -> reconnect -> UP), a peer that closes
 * mid-message, the Ping keepalive, and TLS with a certificate made here.
 */
#include "ami-conn.h"
#include "ami-replay.h"
#include "ami-script.h"

#include <glib/gstdio.h>
#include <string.h>

#define SECRET    "ucdsecret"
#define SAFETY_MS 15000 /* a hung test fails instead of hanging; no timing is asserted */

#define SCRIPT_LOGIN                                                                               \
    "<<< BANNER Asterisk Call Manager/11.0.0\n\n>>> SENT\nAction: Login\nActionID: 1\n"            \
    "Username: ucd\n\nResponse: Success\nActionID: 1\nMessage: Authentication accepted\n\n"        \
    "Event: FullyBooted\nStatus: Fully Booted\n\n"

typedef struct fixture {
    GMainContext *context;
    ami_replay *replay;
    pami_conn *conn;
    pami_conn_config config;
    guint ups, downs;
    char *reason; /* of the last DOWN */
    char *banner; /* of the last UP */
    GPtrArray *events;
    GPtrArray *logs;
    gboolean expired;
} fixture;

typedef struct answer {
    gboolean done;
    pami_message *response;
    GPtrArray *events;
    GError *error;
} answer;

static void on_state(pami_conn_state state, const char *reason, const char *banner, void *data)
{
    fixture *f = data;
    if (state == PAMI_CONN_UP) {
        f->ups++;
        g_free(f->banner);
        f->banner = g_strdup(banner);
    } else if (state == PAMI_CONN_DOWN) {
        f->downs++;
        g_assert_nonnull(reason);
        g_free(f->reason);
        f->reason = g_strdup(reason);
    }
}

static void on_event(pami_message *event, void *data)
{
    fixture *f = data;
    g_ptr_array_add(f->events, pami_message_ref(event));
}

static void on_log(pami_log_level level, const char *text, void *data)
{
    fixture *f = data;
    g_ptr_array_add(f->logs, g_strdup_printf("%d %s", level, text));
}

static void on_answer(pami_message *response, GPtrArray *events, const GError *error, void *data)
{
    answer *a = data;
    g_assert_false(a->done);
    a->done = TRUE;
    a->response = response != NULL ? pami_message_ref(response) : NULL;
    a->events = g_ptr_array_ref(events);
    a->error = error != NULL ? g_error_copy(error) : NULL;
}

static void answer_clear(answer *a)
{
    pami_message_unref(a->response);
    g_clear_pointer(&a->events, g_ptr_array_unref);
    g_clear_error(&a->error);
    memset(a, 0, sizeof *a);
}

static gboolean on_safety(gpointer data)
{
    fixture *f = data;
    f->expired = TRUE;
    return G_SOURCE_REMOVE;
}

/* Iterates until `done(f, arg)` holds; fails after SAFETY_MS. */
static void wait_until(fixture *f, gboolean (*done)(fixture *, gconstpointer), gconstpointer arg)
{
    GSource *safety = g_timeout_source_new(SAFETY_MS);
    g_source_set_callback(safety, on_safety, f, NULL);
    g_source_attach(safety, f->context);
    while (!done(f, arg) && !f->expired) {
        g_main_context_iteration(f->context, TRUE);
    }
    g_source_destroy(safety);
    g_source_unref(safety);
    g_assert_false(f->expired);
}

static gboolean ups_reach(fixture *f, gconstpointer n)
{
    return f->ups >= GPOINTER_TO_UINT(n);
}

static gboolean downs_reach(fixture *f, gconstpointer n)
{
    return f->downs >= GPOINTER_TO_UINT(n);
}

static gboolean answered(fixture *f, gconstpointer a)
{
    (void)f;
    return ((const answer *)a)->done;
}

static gboolean events_reach(fixture *f, gconstpointer n)
{
    return f->events->len >= GPOINTER_TO_UINT(n);
}

static void fixture_init(fixture *f, const char *script, const ami_replay_options *options)
{
    memset(f, 0, sizeof *f);
    f->context = g_main_context_new();
    f->events = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    f->logs = g_ptr_array_new_with_free_func(g_free);
    GError *error = NULL;
    f->replay = ami_replay_new(script, options, f->context, &error);
    g_assert_no_error(error);
    f->config = (pami_conn_config){.host = "127.0.0.1",
                                   .port = ami_replay_port(f->replay),
                                   .tls_verify = TRUE,
                                   .username = "ucd",
                                   .secret = SECRET,
                                   .keepalive_ms = 60000,
                                   .timeout_ms = 3000,
                                   .retry_min_ms = 10,
                                   .retry_max_ms = 40};
}

static void fixture_connect(fixture *f)
{
    pami_conn_callbacks cb = {.state = on_state, .event = on_event, .log = on_log, .user_data = f};
    f->conn = pami_conn_new(&f->config, f->context, &cb);
}

static void fixture_start(fixture *f, const char *script, const ami_replay_options *options)
{
    fixture_init(f, script, options);
    fixture_connect(f);
}

/* No log line and no DOWN reason ever shows the secret. */
static void assert_secret_never_logged(const fixture *f, const char *secret)
{
    for (guint i = 0; i < f->logs->len; i++) {
        g_assert_null(strstr(g_ptr_array_index(f->logs, i), secret));
    }
    g_assert_true(f->reason == NULL || strstr(f->reason, secret) == NULL);
}

static void fixture_stop(fixture *f)
{
    assert_secret_never_logged(f, f->config.secret);
    pami_conn_free(f->conn);
    ami_replay_free(f->replay);
    while (g_main_context_iteration(f->context, FALSE)) {
    }
    g_main_context_unref(f->context);
    g_ptr_array_unref(f->events);
    g_ptr_array_unref(f->logs);
    g_free(f->reason);
    g_free(f->banner);
}

/* The action of a script block, without its ActionID (the connection sets one). */
static pami_message *action_of(const ami_step *step)
{
    pami_message *action = pami_message_new();
    g_auto(GStrv) lines = g_strsplit(step->text, "\r\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        char *colon = strchr(lines[i], ':');
        if (colon != NULL && !g_str_has_prefix(lines[i], "ActionID:")) {
            *colon = '\0';
            pami_message_add(action, lines[i], colon + (colon[1] == ' ' ? 2 : 1));
        }
    }
    return action;
}

/* Sends one action and waits for its answer. */
static void send_and_wait(fixture *f, pami_message *action, const char *final_event, answer *a)
{
    g_assert_true(pami_conn_send(f->conn, action, final_event, 0, on_answer, a));
    wait_until(f, answered, a);
}

/* The whole capture: every action after the Login, answers with their events. */
static void test_capture_session(void)
{
    g_autofree char *script = ami_script_read(AMI_DATA_DIR, "capture.txt");
    g_autoptr(GPtrArray) steps = ami_script_parse(script);
    ami_replay_options options = {.secret = SECRET};
    fixture f;
    fixture_start(&f, script, &options);
    wait_until(&f, ups_reach, GUINT_TO_POINTER(1));
    g_assert_cmpstr(f.banner, ==, "Asterisk Call Manager/11.0.0");
    guint answered_messages = 1; /* the Login's response */
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind != AMI_STEP_SENT || strstr(step->text, "Action: Login") != NULL) {
            continue;
        }
        pami_message *action = action_of(step);
        const char *name = pami_message_value_at(action, 0);
        gboolean originate = strcmp(name, "Originate") == 0;
        answer a = {0};
        send_and_wait(&f, action, originate ? "OriginateResponse" : NULL, &a);
        g_assert_no_error(a.error);
        g_assert_nonnull(a.response);
        if (originate) {
            g_assert_cmpuint(a.events->len, ==, 1);
            g_assert_cmpstr(pami_message_event(g_ptr_array_index(a.events, 0)), ==,
                            "OriginateResponse");
            g_assert_cmpstr(pami_message_get(g_ptr_array_index(a.events, 0), "Response"), ==,
                            "Success");
        }
        if (strcmp(name, "DeviceStateList") == 0) {
            g_assert_cmpuint(a.events->len, ==, 2);
            g_assert_cmpstr(pami_message_event(g_ptr_array_index(a.events, 1)), ==,
                            "DeviceStateListComplete");
        }
        answered_messages += 1 + a.events->len;
        answer_clear(&a);
        pami_message_unref(action);
    }
    guint recv = ami_script_count(steps, AMI_STEP_RECV);
    wait_until(&f, events_reach, GUINT_TO_POINTER(recv - answered_messages));
    g_assert_cmpuint(f.events->len, ==, recv - answered_messages);
    /* Events in the order Asterisk sent them. */
    pami_message *first = g_ptr_array_index(f.events, 0);
    g_assert_cmpstr(pami_message_event(first), ==, "FullyBooted");
    g_assert_cmpstr(pami_message_event(g_ptr_array_index(f.events, 1)), ==, "SuccessfulAuth");
    g_assert_cmpstr(pami_message_event(g_ptr_array_index(f.events, 2)), ==, "Newchannel");
    g_assert_cmpuint(ami_replay_mismatches(f.replay)->len, ==, 0);
    /* What went out: Login with the event classes, the two filters, unique ActionIDs. */
    pami_message *login = ami_replay_last_action(f.replay, "Login");
    g_assert_cmpstr(pami_message_get(login, "Events"), ==, "call,system,agent,user");
    g_assert_cmpstr(pami_message_get(login, "Secret"), ==, SECRET);
    GPtrArray *actions = ami_replay_actions(f.replay);
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    guint filters = 0;
    for (guint i = 0; i < actions->len; i++) {
        pami_message *m = g_ptr_array_index(actions, i);
        const char *id = pami_message_action_id(m);
        g_assert_nonnull(id);
        g_assert_false(g_hash_table_contains(ids, id));
        g_hash_table_add(ids, (gpointer)id);
        filters += g_strcmp0(pami_message_get(m, "Action"), "Filter") == 0;
    }
    g_assert_cmpuint(filters, ==, 2);
    g_assert_nonnull(ami_replay_last_action(f.replay, "Filter"));
    g_assert_cmpuint(f.downs, ==, 0);
    fixture_stop(&f);
}

/* The CoreShowChannels list of capture2.txt, after our own Login. */
static char *list_script(void)
{
    g_autofree char *capture = ami_script_read(AMI_DATA_DIR, "capture2.txt");
    g_autoptr(GPtrArray) steps = ami_script_parse(capture);
    GString *script = g_string_new(SCRIPT_LOGIN);
    gboolean in_list = FALSE;
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_SENT) {
            if (in_list) {
                break;
            }
            in_list = strstr(step->text, "Action: CoreShowChannels") != NULL;
        }
        if (in_list) {
            g_auto(GStrv) lines = g_strsplit(step->text, "\r\n", -1);
            g_autofree char *block = g_strjoinv("\n", lines);
            g_string_append_printf(script, "%s%s", step->kind == AMI_STEP_SENT ? ">>> " : "",
                                   block);
        }
    }
    return g_string_free(script, FALSE);
}

static void test_list_action(void)
{
    g_autofree char *script = list_script();
    fixture f;
    fixture_start(&f, script, NULL);
    wait_until(&f, ups_reach, GUINT_TO_POINTER(1));
    pami_message *action = pami_message_new();
    pami_message_add(action, "Action", "CoreShowChannels");
    pami_message_add(action, "ActionID", "mine"); /* replaced by the connection */
    answer a = {0};
    send_and_wait(&f, action, NULL, &a);
    g_assert_no_error(a.error);
    g_assert_cmpstr(pami_message_get(a.response, "EventList"), ==, "start");
    g_assert_cmpuint(a.events->len, ==, 5);
    for (guint i = 0; i < 4; i++) {
        g_assert_cmpstr(pami_message_event(g_ptr_array_index(a.events, i)), ==, "CoreShowChannel");
    }
    g_assert_cmpstr(pami_message_event(g_ptr_array_index(a.events, 4)), ==,
                    "CoreShowChannelsComplete");
    g_assert_cmpstr(pami_message_action_id(ami_replay_last_action(f.replay, "CoreShowChannels")),
                    !=, "mine");
    g_assert_cmpuint(ami_replay_mismatches(f.replay)->len, ==, 0);
    answer_clear(&a);
    pami_message_unref(action);
    fixture_stop(&f);
}

static void test_login_refused(void)
{
    ami_replay_options options = {.secret = "the-right-one"};
    fixture f;
    fixture_init(&f, SCRIPT_LOGIN, &options);
    f.config.secret = "wrong-secret-XYZ";
    fixture_connect(&f);
    wait_until(&f, downs_reach, GUINT_TO_POINTER(1));
    g_assert_cmpstr(f.reason, ==, "login refused: Authentication failed");
    g_assert_cmpuint(f.ups, ==, 0);
    g_assert_cmpint(pami_conn_get_state(f.conn), ==, PAMI_CONN_DOWN);
    /* It retries at the maximum backoff, and says so. */
    gboolean told = FALSE;
    for (guint i = 0; i < f.logs->len; i++) {
        told = told || strstr(g_ptr_array_index(f.logs, i), "retrying in 40 ms") != NULL;
    }
    g_assert_true(told);
    wait_until(&f, downs_reach, GUINT_TO_POINTER(2));
    g_assert_cmpuint(ami_replay_accepted(f.replay), >=, 2);
    pami_message *tried = ami_replay_last_action(f.replay, "Login");
    g_assert_cmpstr(pami_message_get(tried, "Secret"), ==, "wrong-secret-XYZ");
    fixture_stop(&f); /* asserts the secret is in no log line */
}

static void test_banner_not_ami(void)
{
    ami_replay_options options = {.banner = "HTTP/1.1 400 Bad Request"};
    fixture f;
    fixture_start(&f, SCRIPT_LOGIN, &options);
    wait_until(&f, downs_reach, GUINT_TO_POINTER(1));
    g_assert_cmpstr(f.reason, ==, "not an AMI server: HTTP/1.1 400 Bad Request");
    g_assert_cmpuint(f.ups, ==, 0);
    g_assert_null(ami_replay_last_action(f.replay, "Login")); /* no secret sent to it */
    fixture_stop(&f);
}

/* The peer stops answering: the action times out, DOWN, then UP again. */
static void test_stall_reconnect(void)
{
    fixture f;
    fixture_init(&f, SCRIPT_LOGIN, NULL);
    f.config.timeout_ms = 300;
    fixture_connect(&f);
    wait_until(&f, ups_reach, GUINT_TO_POINTER(1));
    ami_replay_stall(f.replay);
    pami_message *action = pami_message_new();
    pami_message_add(action, "Action", "CoreSettings");
    answer a = {0};
    send_and_wait(&f, action, NULL, &a);
    g_assert_error(a.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_assert_null(a.response);
    g_assert_cmpuint(f.downs, ==, 1);
    g_assert_cmpstr(f.reason, ==, "no answer to CoreSettings within 1 s");
    g_assert_false(pami_conn_send(f.conn, action, NULL, 0, on_answer, &a)); /* not UP */
    wait_until(&f, ups_reach, GUINT_TO_POINTER(2));
    g_assert_cmpuint(ami_replay_accepted(f.replay), ==, 2);
    answer_clear(&a);
    pami_message_unref(action);
    fixture_stop(&f);
}

/* The peer closes in the middle of an event: DOWN with that reason, pending
 * actions fail, UP again. */
static void test_close_mid_message(void)
{
    fixture f;
    fixture_start(&f, SCRIPT_LOGIN, NULL);
    wait_until(&f, ups_reach, GUINT_TO_POINTER(1));
    wait_until(&f, events_reach, GUINT_TO_POINTER(1)); /* FullyBooted */
    ami_replay_stall(f.replay);
    pami_message *action = pami_message_new();
    pami_message_add(action, "Action", "CoreSettings");
    answer a = {0};
    g_assert_true(pami_conn_send(f.conn, action, NULL, 0, on_answer, &a));
    const char half[] = "Event: Newstate\r\nChannel: PJSIP/ali";
    ami_replay_inject(f.replay, half, sizeof half - 1);
    /* Let the half event arrive before the close. */
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(f.context, FALSE);
    }
    ami_replay_drop(f.replay);
    wait_until(&f, answered, &a);
    g_assert_error(a.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
    g_assert_cmpstr(f.reason, ==, "connection closed by the server in the middle of a message");
    g_assert_cmpuint(f.events->len, ==, 1); /* the half event is not delivered */
    wait_until(&f, ups_reach, GUINT_TO_POINTER(2));
    answer_clear(&a);
    pami_message_unref(action);
    fixture_stop(&f);
}

static gboolean pings_reach(fixture *f, gconstpointer n)
{
    guint pings = 0;
    GPtrArray *actions = ami_replay_actions(f->replay);
    for (guint i = 0; i < actions->len; i++) {
        pings += g_strcmp0(pami_message_get(g_ptr_array_index(actions, i), "Action"), "Ping") == 0;
    }
    return pings >= GPOINTER_TO_UINT(n);
}

static void test_keepalive(void)
{
    fixture f;
    fixture_init(&f, SCRIPT_LOGIN, NULL);
    f.config.keepalive_ms = 20;
    fixture_connect(&f);
    wait_until(&f, pings_reach, GUINT_TO_POINTER(3));
    g_assert_cmpuint(f.downs, ==, 0);
    g_assert_cmpint(pami_conn_get_state(f.conn), ==, PAMI_CONN_UP);
    fixture_stop(&f);
}

/* Freeing with an action pending fails it with "freed". */
static void test_free_fails_pending(void)
{
    fixture f;
    fixture_start(&f, SCRIPT_LOGIN, NULL);
    wait_until(&f, ups_reach, GUINT_TO_POINTER(1));
    ami_replay_stall(f.replay);
    pami_message *action = pami_message_new();
    pami_message_add(action, "Action", "CoreSettings");
    answer a = {0};
    g_assert_true(pami_conn_send(f.conn, action, NULL, 0, on_answer, &a));
    pami_conn_free(f.conn);
    f.conn = NULL;
    g_assert_true(a.done);
    g_assert_error(a.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    answer_clear(&a);
    pami_message_unref(action);
    fixture_stop(&f);
}

/* ---- TLS ---- */

typedef struct tls_files {
    char *dir, *cert, *key;
} tls_files;

/* A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
static gboolean make_cert(tls_files *t)
{
    t->dir = g_dir_make_tmp("pami-tls-XXXXXX", NULL);
    t->cert = g_build_filename(t->dir, "cert.pem", NULL);
    t->key = g_build_filename(t->dir, "key.pem", NULL);
    const char *argv[] = {"openssl",  "req",           "-x509",   "-newkey",
                          "rsa:2048", "-nodes",        "-keyout", t->key,
                          "-out",     t->cert,         "-days",   "2",
                          "-subj",    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                          NULL};
    int status = -1;
    gboolean ran =
        g_spawn_sync(NULL, (char **)argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL);
    return ran && g_spawn_check_wait_status(status, NULL);
}

static void tls_files_clear(tls_files *t)
{
    g_unlink(t->cert);
    g_unlink(t->key);
    g_rmdir(t->dir);
    g_free(t->dir);
    g_free(t->cert);
    g_free(t->key);
}

/* Connects over TLS with `verify` and `ca`; returns TRUE when UP. */
static gboolean tls_session(const tls_files *t, gboolean verify, const char *ca, fixture *f)
{
    ami_replay_options options = {.tls_cert = t->cert, .tls_key = t->key};
    fixture_init(f, SCRIPT_LOGIN, &options);
    f->config.tls = TRUE;
    f->config.tls_verify = verify;
    f->config.tls_ca_file = ca;
    fixture_connect(f);
    while (f->ups == 0 && f->downs == 0) {
        g_main_context_iteration(f->context, TRUE);
    }
    return f->ups == 1;
}

static void test_tls(void)
{
    if (g_find_program_in_path("openssl") == NULL) {
        g_assert_cmpstr(g_getenv("CI"), !=, "true");
        g_test_skip("openssl not found");
        return;
    }
    tls_files t = {0};
    g_assert_true(make_cert(&t));
    fixture f;
    /* Verification on, system CAs: refused, and the reason says why. */
    g_assert_false(tls_session(&t, TRUE, NULL, &f));
    g_assert_nonnull(strstr(f.reason, "certificate"));
    g_assert_null(ami_replay_last_action(f.replay, "Login"));
    fixture_stop(&f);
    /* That certificate as the CA: accepted. */
    g_assert_true(tls_session(&t, TRUE, t.cert, &f));
    fixture_stop(&f);
    /* Verification off: accepted with a warning. */
    g_assert_true(tls_session(&t, FALSE, NULL, &f));
    gboolean warned = FALSE;
    for (guint i = 0; i < f.logs->len; i++) {
        const char *line = g_ptr_array_index(f.logs, i);
        warned = warned || (line[0] == '0' + PAMI_LOG_WARNING && strstr(line, "TLS") != NULL);
    }
    g_assert_true(warned);
    fixture_stop(&f);
    tls_files_clear(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pami-conn/capture-session", test_capture_session);
    g_test_add_func("/pami-conn/list-action", test_list_action);
    g_test_add_func("/pami-conn/login-refused", test_login_refused);
    g_test_add_func("/pami-conn/banner-not-ami", test_banner_not_ami);
    g_test_add_func("/pami-conn/stall-reconnect", test_stall_reconnect);
    g_test_add_func("/pami-conn/close-mid-message", test_close_mid_message);
    g_test_add_func("/pami-conn/keepalive", test_keepalive);
    g_test_add_func("/pami-conn/free-fails-pending", test_free_fails_pending);
    g_test_add_func("/pami-conn/tls", test_tls);
    return g_test_run();
}
