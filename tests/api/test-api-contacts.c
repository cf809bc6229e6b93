/*
 * test-api-contacts.c - the contact directory through the client API (issue
 * 15): contacts-store's routes on api-http's http service, two contacts-csv
 * sources, and the directory profiles. Everyone sees the public phonebook;
 * sales (bob, carol) also see the CRM's customers; dave (support) never
 * gets a CRM contact, by search or by number; the admin sees all.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "api-util.h"
#include "routes-check.h"

static const char *const PUBLIC_CSV = "Name;Firma;Telefon\n"
                                      "Taxi Zentrale;Taxi eG;+49 89 21610\n"
                                      "Pizza Express;Pizza GmbH;089 555 123\n";
static const char *const CRM_CSV = "Id;Name;Firma;Telefon;Mobil\n"
                                   "K-1;Hans M\xc3\xbcller;M\xc3\xbcller & S\xc3\xb6hne GmbH;"
                                   "+49 30 1234567;+49 171 2345678\n"
                                   "K-2;Maria M\xc3\xbcller;Gro\xc3\x9fhandel AG;+49 40 7654321;\n";

typedef struct world {
    char *dir;
    api_env *e;
    char *alice, *carol, *dave;
} world;

static void world_start(world *w)
{
    GError *err = NULL;
    w->dir = g_dir_make_tmp("ucd-contacts-XXXXXX", &err);
    g_assert_no_error(err);
    char *pub = g_build_filename(w->dir, "public.csv", NULL);
    char *crm = g_build_filename(w->dir, "crm.csv", NULL);
    g_assert_true(g_file_set_contents(pub, PUBLIC_CSV, -1, NULL));
    g_assert_true(g_file_set_contents(crm, CRM_CSV, -1, NULL));
    char *extra = g_strdup_printf("admin_group = file:admins\n"
                                  "[location default]\n"
                                  "country_code = 49\n"
                                  "area_code = 89\n"
                                  "[module contacts-store]\n"
                                  "visible_sources = contacts-csv:public\n"
                                  "group_sources = file:sales=contacts-csv:crm\n"
                                  "[module contacts-csv:public]\n"
                                  "file = %s\n"
                                  "delimiter = ;\n"
                                  "map_display_name = Name\n"
                                  "map_company = Firma\n"
                                  "map_business = Telefon\n"
                                  "replicate_every = 0s\n"
                                  "[module contacts-csv:crm]\n"
                                  "file = %s\n"
                                  "delimiter = ;\n"
                                  "map_source_id = Id\n"
                                  "map_display_name = Name\n"
                                  "map_company = Firma\n"
                                  "map_business = Telefon\n"
                                  "map_mobile = Mobil\n"
                                  "replicate_every = 0s\n",
                                  pub, crm);
    w->e = api_env_start(extra);
    w->alice = api_login(w->e, "alice", "pw-alice");
    w->carol = api_login(w->e, "carol", "pw-carol");
    w->dave = api_login(w->e, "dave", "pw-dave");
    g_free(extra);
    g_free(pub);
    g_free(crm);
}

static void world_stop(world *w)
{
    api_env_stop(w->e);
    char *pub = g_build_filename(w->dir, "public.csv", NULL);
    char *crm = g_build_filename(w->dir, "crm.csv", NULL);
    g_remove(pub);
    g_remove(crm);
    g_rmdir(w->dir);
    g_free(pub);
    g_free(crm);
    g_free(w->dir);
    g_free(w->alice);
    g_free(w->carol);
    g_free(w->dave);
}

/* GCompareFunc of an array of strings: it is handed pointers to them. */
static gint by_string(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* The names in an answer's items, sorted and joined with ", " (g_free). */
static char *names(JsonNode *answer)
{
    JsonArray *items = json_object_get_array_member(json_node_get_object(answer), "items");
    GPtrArray *all = g_ptr_array_new();
    for (guint i = 0; i < json_array_get_length(items); i++)
        g_ptr_array_add(all, (gpointer)str(json_array_get_object_element(items, i), "name"));
    g_ptr_array_sort(all, by_string);
    g_ptr_array_add(all, NULL);
    char *text = g_strjoinv(", ", (char **)all->pdata);
    g_ptr_array_free(all, TRUE);
    return text;
}

static char *get_names(world *w, const char *path, const char *token)
{
    guint status = 0;
    JsonNode *a = api_req(w->e, "GET", path, token, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    char *n = names(a);
    json_node_unref(a);
    return n;
}

/* Both sources replicated: the admin, who sees every source, finds a
 * number of each. */
static void wait_replicated(world *w)
{
    char *crm = NULL, *pub = NULL;
    for (int i = 0; i < 200; i++) {
        g_free(crm);
        g_free(pub);
        crm = get_names(w, "/contacts/lookup?number=%2B49301234567", w->alice);
        pub = get_names(w, "/contacts/lookup?number=%2B498921610", w->alice);
        if (*crm && *pub)
            break;
        g_usleep(50 * 1000);
    }
    g_assert_cmpstr(crm, ==, "Hans M\xc3\xbcller");
    g_assert_cmpstr(pub, ==, "Taxi Zentrale");
    g_free(crm);
    g_free(pub);
}

static void test_profiles(void)
{
    world w = {0};
    world_start(&w);
    wait_replicated(&w);

    /* search: words by prefix, umlauts as typed */
    char *n = get_names(&w, "/contacts?q=m%C3%BCl", w.carol);
    g_assert_cmpstr(n, ==, "Hans M\xc3\xbcller, Maria M\xc3\xbcller");
    g_free(n);
    n = get_names(&w, "/contacts?q=m%C3%BCl", w.dave);
    g_assert_cmpstr(n, ==, "");
    g_free(n);
    n = get_names(&w, "/contacts?q=taxi", w.dave);
    g_assert_cmpstr(n, ==, "Taxi Zentrale");
    g_free(n);
    n = get_names(&w, "/contacts?q=m%C3%BCller%20s%C3%B6hne", w.alice);
    g_assert_cmpstr(n, ==, "Hans M\xc3\xbcller");
    g_free(n);

    /* lookup: any raw form; dave does not learn who the CRM's number is */
    guint status = 0;
    JsonNode *a =
        api_req(w.e, "GET", "/contacts/lookup?number=0049301234567", w.carol, NULL, &status);
    g_assert_cmpuint(status, ==, 200);
    JsonArray *items = json_object_get_array_member(json_node_get_object(a), "items");
    g_assert_cmpuint(json_array_get_length(items), ==, 1);
    JsonObject *hit = json_array_get_object_element(items, 0);
    g_assert_cmpstr(str(hit, "name"), ==, "Hans M\xc3\xbcller");
    g_assert_cmpstr(str(hit, "company"), ==,
                    "M\xc3\xbc"
                    "ller & S\xc3\xb6hne GmbH");
    g_assert_cmpstr(str(hit, "source"), ==, "contacts-csv:crm");
    g_assert_cmpstr(str(hit, "source_id"), ==, "K-1");
    g_assert_cmpstr(str(hit, "matched_number"), ==, "+49 30 1234567");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(hit, "numbers")), ==, 2);
    json_node_unref(a);
    n = get_names(&w, "/contacts/lookup?number=%2B49%2030%201234567", w.dave);
    g_assert_cmpstr(n, ==, "");
    g_free(n);
    n = get_names(&w, "/contacts/lookup?number=555123", w.dave); /* local, Munich */
    g_assert_cmpstr(n, ==, "Pizza Express");
    g_free(n);

    /* bad requests say what is wrong */
    expect_error(w.e, "GET", "/contacts", w.carol, NULL, 400, "invalid_argument", NULL);
    expect_error(w.e, "GET", "/contacts?q=%20%20", w.carol, NULL, 400, "invalid_argument", NULL);
    expect_error(w.e, "GET", "/contacts?q=a&limit=0", w.carol, NULL, 400, "invalid_argument", NULL);
    expect_error(w.e, "GET", "/contacts?q=a&limit=x", w.carol, NULL, 400, "invalid_argument", NULL);
    expect_error(w.e, "GET", "/contacts/lookup", w.carol, NULL, 400, "invalid_argument", NULL);
    expect_error(w.e, "GET", "/contacts/lookup?number=hello", w.carol, NULL, 400,
                 "invalid_argument", NULL);
    status = 0;
    a = api_req(w.e, "GET", "/contacts?q=taxi", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 401);
    json_node_unref(a);

    /* A reload that changes api-http's section restarts it with an empty
     * route table; the loader restarts the store with it (it uses "http"),
     * and the routes come back. */
    harness *h = api_env_harness(w.e);
    harness_write_dropin(h, "50-api.conf", "[module api-http]\nsession_lifetime = 2h\n");
    const char *reload[] = {"reload", NULL};
    json_node_free(harness_ok(h, reload));
    g_assert_true(harness_wait_state(h, "api-http", "running"));
    n = NULL;
    for (int i = 0; i < 100 && g_strcmp0(n, "Taxi Zentrale") != 0; i++) {
        g_free(n);
        n = NULL;
        g_usleep(i ? 50 * 1000 : 0);
        a = api_req(w.e, "GET", "/contacts?q=taxi", w.dave, NULL, &status);
        if (status == 200)
            n = names(a);
        json_node_unref(a);
    }
    g_assert_cmpstr(n, ==, "Taxi Zentrale");
    g_free(n);

    world_stop(&w);
}

/* ---- the phones' XML phonebooks ---- */

/* GET `path` (the token in it, as a phone sends it: no header); the
 * phonebook as "Name: tel tel; Name: tel" after checking it is a
 * well-formed document with `root` (g_free). */
static char *phonebook(world *w, const char *path, const char *root)
{
    guint status = 0;
    SoupMessageHeaders *headers = NULL;
    JsonNode *a = api_req_full(w->e, "GET", path, NULL, NULL, NULL, &status, &headers);
    g_assert_cmpuint(status, ==, 200);
    g_assert_true(
        g_str_has_prefix(soup_message_headers_get_content_type(headers, NULL), "application/xml"));
    soup_message_headers_unref(headers);
    const char *text = json_node_get_string(a);
    xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "phonebook.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    g_assert_nonnull(doc);
    xmlNodePtr top = xmlDocGetRootElement(doc);
    g_assert_cmpstr((const char *)top->name, ==, root);
    GString *out = g_string_new(NULL);
    for (xmlNodePtr e = top->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "DirectoryEntry") != 0)
            continue;
        if (out->len)
            g_string_append(out, "; ");
        for (xmlNodePtr f = e->children; f; f = f->next) {
            if (f->type != XML_ELEMENT_NODE)
                continue;
            xmlChar *v = xmlNodeGetContent(f);
            if (strcmp((const char *)f->name, "Name") == 0)
                g_string_append_printf(out, "%s:", (const char *)v);
            else
                g_string_append_printf(out, " %s", (const char *)v);
            xmlFree(v);
        }
    }
    xmlFreeDoc(doc);
    json_node_unref(a);
    return g_string_free(out, FALSE);
}

#define HANS  "Hans M\xc3\xbcller: +49301234567 +491712345678"
#define MARIA "Maria M\xc3\xbcller: +49407654321"
#define PIZZA "Pizza Express: +4989555123"
#define TAXI  "Taxi Zentrale: +498921610"

/* Yealink's remote phone book and Snom's XML directory: what the caller's
 * profile shows, in name order or as a search, the token in the URL; the
 * numbers in E.164 or as the phones of a PBX dial them. */
static void test_phonebooks(void)
{
    world w = {0};
    world_start(&w);
    wait_replicated(&w);
    char *path = g_strdup_printf("/phonebook/yealink?token=%s", w.carol);
    char *book = phonebook(&w, path, "YealinkIPPhoneDirectory");
    g_assert_cmpstr(book, ==, HANS "; " MARIA "; " PIZZA "; " TAXI);
    g_free(book);
    g_free(path);

    /* a phone's search, as Yealink sends what was typed (q=#SEARCH) */
    path = g_strdup_printf("/phonebook/yealink?q=m%%C3%%BCl&token=%s", w.carol);
    book = phonebook(&w, path, "YealinkIPPhoneDirectory");
    g_assert_cmpstr(book, ==, HANS "; " MARIA);
    g_free(book);
    g_free(path);
    path = g_strdup_printf("/phonebook/yealink?q=&limit=2&token=%s", w.carol);
    book = phonebook(&w, path, "YealinkIPPhoneDirectory");
    g_assert_cmpstr(book, ==, HANS "; " MARIA);
    g_free(book);
    g_free(path);

    /* dave's profile: no CRM, not even an empty trace of it */
    path = g_strdup_printf("/phonebook/snom?token=%s", w.dave);
    book = phonebook(&w, path, "SnomIPPhoneDirectory");
    g_assert_cmpstr(book, ==, PIZZA "; " TAXI);
    g_free(book);
    g_free(path);
    path = g_strdup_printf("/phonebook/snom?q=m%%C3%%BCller&token=%s", w.dave);
    book = phonebook(&w, path, "SnomIPPhoneDirectory");
    g_assert_cmpstr(book, ==, "");
    g_free(book);
    g_free(path);

    /* the phones of the PBX pbx-sim dial in its numbering (Munich, no
     * outside-line prefix in this world): national forms */
    path = g_strdup_printf("/phonebook/snom?context=pbx-sim&token=%s", w.carol);
    book = phonebook(&w, path, "SnomIPPhoneDirectory");
    g_assert_cmpstr(book, ==,
                    "Hans M\xc3\xbcller: 0301234567 01712345678; Maria M\xc3\xbcller: "
                    "0407654321; Pizza Express: 089555123; Taxi Zentrale: 08921610");
    g_free(book);
    g_free(path);

    /* an API key as a phone's credential: every source, like any key */
    char *key = make_key(w.e, "phones", "contacts:read", NULL);
    path = g_strdup_printf("/phonebook/yealink?q=taxi&token=%s", key);
    book = phonebook(&w, path, "YealinkIPPhoneDirectory");
    g_assert_cmpstr(book, ==, TAXI);
    g_free(book);
    g_free(path);
    g_free(key);

    /* what is wrong is said in the API's JSON shape */
    path = g_strdup_printf("/phonebook/yealink?limit=0&token=%s", w.carol);
    expect_error(w.e, "GET", path, NULL, NULL, 400, "invalid_argument", "limit");
    g_free(path);
    guint status = 0;
    JsonNode *a = api_req(w.e, "GET", "/phonebook/yealink", NULL, NULL, &status);
    g_assert_cmpuint(status, ==, 401);
    json_node_unref(a);
    a = api_req(w.e, "GET", "/phonebook/grandstream", w.carol, NULL, &status);
    g_assert_cmpuint(status, ==, 404);
    json_node_unref(a);

    world_stop(&w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/contacts/profiles", test_profiles);
    g_test_add_func("/api/contacts/phonebooks", test_phonebooks);
    return g_test_run();
}
