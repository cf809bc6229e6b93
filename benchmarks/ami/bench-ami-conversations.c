/*
 * bench-ami-conversations.c - conversations per second through AMI -> model
 * -> journal: the real ucd with pbx-ami (lines alice and bob mapped to the
 * capture's PJSIP devices), users-file and journal-sqlite, against the
 * ami-replay program playing Asterisk's side.
 *
 * The calls are the real capture pjsip-basic.txt (Asterisk 22: alice calls
 * bob, bob answers, alice hangs up): the blocks of its "PHONE ..." sections
 * that the driver's login would get (event classes call/system/agent/user,
 * so no VarSet/Newexten/security events; no answers to actions), repeated N
 * times with each call's Uniqueids, Linkedids and channel suffixes made its
 * own. The script is written to a file and loaded by the peer before
 * anything starts. ami-replay plays the login and the driver's resync and
 * holds the calls back (--hold-section CALLS); once the driver reports the
 * resync done, the clock starts and SIGUSR1 releases the calls; the clock
 * stops when journal-sqlite's `stored` counter reaches N. Bus drops and the
 * driver's event counter are reported.
 *
 *   bench-ami-conversations [CALLS]   (default 5000; env as for the e2e tests)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami-script.h"
#include "harness.h"

static const char *const LINES[] = {"alice", "bob"};

/* ---- the script --------------------------------------------------------------------------- */

/* TRUE when a block the capture's Asterisk sent would reach the driver: an
 * event (not an answer to the capture's own actions) of a class it asks for
 * at login (its default `events`). */
static gboolean reaches_driver(const ami_step *step)
{
    if (step->kind != AMI_STEP_RECV || step->section == NULL ||
        !g_str_has_prefix(step->section, "PHONE") || strstr(step->text, "\r\nActionID:") != NULL)
        return FALSE;
    const char *privilege = strstr(step->text, "\r\nPrivilege: ");
    if (privilege == NULL)
        return FALSE;
    static const char *const classes[] = {"call,", "system,", "agent,", "user,"};
    for (gsize i = 0; i < G_N_ELEMENTS(classes); i++)
        if (g_str_has_prefix(privilege + strlen("\r\nPrivilege: "), classes[i]))
            return TRUE;
    return FALSE;
}

/* One call of the capture in capture format (blocks separated by empty lines). */
static char *call_template(const char *capture, guint *blocks)
{
    GError *error = NULL;
    GPtrArray *steps = ami_script_load(capture, &error);
    g_assert_no_error(error);
    GString *call = g_string_new(NULL);
    *blocks = 0;
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (!reaches_driver(step))
            continue;
        g_string_append(call, step->text);
        (*blocks)++;
    }
    g_ptr_array_unref(steps);
    return g_string_free(call, FALSE);
}

/* The N calls: in call i, "1795380968.8" becomes "2000000i.8" (Uniqueid and
 * Linkedid) and "PJSIP/alice-00000008" "PJSIP/alice-<i in hex>". */
static char *calls_script(const char *template, long calls)
{
    GRegex *epoch = g_regex_new("\\b1[0-9]{9}\\.(?=[0-9])", G_REGEX_OPTIMIZE, 0, NULL);
    GRegex *suffix = g_regex_new("(PJSIP/[A-Za-z0-9_]+)-[0-9a-f]{8}\\b", G_REGEX_OPTIMIZE, 0, NULL);
    GString *all = g_string_sized_new(strlen(template) * (gsize)calls + 64);
    for (long i = 0; i < calls; i++) {
        char id[32], name[40];
        g_snprintf(id, sizeof id, "2%09ld.", i);
        g_snprintf(name, sizeof name, "\\1-%08lx", (unsigned long)i);
        char *step1 = g_regex_replace_literal(epoch, template, -1, 0, id, 0, NULL);
        char *step2 = g_regex_replace(suffix, step1, -1, 0, name, 0, NULL);
        g_string_append(all, step2);
        g_free(step1);
        g_free(step2);
    }
    g_regex_unref(epoch);
    g_regex_unref(suffix);
    return g_string_free(all, FALSE);
}

/* Login and the driver's resync (no channels, no hints, no AstDB keys). */
static char *login_script(void)
{
    GString *s = g_string_new("<<< BANNER Asterisk Call Manager/11.0.0\n\n"
                              ">>> SENT\nAction: Login\nActionID: 1\nUsername: ucd\n\n"
                              "Response: Success\nActionID: 1\nMessage: Authentication accepted\n\n"
                              ">>> SENT\nAction: CoreShowChannels\nActionID: 2\n\n"
                              "Response: Success\nActionID: 2\nEventList: start\n\n"
                              "Event: CoreShowChannelsComplete\nActionID: 2\nEventList: Complete\n"
                              "ListItems: 0\n\n"
                              ">>> SENT\nAction: ExtensionStateList\nActionID: 3\n\n"
                              "Response: Success\nActionID: 3\nEventList: start\n\n"
                              "Event: ExtensionStateListComplete\nActionID: 3\n"
                              "EventList: Complete\nListItems: 0\n\n");
    int id = 4;
    for (gsize i = 0; i < G_N_ELEMENTS(LINES); i++) {
        for (const char *const *family = (const char *const[]){"DND", "CF", NULL}; *family;
             family++, id++)
            g_string_append_printf(s,
                                   ">>> SENT\nAction: DBGet\nActionID: %d\nFamily: %s\nKey: %s\n\n"
                                   "Response: Error\nActionID: %d\n"
                                   "Message: Database entry not found\n\n",
                                   id, *family, LINES[i], id);
    }
    return g_string_free(s, FALSE);
}

/* ---- the peer and the daemon -------------------------------------------------------------- */

typedef struct peer {
    GSubprocess *proc;
    char *port;
} peer;

static peer peer_start(const char *dir, const char *login, const char *calls)
{
    char *script_path = g_build_filename(dir, "script.txt", NULL);
    char *port_file = g_build_filename(dir, "port", NULL);
    char *script = g_strconcat(login, "=== CALLS ===\n", calls, NULL);
    g_assert_true(g_file_set_contents(script_path, script, -1, NULL));
    g_free(script);
    GError *error = NULL;
    peer p = {0};
    p.proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, harness_env("AMI_REPLAY_BIN"),
                              "--script", script_path, "--port-file", port_file, "--secret",
                              "bench-secret", "--hold-section", "CALLS", NULL);
    g_assert_no_error(error);
    for (int i = 0; i < 1000 && p.port == NULL; i++) {
        char *text = NULL;
        if (g_file_get_contents(port_file, &text, NULL, NULL) && *g_strstrip(text) != '\0')
            p.port = g_steal_pointer(&text);
        g_free(text);
        if (p.port == NULL)
            g_usleep(10000);
    }
    g_assert_nonnull(p.port);
    g_free(script_path);
    g_free(port_file);
    return p;
}

static harness *ucd_start(const char *port)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    GString *xml = g_string_new("<?xml version='1.0' encoding='UTF-8'?>\n"
                                "<users xmlns='urn:ucd:users:1'>\n");
    for (gsize i = 0; i < G_N_ELEMENTS(LINES); i++)
        g_string_append_printf(xml,
                               "<user id='file:%s'><login>%s</login><displayName>%s</displayName>"
                               "<line>%s</line></user>\n",
                               LINES[i], LINES[i], LINES[i], LINES[i]);
    g_string_append(xml, "</users>\n");
    g_assert_true(g_file_set_contents(users, xml->str, -1, NULL));
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[module pbx-ami:pbx]\nhost = 127.0.0.1\nport = %s\n"
                                 "username = ucd\nsecret = bench-secret\n"
                                 "lines = alice=PJSIP/alice;bob=PJSIP/bob\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module journal-sqlite]\n",
                                 port, users);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));
    g_assert_true(harness_wait_state(h, "pbx-ami:pbx", "running"));
    g_string_free(xml, TRUE);
    g_free(body);
    g_free(users);
    return h;
}

/* A "fields" answer's value (`ucctl ami-pbx status`), or NULL (g_free). */
static char *field(harness *h, const char *const *argv, const char *name)
{
    JsonNode *r = harness_ok(h, argv);
    JsonObject *o = json_node_get_object(r);
    char *value = NULL;
    JsonArray *fields =
        json_object_has_member(o, "fields") ? json_object_get_array_member(o, "fields") : NULL;
    for (guint i = 0; fields != NULL && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            value = g_strdup(json_object_get_string_member(f, "value"));
    }
    json_node_free(r);
    return value;
}

static long counter(harness *h, const char *name)
{
    const char *argv[] = {"counters", NULL};
    JsonNode *r = harness_ok(h, argv);
    const char *v = harness_cell(r, name, "value");
    long n = v ? atol(v) : -1;
    json_node_free(r);
    return n;
}

static void wait_resynced(harness *h)
{
    const char *argv[] = {"ami-pbx", "status", NULL};
    char *resynced = NULL;
    for (int i = 0; i < 2000 && g_strcmp0(resynced, "yes") != 0; i++) {
        g_free(resynced);
        g_usleep(10000);
        resynced = field(h, argv, "resynced");
    }
    g_assert_cmpstr(resynced, ==, "yes");
    g_free(resynced);
}

/* Polls `stored` until it reaches `calls` or stops moving for 10 s. */
static long wait_stored(harness *h, long calls)
{
    long stored = 0, last = -1;
    gint64 last_move = g_get_monotonic_time();
    while ((stored = counter(h, "journal-sqlite.stored")) < calls) {
        if (stored != last) {
            last = stored;
            last_move = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - last_move > 10 * G_USEC_PER_SEC) {
            break;
        }
        g_usleep(2000);
    }
    return stored;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 5000;
    if (calls < 1) {
        fprintf(stderr, "usage: bench-ami-conversations [CALLS]\n");
        return 2;
    }
    guint blocks;
    char *template = call_template(BENCH_AMI_CALL_CAPTURE, &blocks);
    char *script = calls_script(template, calls);
    char *login = login_script();
    char *dir = g_dir_make_tmp("ucd-bench-ami-XXXXXX", NULL);
    peer p = peer_start(dir, login, script);
    g_free(script);
    harness *h = ucd_start(p.port);
    wait_resynced(h);

    long events_before = counter(h, "pbx-ami:pbx.events");
    gint64 t0 = g_get_monotonic_time();
    g_subprocess_send_signal(p.proc, SIGUSR1);
    long stored = wait_stored(h, calls);
    gint64 t1 = g_get_monotonic_time();
    double secs = (t1 - t0) / 1e6;
    long events = counter(h, "pbx-ami:pbx.events") - events_before;
    const char *bus_argv[] = {"bus", NULL};
    JsonNode *bus = harness_ok(h, bus_argv);
    const char *dropped = harness_cell(bus, "core", "dropped");
    printf("ami-conversations: %ld calls of %u AMI events each (%ld events received): %ld "
           "journaled in %.2f s = %.0f conversations/s, %.0f events/s (bus drops: %s)\n",
           calls, blocks, events, stored, secs, stored / secs, events / secs,
           dropped != NULL ? dropped : "?");
    json_node_free(bus);
    int rc = 0;
    if (stored < calls) {
        printf("ami-conversations: the journal stalled at %ld of %ld conversations\n", stored,
               calls);
        rc = 1;
    }
    harness_stop(h);
    harness_free(h);
    g_subprocess_send_signal(p.proc, SIGTERM);
    g_subprocess_wait(p.proc, NULL, NULL);
    g_object_unref(p.proc);
    g_free(p.port);
    char *rm[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(dir);
    g_free(login);
    g_free(template);
    return rc;
}
