/*
 * test-listing.c - the real ucctl against the real daemon's paged listings
 * (issue 12 item 28): 2,500 users from users-file are more than one page
 * (1,000 rows by default), and `ucctl users` follows the reply field "next"
 * to the end, the header once, every user exactly once; `--json` is one
 * array across the pages; `--limit` gives one page and shows its cursor.
 * Also which users-file users `ucctl presence` lists by their <homeServer>.
 */
#include <string.h>

#include "harness.h"

#define USERS 2500

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        g_error("expected to find \"%s\" in:\n%.2000s", needle, haystack ? haystack : "(null)");
}

static char *write_users(harness *h)
{
    GString *xml = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<users xmlns=\"urn:ucd:users:1\">\n");
    for (int i = 0; i < USERS; i++)
        g_string_append_printf(xml,
                               "  <user id=\"file:u%04d\"><login>u%04d</login>"
                               "<displayName>User %04d</displayName></user>\n",
                               i, i, i);
    g_string_append(xml, "</users>\n");
    char *path = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(path, xml->str, -1, NULL));
    g_string_free(xml, TRUE);
    return path;
}

/* A users-file user whose <homeServer> names another server has no presence
 * here: the core compares it with [core] server_name (review of issue 12,
 * finding 3; before, only users-ldap's users homed elsewhere were left out).
 * The real daemon, users-file and ucctl. */
static void test_presence_home_server(void)
{
    harness *h = harness_new("");
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(
        users,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users xmlns=\"urn:ucd:users:1\">\n"
        "  <user id=\"file:ann\"><login>ann</login><displayName>Ann</displayName></user>\n"
        "  <user id=\"file:ben\"><login>ben</login><displayName>Ben</displayName>"
        "<homeServer>ucd-munich</homeServer></user>\n"
        "  <user id=\"file:cem\"><login>cem</login><displayName>Cem</displayName>"
        "<homeServer>ucd-berlin</homeServer></user>\n</users>\n",
        -1, NULL));
    char *body = g_strdup_printf("[module users-file]\nfile = %s\n", users);
    harness_write_config(h, body);
    harness_write_dropin(h, "10-name.conf", "[core]\nserver_name = ucd-munich\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "users-file", "running"));
    const char *all[] = {harness_env("UCCTL_BIN"), "presence", "--all", NULL};
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 200 && !(out && strstr(out, "cem")); i++) {
        g_free(out);
        g_free(err);
        out = err = NULL;
        if (harness_run(h, all, &out, &err) != 0 || !strstr(out, "cem"))
            g_usleep(100 * 1000); /* the model pulls the users after the start */
    }
    assert_contains(out, "cem");
    g_free(out);
    g_free(err);
    const char *here[] = {harness_env("UCCTL_BIN"), "presence", NULL};
    g_assert_cmpint(harness_run(h, here, &out, &err), ==, 0);
    assert_contains(out, "ann");
    assert_contains(out, "ben");
    g_assert_null(strstr(out, "cem"));
    g_free(out);
    g_free(err);
    const char *status[] = {harness_env("UCCTL_BIN"), "status", NULL};
    g_assert_cmpint(harness_run(h, status, &out, &err), ==, 0);
    assert_contains(out, "server_name: ucd-munich\n");
    g_free(out);
    g_free(err);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    g_free(body);
    g_free(users);
}

static void test_users_in_pages(void)
{
    harness *h = harness_new("");
    char *users = write_users(h);
    char *body = g_strdup_printf("[module users-file]\nfile = %s\n", users);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "users-file", "running"));
    /* the model pulls the users after the start: wait until all are there */
    const char *probe[] = {harness_env("UCCTL_BIN"), "users", "--after", "u2498", NULL};
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 200; i++) {
        g_free(out);
        g_free(err);
        if (harness_run(h, probe, &out, &err) == 0 && strstr(out, "u2499"))
            break;
        g_usleep(100 * 1000);
    }
    assert_contains(out, "u2499");
    g_free(out);
    g_free(err);

    /* the daemon alone answers one page and a cursor */
    const char *one[] = {"users", NULL};
    JsonNode *r = harness_ok(h, one);
    JsonObject *o = json_node_get_object(r);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "rows")), <, USERS);
    g_assert_true(json_object_has_member(o, "fields"));
    json_node_free(r);

    /* ucctl follows it: a header and every user once, in order */
    const char *people[] = {harness_env("UCCTL_BIN"), "users", NULL};
    g_assert_cmpint(harness_run(h, people, &out, &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    char **lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, USERS + 2); /* header, rows, empty tail */
    g_assert_true(g_str_has_prefix(lines[0], "id") || strstr(lines[0], "login"));
    for (int i = 0; i < USERS; i++) {
        char login[16];
        g_snprintf(login, sizeof login, "u%04d", i);
        if (!strstr(lines[i + 1], login))
            g_error("line %d is \"%s\", expected user %s", i + 1, lines[i + 1], login);
    }
    g_strfreev(lines);
    g_free(out);
    g_free(err);

    /* --json anywhere: one array of objects across the pages */
    const char *json[] = {harness_env("UCCTL_BIN"), "users", "--json", NULL};
    g_assert_cmpint(harness_run(h, json, &out, &err), ==, 0);
    JsonParser *p = json_parser_new();
    GError *error = NULL;
    json_parser_load_from_data(p, out, -1, &error);
    g_assert_no_error(error);
    JsonArray *a = json_node_get_array(json_parser_get_root(p));
    g_assert_cmpuint(json_array_get_length(a), ==, USERS);
    g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(a, 1234), "login"),
                    ==, "u1234");
    g_object_unref(p);
    g_free(out);
    g_free(err);

    /* --limit: that page only, with the cursor to go on */
    const char *limited[] = {harness_env("UCCTL_BIN"), "users", "--limit", "10", NULL};
    g_assert_cmpint(harness_run(h, limited, &out, &err), ==, 0);
    assert_contains(out, "next: u0009\n");
    lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 1 + 1 + 10 + 1); /* next, header, rows, tail */
    g_strfreev(lines);
    g_free(out);
    g_free(err);

    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(body);
    g_free(users);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/daemon/listing/users-in-pages", test_users_in_pages);
    g_test_add_func("/daemon/listing/presence-home-server", test_presence_home_server);
    return g_test_run();
}
