/*
 * test-answer-cache.c - api-answer-cache.h: keys that never collide, a
 * fragment kept while its inputs stay and built again when one changes, a
 * bounded cache, and list answers on the real server in this process: the
 * bytes a JSON tree would give, a change made behind the API's back seen by
 * the very next request (new body, new ETag, the old tag no longer 304),
 * and two callers of different levels asking in turn, each getting only
 * their own cut.
 */
#include <string.h>

#include "api-answer-cache.h"
#include "server-util.h"

/* ---- keys and fragments ---- */

static GString *key_of(const char *a, const char *b)
{
    GString *key = g_string_new(NULL);
    api_key_string(key, a);
    api_key_string(key, b);
    return key;
}

static gboolean same_key(GString *x, GString *y)
{
    gboolean same = x->len == y->len && memcmp(x->str, y->str, x->len) == 0;
    g_string_free(x, TRUE);
    g_string_free(y, TRUE);
    return same;
}

static void test_keys(void)
{
    g_assert_false(same_key(key_of("ab", "c"), key_of("a", "bc")));
    g_assert_false(same_key(key_of(NULL, "x"), key_of("", "x")));
    g_assert_false(same_key(key_of("x", NULL), key_of("x", "")));
    g_assert_true(same_key(key_of("x", NULL), key_of("x", NULL)));
    GString *one = g_string_new(NULL), *two = g_string_new(NULL);
    api_key_int(one, 1);
    api_key_int(two, 256);
    g_assert_false(same_key(one, two));
    /* a long value grows the string like any other append */
    GString *key = g_string_sized_new(1);
    char *big = g_strnfill(5000, 'v');
    api_key_string(key, big);
    g_assert_cmpuint(key->len, ==, 5000 + sizeof(guint32));
    g_assert_cmpint(memcmp(key->str + sizeof(guint32), big, 5000), ==, 0);
    g_free(big);
    g_string_free(key, TRUE);
}

typedef struct record {
    const char *name;
    gint64 count;
    guint builds;
} record;

static JsonNode *build_record(gpointer data)
{
    record *r = data;
    r->builds++;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, r->name);
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, r->count);
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

static GBytes *fragment_of(api_answer_cache *cache, record *r)
{
    GString *key = g_string_new(NULL);
    api_key_string(key, "record");
    api_key_string(key, r->name);
    api_key_int(key, r->count);
    GBytes *fragment = api_answer_cache_fragment(cache, key, build_record, r);
    g_string_free(key, TRUE);
    return fragment;
}

static void assert_text(GBytes *bytes, const char *text)
{
    gsize length = 0;
    const char *data = g_bytes_get_data(bytes, &length);
    g_assert_cmpmem(data, length, text, strlen(text));
}

static void test_fragments(void)
{
    api_answer_cache *cache = api_answer_cache_new();
    record r = {.name = "a \"quoted\" name", .count = 1};
    GBytes *first = fragment_of(cache, &r);
    /* json-glib wrote it, escapes and all */
    assert_text(first, "{\"name\":\"a \\\"quoted\\\" name\",\"count\":1}");
    GBytes *again = fragment_of(cache, &r);
    g_assert_true(first == again);
    g_assert_cmpuint(r.builds, ==, 1);
    /* a changed value is another key: built again, never the old text */
    r.count = 2;
    GBytes *changed = fragment_of(cache, &r);
    g_assert_cmpuint(r.builds, ==, 2);
    assert_text(changed, "{\"name\":\"a \\\"quoted\\\" name\",\"count\":2}");
    g_bytes_unref(first);
    g_bytes_unref(again);
    g_bytes_unref(changed);

    /* no cache: built every time, the same bytes */
    GBytes *plain = fragment_of(NULL, &r);
    g_assert_cmpuint(r.builds, ==, 3);
    assert_text(plain, "{\"name\":\"a \\\"quoted\\\" name\",\"count\":2}");
    g_bytes_unref(plain);

    /* a reference outlives the cache */
    GBytes *kept = fragment_of(cache, &r);
    api_answer_cache_unref(cache);
    assert_text(kept, "{\"name\":\"a \\\"quoted\\\" name\",\"count\":2}");
    g_bytes_unref(kept);
}

/* More records than the cache keeps: memory stays bounded (the first ones
 * are built again), what was just used stays. */
static void test_bounded(void)
{
    api_answer_cache *cache = api_answer_cache_new();
    record first = {.name = "first", .count = 0};
    g_bytes_unref(fragment_of(cache, &first));
    record r = {.name = "many"};
    for (gint64 i = 1; i <= API_FRAGMENTS_MAX * 2; i++) {
        r.count = i;
        g_bytes_unref(fragment_of(cache, &r));
    }
    g_assert_cmpuint(r.builds, ==, API_FRAGMENTS_MAX * 2);
    g_bytes_unref(fragment_of(cache, &first));
    g_assert_cmpuint(first.builds, ==, 2);
    /* the last one is still kept */
    guint builds = r.builds;
    g_bytes_unref(fragment_of(cache, &r));
    g_assert_cmpuint(r.builds, ==, builds);
    api_answer_cache_unref(cache);
}

/* ---- list answers on the server ---- */

/* The "service": people with a state (everyone may see) and a note (at
 * BUSINESS). The test changes them directly, as a PBX or ucctl would. */
typedef struct person {
    const char *id;
    const char *state;
    const char *note;
} person;

static person people[] = {
    {"u:bob", "busy", "at the dentist"},
    {"u:dave", "available", NULL},
    {"u:ghost", "away", "hidden"},
};
static guint list_builds;

static JsonNode *person_json(const person *p, guint level)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "id", p->id);
    json_object_set_string_member(o, "state", p->state);
    if (level >= UCD_PERM_BUSINESS) {
        if (p->note)
            json_object_set_string_member(o, "note", p->note);
        else
            json_object_set_null_member(o, "note");
    }
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

typedef struct person_view {
    const person *p;
    guint level;
} person_view;

static JsonNode *build_person(gpointer data)
{
    person_view *v = data;
    list_builds++;
    return person_json(v->p, v->level);
}

static void person_key(GString *key, const person *p, guint level)
{
    api_key_string(key, "person");
    api_key_int(key, level);
    api_key_string(key, p->id);
    api_key_string(key, p->state);
    api_key_string(key, p->note);
}

/* GET /people: as routes-presence.c does it, the fast path first. */
static void list_people(api_call *call, gpointer data)
{
    api_answer_cache *cache = api_answer_cache_of(data);
    GString *inputs = g_string_new(NULL);
    gint64 total = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(people); i++) {
        guint level = api_call_level(call, people[i].id);
        if (level >= UCD_PERM_PUBLIC) {
            person_key(inputs, &people[i], level);
            total++;
        }
    }
    api_key_int(inputs, total);
    if (api_call_respond_kept(call, inputs)) {
        g_string_free(inputs, TRUE);
        return;
    }
    g_string_truncate(inputs, 0);
    api_fragment_list *list = api_fragment_list_new();
    GString *key = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(people); i++) {
        guint level = api_call_level(call, people[i].id);
        if (level < UCD_PERM_PUBLIC)
            continue;
        g_string_truncate(key, 0);
        person_key(key, &people[i], level);
        g_string_append_len(inputs, key->str, (gssize)key->len);
        person_view view = {.p = &people[i], .level = level};
        api_fragment_list_add(list, api_answer_cache_fragment(cache, key, build_person, &view));
    }
    api_key_int(inputs, total);
    api_call_respond_fragments_keyed(call, list, total, NULL, inputs);
    g_string_free(key, TRUE);
    g_string_free(inputs, TRUE);
}

/* GET /cursor: an empty list with a cursor json-glib must escape. */
static void list_cursor(api_call *call, gpointer data)
{
    (void)data;
    api_call_respond_fragments(call, api_fragment_list_new(), -1, "a\"b\\c\n");
}

static const api_route_def routes[] = {
    {"GET", "/people", UCD_HTTP_ROLE_USER, "things:read", NULL, list_people},
    {"GET", "/cursor", UCD_HTTP_ROLE_ANYONE, NULL, NULL, list_cursor},
};

/* carol (tok-user) sees bob at BUSINESS, others at PUBLIC; u:ghost is
 * BLOCKED to everyone but admins; the key (tok-key) sees its listed
 * u:dave at PERSONAL, the others at PUBLIC. */
static int perm_level(void *impl, const char *viewer, const char *subject, uint32_t *out)
{
    (void)impl;
    *out = strcmp(subject, "u:ghost") == 0                                   ? UCD_PERM_BLOCKED
           : strcmp(viewer, "u:carol") == 0 && strcmp(subject, "u:bob") == 0 ? UCD_PERM_BUSINESS
                                                                             : UCD_PERM_PUBLIC;
    return UCD_OK;
}

static const ucd_permissions_v1 perms = {.struct_size = sizeof perms, .level = perm_level};

static test_server *start(void)
{
    test_server *t = test_server_new();
    t->ctx.perms = &perms;
    g_assert_true(api_router_add(t->ctx.router, routes, G_N_ELEMENTS(routes), &t->ctx, NULL, NULL));
    test_server_listen(t);
    return t;
}

/* The list as a JSON tree would have written it for a caller who sees
 * each person at levels[i] (BLOCKED: left out). */
static char *tree_text(const guint *levels)
{
    JsonArray *items = json_array_new();
    gint64 total = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(people); i++) {
        if (levels[i] >= UCD_PERM_PUBLIC) {
            json_array_add_element(items, person_json(&people[i], levels[i]));
            total++;
        }
    }
    JsonObject *o = json_object_new();
    json_object_set_array_member(o, "items", items);
    json_object_set_int_member(o, "total", total);
    json_object_set_null_member(o, "next");
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    char *text = json_to_string(node, FALSE);
    json_node_unref(node);
    return text;
}

/* GET /people as `token`, with If-None-Match `etag` (NULL: none): the
 * status, the body (when 200) checked against the tree for `levels`, and
 * the ETag (new string). */
static guint get_people(test_server *t, const char *token, const char *etag, const guint *levels,
                        char **tag_out)
{
    char *bearer = g_strconcat("Bearer ", token, NULL);
    const char *headers[] = {"Authorization", bearer, "If-None-Match", etag, NULL};
    if (etag == NULL)
        headers[2] = NULL;
    test_answer a = test_request(t, "GET", "/api/v1/people", headers, NULL);
    guint status = a.status;
    if (status == 200) {
        char *expected = tree_text(levels);
        g_assert_cmpstr(a.body, ==, expected);
        g_free(expected);
        g_assert_cmpstr(soup_message_headers_get_one(a.headers, "Cache-Control"), ==,
                        "private, no-cache");
    } else {
        g_assert_cmpuint(status, ==, 304);
        g_assert_cmpstr(a.body, ==, "");
    }
    const char *tag = soup_message_headers_get_one(a.headers, "ETag");
    g_assert_nonnull(tag);
    if (tag_out)
        *tag_out = g_strdup(tag);
    test_answer_clear(&a);
    g_free(bearer);
    return status;
}

static const guint carol_levels[] = {UCD_PERM_BUSINESS, UCD_PERM_PUBLIC, UCD_PERM_BLOCKED};
static const guint key_levels[] = {UCD_PERM_PUBLIC, UCD_PERM_PERSONAL, UCD_PERM_PUBLIC};
static const guint admin_levels[] = {UCD_PERM_PERSONAL, UCD_PERM_PERSONAL, UCD_PERM_PERSONAL};

static void test_list_changes(void)
{
    test_server *t = start();
    char *tag = NULL, *tag2 = NULL, *tag3 = NULL;
    list_builds = 0;
    g_assert_cmpuint(get_people(t, "tok-user", NULL, carol_levels, &tag), ==, 200);
    g_assert_cmpuint(list_builds, ==, 2);
    /* unchanged: the same tag, 304 without a body, nothing built */
    g_assert_cmpuint(get_people(t, "tok-user", tag, carol_levels, &tag2), ==, 304);
    g_assert_cmpstr(tag, ==, tag2);
    g_free(tag2);
    g_assert_cmpuint(get_people(t, "tok-user", NULL, carol_levels, &tag2), ==, 200);
    g_assert_cmpstr(tag, ==, tag2);
    g_free(tag2);
    g_assert_cmpuint(list_builds, ==, 2);

    /* a change behind the API's back is in the very next answer */
    people[0].note = "back at 3";
    g_assert_cmpuint(get_people(t, "tok-user", tag, carol_levels, &tag2), ==, 200);
    g_assert_cmpstr(tag, !=, tag2);
    g_assert_cmpuint(list_builds, ==, 3); /* bob's only: dave's fragment was kept */
    people[1].state = "on_phone";
    g_assert_cmpuint(get_people(t, "tok-user", tag2, carol_levels, &tag3), ==, 200);
    g_assert_cmpstr(tag2, !=, tag3);
    /* and back: the old bytes again, under the tag of this answer */
    people[0].note = "at the dentist";
    people[1].state = "available";
    g_free(tag2);
    g_assert_cmpuint(get_people(t, "tok-user", tag3, carol_levels, &tag2), ==, 200);
    g_assert_cmpstr(tag2, !=, tag3);
    g_assert_cmpuint(get_people(t, "tok-user", tag2, carol_levels, NULL), ==, 304);
    g_free(tag);
    g_free(tag2);
    g_free(tag3);

    test_server_free(t);

    /* a restart (a new cache, serials from 1 again) never takes an old
     * tag for its own */
    t = start();
    g_assert_cmpuint(get_people(t, "tok-user", NULL, carol_levels, &tag), ==, 200);
    test_server_free(t);
    t = start();
    g_assert_cmpuint(get_people(t, "tok-user", tag, carol_levels, &tag2), ==, 200);
    g_assert_cmpstr(tag, !=, tag2);
    g_free(tag);
    g_free(tag2);
    test_server_free(t);
}

/* Callers of different levels in turn, the cache warm: each gets their own
 * cut every time, and one's tag is no 304 for the other. */
static void test_list_viewers(void)
{
    test_server *t = start();
    char *carol_tag = NULL, *key_tag = NULL, *admin_tag = NULL;
    for (int round = 0; round < 3; round++) {
        g_free(carol_tag), g_free(key_tag), g_free(admin_tag);
        g_assert_cmpuint(get_people(t, "tok-user", NULL, carol_levels, &carol_tag), ==, 200);
        g_assert_cmpuint(get_people(t, "tok-key", NULL, key_levels, &key_tag), ==, 200);
        g_assert_cmpuint(get_people(t, "tok-admin", NULL, admin_levels, &admin_tag), ==, 200);
    }
    g_assert_cmpuint(get_people(t, "tok-key", carol_tag, key_levels, NULL), ==, 200);
    g_assert_cmpuint(get_people(t, "tok-user", key_tag, carol_levels, NULL), ==, 200);
    g_assert_cmpuint(get_people(t, "tok-user", admin_tag, carol_levels, NULL), ==, 200);
    g_assert_cmpuint(get_people(t, "tok-admin", admin_tag, admin_levels, NULL), ==, 304);
    g_free(carol_tag), g_free(key_tag), g_free(admin_tag);
    test_server_free(t);
}

static void test_list_cursor(void)
{
    test_server *t = start();
    test_answer a = test_request(t, "GET", "/api/v1/cursor", NULL, NULL);
    g_assert_cmpuint(a.status, ==, 200);
    g_assert_cmpstr(a.body, ==, "{\"items\":[],\"total\":null,\"next\":\"a\\\"b\\\\c\\n\"}");
    g_assert_nonnull(json_object_get_string_member(json_node_get_object(a.json), "next"));
    test_answer_clear(&a);
    test_server_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-http/answer-cache/keys", test_keys);
    g_test_add_func("/api-http/answer-cache/fragments", test_fragments);
    g_test_add_func("/api-http/answer-cache/bounded", test_bounded);
    g_test_add_func("/api-http/answer-cache/list-changes", test_list_changes);
    g_test_add_func("/api-http/answer-cache/list-viewers", test_list_viewers);
    g_test_add_func("/api-http/answer-cache/list-cursor", test_list_cursor);
    return g_test_run();
}
