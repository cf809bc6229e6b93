/*
 * e2e-util.c - see e2e-util.h. Polls are 1500 x 20 ms: generous for a loaded
 * two-core machine and a daemon under valgrind.
 */
#include "e2e-util.h"

#include <string.h>

#include <sqlite3.h>

#define POLLS   1500 /* 30 s: generous for loaded CI machines and valgrind runs */
#define POLL_US 20000

JsonNode *e2e_ctl(harness *h, const char *a0, const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = {a0, a1, a2, a3, NULL};
    return harness_ok(h, argv);
}

int e2e_column(JsonObject *o, const char *name)
{
    JsonArray *cols = json_object_get_array_member(o, "columns");
    for (guint i = 0; i < json_array_get_length(cols); i++)
        if (strcmp(json_array_get_string_element(cols, i), name) == 0)
            return (int)i;
    g_error("no column %s", name);
}

char *e2e_leg_on(harness *h, const char *line, const char *state)
{
    for (int i = 0; i < POLLS; i++) {
        JsonNode *r = e2e_ctl(h, "calls", NULL, NULL, NULL);
        JsonObject *o = json_node_get_object(r);
        int cl = e2e_column(o, "line"), cc = e2e_column(o, "call"), cs = e2e_column(o, "state");
        JsonArray *rows = json_object_get_array_member(o, "rows");
        char *found = NULL;
        for (guint j = 0; j < json_array_get_length(rows) && !found; j++) {
            JsonArray *row = json_array_get_array_element(rows, j);
            if (strcmp(json_array_get_string_element(row, cl), line) == 0 &&
                strcmp(json_array_get_string_element(row, cs), state) == 0)
                found = g_strdup(json_array_get_string_element(row, cc));
        }
        json_node_free(r);
        if (found)
            return found;
        g_usleep(POLL_US);
    }
    g_error("no %s leg on line %s", state, line);
}

char *e2e_presence_seen(harness *h, const char *user)
{
    JsonNode *r = e2e_ctl(h, "probe", "presence", user, NULL);
    char *text = g_strdup(json_object_get_string_member(json_node_get_object(r), "text"));
    json_node_free(r);
    return text;
}

void e2e_wait_presence_suffix(harness *h, const char *user, const char *suffix)
{
    char *seen = NULL;
    for (int i = 0; i < POLLS; i++) {
        g_free(seen);
        seen = e2e_presence_seen(h, user);
        if (g_str_has_suffix(seen, suffix)) {
            g_free(seen);
            return;
        }
        g_usleep(POLL_US);
    }
    /* A wait that runs out is rare and timing-bound: show the daemon's own
     * view (live legs, the user's presence parts, the bus's subscribers and
     * what they dropped) so the failure can be read from the log alone. */
    const char *views[][3] = {{"calls", NULL, NULL}, {"presence", user, NULL}, {"bus", NULL, NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(views); i++) {
        JsonNode *r = e2e_ctl(h, views[i][0], views[i][1], views[i][2], NULL);
        char *text = json_to_string(r, FALSE);
        g_printerr("ucctl %s %s: %s\n", views[i][0], views[i][1] ? views[i][1] : "", text);
        g_free(text);
        json_node_free(r);
    }
    g_error("presence of %s: expected to end with \"%s\", got \"%s\"", user, suffix, seen);
}

char *e2e_trace_words(harness *h, const char *line, int words)
{
    JsonNode *r = e2e_ctl(h, "trace", line, "--limit", "1000");
    JsonObject *o = json_node_get_object(r);
    int ce = e2e_column(o, "event");
    JsonArray *rows = json_object_get_array_member(o, "rows");
    GString *out = g_string_new(NULL);
    for (guint j = 0; j < json_array_get_length(rows); j++) {
        const char *ev = json_array_get_string_element(json_array_get_array_element(rows, j), ce);
        char **w = g_strsplit(ev, " ", -1);
        int n = g_str_has_prefix(ev, "line ") ? 2 : words;
        for (int k = 0; k < n && w[k]; k++)
            g_string_append_printf(out, "%s%s", k ? " " : "", w[k]);
        g_string_append(out, "; ");
        g_strfreev(w);
    }
    json_node_free(r);
    return g_string_free(out, FALSE);
}

char *e2e_journal_sql(harness *h, const char *sql)
{
    char *path = g_build_filename(h->dir, "state", "journal-sqlite", "journal.sqlite", NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    GString *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 2000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        out = g_string_new(NULL);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *v = sqlite3_column_text(st, c);
                g_string_append_printf(out, "%s%s", c ? "|" : "", v ? (const char *)v : "NULL");
            }
            g_string_append(out, "\n");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    g_free(path);
    return out ? g_string_free(out, FALSE) : NULL;
}

void e2e_wait_users(harness *h, const char *users_xml)
{
    guint users = 0;
    for (const char *p = users_xml; (p = strstr(p, "<user ")) != NULL; p++)
        users++;
    char *needle = g_strdup_printf("model: %u users", users);
    if (!harness_wait_log(h, needle))
        g_error("the users never reached the model (no \"%s\" in the log)", needle);
    g_free(needle);
}

harness *e2e_ucd_start(const char *users_xml, const char *sections)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(users, users_xml, -1, NULL));
    char *body = g_strdup_printf("%s\n"
                                 "[module users-file]\n"
                                 "file = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module probe]\n"
                                 "publish_count = 1\n",
                                 sections, users);
    harness_write_config(h, body);
    g_free(body);
    g_free(users);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));
    e2e_wait_users(h, users_xml);
    return h;
}
