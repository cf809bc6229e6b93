/*
 * store-routes.c - the contact directory in the client API (store-routes.h).
 *
 *   GET /api/v1/contacts?q=WORDS[&limit=N]          search (words by prefix)
 *   GET /api/v1/contacts/lookup?number=RAW[&context=DRIVER]   who owns a number
 *
 * Search reads the store's database, so it runs on a worker and answers
 * from its done callback; lookup answers from memory at once. Both list
 * only the sources the caller's profile allows, decided here before the
 * store is asked, so a hidden source's contact never leaves the store. The
 * phones' XML phonebooks (phonebook-routes.c) are added here too, with the
 * same profiles.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "phonebook-routes.h"
#include "store-routes.h"
#include "store.h"

#define SEARCH_LIMIT_MAX 200

struct store_routes {
    store *st;
    char **visible;       /* NULL: every source */
    GHashTable *by_group; /* group id -> char ** of sources */
    const ucd_http_v1 *http;
    void *http_impl;
    phonebook_routes *phonebooks;
};

/* ---- profiles ---- */

store_routes *store_routes_new(store *st)
{
    store_routes *r = g_new0(store_routes, 1);
    r->st = st;
    r->by_group =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);
    const char *const *items = NULL;
    size_t n = 0;
    if (st->host->config_list(st->self, "visible_sources", &items, &n) == UCD_OK && items)
        r->visible = g_strdupv((char **)items);
    items = NULL;
    if (st->host->config_list(st->self, "group_sources", &items, &n) == UCD_OK && items) {
        for (size_t i = 0; i < n; i++) {
            const char *eq = strchr(items[i], '=');
            if (!eq || eq == items[i] || !eq[1]) {
                st->host->config_error(st->self, "group_sources", "'%s' is not GROUP=SOURCE,SOURCE",
                                       items[i]);
                store_routes_free(r);
                return NULL;
            }
            char **sources = g_strsplit(eq + 1, ",", -1);
            for (char **s = sources; *s; s++)
                g_strstrip(*s);
            g_hash_table_replace(r->by_group, g_strndup(items[i], (gsize)(eq - items[i])), sources);
        }
    }
    return r;
}

void store_routes_free(store_routes *r)
{
    if (!r)
        return;
    g_strfreev(r->visible);
    g_hash_table_destroy(r->by_group);
    phonebook_routes_free(r->phonebooks);
    g_free(r);
}

char **store_routes_visible(const store_routes *r, const char *const *groups)
{
    if (!r->visible)
        return NULL;
    GPtrArray *out = g_ptr_array_new();
    for (char **s = r->visible; *s; s++)
        g_ptr_array_add(out, g_strdup(*s));
    for (const char *const *g = groups; g && *g; g++) {
        char **more = g_hash_table_lookup(r->by_group, *g);
        for (char **s = more; s && *s; s++) {
            gboolean known = FALSE;
            for (guint i = 0; i < out->len && !known; i++)
                known = strcmp(out->pdata[i], *s) == 0;
            if (!known)
                g_ptr_array_add(out, g_strdup(*s));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static int keep_groups(const ucd_directory_user *u, void *ud)
{
    *(char ***)ud = g_strdupv((char **)u->groups);
    return 1;
}

/* The sources `call`'s caller may see (see store_routes_visible); an admin
 * or an API key sees every one. */
static char **caller_sources(store_routes *r, ucd_http_call *call)
{
    ucd_http_caller who = {.struct_size = sizeof who};
    r->http->caller(call, &who);
    if (!r->visible || who.role >= UCD_HTTP_ROLE_ADMIN || !who.user_id)
        return NULL;
    char **groups = NULL;
    ucd_service s = {.struct_size = sizeof s};
    if (r->st->host->service_get(r->st->self, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, NULL,
                                 &s) == UCD_OK) {
        const ucd_directory_v1 *dir = s.iface;
        dir->get_user(s.impl, who.user_id, keep_groups, &groups);
    }
    char **sources = store_routes_visible(r, (const char *const *)groups);
    g_strfreev(groups);
    return sources;
}

static char **phonebook_sources(ucd_http_call *call, void *data)
{
    return caller_sources(data, call);
}

/* ---- JSON ---- */

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static const char *kind_word(uint32_t kind)
{
    static const char *const words[] = {"other", "business", "mobile", "home", "fax"};
    return kind < G_N_ELEMENTS(words) ? words[kind] : "other";
}

static int add_hit(const ucd_contact_hit *hit, void *ud)
{
    JsonBuilder *b = ud;
    const ucd_contact *c = hit->contact;
    json_builder_begin_object(b);
    add_string(b, "source", hit->source);
    add_string(b, "source_id", c->source_id);
    add_string(b, "name", c->display_name);
    add_string(b, "given_name", c->given_name);
    add_string(b, "surname", c->surname);
    add_string(b, "company", c->company);
    add_string(b, "department", c->department);
    add_string(b, "email", c->email);
    add_string(b, "address", c->address);
    add_string(b, "crm_link", c->crm_link);
    json_builder_set_member_name(b, "numbers");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        json_builder_begin_object(b);
        add_string(b, "kind", kind_word(c->numbers[i].kind));
        add_string(b, "number", c->numbers[i].raw);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    if (hit->matched_number) {
        add_string(b, "matched_number", hit->matched_number);
        json_builder_set_member_name(b, "prefix_match");
        json_builder_add_boolean_value(b, hit->prefix_match != 0);
    }
    json_builder_end_object(b);
    return 0;
}

static JsonBuilder *list_begin(void)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "items");
    json_builder_begin_array(b);
    return b;
}

/* {items, total, next: null}: a search answers one page of the best hits. */
static char *list_end(JsonBuilder *b)
{
    json_builder_end_array(b);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    JsonObject *o = json_node_get_object(root);
    json_object_set_int_member(o, "total",
                               json_array_get_length(json_object_get_array_member(o, "items")));
    json_object_set_null_member(o, "next");
    char *text = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);
    return text;
}

/* ---- search, on a worker ---- */

typedef struct search_job {
    store_routes *r;
    ucd_http_call *call;
    char *query;
    char **sources;
    uint32_t limit;
    int rc;
    char *body;
} search_job;

static void search_work(void *data)
{
    search_job *j = data;
    JsonBuilder *b = list_begin();
    j->rc = store_search(j->r->st, j->query, (const char *const *)j->sources, j->limit, add_hit, b);
    j->body = list_end(b);
}

static void search_done(void *data)
{
    search_job *j = data;
    if (j->rc == UCD_OK)
        j->r->http->respond(j->call, 200, j->body);
    else
        j->r->http->respond_error(j->call, 503, "unavailable",
                                  "the contact store cannot search now (see the daemon's log)");
    g_free(j->body);
    g_free(j->query);
    g_strfreev(j->sources);
    g_free(j);
}

static void get_search(ucd_http_call *call, void *data)
{
    store_routes *r = data;
    const char *q = r->http->query_param(call, "q");
    const char *limit_text = r->http->query_param(call, "limit");
    if (!store_has_word(q)) {
        r->http->respond_error(call, 400, "invalid_argument", "q: words to search for are needed");
        return;
    }
    guint64 limit = 50;
    if (limit_text &&
        (!g_ascii_string_to_unsigned(limit_text, 10, 1, SEARCH_LIMIT_MAX, &limit, NULL))) {
        r->http->respond_error(call, 400, "invalid_argument",
                               "limit: a number from 1 to 200 is needed");
        return;
    }
    search_job *j = g_new0(search_job, 1);
    j->r = r;
    j->call = call;
    j->query = g_strdup(q);
    j->sources = caller_sources(r, call);
    j->limit = (uint32_t)limit;
    r->http->defer(call);
    if (r->st->host->work_submit(r->st->self, search_work, search_done, j) != UCD_OK) {
        j->rc = UCD_E_BUSY;
        search_done(j);
    }
}

/* ---- lookup, from memory ---- */

static void get_lookup(ucd_http_call *call, void *data)
{
    store_routes *r = data;
    const char *number = r->http->query_param(call, "number");
    const char *context = r->http->query_param(call, "context");
    if (!number || !*number) {
        r->http->respond_error(call, 400, "invalid_argument", "number: a phone number is needed");
        return;
    }
    char **sources = caller_sources(r, call);
    JsonBuilder *b = list_begin();
    int rc = store_lookup(r->st, context, number, (const char *const *)sources, add_hit, b);
    char *body = list_end(b);
    g_strfreev(sources);
    if (rc == UCD_E_INVALID)
        r->http->respond_error(call, 400, "invalid_argument",
                               "number: not a phone number in any form ucd knows");
    else
        r->http->respond(call, 200, body); /* no hit: an empty list */
    g_free(body);
}

/* ---- routes ---- */

#define CONTACT_SCHEMA                                                                             \
    "{\"type\":\"object\",\"properties\":{\"source\":{\"type\":\"string\"},\"source_id\":{"        \
    "\"type\":[\"string\",\"null\"]},\"name\":{\"type\":[\"string\",\"null\"]},\"given_name\":{"   \
    "\"type\":[\"string\",\"null\"]},\"surname\":{\"type\":[\"string\",\"null\"]},\"company\":{"   \
    "\"type\":[\"string\",\"null\"]},\"department\":{\"type\":[\"string\",\"null\"]},\"email\":{"  \
    "\"type\":[\"string\",\"null\"]},\"address\":{\"type\":[\"string\",\"null\"]},\"crm_link\":{"  \
    "\"type\":[\"string\",\"null\"]},\"numbers\":{\"type\":\"array\",\"items\":{\"type\":"         \
    "\"object\",\"properties\":{\"kind\":{\"enum\":[\"other\",\"business\",\"mobile\",\"home\","   \
    "\"fax\"]},\"number\":{\"type\":\"string\"}}}},\"matched_number\":{\"type\":\"string\"},"      \
    "\"prefix_match\":{\"type\":\"boolean\"}}}"
#define LIST_RESPONSE                                                                              \
    "\"responses\":{\"200\":{\"description\":\"the contacts, best first\",\"content\":{"           \
    "\"application/json\":{\"schema\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":"   \
    "\"array\",\"items\":" CONTACT_SCHEMA "},\"total\":{\"type\":\"integer\"},\"next\":{\"type\":" \
    "\"null\"}}}}}}}"

static const char search_openapi[] =
    "{\"summary\":\"Search the contact directory\",\"description\":\"Every word must match the "
    "start of a word of any field (name, company, department, email, address) or, when it is "
    "digits, of a number. Only the sources the caller's directory profile allows are "
    "searched.\",\"parameters\":[{\"name\":\"q\",\"in\":\"query\",\"required\":true,\"schema\":{"
    "\"type\":\"string\"}},{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
    "\"minimum\":1,\"maximum\":200,\"default\":50}}]," LIST_RESPONSE "}";

static const char lookup_openapi[] =
    "{\"summary\":\"Who owns a phone number\",\"description\":\"Any raw form (national, "
    "+E.164, 00-international, with the outside-line prefix of the PBX named by context); exact "
    "matches by source priority first, then switchboard prefixes. An empty list when nobody "
    "does.\",\"parameters\":[{\"name\":\"number\",\"in\":\"query\",\"required\":true,\"schema\":"
    "{\"type\":\"string\"}},{\"name\":\"context\",\"in\":\"query\",\"description\":\"the PBX "
    "driver module whose numbering the number is "
    "in\",\"schema\":{\"type\":\"string\"}}]," LIST_RESPONSE "}";

void store_routes_start(store_routes *r)
{
    ucd_service s = {.struct_size = sizeof s};
    if (r->st->host->service_get(r->st->self, UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, NULL, &s) != UCD_OK)
        return;
    r->http = s.iface;
    r->http_impl = s.impl;
    const ucd_http_route routes[] = {
        {.struct_size = sizeof(ucd_http_route),
         .role = UCD_HTTP_ROLE_USER,
         .method = "GET",
         .path = "/contacts",
         .scope = "contacts:read",
         .openapi = search_openapi,
         .handler = get_search,
         .user_data = r},
        {.struct_size = sizeof(ucd_http_route),
         .role = UCD_HTTP_ROLE_USER,
         .method = "GET",
         .path = "/contacts/lookup",
         .scope = "contacts:read",
         .openapi = lookup_openapi,
         .handler = get_lookup,
         .user_data = r},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
        int rc = r->http->route_add(r->http_impl, r->st->self, &routes[i]);
        if (rc != UCD_OK)
            r->st->host->log(r->st->self, UCD_LOG_WARNING, "client API route %s %s: %s",
                             routes[i].method, routes[i].path, ucd_strerror(rc));
    }
    if (!r->phonebooks)
        r->phonebooks = phonebook_routes_new(r->st, phonebook_sources, r);
    int rc = phonebook_routes_add(r->phonebooks, r->http, r->http_impl);
    if (rc != UCD_OK)
        r->st->host->log(r->st->self, UCD_LOG_WARNING, "client API phonebooks: %s%s",
                         ucd_strerror(rc),
                         rc == UCD_E_UNSUPPORTED ? " (api-http is older than http 1.1)" : "");
}

void store_routes_stop(store_routes *r)
{
    if (r->http)
        r->http->route_remove_all(r->http_impl, r->st->self);
    r->http = NULL;
}
