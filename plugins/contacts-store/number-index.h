/*
 * number-index.h - reverse lookup from memory: every indexed number of every
 * source's current copy in one sorted array, published so that any thread
 * looks numbers up without a lock while replications swap copies.
 *
 * An index is immutable. After a swap the store builds a new one from the
 * current copies and publishes it (index_cell_publish); readers that entered
 * before keep the old one until they leave, and the publisher frees it only
 * after every such reader has left: a grace period of two reader counters,
 * as in userspace RCU, so a reader does two atomic additions on a cache line
 * of its own thread's and never waits.
 */
#ifndef CONTACTS_STORE_NUMBER_INDEX_H
#define CONTACTS_STORE_NUMBER_INDEX_H

#include <glib.h>
#include <stdatomic.h>
#include <stdint.h>

#include "contact-copy.h"

/* Shortest switchboard prefix, in digits: shorter ones (a country code)
 * would match a whole country. */
#define NUMBER_INDEX_MIN_PREFIX_DIGITS 4

typedef struct index_entry {
    uint64_t key;     /* E.164 digits; for a prefix entry, the prefix's digits */
    uint32_t contact; /* index in the copy */
    uint16_t copy;    /* index in the number_index's copies, which are in priority order */
    uint16_t number;  /* the number's place within the contact */
} index_entry;

/* Each key's entry, or where its entries begin: open addressing, so a
 * lookup costs a probe or two instead of the twenty cache misses of a
 * binary search over a million entries (number-index.c). */
typedef struct key_table {
    struct index_entry *slots; /* key 0: empty */
    uint64_t mask;
} key_table;

typedef struct number_index {
    guint n_copies;
    contact_copy **copies; /* referenced; best priority first */
    index_entry *exact;    /* sorted by key, then copy, then contact */
    size_t n_exact;
    index_entry *prefix; /* switchboard prefixes, sorted the same way */
    size_t n_prefix;
    uint32_t prefix_lengths; /* bit n: some prefix has n digits */
    key_table exact_keys, prefix_keys;
} number_index;

/* Builds the index of `copies` (taking a reference on each). */
number_index *number_index_build(contact_copy *const *copies, guint n_copies);
void number_index_free(number_index *index);

/* One match: the contact `contact` of copies[copy], through its number
 * `number`; `prefix` says it matched a switchboard prefix. Non-zero stops. */
typedef int (*number_match_cb)(const number_index *index, const index_entry *entry, int prefix,
                               void *user_data);

/* Calls `cb` for the contacts that own `digits` (E.164 digits as a number):
 * exact matches best priority first, then switchboard prefixes longest
 * first, each contact once. `sources` (NULL-terminated, or NULL for all)
 * limits the copies. Returns how many matches were reported. */
unsigned number_index_lookup(const number_index *index, uint64_t digits, const char *const *sources,
                             number_match_cb cb, void *user_data);

/* TRUE when copy `copy` of the index is one `sources` lets through. */
gboolean number_index_source_visible(const number_index *index, guint copy,
                                     const char *const *sources);

/* ---- publication ---- */

/* Reader counters are striped over cache lines, each thread counting in
 * its own stripe, so readers on several cores do not fight over one line. */
#define INDEX_CELL_STRIPES 16

typedef struct index_stripe {
    atomic_long readers;
    char pad[64 - sizeof(atomic_long)];
} index_stripe;

typedef struct index_cell {
    _Atomic(number_index *) current;
    atomic_uint epoch;
    GMutex publish_lock; /* one publisher at a time */
    index_stripe stripes[2][INDEX_CELL_STRIPES];
} index_cell;

void index_cell_init(index_cell *cell);
/* Frees the current index. No reader may be inside. */
void index_cell_clear(index_cell *cell);

/* Enters a read section and returns the current index (NULL before the
 * first publication); `*ticket` is for index_cell_leave. Any thread, never
 * blocks. */
number_index *index_cell_enter(index_cell *cell, unsigned *ticket);
void index_cell_leave(index_cell *cell, unsigned ticket);

/* Makes `next` current, waits until no reader can still hold the index it
 * replaced, and frees that. Never call it inside a read section. */
void index_cell_publish(index_cell *cell, number_index *next);

#endif /* CONTACTS_STORE_NUMBER_INDEX_H */
