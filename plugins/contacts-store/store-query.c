/*
 * store-query.c - the "contacts" service's lookup and search (store.h):
 * lookups from the published number index and the copies in memory, never
 * blocking and never touching the disk; searches through the full-text
 * index on a reader connection, the contact taken from memory too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Reader connections kept open between searches. */
#define IDLE_READERS 4

typedef struct hit_ctx {
    ucd_contact_hit_cb cb;
    void *user_data;
} hit_ctx;

static int report(const contact_copy *copy, uint32_t contact, int number, int prefix,
                  ucd_contact_hit_cb cb, void *user_data)
{
    ucd_contact c;
    ucd_contact_number numbers[CONTACT_COPY_MAX_NUMBERS];
    contact_copy_render(copy, contact, &c, numbers);
    ucd_contact_hit hit = {.struct_size = sizeof hit,
                           .priority = copy->priority,
                           .source = copy->source,
                           .contact = &c,
                           .matched_number = number >= 0 ? numbers[number].raw : NULL,
                           .matched_kind = number >= 0 ? numbers[number].kind : 0,
                           .prefix_match = prefix != 0};
    return cb(&hit, user_data);
}

static int on_match(const number_index *index, const index_entry *e, int prefix, void *data)
{
    hit_ctx *ctx = data;
    return report(index->copies[e->copy], e->contact, e->number, prefix, ctx->cb, ctx->user_data);
}

int store_lookup(void *impl, const char *context, const char *number, const char *const *sources,
                 ucd_contact_hit_cb cb, void *user_data)
{
    store *st = impl;
    int rc = UCD_OK;
    if (number == NULL || cb == NULL)
        return UCD_E_INVALID;
    uint64_t digits = store_normalize(st, context, number, NULL, &rc);
    if (rc == UCD_E_INVALID)
        return UCD_E_INVALID;
    if (digits == 0)
        return UCD_E_NOT_FOUND;
    hit_ctx ctx = {cb, user_data};
    unsigned ticket;
    number_index *index = index_cell_enter(&st->cell, &ticket);
    unsigned found = number_index_lookup(index, digits, sources, on_match, &ctx);
    index_cell_leave(&st->cell, ticket);
    return found == 0 ? UCD_E_NOT_FOUND : UCD_OK;
}

typedef struct search_ctx {
    store *st;
    const char *short_words; /* checked here, not by the full-text index */
    const char *const *sources;
    uint32_t limit, reported;
    ucd_contact_hit_cb cb;
    void *user_data;
    int stopped;
} search_ctx;

/* The short words of a query, checked on contact `k`'s searchable fields
 * and numbers as the full-text index would: each word a prefix of a word
 * (case and diacritics folded). */
static gboolean matches_short_words(const contact_copy *copy, uint32_t k, const char *short_words)
{
    GString *text = g_string_sized_new(256);
    for (int f = CONTACT_FIELD_DISPLAY_NAME; f <= CONTACT_FIELD_ADDRESS; f++) {
        const char *v = contact_copy_field(copy, k, f);
        if (v != NULL)
            g_string_append_printf(text, "%s ", v);
    }
    const copy_contact *c = &g_array_index(copy->contacts, copy_contact, k);
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        const copy_number *n = contact_copy_number(copy, c->first_number + i);
        if (n->e164 != 0)
            g_string_append_printf(text, "%" G_GUINT64_FORMAT " ", n->e164);
        if (n->display != 0)
            g_string_append_printf(text, "%s ", contact_copy_text(copy, n->display));
        if (n->raw != 0)
            g_string_append_printf(text, "%s ", contact_copy_text(copy, n->raw));
    }
    gboolean match = g_str_match_string(short_words, text->str, TRUE);
    g_string_free(text, TRUE);
    return match;
}

static int on_search_row(int64_t id, void *data)
{
    search_ctx *ctx = data;
    unsigned ticket;
    number_index *index = index_cell_enter(&ctx->st->cell, &ticket);
    for (guint c = 0; index != NULL && c < index->n_copies; c++) {
        const contact_copy *copy = index->copies[c];
        if (id < copy->first_id || id >= copy->first_id + contact_copy_count(copy))
            continue;
        uint32_t k = (uint32_t)(id - copy->first_id);
        if (number_index_source_visible(index, c, ctx->sources) &&
            (ctx->short_words == NULL || matches_short_words(copy, k, ctx->short_words))) {
            ctx->reported++;
            ctx->stopped =
                report(copy, (uint32_t)(id - copy->first_id), -1, 0, ctx->cb, ctx->user_data);
        }
        break;
    }
    index_cell_leave(&ctx->st->cell, ticket);
    return ctx->stopped || ctx->reported >= ctx->limit;
}

gboolean store_has_word(const char *text)
{
    for (const char *p = text; p && *p; p++)
        if (!g_ascii_isspace(*p))
            return TRUE;
    return FALSE;
}

int store_search(void *impl, const char *query, const char *const *sources, uint32_t limit,
                 ucd_contact_hit_cb cb, void *user_data)
{
    store *st = impl;
    if (cb == NULL)
        return UCD_E_INVALID;
    char *short_words = NULL;
    char *fts = store_fts_query(query, &short_words);
    if (fts == NULL)
        return UCD_E_INVALID;
    char *error = NULL;
    store_reader *reader = g_async_queue_try_pop(st->readers);
    if (reader == NULL)
        reader = store_reader_open(st->path, &error);
    int rc = UCD_FAIL;
    if (reader != NULL) {
        search_ctx ctx = {st, short_words, sources, limit ? limit : 50, 0, cb, user_data, 0};
        rc = store_reader_search(reader, fts, on_search_row, &ctx, &error) == 0 ? UCD_OK : UCD_FAIL;
        if (g_async_queue_length(st->readers) < IDLE_READERS)
            g_async_queue_push(st->readers, reader);
        else
            store_reader_close(reader);
    }
    if (error != NULL)
        st->host->log(st->self, UCD_LOG_WARNING, "%s", error);
    g_free(error);
    g_free(fts);
    g_free(short_words);
    return rc;
}

/* ---- a listing in name order ---- */

typedef struct listed {
    guint copy;
    uint32_t contact;
    const char *name;
} listed;

/* Names compare with ASCII letters folded: a cheap order for a scan of a
 * million names (letters beyond ASCII sort after Z). */
static int name_order(const listed *a, const listed *b)
{
    int c = g_ascii_strcasecmp(a->name, b->name);
    return c ? c : strcmp(a->name, b->name);
}

static int listed_cmp(gconstpointer a, gconstpointer b)
{
    return name_order(a, b);
}

/* Sifts heap[i] down a max-heap of `n` (the last name kept on top). */
static void sift_down(listed *heap, guint n, guint i)
{
    for (;;) {
        guint big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && name_order(&heap[l], &heap[big]) > 0)
            big = l;
        if (r < n && name_order(&heap[r], &heap[big]) > 0)
            big = r;
        if (big == i)
            return;
        listed t = heap[i];
        heap[i] = heap[big];
        heap[big] = t;
        i = big;
    }
}

static void sift_up(listed *heap, guint i)
{
    while (i > 0) {
        guint parent = (i - 1) / 2;
        if (name_order(&heap[i], &heap[parent]) <= 0)
            return;
        listed t = heap[i];
        heap[i] = heap[parent];
        heap[parent] = t;
        i = parent;
    }
}

int store_list(store *st, const char *const *sources, uint32_t limit, ucd_contact_hit_cb cb,
               void *user_data)
{
    if (cb == NULL || limit == 0)
        return UCD_E_INVALID;
    unsigned ticket;
    number_index *index = index_cell_enter(&st->cell, &ticket);
    /* The first `limit` names: a max-heap of that many, so a million
     * contacts cost a million comparisons with its top, not a sort. */
    listed *heap = g_new(listed, limit);
    guint n = 0;
    for (guint c = 0; index != NULL && c < index->n_copies; c++) {
        if (!number_index_source_visible(index, c, sources))
            continue;
        const contact_copy *copy = index->copies[c];
        for (uint32_t k = 0; k < contact_copy_count(copy); k++) {
            const char *name = contact_copy_field(copy, k, CONTACT_FIELD_DISPLAY_NAME);
            listed item = {c, k, name ? name : ""};
            if (*item.name == '\0')
                continue;
            if (n < limit) {
                heap[n] = item;
                sift_up(heap, n++);
            } else if (name_order(&item, &heap[0]) < 0) {
                heap[0] = item;
                sift_down(heap, n, 0);
            }
        }
    }
    qsort(heap, n, sizeof *heap, listed_cmp);
    for (guint i = 0; i < n; i++)
        if (report(index->copies[heap[i].copy], heap[i].contact, -1, 0, cb, user_data))
            break;
    index_cell_leave(&st->cell, ticket);
    g_free(heap);
    return UCD_OK;
}
