/*
 * routes-journal.h - what the journal routes share (routes-journal.c: the
 * JSON pages and one record; routes-journal-csv.c: the CSV download): the
 * request's filters, who may see which conversation, and the scan through
 * the journal service's query() that applies it.
 *
 * Who sees what is decided on the main loop (where the directory and the
 * permissions service may be asked) and handed to the store as filters of
 * its query (journal 1.2), so every record the store gives is shown:
 *   - a user asking for their own conversations: user_id;
 *   - a leader: the participant filter with the leader and each member
 *     they may see (at most UCD_JOURNAL_MAX_PARTICIPANT_FILTER, else 422),
 *     or user_id for one member (?user=);
 *   - an admin or API key: nothing, or user_id for ?user=.
 * Everything the worker thread needs is copied into the journal_request, so
 * the scan never touches a main-loop service.
 */
#ifndef ROUTES_JOURNAL_H
#define ROUTES_JOURNAL_H

#include <ucd/journal.h>

#include "api-call.h"

#define JOURNAL_DEFAULT_LIMIT 100
#define JOURNAL_MAX_LIMIT     500
/* Records one store query asks for at most (the CSV reads many pages; the
 * cursor stays exact whatever it is). */
#define JOURNAL_SCAN_PAGE 500

/* One request against the journal, owned by its route until the answer. */
typedef struct journal_request {
    api_call *call;
    api_ctx *ctx;
    const ucd_journal_v1 *journal;
    void *journal_impl;

    ucd_journal_query query; /* filters; its strings point into the members below */
    char *user_id;           /* ?user= as a directory id, NULL: none */
    char *number;
    char *after;
    char *uuid;     /* GET /journal/{uuid}'s */
    char **visible; /* a leader's users (sorted ids) as the participant filter; NULL: none */
    guint limit;    /* records wanted (a page, the CSV's cap) */

    /* Who asks. */
    char *viewer_id;       /* the caller's user id, NULL for an API key */
    gboolean sees_all;     /* admin or API key: every conversation */
    gboolean sees_private; /* admin: private numbers of every conversation */
    gboolean too_old;      /* a store older than journal 1.2 was passed by */

    /* Filled by journal_scan (on the pool). */
    char next[256];  /* the cursor after the last record scanned, "" at the end */
    int result;      /* UCD_OK or the store's error */
    guint64 scanned; /* records the store gave */
} journal_request;

/* Reads the request's filters (?user ?number ?outcome ?from ?to ?after and,
 * when `max_limit` is not 0, ?limit from 1 to max_limit, default
 * JOURNAL_DEFAULT_LIMIT; else the request's limit is max_limit's caller's
 * to set), finds the journal (one of journal 1.2 or newer) and turns what
 * the caller may see into the query's filters. On bad input, a forbidden
 * ?user=, a leader of too many users or no journal it answers the call with
 * the error and returns NULL. Main loop. */
journal_request *journal_request_new(api_call *call, guint max_limit);
void journal_request_free(journal_request *req);

/* Called for each record the caller may see, `masked` TRUE when its private
 * number must not be shown; non-zero stops the scan at this record. Runs on
 * the pool; the record is valid during the call only. */
typedef int (*journal_visit_cb)(const ucd_journal_record *record, gboolean masked, void *data);

/* Pages through the store from req->after until `want` records were
 * visited or the journal ends. Leaves the cursor of the next page in
 * req->next ("" at the end) and the store's result in req->result.
 * Blocking: call it from a work item. */
void journal_scan(journal_request *req, guint want, journal_visit_cb visit, void *data);

/* Defers the call and runs `work(job)` for it on the pool, then
 * `done(job)` on the main loop; when the pool refuses, req->result is
 * UCD_E_UNAVAILABLE and `done` runs at once. Main loop. */
void journal_submit(journal_request *req, ucd_work_fn work, ucd_done_fn done, void *job);

/* The error answer for a failed scan (a cursor the store refuses, the store
 * down). Main loop. */
void journal_scan_error(journal_request *req);

/* "answered", "no_answer" ... for ucd_outcome; NULL for an unknown value. */
const char *journal_outcome_word(guint32 outcome);
/* "caller", "callee" ... for ucd_participant_role; "unknown" for others. */
const char *journal_role_word(guint32 role);
/* The i-th participant of a record (participant_size apart). */
const ucd_journal_participant *journal_participant(const ucd_journal_record *r, guint32 i);
/* The conversation's end cause as a word: end_cause of a journal 1.1 record,
 * else the 1.0 record's end_reason. NULL when neither is known. */
const char *journal_end_cause_word(const ucd_journal_record *r);

/* A time parameter: milliseconds since 1970, an ISO 8601 date-time (UTC
 * unless it names an offset) or a date alone (midnight UTC), into *ms.
 * FALSE for anything else or a time before 1970. JOURNAL_TIME_FORMS says so
 * in an error message. */
gboolean journal_parse_time(const char *text, gint64 *ms);
#define JOURNAL_TIME_FORMS                                                                         \
    "an ISO 8601 time (2026-03-01T08:00:00Z), a date (2026-03-01) or milliseconds since 1970"

/* What a masked private number shows as. */
#define JOURNAL_MASKED_NUMBER "anonymous"

/* The users (ids, a set) whose conversations a leader sees: the caller
 * and each member of a group the caller leads on whom the caller has at
 * least BUSINESS. Also the analytics route's rows for a leader. Main loop. */
GHashTable *journal_leader_visible(api_call *call, const char *leader_id);
/* The groups (ids, a set) `leader_id` leads. Main loop. */
GHashTable *journal_leader_groups(api_ctx *ctx, const char *leader_id);

/* The CSV route (routes-journal-csv.c), registered with the others. */
extern const api_route_def journal_csv_route;

#endif /* ROUTES_JOURNAL_H */
