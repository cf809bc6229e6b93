/*
 * call-stats.c - calls and talk time per user, from the SDK's services alone.
 *
 * A third party's plugin, as docs/sdk/tutorial.md builds it: compiled out of
 * tree against the installed SDK (pkg-config ucd-plugin), knowing nothing of
 * the core or of any other plugin. It
 *   - subscribes to UCD_EVENT_CONVERSATION_ENDED (host 1.4): the core
 *     publishes each finished conversation with the very record the journal
 *     stores get, participants and the users of their lines included;
 *   - counts per user: conversations taken part in, those answered on one of
 *     the user's lines, and talk time (answered to left, per participation);
 *   - asks the directory service (directory.h) for each user's login and
 *     name when it answers `ucctl call-stats`.
 * tests/sdk/test-call-stats.c runs it in the real ucd under `sim burst`
 * traffic and checks every figure against the journal's own rows.
 *
 * Everything runs on the main loop (event callback and command alike), so
 * nothing here needs a lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucd/directory.h>
#include <ucd/host.h>
#include <ucd/journal.h>

/* One user's figures. */
typedef struct stats_user {
    char *user_id;
    uint64_t calls;    /* conversations with a participant on the user's lines */
    uint64_t answered; /* of those, answered on one of the user's lines */
    int64_t talk_ms;   /* sum over the user's answered participations of left - answered */
} stats_user;

typedef struct call_stats {
    ucd_plugin *self;
    const ucd_host *host;
    stats_user *users; /* sorted by user_id, for bsearch */
    size_t count, capacity;
    uint64_t conversations; /* events counted */
    ucd_counter *conversations_counter;
    ucd_subscription *subscription;
    ucd_service directory; /* found at start; the core's, running as long as we do */
} call_stats;

/* A burst of simulated calls ends thousands of conversations in one main-loop
 * turn: a queue this long loses none of them (`ucctl call-stats` shows
 * `dropped` anyway). */
#define CALL_STATS_QUEUE 262144

static int compare_user(const void *key, const void *element)
{
    return strcmp(key, ((const stats_user *)element)->user_id);
}

/* The entry of `user_id`, added in order when new; NULL when out of memory. */
static stats_user *stats_user_get(call_stats *cs, const char *user_id)
{
    size_t lo = 0, hi = cs->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = compare_user(user_id, &cs->users[mid]);
        if (cmp == 0)
            return &cs->users[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (cs->count == cs->capacity) {
        size_t capacity = cs->capacity ? cs->capacity * 2 : 16;
        stats_user *grown = realloc(cs->users, capacity * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        cs->users = grown;
        cs->capacity = capacity;
    }
    size_t length = strlen(user_id) + 1;
    char *copy = malloc(length); /* strdup is not C11 */
    if (copy == NULL)
        return NULL;
    memcpy(copy, user_id, length);
    memmove(&cs->users[lo + 1], &cs->users[lo], (cs->count - lo) * sizeof(*cs->users));
    cs->users[lo] = (stats_user){.user_id = copy};
    cs->count++;
    return &cs->users[lo];
}

/* Participant `i` of `record`: the array's stride is the size the core was
 * built with (participant_size), which may be larger than ours. NULL when the
 * core's participant lacks a member we read. */
static const ucd_journal_participant *participant_at(const ucd_journal_record *record, uint32_t i)
{
    if (record->participant_size < offsetof(ucd_journal_participant, left_ms) + sizeof(int64_t))
        return NULL;
    return (const ucd_journal_participant *)((const char *)record->participants +
                                             (size_t)i * record->participant_size);
}

/* Adds one user's part of one conversation: every participation of that user
 * (a user may be on two of its lines in one conversation, or twice on one
 * after a hold recall) counts the call once, the answer once, the talk each. */
static void count_user(call_stats *cs, const ucd_journal_record *record, const char *user_id)
{
    stats_user *user = stats_user_get(cs, user_id);
    if (user == NULL) {
        ucd_error(cs->host, cs->self, "out of memory: conversation %s not counted for %s",
                  record->uuid ? record->uuid : "?", user_id);
        return;
    }
    int answered = 0;
    for (uint32_t i = 0; i < record->participant_count; i++) {
        const ucd_journal_participant *p = participant_at(record, i);
        if (p == NULL || p->user_id == NULL || strcmp(p->user_id, user_id) != 0)
            continue;
        if (p->answered_ms != 0) {
            answered = 1;
            if (p->left_ms > p->answered_ms)
                user->talk_ms += p->left_ms - p->answered_ms;
        }
    }
    user->calls++;
    user->answered += answered;
}

/* Whether an earlier participant of `record` than `i` belongs to the same user. */
static int user_seen_before(const ucd_journal_record *record, uint32_t i, const char *user_id)
{
    for (uint32_t j = 0; j < i; j++) {
        const ucd_journal_participant *p = participant_at(record, j);
        if (p != NULL && p->user_id != NULL && strcmp(p->user_id, user_id) == 0)
            return 1;
    }
    return 0;
}

static void on_conversation_ended(const ucd_event *event, void *user_data)
{
    call_stats *cs = user_data;
    const ucd_conversation_event *ended = event->payload;

    if (event->type != UCD_EVENT_CONVERSATION_ENDED || ended == NULL || ended->record == NULL)
        return;
    const ucd_journal_record *record = ended->record;
    if (record->struct_size < offsetof(ucd_journal_record, participant_size) + sizeof(uint32_t))
        return;
    for (uint32_t i = 0; i < record->participant_count; i++) {
        const ucd_journal_participant *p = participant_at(record, i);
        if (p != NULL && p->user_id != NULL && !user_seen_before(record, i, p->user_id))
            count_user(cs, record, p->user_id);
    }
    cs->conversations++;
    cs->host->counter_add(cs->conversations_counter, 1);
}

/* ---- ucctl call-stats --------------------------------------------------------- */

typedef struct user_names {
    char login[128];
    char name[256];
} user_names;

static int copy_names(const ucd_directory_user *user, void *user_data)
{
    user_names *names = user_data;
    snprintf(names->login, sizeof(names->login), "%s", user->login ? user->login : "");
    snprintf(names->name, sizeof(names->name), "%s", user->display_name ? user->display_name : "");
    return 1; /* one is enough */
}

/* `ucctl call-stats`: one row per user who took part in a conversation since
 * the module started, by user id; login and name from the directory (empty
 * for a user it no longer knows). */
static int call_stats_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    call_stats *cs = user_data;
    const ucd_host *host = cs->host;
    static const char *const columns[] = {"user", "login", "name", "calls", "answered", "talk_s"};

    if (argc > 1) {
        host->reply_error(reply, "usage: %s (no arguments)", argv[0]);
        return UCD_E_INVALID;
    }
    const ucd_directory_v1 *dir = cs->directory.iface;
    host->reply_columns(reply, sizeof(columns) / sizeof(columns[0]), columns);
    for (size_t i = 0; i < cs->count; i++) {
        const stats_user *u = &cs->users[i];
        user_names names = {"", ""};
        if (dir != NULL)
            dir->get_user(cs->directory.impl, u->user_id, copy_names, &names);
        char calls[24], answered[24], talk[32];
        snprintf(calls, sizeof(calls), "%" PRIu64, u->calls);
        snprintf(answered, sizeof(answered), "%" PRIu64, u->answered);
        snprintf(talk, sizeof(talk), "%" PRId64 ".%03d", u->talk_ms / 1000,
                 (int)(u->talk_ms % 1000));
        const char *row[] = {u->user_id, names.login, names.name, calls, answered, talk};
        host->reply_row(reply, row);
    }
    char number[24];
    snprintf(number, sizeof(number), "%" PRIu64, cs->conversations);
    host->reply_field(reply, "conversations", number);
    snprintf(number, sizeof(number), "%" PRIu64, host->subscription_dropped(cs->subscription));
    host->reply_field(reply, "dropped", number);
    return UCD_OK;
}

/* ---- life cycle ----------------------------------------------------------------- */

static void call_stats_free(call_stats *cs)
{
    for (size_t i = 0; i < cs->count; i++)
        free(cs->users[i].user_id);
    free(cs->users);
    free(cs);
}

static int call_stats_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    *state = NULL;
    call_stats *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return UCD_E_NOMEM;
    cs->self = self;
    cs->host = host;
    cs->conversations_counter =
        host->counter_new(self, "conversations", UCD_COUNTER_MONOTONIC, "conversations counted");
    int result = host->command_register(self, "call-stats", "",
                                        "calls, answered calls and talk time per user",
                                        call_stats_command, cs);
    if (result != UCD_OK) {
        host->set_error(self, "cannot register command call-stats: %s", ucd_strerror(result));
        call_stats_free(cs);
        return UCD_FAIL;
    }
    *state = cs;
    return UCD_OK;
}

static int call_stats_start(void *state)
{
    call_stats *cs = state;
    const ucd_host *host = cs->host;

    /* Required in the descriptor, so the core started it first: found. */
    cs->directory.struct_size = sizeof(cs->directory);
    int result = host->service_get(cs->self, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, NULL,
                                   &cs->directory);
    if (result != UCD_OK) {
        host->set_error(cs->self, "no directory service: %s", ucd_strerror(result));
        return result;
    }
    const ucd_event_filter filter = {
        .struct_size = sizeof(filter),
        .type_mask = UCD_EVENT_MASK(UCD_EVENT_CONVERSATION_ENDED),
        .queue_size = CALL_STATS_QUEUE,
    };
    result = host->subscribe(cs->self, &filter, on_conversation_ended, cs, &cs->subscription);
    if (result != UCD_OK)
        host->set_error(cs->self, "cannot subscribe: %s", ucd_strerror(result));
    return result;
}

static void call_stats_fini(void *state)
{
    call_stats_free(state);
}

/* Host 1.4 is where the conversation-ended event and the directory appear:
 * UCD_TARGET_HOST_MINOR stays the headers' (4), so an older core refuses the
 * plugin at load, naming the host interface, instead of never calling it. */
static const ucd_service_decl call_stats_requires[] = {
    UCD_NEED(UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, 0),
    {NULL},
};

UCD_PLUGIN_DEFINE(.name = "call-stats", .version = "1.0.0", .license = "MIT",
                  .description = "calls and talk time per user, from conversation-ended events",
                  .requires = call_stats_requires, .init = call_stats_init,
                  .start = call_stats_start, .fini = call_stats_fini);
