/*
 * contacts-sql-e2e.c - contacts-sql in the real ucd with the real contact
 * store: a SQLite file replicated at start, a caller found by any raw form
 * of a number, and a database that went away: the error names the file,
 * and the last good copy keeps answering.
 */
#include <sqlite3.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "harness.h"

#define SOURCE "contacts-sql:crm"

static void sqlite_run(const char *file, const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(file, &db), ==, SQLITE_OK);
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK)
        g_error("sqlite: %s", error);
    sqlite3_close(db);
}

/* The reply of a control command as JSON text, which must contain
 * `needle`; `ok` says whether the command must succeed. */
static void reply_has(harness *h, gboolean ok, const char *needle, const char *const *argv)
{
    JsonNode *reply = harness_request(h, argv);
    g_assert_nonnull(reply);
    char *text = json_to_string(reply, FALSE);
    JsonObject *object = json_node_get_object(reply);
    gboolean succeeded = json_object_get_boolean_member_with_default(object, "ok", FALSE);
    if (succeeded != ok || strstr(text, needle) == NULL)
        g_error("%s: expected %s with '%s' in: %s", argv[0], ok ? "success" : "failure", needle,
                text);
    g_free(text);
    json_node_free(reply);
}

static void test_sqlite_source(void)
{
    harness *h = harness_new(NULL);
    char *file = g_build_filename(h->dir, "crm.db", NULL);
    sqlite_run(file, "CREATE TABLE people (kdnr TEXT, name TEXT, firma TEXT, tel TEXT, "
                     "handy TEXT);"
                     "INSERT INTO people VALUES ('1', 'Jörg Müller', 'Müller GmbH', "
                     "'089 1234567', '+49 170 5550001'), ('2', 'Acme', 'Acme AG', "
                     "'+49 89 123456-0', NULL), (NULL, 'No key', NULL, '030 1', NULL)");
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[module " SOURCE "]\n"
                                 "database = %s\n"
                                 "query = SELECT kdnr, name, firma, tel, handy FROM people\n"
                                 "map_source_id = kdnr\n"
                                 "map_display_name = name\n"
                                 "map_company = firma\n"
                                 "map_business = tel\n"
                                 "map_mobile = handy\n"
                                 "crm_link = https://crm.example.com/k/{kdnr}\n"
                                 "switchboard = true\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-store]\n",
                                 file);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    if (!harness_wait_log(h, "source " SOURCE ": generation 1 in use: 2 contacts"))
        g_error("no replication at start; the log:\n%s", harness_log(h));
    g_assert_true(harness_wait_log(h, "query row 3: no id: column kdnr is NULL or empty"));

    const char *const lookup[] = {"directory", "lookup", "+49 89 1234567", NULL};
    reply_has(h, TRUE, "Jörg Müller", lookup);
    const char *const national[] = {"directory", "lookup", "0891234567", NULL};
    reply_has(h, TRUE, "Müller GmbH", national);
    const char *const mobile[] = {"directory", "lookup", "0170 5550001", NULL};
    reply_has(h, TRUE, "Jörg Müller", mobile);
    const char *const extension[] = {"directory", "lookup", "089 123456-77", NULL};
    reply_has(h, TRUE, "Acme", extension);
    const char *const search[] = {"directory", "search", "mül", NULL};
    reply_has(h, TRUE, "Jörg Müller", search);

    /* The file goes away: the replication fails, naming it; the copy stays. */
    char *away = g_strconcat(file, ".away", NULL);
    g_assert_cmpint(g_rename(file, away), ==, 0);
    const char *const replicate[] = {"directory", "replicate", SOURCE, NULL};
    reply_has(h, TRUE, "the last good copy stays", replicate);
    const char *const sources[] = {"directory", "sources", NULL};
    reply_has(h, TRUE, "unable to open database file", sources);
    reply_has(h, TRUE, "crm.db", sources);
    reply_has(h, TRUE, "Jörg Müller", lookup);

    /* Back, with a change: the new copy replaces the old one. */
    g_assert_cmpint(g_rename(away, file), ==, 0);
    sqlite_run(file, "UPDATE people SET name = 'Jörg Müller-Lüdenscheidt' WHERE kdnr = '1'");
    JsonNode *reply = harness_ok(h, replicate);
    g_assert_cmpstr(harness_field(reply, "result"), ==, "ok");
    g_assert_cmpstr(harness_field(reply, "contacts"), ==, "2");
    g_assert_cmpstr(harness_field(reply, "skipped"), ==, "1");
    json_node_free(reply);
    reply_has(h, TRUE, "Müller-Lüdenscheidt", lookup);

    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(away);
    g_free(body);
    g_free(file);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-sql/e2e/sqlite-source", test_sqlite_source);
    return g_test_run();
}
