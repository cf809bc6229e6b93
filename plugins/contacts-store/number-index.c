/*
 * number-index.c - reverse lookup from memory (number-index.h).
 *
 * Copies are ordered by priority when the index is built, so the order
 * "key, copy, contact" is also "key, best priority first": a lookup walks
 * the equal keys in the order it must report them and compares integers
 * only.
 *
 * The grace period: readers count themselves in readers[epoch & 1] (one
 * counter spread over stripes, summed by the publisher). A
 * publisher swaps the pointer, moves the epoch on, and waits until the
 * counter of the old epoch is zero: every reader that could have read the
 * old pointer counted itself there before re-checking the epoch, and any
 * reader that re-checks after the move retries in the new counter. Only one
 * publisher runs at a time, so the old counter is drained before the epoch
 * comes back to it.
 */
#include "number-index.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int entry_cmp(const void *a, const void *b)
{
    const index_entry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->copy != y->copy)
        return x->copy < y->copy ? -1 : 1;
    if (x->contact != y->contact)
        return x->contact < y->contact ? -1 : 1;
    return (int)x->number - (int)y->number;
}

static int copy_priority_cmp(const void *a, const void *b)
{
    const contact_copy *x = *(contact_copy *const *)a, *y = *(contact_copy *const *)b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return strcmp(x->source, y->source);
}

static unsigned digit_count(uint64_t v)
{
    unsigned n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static uint64_t key_hash(uint64_t key)
{
    key ^= key >> 31;
    key *= 0x9e3779b97f4a7c15u;
    return key ^ (key >> 29);
}

/* A slot whose `copy` is this holds no entry but, in `contact`, where the
 * entries of its key begin: the key belongs to several contacts. */
#define SLOT_SEVERAL 0xffffu

/* Sized to stay at most half full. Entries must be sorted by key. A key of
 * one contact (nearly all) has its entry in the slot itself, so the probe
 * that finds the key also finds the contact: one cache miss, not two. */
static void key_table_build(key_table *t, const index_entry *entries, size_t n)
{
    uint64_t size = 16;
    while (size < 2 * (uint64_t)n)
        size *= 2;
    t->slots = g_new0(index_entry, size);
    t->mask = size - 1;
    contact_prefer_huge_pages(t->slots, size * sizeof *t->slots);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && entries[i - 1].key == entries[i].key)
            continue;
        uint64_t h = key_hash(entries[i].key) & t->mask;
        while (t->slots[h].key != 0)
            h = (h + 1) & t->mask;
        if (i + 1 < n && entries[i + 1].key == entries[i].key)
            t->slots[h] =
                (index_entry){.key = entries[i].key, .contact = (uint32_t)i, .copy = SLOT_SEVERAL};
        else
            t->slots[h] = entries[i];
    }
}

/* The entries of `key`: `*count` of them from the returned one (0: none). */
static const index_entry *key_table_find(const key_table *t, const index_entry *entries, size_t n,
                                         uint64_t key, size_t *count)
{
    for (uint64_t h = key_hash(key) & t->mask;; h = (h + 1) & t->mask) {
        const index_entry *slot = &t->slots[h];
        if (slot->key == 0) {
            *count = 0;
            return NULL;
        }
        if (slot->key != key)
            continue;
        if (slot->copy != SLOT_SEVERAL) {
            *count = 1;
            return slot;
        }
        size_t first = slot->contact, last = first;
        while (last < n && entries[last].key == key)
            last++;
        *count = last - first;
        return &entries[first];
    }
}

number_index *number_index_build(contact_copy *const *copies, guint n_copies)
{
    number_index *index = g_new0(number_index, 1);
    index->n_copies = n_copies;
    index->copies = g_new0(contact_copy *, MAX(n_copies, 1));
    for (guint i = 0; i < n_copies; i++)
        index->copies[i] = contact_copy_ref(copies[i]);
    qsort(index->copies, n_copies, sizeof *index->copies, copy_priority_cmp);

    size_t n_exact = 0, n_prefix = 0;
    for (guint c = 0; c < n_copies; c++) {
        const GArray *numbers = index->copies[c]->numbers;
        for (guint i = 0; i < numbers->len; i++) {
            const copy_number *num = &g_array_index(numbers, copy_number, i);
            n_exact += num->e164 != 0;
            n_prefix += num->e164 != 0 && num->switchboard;
        }
    }
    index->exact = g_new(index_entry, MAX(n_exact, 1));
    index->prefix = g_new(index_entry, MAX(n_prefix, 1));
    for (guint c = 0; c < n_copies; c++) {
        const contact_copy *copy = index->copies[c];
        for (guint k = 0; k < copy->contacts->len; k++) {
            const copy_contact *contact = &g_array_index(copy->contacts, copy_contact, k);
            for (uint32_t j = 0; j < contact->n_numbers && j < CONTACT_COPY_MAX_NUMBERS; j++) {
                const copy_number *num = contact_copy_number(copy, contact->first_number + j);
                if (num->e164 == 0)
                    continue;
                index_entry e = {
                    .key = num->e164, .contact = k, .copy = (uint16_t)c, .number = (uint16_t)j};
                index->exact[index->n_exact++] = e;
                unsigned length = digit_count(num->e164 / 10);
                if (num->switchboard && length >= NUMBER_INDEX_MIN_PREFIX_DIGITS) {
                    e.key = num->e164 / 10;
                    index->prefix[index->n_prefix++] = e;
                    index->prefix_lengths |= 1u << length;
                }
            }
        }
    }
    qsort(index->exact, index->n_exact, sizeof(index_entry), entry_cmp);
    qsort(index->prefix, index->n_prefix, sizeof(index_entry), entry_cmp);
    contact_prefer_huge_pages(index->exact, index->n_exact * sizeof(index_entry));
    key_table_build(&index->exact_keys, index->exact, index->n_exact);
    key_table_build(&index->prefix_keys, index->prefix, index->n_prefix);
    return index;
}

void number_index_free(number_index *index)
{
    if (index == NULL)
        return;
    for (guint i = 0; i < index->n_copies; i++)
        contact_copy_unref(index->copies[i]);
    g_free(index->copies);
    g_free(index->exact);
    g_free(index->prefix);
    g_free(index->exact_keys.slots);
    g_free(index->prefix_keys.slots);
    g_free(index);
}

gboolean number_index_source_visible(const number_index *index, guint copy,
                                     const char *const *sources)
{
    if (sources == NULL)
        return TRUE;
    for (const char *const *s = sources; *s != NULL; s++)
        if (strcmp(*s, index->copies[copy]->source) == 0)
            return TRUE;
    return FALSE;
}

/* Contacts reported so far, so a switchboard's own number found exactly is
 * not reported again through its prefix. */
typedef struct seen_set {
    unsigned n;
    struct {
        uint32_t contact;
        uint16_t copy;
    } items[16];
} seen_set;

static gboolean seen_add(seen_set *seen, const index_entry *e)
{
    for (unsigned i = 0; i < seen->n; i++)
        if (seen->items[i].contact == e->contact && seen->items[i].copy == e->copy)
            return FALSE;
    if (seen->n < G_N_ELEMENTS(seen->items)) {
        seen->items[seen->n].contact = e->contact;
        seen->items[seen->n].copy = e->copy;
        seen->n++;
    }
    return TRUE;
}

unsigned number_index_lookup(const number_index *index, uint64_t digits, const char *const *sources,
                             number_match_cb cb, void *user_data)
{
    seen_set seen = {0};
    unsigned reported = 0;
    if (index == NULL || digits == 0)
        return 0;
    size_t count = 0;
    const index_entry *found =
        key_table_find(&index->exact_keys, index->exact, index->n_exact, digits, &count);
    for (size_t i = 0; i < count; i++) {
        const index_entry *e = &found[i];
        if (!number_index_source_visible(index, e->copy, sources) || !seen_add(&seen, e))
            continue;
        reported++;
        if (cb(index, e, 0, user_data) != 0)
            return reported;
    }
    if (index->n_prefix == 0)
        return reported;
    uint64_t prefix = digits / 10;
    for (unsigned length = digit_count(prefix); length >= NUMBER_INDEX_MIN_PREFIX_DIGITS;
         length--, prefix /= 10) {
        if (!(index->prefix_lengths & 1u << length))
            continue;
        found = key_table_find(&index->prefix_keys, index->prefix, index->n_prefix, prefix, &count);
        for (size_t i = 0; i < count; i++) {
            const index_entry *e = &found[i];
            if (!number_index_source_visible(index, e->copy, sources) || !seen_add(&seen, e))
                continue;
            reported++;
            if (cb(index, e, 1, user_data) != 0)
                return reported;
        }
    }
    return reported;
}

/* ---- publication ---- */

void index_cell_init(index_cell *cell)
{
    atomic_init(&cell->current, NULL);
    atomic_init(&cell->epoch, 0);
    for (int e = 0; e < 2; e++)
        for (int i = 0; i < INDEX_CELL_STRIPES; i++)
            atomic_init(&cell->stripes[e][i].readers, 0);
    g_mutex_init(&cell->publish_lock);
}

void index_cell_clear(index_cell *cell)
{
    number_index_free(atomic_exchange(&cell->current, NULL));
    g_mutex_clear(&cell->publish_lock);
}

/* This thread's stripe, handed out in turn to threads as they first read. */
static unsigned my_stripe(void)
{
    static atomic_uint next_stripe;
    static _Thread_local unsigned stripe = UINT_MAX;
    if (stripe == UINT_MAX)
        stripe = atomic_fetch_add(&next_stripe, 1) % INDEX_CELL_STRIPES;
    return stripe;
}

number_index *index_cell_enter(index_cell *cell, unsigned *ticket)
{
    unsigned stripe = my_stripe();
    for (;;) {
        unsigned epoch = atomic_load(&cell->epoch);
        atomic_long *readers = &cell->stripes[epoch & 1][stripe].readers;
        atomic_fetch_add(readers, 1);
        if (atomic_load(&cell->epoch) == epoch) {
            *ticket = (epoch & 1) | stripe << 1;
            return atomic_load(&cell->current);
        }
        atomic_fetch_sub(readers, 1);
    }
}

void index_cell_leave(index_cell *cell, unsigned ticket)
{
    atomic_fetch_sub(&cell->stripes[ticket & 1][ticket >> 1].readers, 1);
}

static long readers_of(index_cell *cell, unsigned parity)
{
    long n = 0;
    for (int i = 0; i < INDEX_CELL_STRIPES; i++)
        n += atomic_load(&cell->stripes[parity][i].readers);
    return n;
}

void index_cell_publish(index_cell *cell, number_index *next)
{
    g_mutex_lock(&cell->publish_lock);
    number_index *old = atomic_exchange(&cell->current, next);
    unsigned epoch = atomic_fetch_add(&cell->epoch, 1);
    /* A reader that counted itself in the old parity before the epoch moved
     * did so before this read of its stripe (both are sequentially
     * consistent), so a zero sum means none of them is left. */
    while (readers_of(cell, epoch & 1) != 0)
        g_usleep(50);
    g_mutex_unlock(&cell->publish_lock);
    number_index_free(old);
}
