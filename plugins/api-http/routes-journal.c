/*
 * routes-journal.c - the call journal for clients: GET /journal (a page of
 * finished conversations, newest first, keyset-paged by the journal's own
 * cursor), GET /journal/{uuid} (one conversation), and what the CSV download
 * (routes-journal-csv.c) shares with them: filters, visibility, the scan.
 *
 * query() blocks on a database, so every request reads the journal in a
 * work item while the call waits deferred; the main loop only parses the
 * request and asks the directory and the permissions service who may see
 * what (routes-journal.h).
 *
 * Who sees a conversation: a user the ones they took part in; a leader also
 * those of the members of the groups they lead on whom they have BUSINESS;
 * an admin and an API key with journal:read every one. A private
 * conversation's withheld number shows as "anonymous" to everyone but its
 * participants and admins (an API key never sees it). The store applies
 * all of it (journal 1.2's participant and uuid filters), so a page holds
 * `limit` conversations whenever there are that many, and `next` walks
 * exactly the caller's.
 *
 * A page's items are JSON fragments kept by their inputs
 * (api-answer-cache.h): a stored conversation never changes, so after its
 * first page a record costs its key and a lookup instead of a JSON tree.
 */
#include <string.h>
#include <time.h>

#include <ucd/directory.h>

#include "api-answer-cache.h"
#include "api-router.h"
#include "api-routes.h"
#include "routes-journal.h"
#include "routes-model.h"

#define JOURNAL_NUMBER_MAX 64
#define JOURNAL_UUID_MAX   64

static const char *const outcome_words[] = {"answered", "no_answer", "busy",
                                            "failed",   "voicemail", "blocked"};
static const char *const role_words[] = {"caller", "callee",         "transfer_target",
                                         "pickup", "forward_target", "conference"};

const char *journal_outcome_word(guint32 outcome)
{
    return outcome < G_N_ELEMENTS(outcome_words) ? outcome_words[outcome] : NULL;
}

const char *journal_role_word(guint32 role)
{
    return role < G_N_ELEMENTS(role_words) ? role_words[role] : "unknown";
}

const ucd_journal_participant *journal_participant(const ucd_journal_record *r, guint32 i)
{
    return (const ucd_journal_participant *)((const char *)r->participants +
                                             (gsize)i * r->participant_size);
}

const char *journal_end_cause_word(const ucd_journal_record *r)
{
    if (r->struct_size >= G_STRUCT_OFFSET(ucd_journal_record, end_cause) + sizeof r->end_cause)
        return ucd_call_cause_word(r->end_cause);
    return r->end_reason;
}

/* ---- reading the request ---- */

gboolean journal_parse_time(const char *text, gint64 *ms)
{
    gsize length = strlen(text);
    if (length > 0 && length <= 15 && strspn(text, "0123456789") == length) {
        *ms = g_ascii_strtoll(text, NULL, 10);
        return TRUE;
    }
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *t = g_date_time_new_from_iso8601(text, utc);
    if (t == NULL && length == 10) {
        char *midnight = g_strconcat(text, "T00:00:00", NULL);
        t = g_date_time_new_from_iso8601(midnight, utc);
        g_free(midnight);
    }
    g_time_zone_unref(utc);
    if (t == NULL)
        return FALSE;
    *ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
    g_date_time_unref(t);
    return *ms > 0;
}

static gboolean parse_outcomes(const char *list, guint32 *mask)
{
    char **words = g_strsplit(list, ",", -1);
    gboolean ok = words[0] != NULL;
    for (char **w = words; *w && ok; w++) {
        ok = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS(outcome_words); i++) {
            if (strcmp(g_strstrip(*w), outcome_words[i]) == 0) {
                *mask |= 1u << i;
                ok = TRUE;
            }
        }
    }
    g_strfreev(words);
    return ok;
}

static gboolean parse_limit(const char *text, guint max, guint *limit)
{
    guint64 n = 0;
    if (!g_ascii_string_to_unsigned(text, 10, 1, max, &n, NULL))
        return FALSE;
    *limit = (guint)n;
    return TRUE;
}

/* The time filters; FALSE after answering what is wrong. */
static gboolean read_period(api_call *call, ucd_journal_query *q)
{
    const char *from = api_call_query(call, "from");
    const char *to = api_call_query(call, "to");
    if (from && !journal_parse_time(from, &q->from_ms)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "from: '%s' is not %s", from,
                       JOURNAL_TIME_FORMS);
        return FALSE;
    }
    if (to && !journal_parse_time(to, &q->to_ms)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "to: '%s' is not %s", to,
                       JOURNAL_TIME_FORMS);
        return FALSE;
    }
    if (from && to && q->to_ms <= q->from_ms) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "to must be after from");
        return FALSE;
    }
    return TRUE;
}

static gboolean read_filters(api_call *call, journal_request *req, guint max_limit)
{
    const char *number = api_call_query(call, "number");
    const char *outcome = api_call_query(call, "outcome");
    const char *limit = api_call_query(call, "limit");
    const char *after = api_call_query(call, "after");
    if (!read_period(call, &req->query))
        return FALSE;
    if (number && (!*number || strlen(number) > JOURNAL_NUMBER_MAX)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "number: 1 to %d characters",
                       JOURNAL_NUMBER_MAX);
        return FALSE;
    }
    if (outcome && !parse_outcomes(outcome, &req->query.outcome_mask)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "outcome: '%s' is not a comma-separated list of answered, no_answer, "
                       "busy, failed, voicemail, blocked",
                       outcome);
        return FALSE;
    }
    req->limit = max_limit ? MIN(JOURNAL_DEFAULT_LIMIT, max_limit) : 0;
    if (max_limit && limit && !parse_limit(limit, max_limit, &req->limit)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "limit: '%s' is not a number from 1 to %u", limit, max_limit);
        return FALSE;
    }
    if (after && (!*after || strlen(after) >= sizeof req->next)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "after: not a cursor this API gave (use the 'next' of the previous page)");
        return FALSE;
    }
    req->query.number = req->number = g_strdup(number);
    req->query.after = req->after = g_strdup(after);
    return TRUE;
}

/* ---- the journal and who sees what ---- */

/* The filters of journal 1.2 decide what a caller sees: an older store
 * would ignore them and show everyone's conversations, so it is passed by. */
#define JOURNAL_MINOR_NEEDED 2

static int first_queryable(const ucd_service *s, void *data)
{
    journal_request *req = data;
    const ucd_journal_v1 *journal = s->iface;
    if (journal->query == NULL)
        return 0;
    if (s->minor < JOURNAL_MINOR_NEEDED) {
        req->too_old = TRUE;
        return 0;
    }
    req->journal = journal;
    req->journal_impl = s->impl;
    return 1;
}

static int copy_id(const ucd_directory_user *u, void *data)
{
    *(char **)data = g_strdup(u->id);
    return 1;
}

static int add_led_group(const ucd_directory_group *g, void *data)
{
    gpointer *args = data;
    const char *leader = args[0];
    for (const char *const *l = g->leaders; l && *l; l++) {
        if (strcmp(*l, leader) == 0) {
            g_hash_table_add(args[1], g_strdup(g->id));
            break;
        }
    }
    return 0;
}

GHashTable *journal_leader_groups(api_ctx *ctx, const char *leader_id)
{
    GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gpointer args[] = {(gpointer)leader_id, groups};
    ctx->dir->foreach_group(ctx->dir_impl, add_led_group, args);
    return groups;
}

static int add_member(const ucd_directory_user *u, void *data)
{
    gpointer *args = data;
    if (!g_hash_table_contains(args[1], u->id) &&
        api_call_level(args[0], u->id) >= UCD_PERM_BUSINESS)
        g_hash_table_add(args[1], g_strdup(u->id));
    return 0;
}

static gint compare_ids(gconstpointer a, gconstpointer b, gpointer unused)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GHashTable *journal_leader_visible(api_call *call, const char *leader_id)
{
    api_ctx *ctx = api_call_ctx(call);
    GHashTable *visible = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *groups = journal_leader_groups(ctx, leader_id);
    g_hash_table_add(visible, g_strdup(leader_id));
    GHashTableIter it;
    gpointer group;
    g_hash_table_iter_init(&it, groups);
    while (g_hash_table_iter_next(&it, &group, NULL)) {
        gpointer args[] = {call, visible};
        ctx->dir->foreach_member(ctx->dir_impl, group, add_member, args);
    }
    g_hash_table_unref(groups);
    return visible;
}

/* A leader's users as the store's participant filter, sorted (the same
 * set gives the same statement); FALSE after answering when there are more
 * than one query may name. */
static gboolean use_visible(api_call *call, journal_request *req, GHashTable *visible)
{
    guint count = g_hash_table_size(visible);
    if (count > UCD_JOURNAL_MAX_PARTICIPANT_FILTER) {
        api_call_error(call, 422, API_ERR_UNSUPPORTED,
                       "you see the conversations of %u users, more than the journal filters by "
                       "at once (%d): name one with user=",
                       count, UCD_JOURNAL_MAX_PARTICIPANT_FILTER);
        return FALSE;
    }
    req->visible = g_new0(char *, count + 1);
    GHashTableIter it;
    gpointer id;
    guint i = 0;
    g_hash_table_iter_init(&it, visible);
    while (g_hash_table_iter_next(&it, &id, NULL))
        req->visible[i++] = g_strdup(id);
    g_qsort_with_data(req->visible, (gint)count, sizeof(char *), (GCompareDataFunc)compare_ids,
                      NULL);
    req->query.participant_users = (const char *const *)req->visible;
    req->query.participant_user_count = count;
    return TRUE;
}

/* Decides what the caller sees (routes-journal.h) and whether ?user= is
 * allowed; FALSE after answering. */
static gboolean decide_view(api_call *call, journal_request *req)
{
    const api_principal *who = api_call_principal(call);
    const char *user = api_call_query(call, "user");
    api_ctx *ctx = req->ctx;
    if (user != NULL) {
        if (*user)
            ctx->dir->get_user(ctx->dir_impl, user, copy_id, &req->user_id);
        if (req->user_id == NULL) {
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                           "user: '%s' is not a user of the directory", user);
            return FALSE;
        }
    }
    req->viewer_id = g_strdup(who->user_id);
    req->sees_all = who->user_id == NULL || who->role >= UCD_HTTP_ROLE_ADMIN;
    req->sees_private = who->user_id != NULL && who->role >= UCD_HTTP_ROLE_ADMIN;
    if (req->sees_all) {
        req->query.user_id = req->user_id;
        return TRUE;
    }
    if (who->role >= UCD_HTTP_ROLE_LEADER) {
        GHashTable *visible = journal_leader_visible(call, who->user_id);
        if (req->user_id && !g_hash_table_contains(visible, req->user_id)) {
            g_hash_table_unref(visible);
            api_call_error(call, 403, API_ERR_FORBIDDEN,
                           "user: you see the conversations of your groups' members only");
            return FALSE;
        }
        gboolean ok = req->user_id != NULL || use_visible(call, req, visible);
        if (req->user_id)
            req->query.user_id = req->user_id;
        g_hash_table_unref(visible);
        return ok;
    }
    if (req->user_id && strcmp(req->user_id, who->user_id) != 0) {
        api_call_error(call, 403, API_ERR_FORBIDDEN, "user: you see your own conversations only");
        return FALSE;
    }
    req->query.user_id = req->viewer_id;
    return TRUE;
}

journal_request *journal_request_new(api_call *call, guint max_limit)
{
    journal_request *req = g_new0(journal_request, 1);
    req->call = call;
    req->ctx = api_call_ctx(call);
    req->query.struct_size = sizeof req->query;
    req->result = UCD_OK;
    if (!read_filters(call, req, max_limit) || !decide_view(call, req)) {
        journal_request_free(req);
        return NULL;
    }
    req->ctx->host->service_foreach(req->ctx->self, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR,
                                    first_queryable, req);
    if (req->journal == NULL) {
        api_call_error(call, 503, API_ERR_UNAVAILABLE,
                       req->too_old ? "the running journal is older than journal 1.%d, which "
                                      "the API needs to show a caller only their conversations"
                                    : "no running journal answers queries",
                       JOURNAL_MINOR_NEEDED);
        journal_request_free(req);
        return NULL;
    }
    return req;
}

void journal_request_free(journal_request *req)
{
    if (req == NULL)
        return;
    g_free(req->user_id);
    g_free(req->number);
    g_free(req->after);
    g_free(req->viewer_id);
    g_free(req->uuid);
    g_strfreev(req->visible);
    g_free(req);
}

/* ---- the scan ---- */

typedef struct scan_state {
    journal_request *req;
    guint want, got;
    journal_visit_cb visit;
    void *data;
    gboolean stopped;
} scan_state;

static gboolean took_part(const ucd_journal_record *r, const char *user_id)
{
    for (guint32 i = 0; user_id && r->participants && i < r->participant_count; i++) {
        const char *id = journal_participant(r, i)->user_id;
        if (id && strcmp(id, user_id) == 0)
            return TRUE;
    }
    return FALSE;
}

static int scan_record(const ucd_journal_record *r, void *data)
{
    scan_state *s = data;
    journal_request *req = s->req;
    gboolean masked = (r->flags & UCD_JOURNAL_FLAG_PRIVATE) && !req->sees_private &&
                      !took_part(r, req->viewer_id);
    /* A number filter may have matched the withheld number itself: a
     * masked record in its result would tell whom that number called. */
    if (masked && req->query.number)
        return 0;
    s->got++;
    if (s->visit(r, masked, s->data) != 0 || s->got >= s->want) {
        s->stopped = TRUE;
        return 1;
    }
    return 0;
}

/*
 * The store filters by everything that decides visibility, so one query of
 * `want` records is the page. Only a record left out here (a masked one a
 * number filter found) makes the scan ask again, for as many as are still
 * missing; the scan stops inside a store page by returning non-zero from
 * the callback, and the store's cursor then points just after the last
 * record looked at, so paging stays exact.
 */
void journal_scan(journal_request *req, guint want, journal_visit_cb visit, void *data)
{
    scan_state s = {.req = req, .want = want, .visit = visit, .data = data};
    ucd_journal_query q = req->query;
    char *cursor = g_strdup(req->after);
    req->next[0] = '\0';
    req->result = UCD_OK;
    if (want == 0)
        return;
    for (;;) {
        q.after = cursor;
        q.limit = MIN(want - s.got, JOURNAL_SCAN_PAGE);
        req->result = req->journal->query(req->journal_impl, &q, scan_record, &s, req->next,
                                          sizeof req->next);
        if (req->result != UCD_OK || s.stopped || req->next[0] == '\0')
            break;
        g_free(cursor);
        cursor = g_strdup(req->next);
    }
    if (req->result != UCD_OK)
        req->next[0] = '\0';
    g_free(cursor);
}

void journal_scan_error(journal_request *req)
{
    if (req->result == UCD_E_INVALID && req->after)
        api_call_error(req->call, 400, API_ERR_INVALID_ARGUMENT,
                       "after: not a cursor this API gave (use the 'next' of the previous page)");
    else
        api_call_error_ucd(req->call, req->result == UCD_E_INVALID ? UCD_FAIL : req->result,
                           "the journal could not be read");
}

/* ---- a record as JSON ---- */

static void add_participant(JsonBuilder *b, const ucd_journal_participant *p)
{
    json_builder_begin_object(b);
    routes_add_string(b, "role", journal_role_word(p->role));
    routes_add_string(b, "user_id", p->user_id);
    routes_add_string(b, "line", p->line);
    routes_add_time(b, "joined", p->joined_ms);
    routes_add_time(b, "answered", p->answered_ms);
    routes_add_time(b, "left", p->left_ms);
    json_builder_end_object(b);
}

/* A journal 1.1 record: end_cause and forward_reason_code are there. */
static gboolean has_codes(const ucd_journal_record *r)
{
    return r->struct_size >=
           G_STRUCT_OFFSET(ucd_journal_record, forward_reason_code) + sizeof r->forward_reason_code;
}

/* Every field of the record, under its journal.h name. A masked record's
 * source (the withheld caller: only an inbound caller withholds a number
 * from us) is "anonymous" without E.164 or name. record_key() names every
 * value this reads: change both together. */
static JsonNode *record_json(const ucd_journal_record *r, gboolean masked)
{
    gboolean is_1_1 = has_codes(r);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "uuid", r->uuid);
    routes_add_string(b, "driver_instance", r->driver_instance);
    routes_add_string(b, "direction", ucd_call_direction_word(r->direction));
    routes_add_string(b, "outcome", journal_outcome_word(r->outcome));
    json_builder_set_member_name(b, "private");
    json_builder_add_boolean_value(b, (r->flags & UCD_JOURNAL_FLAG_PRIVATE) != 0);
    json_builder_set_member_name(b, "flags");
    json_builder_add_int_value(b, r->flags);
    routes_add_time(b, "start", r->start_ms);
    routes_add_time(b, "answer", r->answer_ms);
    routes_add_time(b, "end", r->end_ms);
    json_builder_set_member_name(b, "duration_s");
    json_builder_add_int_value(b, r->end_ms > r->start_ms ? (r->end_ms - r->start_ms) / 1000 : 0);
    routes_add_string(b, "source_number", masked ? JOURNAL_MASKED_NUMBER : r->source_number);
    routes_add_string(b, "source_e164", masked ? NULL : r->source_e164);
    routes_add_string(b, "source_name", masked ? NULL : r->source_name);
    routes_add_string(b, "requested_number", r->requested_number);
    routes_add_string(b, "requested_e164", r->requested_e164);
    routes_add_string(b, "destination_number", r->destination_number);
    routes_add_string(b, "destination_e164", r->destination_e164);
    routes_add_string(b, "destination_name", r->destination_name);
    routes_add_string(b, "transferred_by", r->transferred_by);
    routes_add_string(b, "forward_reason", r->forward_reason);
    routes_add_string(b, "picked_up_by", r->picked_up_by);
    routes_add_string(b, "end_reason", r->end_reason);
    routes_add_string(b, "end_cause", journal_end_cause_word(r));
    json_builder_set_member_name(b, "forward_reason_code");
    json_builder_add_int_value(b, is_1_1 ? r->forward_reason_code : 0);
    routes_add_string(b, "tags", r->tags);
    routes_add_string(b, "memo", r->memo);
    json_builder_set_member_name(b, "participants");
    json_builder_begin_array(b);
    for (guint32 i = 0; r->participants && i < r->participant_count; i++)
        add_participant(b, journal_participant(r, i));
    json_builder_end_array(b);
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

/* The inputs of record_json(r, masked), for the fragment cache: equal keys,
 * equal JSON. A stored conversation does not change, but another store
 * (a reload) may hold it with other values (its privacy policy): so every
 * value, not just the uuid. */
static void record_key(GString *key, const ucd_journal_record *r, gboolean masked)
{
    gboolean is_1_1 = has_codes(r);
    const char *const texts[] = {r->uuid,
                                 r->driver_instance,
                                 r->source_number,
                                 r->source_e164,
                                 r->source_name,
                                 r->requested_number,
                                 r->requested_e164,
                                 r->destination_number,
                                 r->destination_e164,
                                 r->destination_name,
                                 r->transferred_by,
                                 r->forward_reason,
                                 r->picked_up_by,
                                 r->end_reason,
                                 journal_end_cause_word(r),
                                 r->tags,
                                 r->memo};
    const gint64 numbers[] = {masked,
                              is_1_1 ? r->forward_reason_code : 0,
                              r->direction,
                              r->outcome,
                              r->flags,
                              r->start_ms,
                              r->answer_ms,
                              r->end_ms,
                              r->participants ? r->participant_count : 0};
    api_key_string(key, "journal");
    for (guint i = 0; i < G_N_ELEMENTS(texts); i++)
        api_key_string(key, texts[i]);
    for (guint i = 0; i < G_N_ELEMENTS(numbers); i++)
        api_key_int(key, numbers[i]);
    for (guint32 i = 0; r->participants && i < r->participant_count; i++) {
        const ucd_journal_participant *p = journal_participant(r, i);
        api_key_int(key, p->role);
        api_key_string(key, p->user_id);
        api_key_string(key, p->line);
        api_key_int(key, p->joined_ms);
        api_key_int(key, p->answered_ms);
        api_key_int(key, p->left_ms);
    }
}

/* ---- GET /journal ---- */

typedef struct page_job {
    journal_request *req;
    api_answer_cache *cache; /* a reference; NULL: none (fragments built each time) */
    api_fragment_list *items;
    GString *key;
} page_job;

typedef struct record_view {
    const ucd_journal_record *record;
    gboolean masked;
} record_view;

static JsonNode *build_record(gpointer data)
{
    record_view *v = data;
    return record_json(v->record, v->masked);
}

static int add_item(const ucd_journal_record *r, gboolean masked, void *data)
{
    page_job *job = data;
    record_view view = {r, masked};
    g_string_truncate(job->key, 0);
    record_key(job->key, r, masked);
    api_fragment_list_add(job->items,
                          api_answer_cache_fragment(job->cache, job->key, build_record, &view));
    return 0;
}

static void page_work(void *data)
{
    page_job *job = data;
    journal_scan(job->req, job->req->limit, add_item, job);
}

static void page_done(void *data)
{
    page_job *job = data;
    journal_request *req = job->req;
    /* The store cannot count a filtered result cheaply: total is null. */
    if (req->result != UCD_OK) {
        journal_scan_error(req);
        api_fragment_list_free(job->items);
    } else {
        api_call_respond_fragments(req->call, job->items, -1, req->next[0] ? req->next : NULL);
    }
    api_answer_cache_unref(job->cache);
    g_string_free(job->key, TRUE);
    journal_request_free(req);
    g_free(job);
}

void journal_submit(journal_request *req, ucd_work_fn work, ucd_done_fn done, void *job)
{
    api_ctx *ctx = req->ctx;
    api_call_defer(req->call);
    if (ctx->host->work_submit(ctx->self, work, done, job) != UCD_OK) {
        req->result = UCD_E_UNAVAILABLE;
        done(job);
    }
}

static void journal_list(api_call *call, gpointer data)
{
    journal_request *req = journal_request_new(call, JOURNAL_MAX_LIMIT);
    if (req == NULL)
        return;
    page_job *job = g_new0(page_job, 1);
    job->req = req;
    job->cache = api_answer_cache_ref(api_answer_cache_of(req->ctx));
    job->items = api_fragment_list_new();
    job->key = g_string_sized_new(1024);
    journal_submit(req, page_work, page_done, job);
}

/* ---- GET /journal/{uuid} ---- */

typedef struct find_job {
    journal_request *req;
    JsonNode *found;
} find_job;

static int keep_found(const ucd_journal_record *r, gboolean masked, void *data)
{
    find_job *job = data;
    job->found = record_json(r, masked);
    return 1;
}

static void find_work(void *data)
{
    find_job *job = data;
    journal_scan(job->req, 1, keep_found, job);
}

static void find_done(void *data)
{
    find_job *job = data;
    journal_request *req = job->req;
    if (req->result != UCD_OK)
        journal_scan_error(req);
    else if (job->found)
        api_call_respond(req->call, 200, g_steal_pointer(&job->found));
    else
        api_call_error(req->call, 404, API_ERR_NOT_FOUND, "no conversation '%s' that you may see",
                       req->uuid);
    if (job->found)
        json_node_unref(job->found);
    journal_request_free(req);
    g_free(job);
}

static gboolean uuid_valid(const char *uuid)
{
    gsize length = strlen(uuid);
    if (length == 0 || length > JOURNAL_UUID_MAX)
        return FALSE;
    for (const char *c = uuid; *c; c++) {
        if (!g_ascii_isalnum(*c) && !strchr("-_.:", *c))
            return FALSE;
    }
    return TRUE;
}

static void journal_get(api_call *call, gpointer data)
{
    const char *uuid = api_call_param(call, "uuid");
    if (uuid == NULL || !uuid_valid(uuid)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "uuid: 1 to %d letters, digits and - _ . :", JOURNAL_UUID_MAX);
        return;
    }
    journal_request *req = journal_request_new(call, 0);
    if (req == NULL)
        return;
    req->query.uuid = req->uuid = g_strdup(uuid);
    find_job *job = g_new0(find_job, 1);
    job->req = req;
    journal_submit(req, find_work, find_done, job);
}

/* ---- the routes ---- */

#define FILTER_PARAMETERS                                                                          \
    "{\"name\":\"user\",\"in\":\"query\",\"description\":\"only conversations this user (id or "   \
    "login) took part in; a user may name only themselves, a leader the members of the groups "    \
    "they lead\",\"schema\":{\"type\":\"string\"}},"                                               \
    "{\"name\":\"number\",\"in\":\"query\",\"description\":\"a number (raw or E.164) on either "   \
    "side; private conversations whose number the caller may not see are left out\","              \
    "\"schema\":{\"type\":\"string\",\"maxLength\":64}},"                                          \
    "{\"name\":\"outcome\",\"in\":\"query\",\"description\":\"comma-separated outcomes\","         \
    "\"schema\":{\"type\":\"string\",\"example\":\"answered,no_answer\"}},"                        \
    "{\"name\":\"from\",\"in\":\"query\",\"description\":\"start at or after: ISO 8601 (UTC "      \
    "unless an offset is given), a date (midnight UTC) or milliseconds since 1970\","              \
    "\"schema\":{\"type\":\"string\"}},"                                                           \
    "{\"name\":\"to\",\"in\":\"query\",\"description\":\"start before (exclusive), as from\","     \
    "\"schema\":{\"type\":\"string\"}}"

#define RECORD_SCHEMA                                                                              \
    "{\"type\":\"object\",\"description\":\"A finished conversation: every field of the "          \
    "journal record (ucd/journal.h); times as ISO 8601 UTC and as NAME_ms, null when it never "    \
    "happened. A private conversation's source_number is 'anonymous' (source_e164 and "            \
    "source_name null) unless the caller took part or is an admin; an API key never sees "         \
    "it.\",\"properties\":{\"uuid\":{\"type\":\"string\"},\"driver_instance\":{\"type\":"          \
    "\"string\"},\"direction\":{\"enum\":[\"unknown\",\"inbound\",\"outbound\",\"internal\"]},"    \
    "\"outcome\":{\"enum\":[\"answered\",\"no_answer\",\"busy\",\"failed\",\"voicemail\","         \
    "\"blocked\",null]},\"private\":{\"type\":\"boolean\"},\"flags\":{\"type\":\"integer\"},"      \
    "\"start\":{\"type\":\"string\",\"format\":\"date-time\"},\"start_ms\":{\"type\":"             \
    "\"integer\"},\"answer\":{\"type\":[\"string\",\"null\"]},\"answer_ms\":{\"type\":"            \
    "[\"integer\",\"null\"]},\"end\":{\"type\":\"string\"},\"end_ms\":{\"type\":\"integer\"},"     \
    "\"duration_s\":{\"type\":\"integer\"},\"source_number\":{\"type\":[\"string\",\"null\"]},"    \
    "\"source_e164\":{},\"source_name\":{},\"requested_number\":{},\"requested_e164\":{},"         \
    "\"destination_number\":{},\"destination_e164\":{},\"destination_name\":{},"                   \
    "\"transferred_by\":{},\"forward_reason\":{},\"picked_up_by\":{},\"end_reason\":{},"           \
    "\"end_cause\":{},\"forward_reason_code\":{\"type\":\"integer\"},\"tags\":{},\"memo\":{},"     \
    "\"participants\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"         \
    "\"role\":{\"enum\":[\"caller\",\"callee\",\"transfer_target\",\"pickup\","                    \
    "\"forward_target\",\"conference\",\"unknown\"]},\"user_id\":{},\"line\":{},\"joined\":{},"    \
    "\"joined_ms\":{},\"answered\":{},\"answered_ms\":{},\"left\":{},\"left_ms\":{}}}}}}"

static const api_route_def journal_routes[] = {
    {"GET", "/journal", UCD_HTTP_ROLE_USER, "journal:read",
     "{\"summary\":\"Finished conversations, newest first\",\"description\":\"A user sees the "
     "conversations they took part in, a leader also those of the members of the groups they "
     "lead (BUSINESS level needed on the member; a leader who sees more than 1000 users gets "
     "422 and names one with user), an admin and an API key with journal:read every one. "
     "Keyset paging: pass the answer's next as after for the following page; a page holds "
     "limit items unless it is the last (next null). total is always null: the journal "
     "cannot count a filtered result cheaply.\",\"parameters\":[" FILTER_PARAMETERS
     ",{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"
     "\"maximum\":500,\"default\":100}},{\"name\":\"after\",\"in\":\"query\",\"description\":"
     "\"the previous page's next (opaque)\",\"schema\":{\"type\":\"string\"}}],\"responses\":{"
     "\"200\":{\"description\":\"a page\",\"content\":{\"application/json\":{\"schema\":{"
     "\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":" RECORD_SCHEMA
     "},\"total\":{\"type\":\"null\"},\"next\":{\"type\":[\"string\",\"null\"]}}}}}},\"400\":{"
     "\"description\":\"a bad filter, limit or cursor\"},\"403\":{\"description\":\"user names "
     "someone the caller may not see\"},\"422\":{\"description\":\"a leader who sees more "
     "than 1000 users asked without user\"},\"503\":{\"description\":\"no journal runs, or "
     "one older than journal 1.2\"}}}",
     journal_list},
    {"GET", "/journal/{uuid}", UCD_HTTP_ROLE_USER, "journal:read",
     "{\"summary\":\"One finished conversation\",\"description\":\"Visibility and masking as "
     "GET /journal; a conversation the caller may not see is not found.\",\"parameters\":["
     "{\"name\":\"uuid\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}"
     "],\"responses\":{\"200\":{"
     "\"description\":\"the "
     "conversation\",\"content\":{\"application/json\":{\"schema\":" RECORD_SCHEMA
     "}}},\"404\":{\"description\":\"no such conversation the caller may "
     "see\"}}}",
     journal_get},
};

gboolean api_routes_journal_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, journal_routes, G_N_ELEMENTS(journal_routes), ctx, NULL, error) &&
           api_router_add(r, &journal_csv_route, 1, ctx, NULL, error);
}
