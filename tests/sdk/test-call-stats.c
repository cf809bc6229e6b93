/*
 * test-call-stats.c - issue 13's "done means": a plugin built out of tree
 * against the installed SDK (tests/sdk/call-stats, built by install-sdk.sh
 * after a --destdir install) counts calls and talk time per user through the
 * services alone, and matches the journal exactly under `sim burst`.
 *
 * The real ucd runs pbx-sim, users-file, journal-sqlite and call-stats.
 * Eleven lines: ten users, one of them with two lines (a user counts once per
 * conversation), one line without a user (its legs count for nobody).
 * After `sim burst 3000`, every conversation is both in the journal's SQLite file and
 * counted by the plugin; `ucctl call-stats` must then equal, row for row, the
 * same figures computed by SQL from the journal's participant rows.
 */
#include <stdlib.h>
#include <string.h>

#include "e2e-util.h"

#define USERS 10

/* Enough calls that every kind pbx-sim makes (transfers, pickups, forwards,
 * unanswered, busy) happens to every user many times; fewer when ucd runs
 * under valgrind (UCD_WRAPPER, ./dev's CI), which is some 50 times slower. */
static const char *burst_calls(void)
{
    const char *wrapper = g_getenv("UCD_WRAPPER");
    return wrapper != NULL && *wrapper != '\0' ? "600" : "3000";
}

/* u201 .. u210; u210 has lines 210 and 211; line 212 has no user. */
static char *users_xml(void)
{
    GString *xml = g_string_new("<?xml version='1.0' encoding='UTF-8'?>\n"
                                "<users xmlns='urn:ucd:users:1'>\n");
    for (int i = 201; i <= 210; i++)
        g_string_append_printf(xml,
                               "<user id='file:u%d'><login>u%d</login>"
                               "<displayName>User %d</displayName><line>%d</line>%s</user>\n",
                               i, i, i, i, i == 210 ? "<line>211</line>" : "");
    g_string_append(xml, "</users>\n");
    return g_string_free(xml, FALSE);
}

/* Builds tests/sdk/call-stats against a --destdir install of this build, as
 * an integrator would; returns the plugin's path. */
static char *build_call_stats(harness *h)
{
    char *work = g_build_filename(h->dir, "sdk", NULL);
    const char *argv[] = {harness_env("UCD_INSTALL_SCRIPT"),
                          "destdir",
                          harness_env("UCD_MESON"),
                          harness_env("UCD_BUILD_ROOT"),
                          work,
                          harness_env("UCD_CALL_STATS_SRC"),
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = harness_run(h, argv, &out, &err);
    if (rc != 0)
        g_error("building call-stats against the installed SDK failed (%d):\n%s\n%s", rc, out, err);
    const char *built = strstr(out, "built: call-stats ");
    g_assert_nonnull(built);
    char *path = g_strndup(built + strlen("built: call-stats "),
                           strcspn(built + strlen("built: call-stats "), "\n"));
    g_free(out);
    g_free(err);
    g_free(work);
    return path;
}

/* Field `name` of the reply to `argv` as a number, -1 without it. */
static long number_field(harness *h, const char *a0, const char *a1, const char *name)
{
    JsonNode *r = e2e_ctl(h, a0, a1, NULL, NULL);
    JsonArray *fields = json_object_get_array_member(json_node_get_object(r), "fields");
    long n = -1;
    for (guint i = 0; fields != NULL && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            n = atol(json_object_get_string_member(f, "value"));
    }
    json_node_free(r);
    return n;
}

/* A `ucctl counters` value, -1 while the counter does not exist. */
static long counter(harness *h, const char *name)
{
    JsonNode *r = e2e_ctl(h, "counters", NULL, NULL, NULL);
    const char *v = harness_cell(r, name, "value");
    long n = v ? atol(v) : -1;
    json_node_free(r);
    return n;
}

/* Polls (10 ms, up to 30 s without progress) until `get` reaches `want`. */
static void wait_for(harness *h, long (*get)(harness *, const char *), const char *what, long want)
{
    long last = -1;
    gint64 last_move = g_get_monotonic_time();
    for (;;) {
        long now = get(h, what);
        if (now == want)
            return;
        if (now != last) {
            last = now;
            last_move = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - last_move > 30 * G_USEC_PER_SEC) {
            g_error("%s stalled at %ld, expected %ld", what, now, want);
        }
        g_usleep(10000);
    }
}

/* The plugin's table as "user|calls|answered|talk_ms\n" rows, in its order
 * (by user id); also checks the names it got from the directory. */
static char *plugin_figures(harness *h)
{
    JsonNode *r = e2e_ctl(h, "call-stats", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    int c_user = e2e_column(o, "user"), c_login = e2e_column(o, "login");
    int c_name = e2e_column(o, "name"), c_calls = e2e_column(o, "calls");
    int c_answered = e2e_column(o, "answered"), c_talk = e2e_column(o, "talk_s");
    JsonArray *rows = json_object_get_array_member(o, "rows");
    GString *out = g_string_new(NULL);
    for (guint i = 0; rows != NULL && i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        const char *user = json_array_get_string_element(row, c_user);
        /* file:u201 is login u201, named "User 201" in the directory. */
        g_assert_true(g_str_has_prefix(user, "file:u"));
        g_assert_cmpstr(json_array_get_string_element(row, c_login), ==, user + strlen("file:"));
        char *name = g_strdup_printf("User %s", user + strlen("file:u"));
        g_assert_cmpstr(json_array_get_string_element(row, c_name), ==, name);
        g_free(name);
        /* talk_s is seconds with three decimals: exact milliseconds. */
        char **secs = g_strsplit(json_array_get_string_element(row, c_talk), ".", 2);
        g_assert_nonnull(secs[1]);
        g_assert_cmpuint(strlen(secs[1]), ==, 3);
        g_string_append_printf(
            out, "%s|%s|%s|%lld\n", user, json_array_get_string_element(row, c_calls),
            json_array_get_string_element(row, c_answered), atoll(secs[0]) * 1000 + atoll(secs[1]));
        g_strfreev(secs);
    }
    json_node_free(r);
    return g_string_free(out, FALSE);
}

/* The same figures from the journal's own rows. */
static char *journal_figures(harness *h)
{
    char *rows = e2e_journal_sql(
        h, "SELECT user_id, count(DISTINCT conversation_id),"
           " count(DISTINCT CASE WHEN answered_ms <> 0 THEN conversation_id END),"
           " sum(CASE WHEN answered_ms <> 0 AND left_ms > answered_ms"
           "     THEN left_ms - answered_ms ELSE 0 END)"
           " FROM participant WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY user_id");
    if (rows == NULL)
        g_error("the journal file cannot answer");
    return rows;
}

static long journal_rows(harness *h, const char *unused)
{
    char *count = e2e_journal_sql(h, "SELECT count(*) FROM conversation");
    long n = count ? atol(count) : -1;
    g_free(count);
    return n;
}

static long users_known(harness *h, const char *unused)
{
    JsonNode *r = e2e_ctl(h, "users", NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    long n = json_object_has_member(o, "rows")
                 ? (long)json_array_get_length(json_object_get_array_member(o, "rows"))
                 : 0;
    json_node_free(r);
    return n;
}

static long burst_remaining(harness *h, const char *unused)
{
    return number_field(h, "sim-office", "stats", "burst_remaining");
}

static void test_burst_matches_journal(void)
{
    harness *h = harness_new(NULL);
    char *so = build_call_stats(h);
    char *xml = users_xml();
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(users, xml, -1, NULL));
    char *body = g_strdup_printf("[location default]\ncountry_code = 49\narea_code = 89\n"
                                 "extension_lengths = 3\n"
                                 "[module pbx-sim:office]\n"
                                 "lines = 201;202;203;204;205;206;207;208;209;210;211;212\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module call-stats]\npath = %s\n",
                                 users, so);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "call-stats", "running"));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));
    wait_for(h, users_known, "users", USERS);

    json_node_free(e2e_ctl(h, "sim-office", "burst", burst_calls(), NULL));
    wait_for(h, burst_remaining, "burst_remaining", 0);
    long made = number_field(h, "sim-office", "stats", "burst_calls");
    g_assert_cmpint(made, ==, atol(burst_calls()));
    wait_for(h, counter, "journal-sqlite.stored", made);
    wait_for(h, counter, "call-stats.conversations", made);
    wait_for(h, journal_rows, "journal rows", made);

    g_assert_cmpint(number_field(h, "call-stats", NULL, "dropped"), ==, 0);
    g_assert_cmpint(number_field(h, "call-stats", NULL, "conversations"), ==, made);
    char *plugin = plugin_figures(h);
    char *journal = journal_figures(h);
    g_test_message("user|calls|answered|talk_ms from the journal:\n%s", journal);
    g_assert_cmpstr(plugin, ==, journal);
    /* Not equal by accident: every user took calls, answered some, talked. */
    char **rows = g_strsplit(journal, "\n", -1);
    g_assert_cmpuint(g_strv_length(rows), ==, USERS + 1); /* the last one is "" */
    for (int i = 0; i < USERS; i++) {
        char **f = g_strsplit(rows[i], "|", -1);
        g_assert_cmpuint(g_strv_length(f), ==, 4);
        g_assert_cmpint(atoll(f[1]), >, 0);
        g_assert_cmpint(atoll(f[2]), >, 0);
        g_assert_cmpint(atoll(f[3]), >, 0);
        g_strfreev(f);
    }
    g_strfreev(rows);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    g_free(plugin);
    g_free(journal);
    g_free(body);
    g_free(users);
    g_free(xml);
    g_free(so);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sdk/call-stats/burst-matches-journal", test_burst_matches_journal);
    return g_test_run();
}
