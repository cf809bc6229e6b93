/*
 * test-api-journal.c - the journal and analytics routes against the real
 * ucd (api-util.h): pbx-sim makes the calls (`sim burst`, `sim call`), the
 * real journal-sqlite keeps them, and every answer is held against what the
 * console says of the same journal (`ucctl journal query`, `ucctl analytics
 * export --format json`): keyset paging over many pages, each role's view
 * (user, leader, admin, API key), the filters, a private call's number
 * masked for whoever may not see it, the CSV download parsed back
 * (csv-read.h, strict) with its formula-injection guard, the KPIs, and bad
 * input answered with the error that says what is wrong.
 */
#include <string.h>

#include "../../plugins/api-http/tests/csv-read.h"
#include "api-extra.h"
#include "api-util.h"
#include "harness.h"

#define ADMIN_CONFIG "admin_group = file:admins\n"

/* ---- the console's view ---- */

static JsonNode *ctl(api_env *e, const char *const *argv)
{
    return harness_ok(api_env_harness(e), argv);
}

/* Waits until the journal has made durable every conversation the model
 * handed over and the count stays put (a burst's events may still be on
 * their way to the model when `sim burst --sync` answers). */
static guint wait_journal(api_env *e, guint at_least)
{
    const char *status[] = {"journal", "status", NULL};
    guint last = 0, same = 0;
    for (int i = 0; i < 1000; i++) {
        JsonNode *r = ctl(e, status);
        guint stored =
            (guint)g_ascii_strtoull(harness_cell(r, "journal-sqlite", "stored"), NULL, 10);
        gboolean settled = g_strcmp0(harness_cell(r, "journal-sqlite", "pending"), "0") == 0;
        json_node_free(r);
        same = settled && stored == last ? same + 1 : 0;
        last = stored;
        if (stored >= at_least && same >= 5)
            return stored;
        g_usleep(20 * 1000);
    }
    g_error("the journal never settled at %u or more conversations (last %u)", at_least, last);
}

/* The uuids `ucctl journal query ARGS --limit 1000` lists, newest first. */
static GPtrArray *console_uuids(api_env *e, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, "journal");
    g_ptr_array_add(argv, "query");
    for (const char *const *a = args; a && *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, "--limit");
    g_ptr_array_add(argv, "1000");
    g_ptr_array_add(argv, NULL);
    JsonNode *r = ctl(e, (const char *const *)argv->pdata);
    JsonArray *rows = json_object_get_array_member(json_node_get_object(r), "rows");
    GPtrArray *uuids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < json_array_get_length(rows); i++)
        g_ptr_array_add(uuids, g_strdup(json_array_get_string_element(
                                   json_array_get_array_element(rows, i), 7)));
    json_node_free(r);
    g_ptr_array_free(argv, TRUE);
    return uuids;
}

static char *sim_call(api_env *e, const char *from, const char *line, gboolean private_call)
{
    const char *argv[] = {"sim", "call", from, line, private_call ? "--private" : NULL, NULL};
    JsonNode *r = ctl(e, argv);
    char *call = g_strdup(api_reply_field(r, "call"));
    json_node_free(r);
    g_assert_nonnull(call);
    return call;
}

/* A call from outside that rings on `line` and is rejected there: one
 * conversation with the line's user as callee. */
static void rejected_call(api_env *e, const char *from, const char *line, gboolean private_call)
{
    char *call = sim_call(e, from, line, private_call);
    const char *hangup[] = {"hangup", line, call, NULL};
    json_node_free(ctl(e, hangup));
    g_free(call);
}

static void burst(api_env *e, const char *calls)
{
    const char *argv[] = {"sim", "burst", calls, "--sync", NULL};
    json_node_free(ctl(e, argv));
}

/* ---- the API's view ---- */

static JsonNode *get_ok(api_env *e, const char *path, const char *token)
{
    guint status = 0;
    JsonNode *node = api_req(e, "GET", path, token, NULL, &status);
    if (status != 200 || node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        char *text = node ? json_to_string(node, FALSE) : g_strdup("(no body)");
        g_error("GET %s: %u %s", path, status, text);
    }
    return node;
}

/* The error answer's code, after checking the status; the message must
 * contain `about` (what is wrong). */
static void assert_error(api_env *e, const char *path, const char *token, guint expected,
                         const char *code, const char *about)
{
    guint status = 0;
    JsonNode *node = api_req(e, "GET", path, token, NULL, &status);
    g_assert_nonnull(node);
    JsonObject *error = json_object_get_object_member(json_node_get_object(node), "error");
    const char *message = json_object_get_string_member(error, "message");
    g_test_message("GET %s -> %u %s", path, status, message);
    g_assert_cmpuint(status, ==, expected);
    g_assert_cmpstr(json_object_get_string_member(error, "code"), ==, code);
    if (about && !strstr(message, about))
        g_error("the message '%s' does not say '%s'", message, about);
    json_node_free(node);
}

/* Every item of GET /journal?QUERY following `next` in pages of `limit`.
 * Checks the list shape and, for a store-filtered view (`full_pages`),
 * that every page but the last is full. */
static JsonArray *all_pages(api_env *e, const char *token, const char *query, guint limit,
                            gboolean full_pages, guint *pages)
{
    JsonArray *all = json_array_new();
    char *after = NULL;
    *pages = 0;
    do {
        char *escaped = after ? g_uri_escape_string(after, NULL, TRUE) : NULL;
        char *path =
            g_strdup_printf("/journal?limit=%u%s%s%s%s", limit, query ? "&" : "",
                            query ? query : "", escaped ? "&after=" : "", escaped ? escaped : "");
        JsonNode *node = get_ok(e, path, token);
        JsonObject *page = json_node_get_object(node);
        g_assert_true(json_object_has_member(page, "total"));
        g_assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(page, "total")));
        JsonArray *items = json_object_get_array_member(page, "items");
        g_assert_cmpuint(json_array_get_length(items), <=, limit);
        for (guint i = 0; i < json_array_get_length(items); i++)
            json_array_add_element(all, json_node_copy(json_array_get_element(items, i)));
        g_free(after);
        JsonNode *next = json_object_get_member(page, "next");
        after = JSON_NODE_HOLDS_NULL(next) ? NULL : g_strdup(json_node_get_string(next));
        if (after && full_pages)
            g_assert_cmpuint(json_array_get_length(items), ==, limit);
        (*pages)++;
        g_assert_cmpuint(*pages, <, 1000);
        json_node_free(node);
        g_free(path);
        g_free(escaped);
    } while (after);
    return all;
}

static const char *item_string(JsonArray *items, guint i, const char *member)
{
    JsonObject *o = json_array_get_object_element(items, i);
    JsonNode *n = json_object_get_member(o, member);
    return n && !JSON_NODE_HOLDS_NULL(n) ? json_node_get_string(n) : NULL;
}

static gboolean took_part(JsonObject *item, const char *user_id)
{
    JsonArray *parts = json_object_get_array_member(item, "participants");
    for (guint i = 0; i < json_array_get_length(parts); i++) {
        JsonNode *u = json_object_get_member(json_array_get_object_element(parts, i), "user_id");
        if (!JSON_NODE_HOLDS_NULL(u) && strcmp(json_node_get_string(u), user_id) == 0)
            return TRUE;
    }
    return FALSE;
}

static void assert_same_uuids(JsonArray *items, GPtrArray *expected)
{
    g_assert_cmpuint(json_array_get_length(items), ==, expected->len);
    for (guint i = 0; i < expected->len; i++)
        g_assert_cmpstr(item_string(items, i, "uuid"), ==, expected->pdata[i]);
}

static GPtrArray *uuids_where(JsonArray *items, gboolean (*keep)(JsonObject *, gpointer),
                              gpointer data)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < json_array_get_length(items); i++) {
        if (keep(json_array_get_object_element(items, i), data))
            g_ptr_array_add(out, (gpointer)item_string(items, i, "uuid"));
    }
    return out;
}

static gboolean in_sales(JsonObject *item, gpointer data)
{
    return took_part(item, "file:bob") || took_part(item, "file:carol");
}

static gboolean in_period(JsonObject *item, gpointer data)
{
    gint64 *period = data;
    gint64 start = json_object_get_int_member(item, "start_ms");
    return start >= period[0] && start < period[1];
}

/* ---- paging, views and filters ---- */

static void test_paging_and_views(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    burst(e, "60");
    /* calls that surely have carol, bob and dave in them */
    rejected_call(e, "+41445550001", "203", FALSE);
    rejected_call(e, "+41445550002", "202", FALSE);
    rejected_call(e, "+41445550003", "204", FALSE);
    guint count = wait_journal(e, 40);
    char *alice = api_login(e, "alice", "pw-alice");
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *dave = api_login(e, "dave", "pw-dave");

    /* the admin pages through everything, as the console lists it */
    guint pages = 0;
    JsonArray *everything = all_pages(e, alice, NULL, 10, TRUE, &pages);
    GPtrArray *console = console_uuids(e, NULL);
    g_assert_cmpuint(console->len, ==, count);
    assert_same_uuids(everything, console);
    g_assert_cmpuint(pages, >=, 4);
    g_test_message("%u conversations in %u pages", count, pages);
    /* newest first, and each item complete */
    for (guint i = 1; i < json_array_get_length(everything); i++)
        g_assert_cmpint(
            json_object_get_int_member(json_array_get_object_element(everything, i - 1),
                                       "start_ms"),
            >=,
            json_object_get_int_member(json_array_get_object_element(everything, i), "start_ms"));
    JsonObject *first = json_array_get_object_element(everything, 0);
    for (const char *const *m = (const char *const[]){"uuid", "start", "end", "direction",
                                                      "outcome", "driver_instance", NULL};
         *m; m++)
        g_assert_nonnull(item_string(everything, 0, *m));
    g_assert_true(g_str_has_suffix(json_object_get_string_member(first, "start"), "Z"));
    g_assert_true(json_object_has_member(first, "participants"));

    /* a user: their own conversations, the store's filter */
    const char *carol_args[] = {"--user", "carol", NULL};
    GPtrArray *carols = console_uuids(e, carol_args);
    g_assert_cmpuint(carols->len, >, 0);
    JsonArray *seen = all_pages(e, carol, NULL, 3, TRUE, &pages);
    assert_same_uuids(seen, carols);
    json_array_unref(seen);
    seen = all_pages(e, carol, "user=carol", 500, TRUE, &pages);
    assert_same_uuids(seen, carols);
    json_array_unref(seen);

    /* the leader: his and his group's member carol's, in the store's
     * participant filter: every page full, next walks exactly those */
    GPtrArray *sales = uuids_where(everything, in_sales, NULL);
    g_assert_cmpuint(sales->len, >, carols->len);
    g_assert_cmpuint(sales->len, <, count);
    for (guint limit = 1; limit <= 7; limit += 3) {
        seen = all_pages(e, bob, NULL, limit, TRUE, &pages);
        assert_same_uuids(seen, sales);
        g_assert_cmpuint(pages, ==, (sales->len + limit - 1) / limit); /* no empty last page */
        json_array_unref(seen);
    }
    seen = all_pages(e, bob, "user=file%3Acarol", 5, TRUE, &pages);
    assert_same_uuids(seen, carols);
    json_array_unref(seen);

    /* dave never sees carol's, nor may anyone ask for others' */
    seen = all_pages(e, dave, NULL, 50, TRUE, &pages);
    for (guint i = 0; i < json_array_get_length(seen); i++)
        g_assert_true(took_part(json_array_get_object_element(seen, i), "file:dave"));
    g_assert_cmpuint(json_array_get_length(seen), >, 0);
    json_array_unref(seen);
    assert_error(e, "/journal?user=carol", dave, 403, "forbidden", "your own");
    assert_error(e, "/journal?user=dave", bob, 403, "forbidden", "groups");
    assert_error(e, "/journal?user=nobody", alice, 400, "invalid_argument", "nobody");

    /* outcome: as the console filters */
    const char *outcome_args[] = {"--outcome", "answered,busy", NULL};
    GPtrArray *answered = console_uuids(e, outcome_args);
    seen = all_pages(e, alice, "outcome=answered,busy", 25, TRUE, &pages);
    assert_same_uuids(seen, answered);
    for (guint i = 0; i < json_array_get_length(seen); i++)
        g_assert_true(g_strcmp0(item_string(seen, i, "outcome"), "answered") == 0 ||
                      g_strcmp0(item_string(seen, i, "outcome"), "busy") == 0);
    json_array_unref(seen);

    /* from (ISO 8601, as the API writes times) and to (milliseconds) */
    guint n = json_array_get_length(everything);
    gint64 period[2] = {
        json_object_get_int_member(json_array_get_object_element(everything, n * 3 / 4),
                                   "start_ms"),
        json_object_get_int_member(json_array_get_object_element(everything, n / 4), "start_ms")};
    GPtrArray *inside = uuids_where(everything, in_period, period);
    g_assert_cmpuint(inside->len, >, 1);
    g_assert_cmpuint(inside->len, <, n);
    char *query =
        g_strdup_printf("from=%s&to=%" G_GINT64_FORMAT,
                        json_object_get_string_member(
                            json_array_get_object_element(everything, n * 3 / 4), "start"),
                        period[1]);
    seen = all_pages(e, alice, query, 7, TRUE, &pages);
    assert_same_uuids(seen, inside);
    json_array_unref(seen);
    g_free(query);

    /* the console's --uuid (journal 1.2's filter) finds just that one */
    const char *uuid_args[] = {"--uuid", item_string(everything, 2, "uuid"), NULL};
    GPtrArray *just_one = console_uuids(e, uuid_args);
    g_assert_cmpuint(just_one->len, ==, 1);
    g_assert_cmpstr(just_one->pdata[0], ==, uuid_args[1]);
    g_ptr_array_unref(just_one);

    /* one conversation by uuid, the same as in the list */
    char *path = g_strdup_printf("/journal/%s", item_string(everything, 0, "uuid"));
    JsonNode *one = get_ok(e, path, alice);
    g_assert_true(json_node_equal(one, json_array_get_element(everything, 0)));
    json_node_free(one);
    g_free(path);
    const char *not_carols = NULL;
    for (guint i = 0; i < n && !not_carols; i++) {
        if (!took_part(json_array_get_object_element(everything, i), "file:carol"))
            not_carols = item_string(everything, i, "uuid");
    }
    path = g_strdup_printf("/journal/%s", not_carols);
    assert_error(e, path, carol, 404, "not_found", not_carols);
    g_free(path);
    /* each role by uuid: what its pages hold, and nothing else */
    for (guint i = 0; i < n; i++) {
        JsonObject *item = json_array_get_object_element(everything, i);
        path = g_strdup_printf("/journal/%s", item_string(everything, i, "uuid"));
        if (in_sales(item, NULL)) {
            one = get_ok(e, path, bob); /* a private number masked: the admin's differs */
            if (!json_object_get_boolean_member(item, "private"))
                g_assert_true(json_node_equal(one, json_array_get_element(everything, i)));
            g_assert_cmpstr(json_object_get_string_member(json_node_get_object(one), "uuid"), ==,
                            item_string(everything, i, "uuid"));
            json_node_free(one);
        } else {
            assert_error(e, path, bob, 404, "not_found", "that you may see");
        }
        if (took_part(item, "file:carol")) {
            one = get_ok(e, path, carol);
            g_assert_cmpstr(json_object_get_string_member(json_node_get_object(one), "uuid"), ==,
                            item_string(everything, i, "uuid"));
            json_node_free(one);
        }
        g_free(path);
    }
    assert_error(e, "/journal/no-such-conversation", alice, 404, "not_found", NULL);
    assert_error(e, "/journal/bad%21uuid", alice, 400, "invalid_argument", "uuid");

    /* bad input says what is wrong */
    assert_error(e, "/journal?from=yesterday", alice, 400, "invalid_argument", "from");
    assert_error(e, "/journal?to=2026-13-45", alice, 400, "invalid_argument", "to");
    assert_error(e, "/journal?from=2026-03-02&to=2026-03-01", alice, 400, "invalid_argument",
                 "after from");
    assert_error(e, "/journal?outcome=answered,maybe", alice, 400, "invalid_argument", "outcome");
    assert_error(e, "/journal?outcome=", alice, 400, "invalid_argument", "outcome");
    assert_error(e, "/journal?limit=0", alice, 400, "invalid_argument", "limit");
    assert_error(e, "/journal?limit=501", alice, 400, "invalid_argument", "1 to 500");
    assert_error(e, "/journal?limit=ten", alice, 400, "invalid_argument", "limit");
    assert_error(e, "/journal?after=not-a-cursor", alice, 400, "invalid_argument", "after");
    assert_error(e, "/journal", NULL, 401, "unauthenticated", NULL);
    api_assert_documented(e, "get", "/journal", "user");
    api_assert_documented(e, "get", "/journal/{uuid}", "user");
    api_assert_documented(e, "get", "/journal.csv", "user");
    api_assert_documented(e, "get", "/analytics/kpis", "leader");
    /* this ucd runs no analytics exporter */
    assert_error(e, "/analytics/kpis?from=2026-03-01&to=2026-03-02", alice, 503, "unavailable",
                 "exporter");

    g_ptr_array_unref(inside);
    g_ptr_array_unref(answered);
    g_ptr_array_unref(sales);
    g_ptr_array_unref(carols);
    g_ptr_array_unref(console);
    json_array_unref(everything);
    g_free(alice);
    g_free(bob);
    g_free(carol);
    g_free(dave);
    api_env_stop(e);
}

/* ---- a private call ---- */

#define WITHHELD "+4930999888"

static JsonNode *only_item(api_env *e, const char *path, const char *token, guint expected)
{
    JsonNode *node = get_ok(e, path, token);
    JsonArray *items = json_object_get_array_member(json_node_get_object(node), "items");
    g_assert_cmpuint(json_array_get_length(items), ==, expected);
    return node;
}

static void assert_source(JsonNode *page, const char *number, gboolean e164_shown)
{
    JsonArray *items = json_object_get_array_member(json_node_get_object(page), "items");
    g_assert_true(
        json_object_get_boolean_member(json_array_get_object_element(items, 0), "private"));
    g_assert_cmpstr(item_string(items, 0, "source_number"), ==, number);
    if (e164_shown)
        g_assert_nonnull(item_string(items, 0, "source_e164"));
    else
        g_assert_null(item_string(items, 0, "source_e164"));
}

static void test_private_masked(void)
{
    /* journal-sqlite keeps the number: the API masks it, not the store */
    api_env *e = api_env_start(ADMIN_CONFIG "\n[module journal-sqlite]\nprivate_numbers = keep\n");
    rejected_call(e, WITHHELD, "203", TRUE);
    wait_journal(e, 1);
    char *alice = api_login(e, "alice", "pw-alice");
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *dave = api_login(e, "dave", "pw-dave");
    char *key = api_new_key(e, "crm", "journal:read");

    /* carol took part and the admin sees all: the number */
    JsonNode *page = only_item(e, "/journal", carol, 1);
    assert_source(page, WITHHELD, TRUE);
    json_node_free(page);
    page = only_item(e, "/journal", alice, 1);
    assert_source(page, WITHHELD, TRUE);
    char *uuid = g_strdup(
        item_string(json_object_get_array_member(json_node_get_object(page), "items"), 0, "uuid"));
    json_node_free(page);

    /* her leader sees the call, not the number; nor does an API key */
    page = only_item(e, "/journal", bob, 1);
    assert_source(page, "anonymous", FALSE);
    char *text = json_to_string(page, FALSE);
    g_assert_null(strstr(text, "30999888"));
    g_free(text);
    json_node_free(page);
    page = only_item(e, "/journal", key, 1);
    assert_source(page, "anonymous", FALSE);
    json_node_free(page);
    char *path = g_strdup_printf("/journal/%s", uuid);
    JsonNode *one = get_ok(e, path, bob);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(one), "source_number"), ==,
                    "anonymous");
    json_node_free(one);

    /* and searching for the number does not find it for him either */
    json_node_free(only_item(e, "/journal?number=%2B4930999888", bob, 0));
    json_node_free(only_item(e, "/journal?number=%2B4930999888", carol, 1));
    /* dave sees nothing of it */
    json_node_free(only_item(e, "/journal", dave, 0));
    assert_error(e, path, dave, 404, "not_found", NULL);
    g_free(path);

    /* the CSV masks alike */
    api_download d = api_download_get(e, "/journal.csv", bob);
    g_assert_cmpuint(d.status, ==, 200);
    const char *why = NULL;
    GPtrArray *rows = csv_read(d.text, d.length, &why);
    g_assert_nonnull(rows);
    g_assert_cmpuint(rows->len, ==, 2);
    g_assert_cmpstr(((char **)rows->pdata[1])[csv_column(rows, "source_number")], ==, "anonymous");
    g_assert_null(memmem(d.text, d.length, "30999888", 8));
    g_ptr_array_unref(rows);
    api_download_clear(&d);

    g_free(uuid);
    g_free(key);
    g_free(alice);
    g_free(bob);
    g_free(carol);
    g_free(dave);
    api_env_stop(e);
}

/* ---- the CSV download ---- */

/* What the CSV writes of a text the JSON gives as is. */
static char *csv_form(const char *text)
{
    if (text == NULL)
        return g_strdup("");
    return strchr("=+-@\t\r", text[0]) ? g_strconcat("'", text, NULL) : g_strdup(text);
}

static void test_csv(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG);
    burst(e, "30");
    rejected_call(e, "=HYPERLINK(\"http://evil.example/\",\"x\")", "201", FALSE);
    rejected_call(e, "@SUM(1+1)", "202", FALSE);
    guint count = wait_journal(e, 20);
    char *alice = api_login(e, "alice", "pw-alice");
    guint pages = 0;
    JsonArray *items = all_pages(e, alice, NULL, 500, TRUE, &pages);
    g_assert_cmpuint(json_array_get_length(items), ==, count);

    api_download d = api_download_get(e, "/journal.csv", alice);
    g_assert_cmpuint(d.status, ==, 200);
    g_assert_true(g_str_has_prefix(d.content_type, "text/csv"));
    g_assert_true(g_str_has_prefix(d.content_disposition, "attachment; filename=\"journal-"));
    g_assert_true(g_str_has_suffix(d.content_disposition, ".csv\""));
    const char *why = NULL;
    GPtrArray *rows = csv_read(d.text, d.length, &why);
    if (rows == NULL)
        g_error("the download is not CSV: %s", why);
    g_assert_cmpuint(rows->len, ==, count + 1);

    /* row by row the same conversations as the JSON, in the same order */
    const char *same[] = {
        "uuid",      "start", "direction", "outcome", "source_number", "destination_number",
        "end_cause", NULL};
    gboolean injection_seen = FALSE;
    for (guint i = 0; i < count; i++) {
        char **row = rows->pdata[i + 1];
        for (const char *const *m = same; *m; m++) {
            char *expected = csv_form(item_string(items, i, *m));
            g_assert_cmpstr(row[csv_column(rows, *m)], ==, expected);
            g_free(expected);
        }
        char *start_ms = g_strdup_printf(
            "%" G_GINT64_FORMAT,
            json_object_get_int_member(json_array_get_object_element(items, i), "start_ms"));
        g_assert_cmpstr(row[csv_column(rows, "start_ms")], ==, start_ms);
        g_free(start_ms);
        const char *source = row[csv_column(rows, "source_number")];
        if (strcmp(source, "'=HYPERLINK(\"http://evil.example/\",\"x\")") == 0 ||
            strcmp(source, "'@SUM(1+1)") == 0)
            injection_seen = TRUE;
    }
    g_assert_true(injection_seen);
    /* no cell of the file starts a formula */
    for (guint r = 1; r < rows->len; r++) {
        for (char **c = rows->pdata[r]; *c; c++)
            g_assert_null(strchr("=+-@", (*c)[0] ? (*c)[0] : 'x'));
    }
    g_ptr_array_unref(rows);
    api_download_clear(&d);

    /* a download goes on from a cursor as a page does */
    JsonNode *first = get_ok(e, "/journal?limit=10", alice);
    char *escaped = g_uri_escape_string(
        json_object_get_string_member(json_node_get_object(first), "next"), NULL, TRUE);
    char *rest = g_strconcat("/journal.csv?after=", escaped, NULL);
    d = api_download_get(e, rest, alice);
    g_assert_cmpuint(d.status, ==, 200);
    rows = csv_read(d.text, d.length, &why);
    g_assert_nonnull(rows);
    g_assert_cmpuint(rows->len, ==, count - 10 + 1);
    g_assert_cmpstr(((char **)rows->pdata[1])[csv_column(rows, "uuid")], ==,
                    item_string(items, 10, "uuid"));
    g_ptr_array_unref(rows);
    api_download_clear(&d);
    g_free(rest);
    g_free(escaped);
    json_node_unref(first);

    /* the same filters as the JSON */
    JsonArray *answered = all_pages(e, alice, "outcome=answered", 500, TRUE, &pages);
    d = api_download_get(e, "/journal.csv?outcome=answered", alice);
    g_assert_cmpuint(d.status, ==, 200);
    rows = csv_read(d.text, d.length, &why);
    g_assert_nonnull(rows);
    g_assert_cmpuint(rows->len, ==, json_array_get_length(answered) + 1);
    g_ptr_array_unref(rows);
    api_download_clear(&d);
    json_array_unref(answered);
    assert_error(e, "/journal.csv?from=soon", alice, 400, "invalid_argument", "from");

    json_array_unref(items);
    g_free(alice);
    api_env_stop(e);
}

/* ---- analytics ---- */

/* The file `ucctl analytics export --format json` writes for [from, to). */
static JsonNode *console_report(api_env *e, const char *from, const char *to)
{
    harness *h = api_env_harness(e);
    char *dir = g_build_filename(h->dir, "reports", NULL);
    const char *argv[] = {harness_env("UCCTL_BIN"),
                          "analytics",
                          "export",
                          "--from",
                          from,
                          "--to",
                          to,
                          "--format",
                          "json",
                          "--output",
                          dir,
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = harness_run(h, argv, &out, &err);
    g_test_message("ucctl analytics export:\n%s%s", out, err);
    g_assert_cmpint(rc, ==, 0);
    GMatchInfo *m = NULL;
    g_assert_true(g_regex_match_simple("^file: \\S+$", out, G_REGEX_MULTILINE, 0));
    GRegex *re = g_regex_new("^file: (\\S+)$", G_REGEX_MULTILINE, 0, NULL);
    g_assert_true(g_regex_match(re, out, 0, &m));
    char *path = g_match_info_fetch(m, 1);
    JsonParser *parser = json_parser_new();
    GError *error = NULL;
    json_parser_load_from_file(parser, path, &error);
    g_assert_no_error(error);
    JsonNode *report = json_node_copy(json_parser_get_root(parser));
    g_object_unref(parser);
    g_free(path);
    g_match_info_free(m);
    g_regex_unref(re);
    g_free(out);
    g_free(err);
    g_free(dir);
    return report;
}

static JsonArray *breakdown(JsonNode *report, const char *name)
{
    JsonObject *b = json_object_get_object_member(json_node_get_object(report), "breakdowns");
    return json_object_get_array_member(b, name);
}

static JsonNode *row_with_key(JsonArray *rows, const char *key)
{
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *o = json_array_get_object_element(rows, i);
        if (strcmp(json_object_get_string_member(o, "key"), key) == 0)
            return json_array_get_element(rows, i);
    }
    return NULL;
}

static void test_analytics(void)
{
    api_env *e = api_env_start(ADMIN_CONFIG "\n[module analytics-export]\n");
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "analytics-export", "running"));
    burst(e, "40");
    rejected_call(e, "+41445550001", "203", FALSE);
    wait_journal(e, 20);
    char *alice = api_login(e, "alice", "pw-alice");
    char *bob = api_login(e, "bob", "pw-bob");
    char *carol = api_login(e, "carol", "pw-carol");
    char *key = api_new_key(e, "bi", "analytics:read");

    GDateTime *now = g_date_time_new_now_utc();
    GDateTime *before = g_date_time_add_days(now, -2), *after = g_date_time_add_days(now, 1);
    char *from = g_date_time_format(before, "%Y-%m-%dT%H:%M:%SZ");
    char *to = g_date_time_format(after, "%Y-%m-%dT%H:%M:%SZ");
    JsonNode *console = console_report(e, from, to);
    g_assert_cmpint(
        json_object_get_int_member(
            json_object_get_object_member(json_node_get_object(console), "total"), "calls"),
        >, 0);

    /* the admin and a key with analytics:read: the console's document */
    char *path = g_strdup_printf("/analytics/kpis?from=%s&to=%s&group_by=user", from, to);
    JsonNode *kpis = get_ok(e, path, alice);
    if (!json_node_equal(kpis, console)) {
        char *a = json_to_string(kpis, TRUE), *b = json_to_string(console, TRUE);
        g_error("the API's KPIs differ from ucctl's:\n%s\n---\n%s", a, b);
    }
    json_node_free(kpis);
    kpis = get_ok(e, path, key);
    g_assert_true(json_node_equal(kpis, console));
    json_node_free(kpis);

    /* the leader: his group's rows, the same figures, nothing company-wide */
    kpis = get_ok(e, path, bob);
    JsonObject *o = json_node_get_object(kpis);
    g_assert_cmpstr(json_object_get_string_member(o, "scope"), ==, "own_groups");
    g_assert_false(json_object_has_member(o, "total"));
    g_assert_false(json_object_has_member(o, "heatmap"));
    g_assert_null(
        json_object_get_member(json_object_get_object_member(o, "breakdowns"), "direction"));
    JsonArray *users = breakdown(kpis, "user");
    g_assert_cmpuint(json_array_get_length(users), >, 0);
    for (guint i = 0; i < json_array_get_length(users); i++) {
        JsonNode *row = json_array_get_element(users, i);
        const char *id = json_object_get_string_member(json_node_get_object(row), "key");
        g_assert_true(strcmp(id, "file:bob") == 0 || strcmp(id, "file:carol") == 0);
        g_assert_true(json_node_equal(row, row_with_key(breakdown(console, "user"), id)));
    }
    JsonArray *groups = breakdown(kpis, "group");
    for (guint i = 0; i < json_array_get_length(groups); i++)
        g_assert_cmpstr(
            json_object_get_string_member(json_array_get_object_element(groups, i), "key"), ==,
            "file:sales");
    json_node_free(kpis);

    /* a user may not; bad periods are refused */
    char *denied = g_strdup_printf("/analytics/kpis?from=%s&to=%s", from, to);
    assert_error(e, denied, carol, 403, "forbidden", NULL);
    assert_error(e, "/analytics/kpis?from=2026-03-01", alice, 400, "invalid_argument", "required");
    assert_error(e, "/analytics/kpis?from=2026-03-02&to=2026-03-01", alice, 400, "invalid_argument",
                 "after from");
    assert_error(e, "/analytics/kpis?from=march&to=2026-03-01", alice, 400, "invalid_argument",
                 "from");
    assert_error(e, "/analytics/kpis?from=2026-03-01&to=2026-03-02&group_by=planet", alice, 400,
                 "invalid_argument", "group_by");
    /* the request's directory is gone again */
    char *state = g_build_filename(h->dir, "state", "api-http", NULL);
    GDir *dir = g_dir_open(state, 0, NULL);
    for (const char *name; dir && (name = g_dir_read_name(dir));)
        g_assert_false(g_str_has_prefix(name, "kpis-"));
    if (dir)
        g_dir_close(dir);

    g_free(state);
    g_free(denied);
    g_free(path);
    json_node_free(console);
    g_free(from);
    g_free(to);
    g_date_time_unref(now);
    g_date_time_unref(before);
    g_date_time_unref(after);
    g_free(key);
    g_free(alice);
    g_free(bob);
    g_free(carol);
    api_env_stop(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/journal/paging-and-views", test_paging_and_views);
    g_test_add_func("/api/journal/private-masked", test_private_masked);
    g_test_add_func("/api/journal/csv", test_csv);
    g_test_add_func("/api/analytics/kpis", test_analytics);
    return g_test_run();
}
