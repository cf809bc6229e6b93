/*
 * replication.c - one source's copy, from replicate() to the swap.
 *
 * The source pushes its contacts into a sink that builds a new contact_copy
 * in memory, normalizing each number as it comes (on the replication's
 * worker, so a million numbers never touch the main loop). Nothing is
 * written while the source reads: a source that fails halfway, or returns
 * suspiciously few contacts (min_ratio of the last good copy), leaves the
 * database and the index exactly as they were, and the reason goes to the
 * log and to `directory sources`. A good copy is written in one transaction
 * (store-db.c), then swapped into memory and a new number index published:
 * readers see the old copy or the new one, never a mix.
 *
 * The source's read runs outside every lock, so several sources read at
 * once; only their writes take turns on the one writer connection.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Unusable contacts and not-understood numbers logged per replication; the
 * rest only counted, so a broken file of a million rows cannot flood the
 * log. */
#define PROBLEMS_LOGGED 10
/* --progress: a line at most this often, and for each further tenth. */
#define PROGRESS_EVERY_US (1 * G_USEC_PER_SEC)

typedef struct replication {
    source_state *src; /* main loop's; the worker reads only the copies below */
    store *st;
    char *name;
    const ucd_contact_source_v1 *iface;
    void *impl;
    ucd_contact_source_info info;
    uint64_t last_good; /* contacts in the last good copy */
    int64_t last_generation;

    contact_copy *copy;
    /* The source ids added so far, as a 64-bit hash of the id -> the
     * contact's index + 1: a second contact with an id is a duplicate. Ids
     * live in the copy's arena, which moves as it grows, so the table keeps
     * no pointers. */
    GHashTable *ids;
    uint64_t skipped, unusable, bad_numbers, extra_numbers, duplicates;
    unsigned problems_logged;

    gboolean progress;
    GPtrArray *progress_lines;
    int64_t started_us, last_progress_us;
    uint64_t last_progress_tenth;

    ucd_reply *reply;
    gboolean ok;
    char *outcome; /* for the log, the reply and `directory sources` */
    double seconds, read_seconds, write_seconds; /* all, the source's read, the write */
} replication;

uint64_t store_normalize(store *st, const char *context, const char *raw, ucd_number_info *info,
                         int *rc)
{
    ucd_number_info local = {.struct_size = sizeof local};
    if (info == NULL)
        info = &local;
    info->struct_size = sizeof *info;
    /* Only E.164 is indexed, which the core's rules give at millions a
     * second; an attached numbering plan (numbers-phonenumber) would add
     * 40 - 60 us a number to every replication and lookup and change no
     * E.164 form. normalize_rules() came with numbers 1.1. */
    const ucd_numbers_v1 *n = st->numbers;
    gboolean has_rules = n->struct_size >= G_STRUCT_OFFSET(ucd_numbers_v1, normalize_rules) +
                                               sizeof n->normalize_rules &&
                         n->normalize_rules;
    int r = has_rules ? n->normalize_rules(st->numbers_impl, context, raw, info)
                      : n->normalize(st->numbers_impl, context, raw, info);
    if (rc != NULL)
        *rc = r;
    if (r != UCD_OK && r != UCD_E_NOT_FOUND)
        return 0;
    return contact_e164_digits(info->e164);
}

/* ---- the sink ---- */

static void problem(replication *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void problem(replication *r, const char *fmt, ...)
{
    if (r->problems_logged >= PROBLEMS_LOGGED)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    r->st->host->log(r->st->self, UCD_LOG_WARNING, "source %s: %s%s", r->name, text,
                     ++r->problems_logged == PROBLEMS_LOGGED ? " (further problems only counted)"
                                                             : "");
    g_free(text);
}

static gboolean has_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* "+49 89 123456-0": a switchboard's number, the digits before the last
 * separator its prefix. */
static gboolean looks_like_switchboard(const char *raw)
{
    size_t n = strlen(raw);
    while (n > 0 && g_ascii_isspace(raw[n - 1]))
        n--;
    return n >= 3 && raw[n - 1] == '0' && strchr("- /.", raw[n - 2]) != NULL;
}

static void add_number(replication *r, const ucd_contact *c, const ucd_contact_number *num)
{
    ucd_number_info info;
    int rc = UCD_OK;
    uint64_t digits = store_normalize(r->st, r->name, num->raw, &info, &rc);
    if (rc == UCD_E_INVALID) {
        r->bad_numbers++;
        problem(r, "contact %s: '%s' is not a phone number (kept, not indexed)",
                has_text(c->source_id) ? c->source_id : "?", num->raw);
    }
    char display[sizeof info.display];
    size_t d = 0;
    for (const char *p = info.display; digits != 0 && *p && d + 1 < sizeof display; p++)
        if (g_ascii_isdigit(*p))
            display[d++] = *p;
    display[d] = '\0';
    contact_copy_add_number(r->copy, num->raw, num->kind, digits, d > 0 ? display : NULL,
                            r->info.switchboard && digits != 0 && looks_like_switchboard(num->raw));
}

/* FNV-1a, 64 bits: a million ids collide with odds of 1 in 10^7. */
static uint64_t id_hash(const char *id)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

/* TRUE when `id` was added already; else notes it as the next contact's.
 * Two ids of one hash that differ are both kept (the second not noted). */
static gboolean seen_before(replication *r, const char *id)
{
    if (r->ids == NULL)
        r->ids = g_hash_table_new(g_direct_hash, g_direct_equal);
    gpointer key = (gpointer)(uintptr_t)id_hash(id);
    gpointer at = g_hash_table_lookup(r->ids, key);
    if (at == NULL) {
        uintptr_t next = contact_copy_count(r->copy) + 1;
        g_hash_table_insert(r->ids, key, (gpointer)next);
        return FALSE;
    }
    const char *first =
        contact_copy_field(r->copy, (uint32_t)((uintptr_t)at - 1), CONTACT_FIELD_SOURCE_ID);
    return g_strcmp0(first, id) == 0;
}

static int sink_add(void *impl, const ucd_contact *c)
{
    replication *r = impl;
    if (c == NULL || c->struct_size < offsetof(ucd_contact, numbers) + sizeof c->numbers)
        return UCD_E_INVALID;
    uint32_t usable_numbers = 0;
    for (uint32_t i = 0; i < c->n_numbers; i++)
        usable_numbers += has_text(c->numbers[i].raw);
    char *made_name = NULL;
    const char *name = c->display_name;
    if (!has_text(name) && (has_text(c->given_name) || has_text(c->surname)))
        name = made_name =
            g_strstrip(g_strdup_printf("%s %s", has_text(c->given_name) ? c->given_name : "",
                                       has_text(c->surname) ? c->surname : ""));
    if (!has_text(name) && has_text(c->company))
        name = c->company;
    if (!has_text(name) && usable_numbers == 0) {
        r->unusable++;
        r->skipped++;
        problem(r, "contact %s has no name and no number: left out",
                has_text(c->source_id) ? c->source_id : "without id");
        g_free(made_name);
        return UCD_E_INVALID;
    }
    if (has_text(c->source_id) && seen_before(r, c->source_id)) {
        r->duplicates++;
        r->skipped++;
        problem(r, "contact %s appears again (%s): the first one kept, this one left out",
                c->source_id, has_text(name) ? name : "without name");
        g_free(made_name);
        return UCD_E_INVALID;
    }
    const char *fields[CONTACT_FIELDS] = {
        [CONTACT_FIELD_SOURCE_ID] = c->source_id,   [CONTACT_FIELD_DISPLAY_NAME] = name,
        [CONTACT_FIELD_GIVEN_NAME] = c->given_name, [CONTACT_FIELD_SURNAME] = c->surname,
        [CONTACT_FIELD_COMPANY] = c->company,       [CONTACT_FIELD_DEPARTMENT] = c->department,
        [CONTACT_FIELD_EMAIL] = c->email,           [CONTACT_FIELD_ADDRESS] = c->address,
        [CONTACT_FIELD_CRM_LINK] = c->crm_link,
    };
    contact_copy_add(r->copy, fields);
    g_free(made_name);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        const ucd_contact_number *num = &c->numbers[i];
        if (!has_text(num->raw))
            continue;
        if (kept == CONTACT_COPY_MAX_NUMBERS) {
            r->extra_numbers++;
            problem(r, "contact %s has more than %d numbers: the rest left out",
                    has_text(c->source_id) ? c->source_id : "?", CONTACT_COPY_MAX_NUMBERS);
            break;
        }
        add_number(r, c, num);
        kept++;
    }
    return UCD_OK;
}

static void sink_skipped(void *impl, const char *where, const char *what)
{
    replication *r = impl;
    r->skipped++;
    problem(r, "%s: %s (skipped)", where ? where : "?", what ? what : "?");
}

static void sink_progress(void *impl, uint64_t done, uint64_t total)
{
    replication *r = impl;
    atomic_store(&r->src->progress_done, done);
    atomic_store(&r->src->progress_total, total);
    if (!r->progress)
        return;
    int64_t now = g_get_monotonic_time();
    uint64_t tenth = total > 0 ? done * 10 / total : 0;
    if (now - r->last_progress_us < PROGRESS_EVERY_US && tenth == r->last_progress_tenth &&
        done != total)
        return;
    r->last_progress_us = now;
    r->last_progress_tenth = tenth;
    char *line =
        total > 0
            ? g_strdup_printf("%.1f s: %" PRIu64 " of %" PRIu64 " (%" PRIu64 " %%), %u contacts",
                              (now - r->started_us) / 1e6, done, total, done * 100 / total,
                              contact_copy_count(r->copy))
            : g_strdup_printf("%.1f s: %" PRIu64 " read, %u contacts", (now - r->started_us) / 1e6,
                              done, contact_copy_count(r->copy));
    r->st->host->log(r->st->self, UCD_LOG_INFO, "source %s: %s", r->name, line);
    g_ptr_array_add(r->progress_lines, line);
}

static int sink_cancelled(void *impl)
{
    replication *r = impl;
    return atomic_load(&r->st->stopping);
}

static const ucd_contact_sink sink = {
    .struct_size = sizeof sink,
    .add = sink_add,
    .skipped = sink_skipped,
    .progress = sink_progress,
    .cancelled = sink_cancelled,
};

/* ---- the swap ---- */

contact_copy *store_current_copy(store *st, const char *name)
{
    g_mutex_lock(&st->copies_lock);
    contact_copy *copy = g_hash_table_lookup(st->copies, name);
    if (copy != NULL)
        contact_copy_ref(copy);
    g_mutex_unlock(&st->copies_lock);
    return copy;
}

/* Puts `copy` (NULL: none) in place and publishes the index of every
 * current copy. index_lock makes swaps take turns, so each index is built
 * from the copies of every swap before it; copies_lock is held only to
 * change and snapshot the table, never while the index is built (a second
 * for a million numbers) or readers drain, so `directory sources` on the
 * main loop never waits for that. */
static void swap_and_publish(store *st, contact_copy *copy)
{
    g_mutex_lock(&st->index_lock);
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)contact_copy_unref);
    g_mutex_lock(&st->copies_lock);
    if (copy != NULL)
        g_hash_table_replace(st->copies, g_strdup(copy->source), contact_copy_ref(copy));
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, st->copies);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(all, contact_copy_ref(value));
    g_mutex_unlock(&st->copies_lock);
    number_index *index = number_index_build((contact_copy *const *)all->pdata, all->len);
    g_ptr_array_unref(all);
    index_cell_publish(&st->cell, index);
    g_mutex_unlock(&st->index_lock);
}

static char *keeping(const replication *r)
{
    if (r->last_generation == 0)
        return g_strdup("no copy yet");
    return g_strdup_printf("the last good copy stays (generation %" PRId64 ", %" PRIu64
                           " contacts)",
                           r->last_generation, r->last_good);
}

static void replicate_work(void *data)
{
    replication *r = data;
    store *st = r->st;
    char *error = NULL;
    r->started_us = g_get_monotonic_time();
    r->copy = contact_copy_new(r->name, r->info.priority);
    int rc =
        atomic_load(&st->stopping) ? UCD_E_BUSY : r->iface->replicate(r->impl, &sink, r, &error);
    r->read_seconds = (g_get_monotonic_time() - r->started_us) / 1e6;
    if (r->ids) { /* needed while the source adds */
        g_hash_table_destroy(r->ids);
        r->ids = NULL;
    }
    /* A source that stopped reading because it was told to may still say
     * UCD_OK: what it read is not the whole source. */
    if (rc == UCD_OK && atomic_load(&st->stopping)) {
        rc = UCD_E_BUSY;
        free(error);
        error = strdup("cancelled: ucd is stopping");
    }
    uint32_t got = contact_copy_count(r->copy);
    char *keep = keeping(r);
    if (rc != UCD_OK) {
        r->outcome = g_strdup_printf("failed: %s; %s", error ? error : ucd_strerror(rc), keep);
    } else if (r->info.min_ratio > 0 && r->last_good > 0 &&
               (uint64_t)got * 100 < r->last_good * r->info.min_ratio) {
        r->outcome = g_strdup_printf("refused: %u contacts is below min_ratio %u %% of the last "
                                     "good copy; %s",
                                     got, r->info.min_ratio, keep);
    } else {
        char *db_error = NULL;
        int64_t write_start = g_get_monotonic_time();
        g_mutex_lock(&st->write_lock);
        int wrc = st->db != NULL
                      ? store_db_write_copy(st->db, r->copy, g_get_real_time() / G_USEC_PER_SEC,
                                            &db_error)
                      : -1;
        g_mutex_unlock(&st->write_lock);
        r->write_seconds = (g_get_monotonic_time() - write_start) / 1e6;
        if (wrc != 0) {
            r->outcome = g_strdup_printf("failed writing the store: %s; %s",
                                         db_error ? db_error : "no database", keep);
        } else {
            contact_copy_settle(r->copy);
            swap_and_publish(st, r->copy);
            r->ok = TRUE;
            r->outcome = g_strdup("ok");
        }
        g_free(db_error);
    }
    g_free(keep);
    free(error); /* the source's, allocated with malloc (contacts.h) */
    r->seconds = (g_get_monotonic_time() - r->started_us) / 1e6;
}

static void replication_free(replication *r)
{
    if (r->ids)
        g_hash_table_destroy(r->ids);
    contact_copy_unref(r->copy);
    g_ptr_array_unref(r->progress_lines);
    g_free(r->outcome);
    g_free(r->name);
    g_free(r);
}

static void reply_result(const replication *r)
{
    const ucd_host *host = r->st->host;
    char buf[64];
    host->reply_field(r->reply, "source", r->name);
    host->reply_field(r->reply, "result", r->outcome);
    if (r->ok) {
        g_snprintf(buf, sizeof buf, "%" PRId64, r->copy->generation);
        host->reply_field(r->reply, "generation", buf);
    }
    g_snprintf(buf, sizeof buf, "%u", contact_copy_count(r->copy));
    host->reply_field(r->reply, "contacts", buf);
    g_snprintf(buf, sizeof buf, "%u", r->copy->numbers->len);
    host->reply_field(r->reply, "numbers", buf);
    g_snprintf(buf, sizeof buf, "%" PRIu64, r->skipped);
    host->reply_field(r->reply, "skipped", buf);
    g_snprintf(buf, sizeof buf, "%" PRIu64, r->bad_numbers);
    host->reply_field(r->reply, "numbers_not_understood", buf);
    g_snprintf(buf, sizeof buf, "%.2f", r->seconds);
    host->reply_field(r->reply, "seconds", buf);
    for (guint i = 0; i < r->progress_lines->len; i++)
        host->reply_text(r->reply, "%s", (const char *)g_ptr_array_index(r->progress_lines, i));
}

static void replicate_done(void *data)
{
    replication *r = data;
    store *st = r->st;
    source_state *src = r->src;
    src->busy = FALSE;
    src->attempt_at = g_get_real_time() / G_USEC_PER_SEC;
    src->skipped = r->skipped;
    src->replications++;
    g_free(src->attempt_result);
    src->attempt_result = g_strdup(r->outcome);
    if (r->ok)
        st->host->log(st->self, UCD_LOG_NOTICE,
                      "source %s: generation %" PRId64 " in use: %u contacts, %u numbers (%" PRIu64
                      " not understood), %" PRIu64 " skipped, in %.2f s (read %.2f s, "
                      "write %.2f s, index %.2f s)",
                      r->name, r->copy->generation, contact_copy_count(r->copy),
                      r->copy->numbers->len, r->bad_numbers, r->skipped, r->seconds,
                      r->read_seconds, r->write_seconds,
                      r->seconds - r->read_seconds - r->write_seconds);
    else {
        st->host->log(st->self, UCD_LOG_WARNING, "source %s: replication %s", r->name, r->outcome);
        st->host->counter_add(st->replications_failed, 1);
    }
    if (r->reply != NULL) {
        reply_result(r);
        st->host->reply_complete(r->reply);
    }
    replication_free(r);
}

int store_replicate(source_state *src, ucd_reply *reply, gboolean progress)
{
    store *st = src->st;
    if (src->busy)
        return UCD_E_BUSY;
    if (!src->running || src->iface == NULL)
        return UCD_E_UNAVAILABLE;
    if (src->queue == NULL) {
        char *name = g_strdup_printf("replicate %s", src->name);
        src->queue = st->host->work_queue_new(st->self, name);
        g_free(name);
        if (src->queue == NULL)
            return UCD_E_NOMEM;
    }
    replication *r = g_new0(replication, 1);
    r->src = src;
    r->st = st;
    r->name = g_strdup(src->name);
    r->iface = src->iface;
    r->impl = src->impl;
    r->info = src->info;
    r->progress = progress;
    r->progress_lines = g_ptr_array_new_with_free_func(g_free);
    r->reply = reply;
    contact_copy *last = store_current_copy(st, src->name);
    if (last != NULL) {
        r->last_good = contact_copy_count(last);
        r->last_generation = last->generation;
        contact_copy_unref(last);
    }
    src->busy = TRUE;
    atomic_store(&src->progress_done, 0);
    atomic_store(&src->progress_total, 0);
    src->busy_since = g_get_real_time() / G_USEC_PER_SEC;
    int rc = st->host->work_queue_submit(src->queue, replicate_work, replicate_done, r);
    if (rc != UCD_OK) {
        src->busy = FALSE;
        replication_free(r);
    }
    return rc;
}

/* ---- loading at start ---- */

static void load_one(const store_source_row *row, void *data)
{
    GPtrArray *rows = data;
    store_source_row *copy = g_memdup2(row, sizeof *row);
    copy->name = g_strdup(row->name);
    g_ptr_array_add(rows, copy);
}

static void source_row_free(gpointer p)
{
    store_source_row *row = p;
    g_free((char *)row->name);
    g_free(row);
}

void store_load(store *st)
{
    char *error = NULL;
    GPtrArray *rows = g_ptr_array_new_with_free_func(source_row_free);
    g_mutex_lock(&st->write_lock);
    /* Here on the worker, not in init: a million contacts' index takes
     * half a minute to rebuild. Until it is done searches use the old
     * index; a failure leaves it, and the next write tries again. */
    if (store_db_migration_pending(st->db)) {
        int64_t t0 = g_get_monotonic_time();
        st->host->log(st->self, UCD_LOG_NOTICE, "%s: migrating the search index to layout %d",
                      st->path, STORE_DB_SEARCH_INDEX);
        if (store_db_migrate(st->db, &error) != 0) {
            st->host->log(st->self, UCD_LOG_ERROR, "%s", error);
            g_clear_pointer(&error, g_free);
        } else {
            st->host->log(st->self, UCD_LOG_NOTICE, "%s: search index migrated in %.2f s", st->path,
                          (g_get_monotonic_time() - t0) / 1e6);
        }
    }
    if (store_db_foreach_source(st->db, load_one, rows, &error) != 0) {
        st->host->log(st->self, UCD_LOG_ERROR, "%s", error);
        g_clear_pointer(&error, g_free);
    }
    for (guint i = 0; i < rows->len; i++) {
        const store_source_row *row = g_ptr_array_index(rows, i);
        contact_copy *copy = store_db_load_copy(st->db, row, &error);
        if (copy == NULL) {
            st->host->log(
                st->self, UCD_LOG_ERROR,
                "source %s: its copy in the store cannot be read, it is replicated anew: %s",
                row->name, error);
            g_clear_pointer(&error, g_free);
            continue;
        }
        st->host->log(st->self, UCD_LOG_INFO,
                      "source %s: generation %" PRId64 " loaded: %u contacts, %u numbers",
                      row->name, copy->generation, contact_copy_count(copy), copy->numbers->len);
        contact_copy_settle(copy);
        g_mutex_lock(&st->copies_lock);
        g_hash_table_replace(st->copies, g_strdup(row->name), copy);
        g_mutex_unlock(&st->copies_lock);
    }
    g_mutex_unlock(&st->write_lock);
    swap_and_publish(st, NULL);
    g_ptr_array_unref(rows);
}
