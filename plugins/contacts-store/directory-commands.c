/*
 * directory-commands.c - `ucctl directory sources | replicate | lookup |
 * search`, the store as an administrator sees it.
 *
 * replicate waits for the replication's end and answers with its result
 * (the reply is deferred), so a script knows whether the copy was taken;
 * with --progress the answer also lists how far the source was at each
 * tenth or second, which the log shows as it happens. search runs on a
 * worker: it reads the database.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const char usage[] = "sources | replicate NAME [--progress] | lookup NUMBER [--context "
                            "DRIVER] [--source NAME]... | search WORDS... [--limit N]";

static void format_time(int64_t unix_seconds, char *buf, size_t size)
{
    if (unix_seconds <= 0) {
        g_strlcpy(buf, "-", size);
        return;
    }
    GDateTime *t = g_date_time_new_from_unix_utc(unix_seconds);
    char *text = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
    g_strlcpy(buf, text, size);
    g_free(text);
    g_date_time_unref(t);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmd_sources(store *st, ucd_reply *reply)
{
    static const char *const columns[] = {"source",  "state",      "priority",  "contacts",
                                          "numbers", "generation", "last_good", "last_attempt",
                                          "result",  "skipped"};
    st->host->reply_columns(reply, G_N_ELEMENTS(columns), columns);
    /* Every source running now and every source with a copy in the store. */
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, st->sources);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(names, g_strdup(key));
    g_mutex_lock(&st->copies_lock);
    g_hash_table_iter_init(&it, st->copies);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(st->sources, key))
            g_ptr_array_add(names, g_strdup(key));
    g_mutex_unlock(&st->copies_lock);
    g_ptr_array_sort(names, by_name);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        source_state *src = g_hash_table_lookup(st->sources, name);
        contact_copy *copy = store_current_copy(st, name);
        char prio[16] = "-", contacts[24] = "0", numbers[24] = "0", gen[24] = "-", good[32],
             attempt[32], skipped[24] = "-";
        char state[64];
        if (src == NULL || !src->running)
            g_strlcpy(state, "not running", sizeof state);
        else if (!src->busy)
            g_strlcpy(state, "running", sizeof state);
        else if (atomic_load(&src->progress_total) > 0)
            g_snprintf(state, sizeof state, "replicating %" PRIu64 " of %" PRIu64,
                       (uint64_t)atomic_load(&src->progress_done),
                       (uint64_t)atomic_load(&src->progress_total));
        else
            g_snprintf(state, sizeof state, "replicating %" PRIu64 " read",
                       (uint64_t)atomic_load(&src->progress_done));
        if (src != NULL && src->running)
            g_snprintf(prio, sizeof prio, "%d", src->info.priority);
        else if (copy != NULL)
            g_snprintf(prio, sizeof prio, "%d", copy->priority);
        if (copy != NULL) {
            g_snprintf(contacts, sizeof contacts, "%u", contact_copy_count(copy));
            g_snprintf(numbers, sizeof numbers, "%u", copy->numbers->len);
            g_snprintf(gen, sizeof gen, "%" PRId64, copy->generation);
        }
        format_time(copy != NULL ? copy->good_at : 0, good, sizeof good);
        format_time(src != NULL ? src->attempt_at : 0, attempt, sizeof attempt);
        if (src != NULL && src->attempt_at > 0)
            g_snprintf(skipped, sizeof skipped, "%" PRIu64, src->skipped);
        const char *result = src != NULL && src->attempt_result != NULL ? src->attempt_result
                             : copy != NULL ? "none since start (copy from the store)"
                                            : "none yet";
        const char *row[] = {name, state, prio,    contacts, numbers,
                             gen,  good,  attempt, result,   skipped};
        st->host->reply_row(reply, row);
        contact_copy_unref(copy);
    }
    g_ptr_array_unref(names);
    return UCD_OK;
}

static int cmd_replicate(store *st, int argc, const char *const *argv, ucd_reply *reply)
{
    const char *name = NULL;
    gboolean progress = FALSE;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--progress") == 0)
            progress = TRUE;
        else if (name == NULL && argv[i][0] != '-')
            name = argv[i];
        else {
            st->host->reply_error(reply,
                                  "unexpected '%s'; usage: directory replicate NAME "
                                  "[--progress]",
                                  argv[i]);
            return UCD_E_INVALID;
        }
    }
    if (name == NULL) {
        st->host->reply_error(reply, "usage: directory replicate NAME [--progress]");
        return UCD_E_INVALID;
    }
    source_state *src = store_source(st, name);
    if (src == NULL || !src->running) {
        GString *known = g_string_new(NULL);
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, st->sources);
        while (g_hash_table_iter_next(&it, NULL, &value))
            if (((source_state *)value)->running)
                g_string_append_printf(known, "%s%s", known->len ? ", " : "",
                                       ((source_state *)value)->name);
        st->host->reply_error(reply, "no running contact source '%s' (running: %s)", name,
                              known->len ? known->str : "none");
        g_string_free(known, TRUE);
        return UCD_E_NOT_FOUND;
    }
    if (src->busy) {
        char since[32];
        format_time(src->busy_since, since, sizeof since);
        st->host->reply_error(reply, "source %s: a replication is running already (since %s)", name,
                              since);
        return UCD_E_BUSY;
    }
    st->host->reply_defer(reply);
    int rc = store_replicate(src, reply, progress);
    if (rc != UCD_OK) {
        st->host->reply_error(reply, "source %s: %s", name, ucd_strerror(rc));
        st->host->reply_complete(reply);
    }
    return UCD_OK;
}

static const char *kind_name(uint32_t kind)
{
    static const char *const names[] = {"other", "business", "mobile", "home", "fax"};
    return kind < G_N_ELEMENTS(names) ? names[kind] : "other";
}

static const char *const hit_columns[] = {"name",  "company", "department", "match",    "numbers",
                                          "email", "source",  "priority",   "source_id"};

/* One hit as a row of hit_columns (g_strfreev). */
static char **hit_row(const ucd_contact_hit *hit, const char *match)
{
    const ucd_contact *c = hit->contact;
    GString *numbers = g_string_new(NULL);
    for (uint32_t i = 0; i < c->n_numbers; i++)
        g_string_append_printf(numbers, "%s%s (%s)", i ? ", " : "", c->numbers[i].raw,
                               kind_name(c->numbers[i].kind));
    char **row = g_new0(char *, G_N_ELEMENTS(hit_columns) + 1);
    row[0] = g_strdup(c->display_name ? c->display_name : "");
    row[1] = g_strdup(c->company ? c->company : "");
    row[2] = g_strdup(c->department ? c->department : "");
    row[3] = g_strdup(match);
    row[4] = g_string_free(numbers, FALSE);
    row[5] = g_strdup(c->email ? c->email : "");
    row[6] = g_strdup(hit->source);
    row[7] = g_strdup_printf("%d", hit->priority);
    row[8] = g_strdup(c->source_id ? c->source_id : "");
    return row;
}

static void reply_rows(store *st, ucd_reply *reply, GPtrArray *rows)
{
    st->host->reply_columns(reply, G_N_ELEMENTS(hit_columns), hit_columns);
    for (guint i = 0; i < rows->len; i++)
        st->host->reply_row(reply, (const char *const *)g_ptr_array_index(rows, i));
}

static int on_lookup_hit(const ucd_contact_hit *hit, void *data)
{
    char match[96];
    g_snprintf(match, sizeof match, "%s %s (%s)", hit->prefix_match ? "prefix" : "exact",
               hit->matched_number ? hit->matched_number : "", kind_name(hit->matched_kind));
    g_ptr_array_add(data, hit_row(hit, match));
    return 0;
}

/* Collects the repeated `--source NAME` options into a NULL-terminated list. */
static const char **sources_option(const char *const *argv, int i, const char **list, int *n)
{
    list[(*n)++] = argv[i];
    list[*n] = NULL;
    return list;
}

static int cmd_lookup(store *st, int argc, const char *const *argv, ucd_reply *reply)
{
    const char *number = NULL, *context = NULL;
    const char **sources = NULL;
    const char *list[33];
    int n_sources = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
            context = argv[++i];
        else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc && n_sources < 32)
            sources = sources_option(argv, ++i, list, &n_sources);
        else if (number == NULL)
            number = argv[i];
        else {
            st->host->reply_error(reply,
                                  "unexpected '%s'; usage: directory lookup NUMBER "
                                  "[--context DRIVER] [--source NAME]...",
                                  argv[i]);
            return UCD_E_INVALID;
        }
    }
    if (number == NULL) {
        st->host->reply_error(reply, "usage: directory lookup NUMBER [--context DRIVER]");
        return UCD_E_INVALID;
    }
    ucd_number_info info;
    int nrc = UCD_OK;
    uint64_t digits = store_normalize(st, context, number, &info, &nrc);
    if (nrc == UCD_E_INVALID) {
        st->host->reply_error(reply, "'%s' is not a phone number", number);
        return UCD_E_INVALID;
    }
    if (digits == 0) {
        st->host->reply_error(reply,
                              "'%s' has no E.164 form (%s): contacts are not looked up "
                              "by extension",
                              number, info.extension[0] ? "an extension" : "a special number");
        return UCD_E_NOT_FOUND;
    }
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    int rc = store_lookup(st, context, number, sources, on_lookup_hit, rows);
    if (rc == UCD_OK) {
        st->host->reply_field(reply, "e164", info.e164);
        reply_rows(st, reply, rows);
    } else if (rc == UCD_E_NOT_FOUND) {
        st->host->reply_error(reply, "no contact has %s", info.e164);
    } else {
        st->host->reply_error(reply, "lookup of '%s': %s", number, ucd_strerror(rc));
    }
    g_ptr_array_unref(rows);
    return rc;
}

typedef struct search_job {
    store *st;
    ucd_reply *reply;
    char *words;
    uint32_t limit;
    char **sources;
    GPtrArray *rows; /* char ** rows, filled on the worker */
    int rc;
} search_job;

static int on_search_hit(const ucd_contact_hit *hit, void *data)
{
    search_job *job = data;
    g_ptr_array_add(job->rows, hit_row(hit, "search"));
    return 0;
}

static void search_work(void *data)
{
    search_job *job = data;
    job->rc = store_search(job->st, job->words, (const char *const *)job->sources, job->limit,
                           on_search_hit, job);
}

static void search_done(void *data)
{
    search_job *job = data;
    const ucd_host *host = job->st->host;
    if (job->rc == UCD_OK) {
        reply_rows(job->st, job->reply, job->rows);
    } else {
        host->reply_error(job->reply, "search '%s' failed: %s (the log says why)", job->words,
                          ucd_strerror(job->rc));
    }
    host->reply_complete(job->reply);
    g_ptr_array_unref(job->rows);
    g_strfreev(job->sources);
    g_free(job->words);
    g_free(job);
}

static int cmd_search(store *st, int argc, const char *const *argv, ucd_reply *reply)
{
    GString *words = g_string_new(NULL);
    GPtrArray *sources = g_ptr_array_new();
    uint32_t limit = 20;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
            g_ptr_array_add(sources, g_strdup(argv[++i]));
        } else {
            g_string_append_printf(words, "%s%s", words->len ? " " : "", argv[i]);
        }
    }
    char *fts = store_fts_query(words->str, NULL);
    if (fts == NULL) {
        st->host->reply_error(reply, "usage: directory search WORDS... [--limit N] [--source "
                                     "NAME]... (a word with a letter or digit)");
        g_string_free(words, TRUE);
        g_ptr_array_free(sources, TRUE);
        return UCD_E_INVALID;
    }
    g_free(fts);
    search_job *job = g_new0(search_job, 1);
    job->st = st;
    job->reply = reply;
    job->words = g_string_free(words, FALSE);
    job->limit = limit;
    if (sources->len > 0) {
        g_ptr_array_add(sources, NULL);
        job->sources = (char **)g_ptr_array_free(sources, FALSE);
    } else {
        g_ptr_array_free(sources, TRUE);
    }
    job->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    st->host->reply_defer(reply);
    if (st->host->work_submit(st->self, search_work, search_done, job) != UCD_OK) {
        job->rc = UCD_E_BUSY;
        search_done(job);
    }
    return UCD_OK;
}

static int directory_command(int argc, const char *const *argv, ucd_reply *reply, void *data)
{
    store *st = data;
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "sources") == 0)
        return cmd_sources(st, reply);
    if (strcmp(sub, "replicate") == 0)
        return cmd_replicate(st, argc, argv, reply);
    if (strcmp(sub, "lookup") == 0)
        return cmd_lookup(st, argc, argv, reply);
    if (strcmp(sub, "search") == 0)
        return cmd_search(st, argc, argv, reply);
    st->host->reply_error(reply, "usage: directory %s", usage);
    return UCD_E_INVALID;
}

int store_commands_register(store *st)
{
    return st->host->command_register(st->self, "directory", usage,
                                      "the contact directory: its sources, replication, lookup "
                                      "and search",
                                      directory_command, st);
}
