/*
 * api-answer-cache.c - fragments kept by their inputs, list answers kept
 * by their fragments (api-answer-cache.h says why and how to use it).
 *
 * Both maps are "two generations": lookups look in the young table, then in
 * the old one (a hit there moves the entry to the young one); when the young
 * table is full, the old one is dropped as a whole and the young one becomes
 * old. So what a request used since the last turn survives the next one,
 * memory is bounded by twice a generation, and nothing is ordered or
 * counted per entry. One mutex guards the fragments (the journal builds
 * them on the worker pool); the answers are the main loop's only.
 */
#include "api-answer-cache.h"

#include <string.h>

typedef struct generations {
    GHashTable *young, *old; /* GBytes key -> value */
    guint half;              /* entries in a generation */
    GDestroyNotify free_value;
} generations;

/* A list answer as it was sent: the fragments it was joined from (held, so
 * a pointer compared is the very object, never a new one at an old address),
 * the rest of its inputs, and the result. */
typedef struct kept_answer {
    GBytes *inputs; /* api_call_respond_fragments_keyed's, NULL: none */
    GPtrArray *fragments;
    gint64 total;
    char *next;
    GBytes *body;
    char *etag;
} kept_answer;

struct api_answer_cache {
    gint refs;
    GMutex lock; /* fragments */
    generations fragments;
    generations answers;
    char nonce[17];
    guint64 serial;
};

struct api_fragment_list {
    GPtrArray *fragments; /* GBytes */
};

/* ---- two generations ---- */

static GHashTable *generation_new(GDestroyNotify free_value)
{
    return g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
                                 free_value);
}

static void generations_init(generations *g, guint max, GDestroyNotify free_value)
{
    g->half = MAX(max / 2, 1);
    g->free_value = free_value;
    g->young = generation_new(free_value);
    g->old = generation_new(free_value);
}

static void generations_clear(generations *g)
{
    g_hash_table_unref(g->young);
    g_hash_table_unref(g->old);
}

static void generations_insert(generations *g, GBytes *key, gpointer value)
{
    if (g_hash_table_size(g->young) >= g->half) {
        g_hash_table_unref(g->old);
        g->old = g->young;
        g->young = generation_new(g->free_value);
    }
    g_hash_table_insert(g->young, key, value);
}

/* The value of `key`, moved to the young generation when it was old. */
static gpointer generations_lookup(generations *g, GBytes *key)
{
    gpointer value = g_hash_table_lookup(g->young, key);
    if (value)
        return value;
    gpointer old_key = NULL;
    if (!g_hash_table_steal_extended(g->old, key, &old_key, &value))
        return NULL;
    generations_insert(g, old_key, value);
    return value;
}

/* ---- the cache ---- */

static void kept_answer_free(gpointer data)
{
    kept_answer *a = data;
    if (a->inputs)
        g_bytes_unref(a->inputs);
    g_ptr_array_unref(a->fragments);
    g_free(a->next);
    g_bytes_unref(a->body);
    g_free(a->etag);
    g_free(a);
}

api_answer_cache *api_answer_cache_new(void)
{
    api_answer_cache *cache = g_new0(api_answer_cache, 1);
    cache->refs = 1;
    g_mutex_init(&cache->lock);
    generations_init(&cache->fragments, API_FRAGMENTS_MAX, (GDestroyNotify)g_bytes_unref);
    generations_init(&cache->answers, API_ANSWERS_MAX, kept_answer_free);
    /* Tags of an earlier process (or an earlier start of the module) must
     * never match: their serials start again at 1. */
    g_snprintf(cache->nonce, sizeof cache->nonce, "%08x%08x", g_random_int(), g_random_int());
    return cache;
}

api_answer_cache *api_answer_cache_ref(api_answer_cache *cache)
{
    if (cache)
        g_atomic_int_inc(&cache->refs);
    return cache;
}

void api_answer_cache_unref(api_answer_cache *cache)
{
    if (cache == NULL || !g_atomic_int_dec_and_test(&cache->refs))
        return;
    generations_clear(&cache->fragments);
    generations_clear(&cache->answers);
    g_mutex_clear(&cache->lock);
    g_free(cache);
}

/* ---- fragments ---- */

static GBytes *serialize(JsonNode *node)
{
    if (node == NULL)
        return g_bytes_new_static("null", 4);
    char *text = json_to_string(node, FALSE);
    json_node_unref(node);
    return g_bytes_new_take(text, strlen(text));
}

GBytes *api_answer_cache_fragment(api_answer_cache *cache, const GString *key,
                                  api_fragment_build build, gpointer data)
{
    if (cache == NULL)
        return serialize(build(data));
    GBytes *probe = g_bytes_new_static(key->str, key->len);
    g_mutex_lock(&cache->lock);
    GBytes *fragment = generations_lookup(&cache->fragments, probe);
    if (fragment)
        g_bytes_ref(fragment);
    g_mutex_unlock(&cache->lock);
    g_bytes_unref(probe);
    if (fragment)
        return fragment;
    /* Built outside the lock: another thread may build the same one
     * meanwhile; the last one kept wins, both are the same bytes. */
    fragment = serialize(build(data));
    GBytes *kept_key = g_bytes_new(key->str, key->len);
    g_mutex_lock(&cache->lock);
    generations_insert(&cache->fragments, kept_key, g_bytes_ref(fragment));
    g_mutex_unlock(&cache->lock);
    return fragment;
}

/* ---- lists ---- */

api_fragment_list *api_fragment_list_new(void)
{
    api_fragment_list *list = g_new(api_fragment_list, 1);
    list->fragments = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    return list;
}

void api_fragment_list_add(api_fragment_list *list, GBytes *fragment)
{
    g_ptr_array_add(list->fragments, fragment);
}

guint api_fragment_list_length(const api_fragment_list *list)
{
    return list->fragments->len;
}

void api_fragment_list_free(api_fragment_list *list)
{
    if (list == NULL)
        return;
    g_ptr_array_unref(list->fragments);
    g_free(list);
}

/* {"items":[...],"total":N,"next":...}: the fragments joined, and the tail
 * serialized by json-glib (the cursor is a string it escapes). */
static GBytes *join(GPtrArray *fragments, gint64 total, const char *next)
{
    gsize size = 64;
    for (guint i = 0; i < fragments->len; i++)
        size += g_bytes_get_size(fragments->pdata[i]) + 1;
    GString *body = g_string_sized_new(size + (next ? strlen(next) * 2 : 0));
    g_string_append(body, "{\"items\":[");
    for (guint i = 0; i < fragments->len; i++) {
        gsize length = 0;
        const char *text = g_bytes_get_data(fragments->pdata[i], &length);
        if (i > 0)
            g_string_append_c(body, ',');
        g_string_append_len(body, text, (gssize)length);
    }
    JsonObject *tail = json_object_new();
    if (total >= 0)
        json_object_set_int_member(tail, "total", total);
    else
        json_object_set_null_member(tail, "total");
    if (next)
        json_object_set_string_member(tail, "next", next);
    else
        json_object_set_null_member(tail, "next");
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, tail);
    char *text = json_to_string(node, FALSE);
    json_node_unref(node);
    /* text is {"total":...}: its members follow the items. */
    g_string_append(body, "],");
    g_string_append(body, text + 1);
    g_free(text);
    gsize length = body->len;
    return g_bytes_new_take(g_string_free(body, FALSE), length);
}

/* What one list answer is kept under: the method, the path and query as
 * sent and who asks. (Only a narrower key: an answer is reused only when
 * its inputs or fragments are the same, never because the key matched.) */
static GBytes *answer_key(api_call *call)
{
    const api_principal *p = api_call_principal(call);
    GString *key = g_string_new(NULL);
    api_key_string(key, api_call_method(call));
    api_key_string(key, api_call_path(call));
    api_key_string(key, api_call_query_string(call));
    api_key_string(key, p ? p->user_id : NULL);
    api_key_string(key, p ? p->key_name : NULL);
    gsize length = key->len;
    return g_bytes_new_take(g_string_free(key, FALSE), length);
}

api_answer_cache *api_answer_cache_of(api_ctx *ctx)
{
    return ctx->answers;
}

static gboolean same_answer(const kept_answer *a, GPtrArray *fragments, gint64 total,
                            const char *next)
{
    if (a->fragments->len != fragments->len || a->total != total || g_strcmp0(a->next, next) != 0)
        return FALSE;
    /* an empty GPtrArray's pdata may be NULL, which memcmp must not get */
    return fragments->len == 0 ||
           memcmp(a->fragments->pdata, fragments->pdata, fragments->len * sizeof(gpointer)) == 0;
}

gboolean api_call_respond_kept(api_call *call, const GString *inputs)
{
    api_answer_cache *cache = api_answer_cache_of(api_call_ctx(call));
    if (cache == NULL)
        return FALSE;
    GBytes *key = answer_key(call);
    kept_answer *a = generations_lookup(&cache->answers, key);
    g_bytes_unref(key);
    gsize length = 0;
    const char *kept = a && a->inputs ? g_bytes_get_data(a->inputs, &length) : NULL;
    if (kept == NULL || length != inputs->len || memcmp(kept, inputs->str, length) != 0)
        return FALSE;
    api_call_respond_bytes(call, a->body, a->etag);
    return TRUE;
}

static void respond(api_call *call, api_fragment_list *list, gint64 total, const char *next,
                    const GString *inputs)
{
    api_answer_cache *cache = api_answer_cache_of(api_call_ctx(call));
    if (total < 0)
        total = -1;
    if (cache == NULL) {
        GBytes *body = join(list->fragments, total, next);
        char *etag = api_etag_of(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
        api_call_respond_bytes(call, body, etag);
        g_free(etag);
        g_bytes_unref(body);
        api_fragment_list_free(list);
        return;
    }
    GBytes *key = answer_key(call);
    kept_answer *a = generations_lookup(&cache->answers, key);
    if (a && same_answer(a, list->fragments, total, next)) {
        g_bytes_unref(key);
    } else {
        a = g_new0(kept_answer, 1);
        a->fragments = g_ptr_array_ref(list->fragments);
        a->total = total;
        a->next = g_strdup(next);
        a->body = join(list->fragments, total, next);
        a->etag = g_strdup_printf("\"%s-%" G_GUINT64_FORMAT "\"", cache->nonce, ++cache->serial);
        /* Replaces an older answer under the same key (freed with it). */
        if (g_hash_table_contains(cache->answers.young, key))
            g_hash_table_replace(cache->answers.young, key, a);
        else
            generations_insert(&cache->answers, key, a);
    }
    /* The same body may come from other inputs (a change that did not
     * show at this level): the kept inputs follow the last request. */
    if (a->inputs)
        g_bytes_unref(a->inputs);
    a->inputs = inputs ? g_bytes_new(inputs->str, inputs->len) : NULL;
    api_call_respond_bytes(call, a->body, a->etag);
    api_fragment_list_free(list);
}

void api_call_respond_fragments(api_call *call, api_fragment_list *list, gint64 total,
                                const char *next)
{
    respond(call, list, total, next, NULL);
}

void api_call_respond_fragments_keyed(api_call *call, api_fragment_list *list, gint64 total,
                                      const char *next, const GString *inputs)
{
    respond(call, list, total, next, inputs);
}
