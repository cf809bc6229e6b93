/*
 * journal.c - `ucctl journal`: finished conversations from the first running
 * journal that answers queries (service "journal", journal.h), and each
 * journal's state.
 *
 * query() blocks on the database, so a query runs on the worker pool, owned
 * by the journal's module (stopping it waits for the query), and answers
 * through a deferred reply; status() must not block (journal.h) and runs
 * here.
 */
#include <string.h>

#include <ucd/event.h>

#include "control.h"
#include "model-commands-internal.h"

#define JOURNAL_MAX_LIMIT 1000

static const char *const outcome_words[] = {"answered", "no_answer", "busy",
                                            "failed",   "voicemail", "blocked"};

static int parse_outcomes(const char *list, uint32_t *mask)
{
    char **words = g_strsplit(list, ",", -1);
    int bad = 0;
    for (char **w = words; *w && !bad; w++) {
        bad = 1;
        for (size_t i = 0; i < G_N_ELEMENTS(outcome_words); i++)
            if (strcmp(*w, outcome_words[i]) == 0) {
                *mask |= 1u << i;
                bad = 0;
            }
    }
    g_strfreev(words);
    return bad ? -1 : 0;
}

/* Why the conversation ended: the word of end_cause when the journal built a
 * 1.1 record, else the 1.0 record's end_reason as the store kept it. */
static const char *end_reason_word(const ucd_journal_record *rec)
{
    if (rec->struct_size >= G_STRUCT_OFFSET(ucd_journal_record, end_cause) + sizeof rec->end_cause)
        return ucd_call_cause_word(rec->end_cause);
    return or_empty(rec->end_reason);
}

static int journal_row(const ucd_journal_record *rec, void *ud)
{
    ucd_reply *r = ud;
    char *start = local_time_text(rec->start_ms);
    char duration[32] = "";
    if (rec->end_ms >= rec->start_ms && rec->start_ms)
        g_snprintf(duration, sizeof duration, "%" G_GINT64_FORMAT "s",
                   (rec->end_ms - rec->start_ms) / 1000);
    GString *who = g_string_new(NULL);
    for (uint32_t i = 0; rec->participants && i < rec->participant_count; i++) {
        const ucd_journal_participant *p =
            (const void *)((const char *)rec->participants + (size_t)i * rec->participant_size);
        g_string_append_printf(who, "%s%s", who->len ? "," : "",
                               p->user_id ? p->user_id : or_empty(p->line));
    }
    const char *row[] = {start,
                         ucd_call_direction_word(rec->direction),
                         rec->outcome < G_N_ELEMENTS(outcome_words) ? outcome_words[rec->outcome]
                                                                    : "unknown",
                         or_empty(rec->source_number),
                         or_empty(rec->destination_number),
                         duration,
                         who->str,
                         or_empty(rec->uuid),
                         end_reason_word(rec)};
    core_reply_row(r, row);
    g_string_free(who, TRUE);
    g_free(start);
    return 0;
}

/* A query on the pool. The job owns copies of the query's strings: the
 * command's own are gone by then. */
typedef struct {
    ucd_journal_query q;
    char *user_id, *number, *after, *uuid;
    char *provider; /* the journal's module id: owns the work item */
    const ucd_journal_v1 *journal;
    void *impl;
    ucd_reply *r;
    char cursor[256];
    int rc;
    gboolean too_old; /* a store was passed by: older than journal 1.2 */
} query_job;

static int query_first(const ucd_service *s, void *ud)
{
    query_job *job = ud;
    const ucd_journal_v1 *journal = s->iface;
    if (!journal->query)
        return 0;
    /* A store older than journal 1.2 would ignore --uuid and list others. */
    if (job->q.uuid && s->minor < 2) {
        job->too_old = TRUE;
        return 0;
    }
    job->journal = journal;
    job->impl = s->impl;
    job->provider = g_strdup(s->provider);
    core_reply_field(job->r, "journal", s->provider);
    return 1;
}

static void query_work(void *ud)
{
    query_job *job = ud;
    job->rc = job->journal->query(job->impl, &job->q, journal_row, job->r, job->cursor,
                                  sizeof job->cursor);
}

static void query_done(void *ud)
{
    query_job *job = ud;
    if (job->rc != UCD_OK)
        command_fail(job->r, job->rc, "journal query failed: %s", ucd_strerror(job->rc));
    else
        core_reply_field(job->r, "next", job->cursor);
    core_reply_complete(job->r);
    g_free(job->user_id);
    g_free(job->number);
    g_free(job->after);
    g_free(job->uuid);
    g_free(job->provider);
    g_free(job);
}

static int run_query(core_model_commands *c, const ucd_journal_query *q, ucd_reply *r)
{
    /* end_reason last: scripts read the older columns by position. */
    static const char *const cols[] = {"start",    "direction",    "outcome", "from",      "to",
                                       "duration", "participants", "uuid",    "end_reason"};
    query_job *job = g_new0(query_job, 1);
    job->r = r;
    job->q.uuid = q->uuid;
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_service_foreach(c->mods, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, query_first, job);
    if (!job->journal) {
        gboolean too_old = job->too_old;
        g_free(job);
        return command_fail(r, UCD_E_UNAVAILABLE,
                            too_old ? "--uuid needs a journal of journal 1.2 or newer"
                                    : "no running journal answers queries");
    }
    job->q = *q;
    job->q.user_id = job->user_id = g_strdup(q->user_id);
    job->q.number = job->number = g_strdup(q->number);
    job->q.after = job->after = g_strdup(q->after);
    job->q.uuid = job->uuid = g_strdup(q->uuid);
    core_reply_defer(r);
    core_workers_submit(c->workers, job->provider, query_work, query_done, job);
    return UCD_OK;
}

static int journal_query(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    char *user = NULL, *number = NULL, *from = NULL, *to = NULL, *outcome = NULL, *after = NULL,
         *uuid = NULL, **args = NULL;
    int limit = 20;
    GOptionEntry entries[] = {
        {"user", 0, 0, G_OPTION_ARG_STRING, &user, "user id or login", "U"},
        {"number", 0, 0, G_OPTION_ARG_STRING, &number, "number on either side", "N"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "start at or after", "T"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "start before", "T"},
        {"outcome", 0, 0, G_OPTION_ARG_STRING, &outcome, "outcomes, comma-separated", "O"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "page size", "N"},
        {"after", 0, 0, G_OPTION_ARG_STRING, &after, "cursor of the previous page", "CURSOR"},
        {"uuid", 0, 0, G_OPTION_ARG_STRING, &uuid, "one conversation", "ID"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    ucd_journal_query q = {.struct_size = sizeof q, .number = number, .after = after, .uuid = uuid};
    /* A login is asked as the user's id; an unknown user as given. */
    dir_user *u = user ? dir_user_get(c, user, NULL) : NULL;
    q.user_id = u ? u->id : user;
    int rc = UCD_OK;
    if (g_strv_length(args) != 1)
        rc = command_fail(r, UCD_E_INVALID, "journal query takes options only");
    else if (limit < 1 || limit > JOURNAL_MAX_LIMIT)
        rc = command_fail(r, UCD_E_INVALID, "--limit must be 1 to %d", JOURNAL_MAX_LIMIT);
    else if (from && (q.from_ms = parse_time_ms(from)) < 0)
        rc = command_fail(r, UCD_E_INVALID, "--from '%s' is not a time", from);
    else if (to && (q.to_ms = parse_time_ms(to)) < 0)
        rc = command_fail(r, UCD_E_INVALID, "--to '%s' is not a time", to);
    else if (outcome && parse_outcomes(outcome, &q.outcome_mask) < 0)
        rc = command_fail(r, UCD_E_INVALID, "--outcome '%s': use %s", outcome,
                          "answered, no_answer, busy, failed, voicemail, blocked");
    if (rc == UCD_OK) {
        q.limit = (uint32_t)limit;
        rc = run_query(c, &q, r);
    }
    dir_user_free(u);
    g_free(user);
    g_free(number);
    g_free(from);
    g_free(to);
    g_free(outcome);
    g_free(after);
    g_free(uuid);
    g_strfreev(args);
    return rc;
}

/* One row per running journal store: whether records reach durable storage
 * now, how many were stored, how many wait (in memory or a spool) and how old
 * the oldest waiting one is, so an admin sees at once that a database is down
 * and how far behind the journal is. */
static int status_row(const ucd_service *s, void *ud)
{
    ucd_reply *r = ud;
    const ucd_journal_v1 *journal = s->iface;
    ucd_journal_status st = {.struct_size = sizeof st};
    char stored[32] = "", pending[32] = "", age[32] = "";
    char *oldest = NULL;
    const char *state = "unknown";
    if (journal->status && journal->status(s->impl, &st) == UCD_OK) {
        state = st.healthy ? "healthy" : "failing";
        g_snprintf(stored, sizeof stored, "%" G_GUINT64_FORMAT, st.stored);
        g_snprintf(pending, sizeof pending, "%" G_GUINT64_FORMAT, st.pending);
        if (st.oldest_pending_ms > 0) {
            int64_t now_ms = g_get_real_time() / 1000;
            g_snprintf(age, sizeof age, "%" G_GINT64_FORMAT "s",
                       MAX(now_ms - st.oldest_pending_ms, 0) / 1000);
            oldest = local_time_text(st.oldest_pending_ms);
        }
    }
    const char *row[] = {s->provider,        state, stored, pending, age, or_empty(oldest),
                         or_empty(st.detail)};
    core_reply_row(r, row);
    g_free(oldest);
    return 0;
}

static int journal_status(core_model_commands *c, ucd_reply *r)
{
    static const char *const cols[] = {"journal",    "state",  "stored", "pending",
                                       "oldest_age", "oldest", "detail"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_service_foreach(c->mods, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, status_row, r);
    return UCD_OK;
}

int cmd_journal(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    if (argc == 2 && strcmp(argv[1], "status") == 0)
        return journal_status(c, r);
    if (argc >= 2 && strcmp(argv[1], "tail") == 0 && argc <= 3) {
        guint64 n = 20;
        if (argc == 3 && !parse_uint(argv[2], JOURNAL_MAX_LIMIT, &n))
            return command_fail(r, UCD_E_INVALID, "journal tail N: N is 1 to %d",
                                JOURNAL_MAX_LIMIT);
        ucd_journal_query q = {.struct_size = sizeof q, .limit = n ? (uint32_t)n : 1};
        return run_query(c, &q, r);
    }
    if (argc >= 2 && strcmp(argv[1], "query") == 0)
        return journal_query(c, argc - 1, argv + 1, r);
    return command_fail(
        r, UCD_E_INVALID,
        "usage: journal tail [N] | journal status | journal query [--user U] [--uuid ID] "
        "[--number N] [--from T] [--to T] [--outcome O] [--limit N] [--after CURSOR]");
}
