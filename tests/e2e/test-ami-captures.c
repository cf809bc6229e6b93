/*
 * test-ami-captures.c - the real AMI captures (plugins/pbx-ami/tests/captures:
 * capture*.txt from Asterisk 22 with Local channels, pjsip-*.txt from a
 * hand-built Asterisk with real PJSIP phones) replayed through the real ucd,
 * all at once: one pbx-ami instance and one ami-replay per capture, the
 * capture's devices mapped to lines owned by users.
 *
 * Each script is the login and resync the driver makes, then the events the
 * capture holds that Asterisk sent on its own (the answers to the capture's
 * own actions left out: the driver did not send them). A capture that meets
 * its calls through CoreShowChannels first (a login during a call) has that
 * list as the resync answer. The journal must get one row per conversation
 * the capture holds, with its participants and outcome; presence returns to
 * available. Captures recorded later than this test's table are replayed too
 * and checked for what holds for any capture: at least one row, every
 * participant on a mapped line, no live leg left, presence available.
 */
#include <string.h>

#include "ami-script.h"
#include "test-ami-util.h"

static const char *const USERS_XML =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<users xmlns='urn:ucd:users:1'>\n"
    "  <user id='file:alice'><login>alice</login><displayName>Alice</displayName>"
    "<line>alice</line></user>\n"
    "  <user id='file:bob'><login>bob</login><displayName>Bob</displayName>"
    "<line>bob</line></user>\n"
    "  <user id='file:carol'><login>carol</login><displayName>Carol</displayName>"
    "<line>carol</line></user>\n"
    "  <user id='file:u100'><login>u100</login><line>100</line></user>\n"
    "  <user id='file:u200'><login>u200</login><line>200</line></user>\n"
    "  <user id='file:u400'><login>u400</login><line>400</line></user>\n"
    "  <user id='file:u500'><login>u500</login><line>500</line></user>\n"
    "</users>\n";

/* The devices a capture may use and the line (and user) each is. */
static const char *const DEVICES[][3] = {
    {"PJSIP/alice", "alice", "file:alice"}, {"PJSIP/bob", "bob", "file:bob"},
    {"PJSIP/carol", "carol", "file:carol"}, {"Local/100@test", "100", "file:u100"},
    {"Local/200@test", "200", "file:u200"}, {"Local/400@test", "400", "file:u400"},
    {"Local/500@test", "500", "file:u500"},
};

/* What the journal must hold for a capture: per conversation (sorted as
 * text: the replay's events come within the same milliseconds), "participant lines in
 * order|requested number|outcome|end_reason". Outcome: 0 answered, 1 no answer, 2 busy, 3 failed.
 * Every capture is checked strictly: no known-bug allowance. */
typedef struct capture_case {
    const char *file;
    const char *rows;
} capture_case;

static const capture_case CASES[] = {
    /* Local/200@test originated by another AMI client to exten 100, dialling
     * Local/100@test: four Local legs (both halves of each), one Linkedid:
     * ONE row. Requested 100, as Asterisk's CDR dst (the originated channel's
     * record, whose exten is where the Originate sent it): the Originate's
     * channel shows Exten 100 once answered (here first on its Hangup: the
     * driver filters Newexten), and the other Local/200 half, the row's first
     * leg, takes it (issue 12 item 17; it said 5551000, the Originate's
     * CallerID) */
    {"capture.txt", "200,100,100,200|100|0|normal\n"},
    {"capture_filtered.txt", "200,100,100,200|100|0|normal\n"},
    /* Local/500 -> Local/400 met through CoreShowChannels, then hung up */
    {"capture2.txt", "400,400,500,500|400|0|normal\n"},
    {"pjsip-actions.txt", "alice,bob|202|0|normal\n"},
    /* the requested number is what alice dialled, 202, as the CDR's dst, also
     * after bob transferred her to carol (issue 12 item 17: it said 203) */
    {"pjsip-attended-transfer.txt", "alice,bob,carol|202|0|normal\n"},
    {"pjsip-basic-2.txt", "alice,bob|202|0|normal\n"},
    {"pjsip-basic.txt", "alice,bob|202|0|normal\n"},
    {"pjsip-blind-transfer-ami.txt", "alice,bob,carol|202|0|normal\n"},
    {"pjsip-blind-transfer.txt", "alice,bob,carol|202|0|normal\n"},
    {"pjsip-busy.txt", "alice,bob|202|2|busy\n"},
    /* alice gives up while bob rings: bob missed it. Her leg ends normal
     * (Asterisk's normal clearing), bob's no_answer; the callee's cause
     * decides, whichever leg's Hangup comes last */
    {"pjsip-cancel.txt", "alice,bob|202|1|no_answer\n"},
    /* bob on DND: busy; then forwarded to carol, who answers; 202 both times */
    {"pjsip-dnd-cf.txt", "alice|202|2|busy\nalice,carol|202|0|normal\n"},
    {"pjsip-filtered-events.txt", "alice,bob|202|0|normal\n"},
    {"pjsip-filtered.txt", "alice,bob|202|0|normal\n"},
    {"pjsip-hold.txt", "alice,bob|202|0|normal\n"},
    {"pjsip-noanswer.txt", "alice,bob|202|1|no_answer\n"},
    /* click-to-dial alice -> 202 (bob): 202 from alice's channel once the
     * Originate answered (its DialBegin of bob has Exten 202); carol rejects
     * (her phone's 486, which Asterisk reports as cause 17 "User busy": busy);
     * carol does not answer (the originates to PJSIP/nobody make no channel
     * on a line). carol's Originates asked for 201, but her channel never
     * answered, so Asterisk never moved it there: every event about it says
     * Exten "s" (Newchannel, DialBegin/DialState/DialEnd DestExten, Newstate,
     * Hangup), and Asterisk's CDR dst for it is "s" too, no number. Only the
     * OriginateResponse names 201, and Asterisk sends it to every session
     * (manager_event) but with Channel: PJSIP/carol and Uniqueid: <unknown>,
     * naming no channel; this replay leaves it out (the recording client's
     * ActionID). So no requested number (NULL). The driver's own
     * click-to-dial knows it (/pami-model/originate-rings-first). */
    {"pjsip-originate.txt", "alice,bob|202|0|normal\ncarol|NULL|1|no_answer\ncarol|NULL|2|busy\n"},
    /* alice calls bob, carol picks it up with *8: one conversation (her call
     * to the pickup code is no row of its own); requested 202, not 203 */
    {"pjsip-pickup.txt", "alice,bob,carol|202|0|normal\n"},
    /* alice calls queue 700, both agents ring, carol answers */
    {"pjsip-queue.txt", "alice,carol,bob|700|0|normal\n"},
    {"pjsip-resync.txt", "alice,bob|202|0|normal\n"},
    /* Asterisk stops during the call: it hangs the channels up first */
    {"pjsip-shutdown.txt", "alice,bob|202|0|normal\n"},
};

/* One capture being replayed. */
typedef struct replayed {
    char *file;     /* file name in the captures folder */
    char *instance; /* pbx-ami instance: the file name without .txt, [a-z0-9-] */
    char *lines;    /* the `lines` key */
    GPtrArray *users;
    const capture_case *known; /* NULL for a capture newer than CASES */
    ami_peer *peer;
} replayed;

static const capture_case *known_case(const char *file)
{
    for (guint i = 0; i < G_N_ELEMENTS(CASES); i++)
        if (strcmp(CASES[i].file, file) == 0)
            return &CASES[i];
    return NULL;
}

/* A block of the capture in script form: CRLF lines back to LF ones. */
static void append_block(GString *out, const char *wire)
{
    char **lines = g_strsplit(wire, "\r\n", -1);
    char *joined = g_strjoinv("\n", lines);
    g_string_append(out, joined); /* ends with "\n\n": the block's empty line */
    g_free(joined);
    g_strfreev(lines);
}

/* The capture's CoreShowChannel items when they come before any Newchannel
 * (the capture logged in during a call), with the ActionID of the driver's
 * CoreShowChannels in the script head (2). */
static char *resync_channels(const GPtrArray *steps)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind != AMI_STEP_RECV)
            continue;
        if (g_str_has_prefix(step->text, "Event: Newchannel\r\n"))
            break;
        if (g_str_has_prefix(step->text, "Event: CoreShowChannel\r\n")) {
            GString *block = g_string_new(NULL);
            append_block(block, step->text);
            GRegex *id = g_regex_new("^ActionID: .*$", G_REGEX_MULTILINE, 0, NULL);
            char *renumbered =
                g_regex_replace_literal(id, block->str, -1, 0, "ActionID: 2", 0, NULL);
            g_string_append(out, renumbered);
            g_free(renumbered);
            g_regex_unref(id);
            g_string_free(block, TRUE);
        }
    }
    return g_string_free(out, FALSE);
}

/* The events Asterisk sent on its own: no answer to an action (no ActionID). */
static char *unsolicited_events(const GPtrArray *steps)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_RECV && g_str_has_prefix(step->text, "Event:") &&
            strstr(step->text, "\r\nActionID:") == NULL)
            append_block(out, step->text);
    }
    return g_string_free(out, FALSE);
}

/* Which of DEVICES the capture's channels are on: "line=device;..." and
 * their lines and users; "" when none (a capture without calls). */
static char *mapped_lines(const char *text, GPtrArray *line_names, GPtrArray *users)
{
    GString *lines = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(DEVICES); i++) {
        char *channel = g_strdup_printf("Channel: %s-", DEVICES[i][0]);
        if (strstr(text, channel) != NULL) {
            g_string_append_printf(lines, "%s%s=%s", lines->len ? ";" : "", DEVICES[i][1],
                                   DEVICES[i][0]);
            g_ptr_array_add(line_names, (gpointer)DEVICES[i][1]);
            g_ptr_array_add(users, (gpointer)DEVICES[i][2]);
        }
        g_free(channel);
    }
    return g_string_free(lines, FALSE);
}

/* Prepares and starts the replay of one capture; NULL for a capture with no
 * channel on a known device (no call to replay). */
static replayed *replay_capture(const char *dir, const char *file)
{
    char *path = g_build_filename(dir, file, NULL);
    char *text = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    GPtrArray *line_names = g_ptr_array_new();
    GPtrArray *users = g_ptr_array_new();
    char *lines = mapped_lines(text, line_names, users);
    if (*lines == '\0') {
        g_free(lines);
        g_ptr_array_unref(users);
        g_ptr_array_unref(line_names);
        g_free(text);
        g_free(path);
        return NULL;
    }
    GPtrArray *steps = ami_script_parse(text);
    char *channels = resync_channels(steps);
    char *events = unsolicited_events(steps);
    g_ptr_array_add(line_names, NULL);
    char *head = ami_script_head((const char *const *)line_names->pdata, channels);
    char *script = g_strconcat(head, events, NULL);

    replayed *r = g_new0(replayed, 1);
    r->file = g_strdup(file);
    r->instance = g_ascii_strdown(file, strlen(file) - strlen(".txt"));
    g_strcanon(r->instance, "abcdefghijklmnopqrstuvwxyz0123456789-", '-');
    r->lines = lines;
    r->users = users;
    r->known = known_case(file);
    r->peer = ami_peer_start(script, NULL);
    g_free(script);
    g_free(head);
    g_free(events);
    g_free(channels);
    g_ptr_array_unref(steps);
    g_ptr_array_unref(line_names);
    g_free(text);
    g_free(path);
    return r;
}

static void replayed_free(replayed *r)
{
    ami_peer_stop(r->peer);
    g_ptr_array_unref(r->users);
    g_free(r->lines);
    g_free(r->instance);
    g_free(r->file);
    g_free(r);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every capture*.txt and pjsip-*.txt there is now, sorted. */
static GPtrArray *capture_files(const char *dir)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    for (const char *name; (name = g_dir_read_name(d)) != NULL;)
        if ((g_str_has_prefix(name, "capture") || g_str_has_prefix(name, "pjsip-")) &&
            g_str_has_suffix(name, ".txt"))
            g_ptr_array_add(files, g_strdup(name));
    g_dir_close(d);
    g_ptr_array_sort(files, by_name);
    return files;
}

/* Per conversation of `instance`, sorted as text: its participants' lines in
 * order, outcome, end reason. */
static char *conversations_sql(const char *instance)
{
    return g_strdup_printf(
        "SELECT (SELECT group_concat(line) FROM (SELECT line FROM participant p "
        "WHERE p.conversation_id = c.id ORDER BY seq)), requested_number, "
        "outcome, end_reason "
        "FROM conversation c WHERE driver_instance = 'pbx-ami:%s' ORDER BY 1, 2, 3",
        instance);
}

/* The checks for a capture this test knows: exactly its rows, still so once
 * the capture's last leg ended (no extra row came later). */
static void check_known(harness *h, const replayed *r)
{
    char *sql = conversations_sql(r->instance);
    char *got = NULL;
    for (int i = 0; i < 1500; i++) {
        g_free(got);
        got = e2e_journal_sql(h, sql);
        if (g_strcmp0(got, r->known->rows) == 0)
            break;
        g_usleep(20000);
    }
    g_assert_cmpstr(got, ==, r->known->rows);
    char *command = g_strconcat("ami-", r->instance, NULL);
    ami_wait_status_field(h, command, "legs", "0");
    g_free(got);
    got = e2e_journal_sql(h, sql);
    g_assert_cmpstr(got, ==, r->known->rows);
    g_free(command);
    g_free(got);
    g_free(sql);
}

/* The checks any capture must pass: rows (after the capture's last event
 * made its last leg end), participants on mapped lines only. */
static void check_unknown(harness *h, const replayed *r)
{
    char *command = g_strconcat("ami-", r->instance, NULL);
    char *count_sql = g_strdup_printf(
        "SELECT count(*) > 0 FROM conversation WHERE driver_instance = 'pbx-ami:%s'", r->instance);
    ami_wait_journal(h, count_sql, "1\n");
    ami_wait_status_field(h, command, "legs", "0");
    char *sql = conversations_sql(r->instance);
    char *rows = e2e_journal_sql(h, sql);
    g_test_message("%s (no expectation in CASES): %s", r->file, rows);
    char **row = g_strsplit(rows, "\n", -1);
    for (char **w = row; *w != NULL && **w != '\0'; w++) {
        /* the last field is end_reason, a cause's word; a word before it is a line */
        char *reason = strrchr(*w, '|');
        g_assert_nonnull(reason);
        *reason++ = '\0';
        g_assert_cmpuint(strspn(reason, "abcdefghijklmnopqrstuvwxyz_"), ==, strlen(reason));
        g_assert_cmpuint(strlen(reason), >, 0);
        char **fields = g_strsplit_set(*w, ",|", -1);
        for (char **l = fields; *l != NULL; l++)
            if (g_ascii_isalpha(**l))
                g_assert_nonnull(strstr(r->lines, *l));
        g_strfreev(fields);
    }
    g_strfreev(row);
    g_free(rows);
    g_free(sql);
    g_free(count_sql);
    g_free(command);
}

static void test_captures(void)
{
    const char *dir = harness_env("AMI_CAPTURES");
    GPtrArray *files = capture_files(dir);
    GPtrArray *runs = g_ptr_array_new_with_free_func((GDestroyNotify)replayed_free);
    GString *modules = g_string_new(NULL);
    for (guint i = 0; i < files->len; i++) {
        replayed *r = replay_capture(dir, g_ptr_array_index(files, i));
        if (r == NULL)
            continue;
        g_ptr_array_add(runs, r);
        g_string_append_printf(modules,
                               "[module pbx-ami:%s]\nhost = 127.0.0.1\nport = %s\n"
                               "username = ucd\nsecret = e2e-secret\nlines = %s\n",
                               r->instance, r->peer->port, r->lines);
    }
    /* every capture of the table is there and has calls */
    for (guint i = 0; i < G_N_ELEMENTS(CASES); i++) {
        gboolean found = FALSE;
        for (guint j = 0; j < runs->len; j++)
            found |= ((replayed *)g_ptr_array_index(runs, j))->known == &CASES[i];
        if (!found)
            g_error("capture %s is missing or has no call", CASES[i].file);
    }
    harness *h = ami_ucd_start(USERS_XML, modules->str);

    for (guint i = 0; i < runs->len; i++) {
        replayed *r = g_ptr_array_index(runs, i);
        if (r->known != NULL)
            check_known(h, r);
        else
            check_unknown(h, r);
    }
    /* presence back to available for every user a capture rang or busied */
    for (guint i = 0; i < runs->len; i++) {
        replayed *r = g_ptr_array_index(runs, i);
        for (guint j = 0; j < r->users->len; j++)
            e2e_wait_presence_suffix(h, g_ptr_array_index(r->users, j), " available");
    }
    char *seen = e2e_presence_seen(h, "file:bob");
    g_assert_nonnull(strstr(seen, "ringing"));
    g_assert_nonnull(strstr(seen, "on_phone"));
    g_free(seen);

    ami_ucd_stop(h);
    g_string_free(modules, TRUE);
    g_ptr_array_unref(runs);
    g_ptr_array_unref(files);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ami/captures", test_captures);
    return g_test_run();
}
