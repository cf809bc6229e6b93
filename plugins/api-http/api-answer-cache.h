/*
 * api-answer-cache.h - large list answers without a JSON tree per request:
 * each record's JSON text (a "fragment") is kept while the values it was
 * made from stay the same, and a list's body is the fragments joined, kept
 * with its ETag while the same fragments come back for the same request.
 *
 * Why keyed by the values and not invalidated by events: the services
 * (presence, directory, the journal's store) give no version of a record,
 * and the bus delivers their events later than the change and may drop
 * some when a queue is full. So a route asks the service for the records
 * on every request, as before, and writes the INPUTS of each record's JSON
 * (every value a field is made from, plus the caller's level and whatever
 * else changes the cut, e.g. "masked") into a key. Equal keys give equal
 * JSON, so a fragment found by its key is always the current one, whatever
 * changed and however: nothing to invalidate, and no answer is ever stale.
 * A record whose values changed has a new key: its JSON is built again
 * (json-glib builds and serializes every fragment; nothing here writes or
 * escapes JSON strings), the old one ages out.
 *
 * Never one viewer's data to another: a fragment is the JSON of its inputs,
 * and the inputs hold the level the fields were cut to, so two callers get
 * one fragment only when they would get the same bytes. A list answer is
 * kept per method, path, query and viewer (user id or API key) and reused only
 * when its fragments are the very same objects in the same order.
 *
 * ETag of a list: the process's random nonce and the answer's serial
 * number, not a hash of the body: a kept answer's bytes never change, a new
 * body gets a new serial, and a restart a new nonce. A 304 then costs no
 * body at all.
 *
 * Memory: both maps keep at most API_FRAGMENTS_MAX fragments and
 * API_ANSWERS_MAX answers; the oldest generation is dropped as a whole when
 * the newer one is full (two generations: what was used since the last
 * turn stays).
 *
 * How a route uses it (routes-presence.c is the example):
 *
 *   api_answer_cache *cache = api_answer_cache_of(ctx);   main loop; NULL: no cache
 *   api_fragment_list *list = api_fragment_list_new();
 *   GString *key = g_string_new(NULL);
 *   for each record the caller may see:
 *       g_string_truncate(key, 0);
 *       api_key_string(key, "presence");    what kind of record (no clash with others)
 *       api_key_int(key, level);            the cut
 *       api_key_string(key, r->user_id);    every value the JSON is made from,
 *       api_key_int(key, r->state); ...     in a fixed order
 *       api_fragment_list_add(list, api_answer_cache_fragment(cache, key, build, r));
 *   g_string_free(key, TRUE);
 *   api_call_respond_fragments(call, list, total, next);  takes the list; main loop
 *
 * `build` makes the record's JsonNode exactly as a route without the cache
 * would (routes_presence_json ...). A value that is not in the key must not
 * change the JSON: when in doubt, put it in the key.
 *
 * Threads: api_answer_cache_fragment, the key writers and the list may be
 * used on the worker pool (the journal reads its store there): take a
 * reference with api_answer_cache_ref on the main loop, drop it when the
 * work is done. api_call_respond_fragments and api_answer_cache_of run on
 * the main loop.
 */
#ifndef API_ANSWER_CACHE_H
#define API_ANSWER_CACHE_H

#include <string.h>

#include "api-call.h"

#define API_FRAGMENTS_MAX 16384
#define API_ANSWERS_MAX   256

typedef struct api_answer_cache api_answer_cache;
typedef struct api_fragment_list api_fragment_list;

/* The cache of the running server (api-server.c makes it with the server,
 * puts it in ctx->answers and frees it with the server), NULL when there is none (a unit test's
 * context without a server): then every fragment is built and nothing kept,
 * with the same bytes in the answer. Main loop. */
api_answer_cache *api_answer_cache_of(api_ctx *ctx);

/* A new empty cache with one reference. */
api_answer_cache *api_answer_cache_new(void);
/* Another reference (NULL: NULL). Any thread. */
api_answer_cache *api_answer_cache_ref(api_answer_cache *cache);
/* Drops a reference (NULL: nothing); the last one frees what is kept. Any
 * thread. */
void api_answer_cache_unref(api_answer_cache *cache);

/* Key writers: append one input value to `key`. A NULL string and "" give
 * different keys, and no sequence of values gives the key of another
 * sequence (each value carries its length). Inline: a list of fifty
 * records writes hundreds of values per request. */
static inline void api_key_bytes_(GString *key, const void *data, gsize length)
{
    if (key->allocated_len - key->len > length) { /* room for the bytes and the NUL */
        memcpy(key->str + key->len, data, length);
        key->len += length;
        key->str[key->len] = '\0';
    } else {
        g_string_append_len(key, (const char *)data, (gssize)length);
    }
}
static inline void api_key_int(GString *key, gint64 value)
{
    api_key_bytes_(key, &value, sizeof value);
}
static inline void api_key_string(GString *key, const char *value)
{
    /* The length first: ("ab", "c") and ("a", "bc") differ, and NULL
     * (G_MAXUINT32) is not "" (0). */
    guint32 length = value ? (guint32)strlen(value) : G_MAXUINT32;
    api_key_bytes_(key, &length, sizeof length);
    if (value)
        api_key_bytes_(key, value, length);
}

/* Builds the JSON of one record; `data` is api_answer_cache_fragment's. */
typedef JsonNode *(*api_fragment_build)(gpointer data);

/* The JSON text of the record whose inputs are `key`: the kept one, or
 * build(data) serialized with json-glib (and kept). A new reference; never
 * NULL (a build that returns NULL gives "null"). `cache` NULL: built every
 * time. Any thread (see above). */
GBytes *api_answer_cache_fragment(api_answer_cache *cache, const GString *key,
                                  api_fragment_build build, gpointer data);

/* A list answer's items, fragments in order. */
api_fragment_list *api_fragment_list_new(void);
/* Appends `fragment` (the reference taken). */
void api_fragment_list_add(api_fragment_list *list, GBytes *fragment);
guint api_fragment_list_length(const api_fragment_list *list);
void api_fragment_list_free(api_fragment_list *list);

/* Answers {"items": [fragments], "total": total, "next": next} (total < 0:
 * null; next NULL: null) with an ETag and "Cache-Control: private,
 * no-cache", or 304 without a body when If-None-Match names the ETag, as
 * api_call_respond_etag does. The body and ETag are reused while the same
 * path, query and viewer get the same fragments, total and next. Takes
 * `list`. Main loop. */
void api_call_respond_fragments(api_call *call, api_fragment_list *list, gint64 total,
                                const char *next);

/* The fast path of a list made on the main loop from records a service
 * gives at once (presence, the directory): a route first writes the keys
 * of every record it would answer, one after the other, into one `inputs`
 * (nothing else: no lookup, no JSON), and asks
 *
 *   if (api_call_respond_kept(call, inputs)) return;
 *
 * which answers with the body kept for this path, query and viewer when
 * it was made from exactly these inputs (and the ETag, or 304). Else
 * (FALSE, nothing answered) the route makes the list as above, writing the
 * same inputs again, and answers with api_call_respond_fragments_keyed,
 * which keeps the answer under them. An unchanged list then costs the
 * keys' writing and one memcmp, no lookup per record. `inputs` must hold
 * everything the answer depends on: every record's key, in order, and what
 * else the body carries (total, next). Main loop. */
gboolean api_call_respond_kept(api_call *call, const GString *inputs);
/* api_call_respond_fragments, keeping the answer under `inputs` for
 * api_call_respond_kept. */
void api_call_respond_fragments_keyed(api_call *call, api_fragment_list *list, gint64 total,
                                      const char *next, const GString *inputs);

#endif /* API_ANSWER_CACHE_H */
