/*
 * report-kpis.c - KPIs of journal records (see report-kpis.h and README.md).
 *
 * A month report reads about a million records, so the per-record path does
 * no time-zone arithmetic and no allocation for rows it has seen: the period
 * is cut into 15-minute slots once, each slot knowing its local hour, day,
 * ISO week, month, weekday and hour of day (every time zone in use today is
 * offset from UTC by a multiple of 15 minutes, so a slot never straddles a
 * local hour), and a record finds its time rows by dividing its start time.
 */
#include "report-kpis.h"

#include <string.h>

#define SLOT_MS         (15 * 60 * 1000)
#define MAX_PERIOD_MS   (INT64_C(3660) * 86400000) /* ten years and a bit */
#define MAX_PARTICIPANT 64 /* a record with more is counted by its first 64 */

typedef struct slot {
    uint32_t row[4]; /* index into the hour, day, week and month rows */
    uint8_t weekday; /* 0 = Monday */
    uint8_t hour;
} slot;

typedef struct dir_user {
    char *name;
    char **groups;
} dir_user;

struct ax_directory {
    GHashTable *users;  /* id -> dir_user */
    GHashTable *groups; /* id -> name */
};

struct ax_report {
    int64_t from_ms, to_ms, base_ms;
    GTimeZone *tz;
    int64_t sl_ms;
    int sl_seconds;
    const ax_directory *directory;
    ax_kpi total, previous;
    GHashTable *keyed[AX_DIM_COUNT_]; /* key -> ax_row (direction, user, group, line, tag) */
    GPtrArray *rows[AX_DIM_COUNT_];   /* ax_row, in output order */
    gboolean sorted[AX_DIM_COUNT_];
    slot *slots;
    size_t slot_count;
    uint64_t heat[7][24];
    uint64_t skipped[AX_SKIP_COUNT_];
};

/* What one conversation, or one party of it, adds to a KPI accumulator. */
typedef struct sample {
    gboolean inbound, answered, missed, busy, failed;
    int64_t wait_ms, talk_ms;
} sample;

/* ---- the directory ---- */

static void dir_user_free(gpointer data)
{
    dir_user *user = data;
    g_free(user->name);
    g_strfreev(user->groups);
    g_free(user);
}

ax_directory *ax_directory_new(void)
{
    ax_directory *directory = g_new0(ax_directory, 1);
    directory->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dir_user_free);
    directory->groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return directory;
}

void ax_directory_free(ax_directory *directory)
{
    if (directory == NULL)
        return;
    g_hash_table_unref(directory->users);
    g_hash_table_unref(directory->groups);
    g_free(directory);
}

void ax_directory_add_user(ax_directory *directory, const char *id, const char *name,
                           const char *const *groups)
{
    if (id == NULL)
        return;
    dir_user *user = g_new0(dir_user, 1);
    user->name = g_strdup(name != NULL ? name : id);
    user->groups = groups != NULL ? g_strdupv((char **)groups) : g_new0(char *, 1);
    g_hash_table_replace(directory->users, g_strdup(id), user);
}

void ax_directory_add_group(ax_directory *directory, const char *id, const char *name)
{
    if (id != NULL)
        g_hash_table_replace(directory->groups, g_strdup(id), g_strdup(name != NULL ? name : id));
}

/* ---- names ---- */

const char *ax_dimension_name(ax_dimension dimension)
{
    static const char *const names[AX_DIM_COUNT_] = {"direction", "user", "group", "line", "tag",
                                                     "hour",      "day",  "week",  "month"};
    return (unsigned)dimension < AX_DIM_COUNT_ ? names[dimension] : "?";
}

const char *ax_skip_reason_name(ax_skip_reason reason)
{
    static const char *const names[AX_SKIP_COUNT_] = {"end_before_start", "answer_outside_call",
                                                      "unknown_outcome", "unknown_direction",
                                                      "outside_period"};
    return (unsigned)reason < AX_SKIP_COUNT_ ? names[reason] : "?";
}

/* ---- rows ---- */

static void row_free(gpointer data)
{
    ax_row *row = data;
    g_free(row->key);
    g_free(row->name);
    g_free(row);
}

static ax_row *row_new(const char *key, const char *name)
{
    ax_row *row = g_new0(ax_row, 1);
    row->key = g_strdup(key);
    row->name = g_strdup(name != NULL ? name : key);
    return row;
}

/* The row of `key` in a keyed breakdown, created on first use. */
static ax_kpi *keyed_row(ax_report *report, ax_dimension dimension, const char *key,
                         const char *name)
{
    ax_row *row = g_hash_table_lookup(report->keyed[dimension], key);
    if (row == NULL) {
        row = row_new(key, name);
        g_hash_table_insert(report->keyed[dimension], row->key, row);
        g_ptr_array_add(report->rows[dimension], row);
        report->sorted[dimension] = FALSE;
    }
    return &row->kpi;
}

/* ---- slots ---- */

/* The index of the time row `key` in `dimension`: consecutive slots share
 * rows, so only the last row is compared; a key seen earlier (the hour a DST
 * change repeats) is found by a search. */
static uint32_t time_row(ax_report *report, ax_dimension dimension, const char *key)
{
    GPtrArray *rows = report->rows[dimension];
    for (guint i = rows->len; i-- > 0;) {
        if (strcmp(((ax_row *)g_ptr_array_index(rows, i))->key, key) == 0)
            return i;
        if (i + 4 < rows->len)
            break; /* a repeated hour is at most a few rows back */
    }
    g_ptr_array_add(rows, row_new(key, NULL));
    return rows->len - 1;
}

static void fill_slot(ax_report *report, slot *s, int64_t at_ms)
{
    static const char *const formats[4] = {"%Y-%m-%dT%H", "%Y-%m-%d", "%G-W%V", "%Y-%m"};
    static const ax_dimension dims[4] = {AX_DIM_HOUR, AX_DIM_DAY, AX_DIM_WEEK, AX_DIM_MONTH};
    GDateTime *utc = g_date_time_new_from_unix_utc(at_ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, report->tz);
    for (int i = 0; i < 4; i++) {
        char *key = g_date_time_format(local, formats[i]);
        s->row[i] = time_row(report, dims[i], key);
        g_free(key);
    }
    s->weekday = (uint8_t)(g_date_time_get_day_of_week(local) - 1);
    s->hour = (uint8_t)g_date_time_get_hour(local);
    g_date_time_unref(local);
    g_date_time_unref(utc);
}

static void build_slots(ax_report *report)
{
    report->base_ms = report->from_ms - (((report->from_ms % SLOT_MS) + SLOT_MS) % SLOT_MS);
    report->slot_count = (size_t)((report->to_ms - report->base_ms + SLOT_MS - 1) / SLOT_MS);
    report->slots = g_new0(slot, report->slot_count);
    for (size_t i = 0; i < report->slot_count; i++)
        fill_slot(report, &report->slots[i], report->base_ms + (int64_t)i * SLOT_MS);
}

/* ---- the report ---- */

ax_report *ax_report_new(int64_t from_ms, int64_t to_ms, GTimeZone *tz, int sl_seconds,
                         const ax_directory *directory)
{
    if (to_ms <= from_ms || to_ms - from_ms > MAX_PERIOD_MS || tz == NULL)
        return NULL;
    ax_report *report = g_new0(ax_report, 1);
    report->from_ms = from_ms;
    report->to_ms = to_ms;
    report->tz = g_time_zone_ref(tz);
    report->sl_seconds = sl_seconds;
    report->sl_ms = (int64_t)sl_seconds * 1000;
    report->directory = directory;
    for (int d = 0; d < AX_DIM_COUNT_; d++) {
        report->rows[d] = g_ptr_array_new_with_free_func(row_free);
        report->keyed[d] = g_hash_table_new(g_str_hash, g_str_equal);
        report->sorted[d] = d >= AX_DIM_HOUR; /* time rows are made in order */
    }
    build_slots(report);
    return report;
}

void ax_report_free(ax_report *report)
{
    if (report == NULL)
        return;
    for (int d = 0; d < AX_DIM_COUNT_; d++) {
        g_hash_table_unref(report->keyed[d]);
        g_ptr_array_unref(report->rows[d]);
    }
    g_free(report->slots);
    g_time_zone_unref(report->tz);
    g_free(report);
}

static void kpi_add(ax_kpi *kpi, const sample *s, int64_t sl_ms)
{
    kpi->calls++;
    kpi->inbound += s->inbound;
    kpi->missed += s->missed;
    kpi->busy += s->busy;
    kpi->failed += s->failed;
    if (!s->answered)
        return;
    kpi->answered++;
    kpi->inbound_in_sl += s->inbound && s->wait_ms <= sl_ms;
    kpi->wait_sum_ms += s->wait_ms;
    kpi->talk_sum_ms += s->talk_ms;
    if (s->wait_ms > kpi->wait_max_ms)
        kpi->wait_max_ms = s->wait_ms;
}

/* The reason to leave `r` out, or -1 to count it. */
static int check_record(const ax_report *report, const ucd_journal_record *r, int64_t from_ms,
                        int64_t to_ms)
{
    if (r->outcome > UCD_OUTCOME_BLOCKED)
        return AX_SKIP_UNKNOWN_OUTCOME;
    if (r->direction > UCD_DIR_INTERNAL)
        return AX_SKIP_UNKNOWN_DIRECTION;
    if (r->end_ms < r->start_ms)
        return AX_SKIP_END_BEFORE_START;
    if (r->answer_ms != 0 && (r->answer_ms < r->start_ms || r->answer_ms > r->end_ms))
        return AX_SKIP_ANSWER_OUTSIDE_CALL;
    if (r->start_ms < from_ms || r->start_ms >= to_ms)
        return AX_SKIP_OUTSIDE_PERIOD;
    return -1;
}

/* The conversation as a whole. A call taken by voicemail has an answer time
 * but nobody talked to the caller: it is not answered. */
static sample conversation_sample(const ucd_journal_record *r)
{
    sample s = {.inbound = r->direction == UCD_DIR_INBOUND,
                .busy = r->outcome == UCD_OUTCOME_BUSY,
                .failed = r->outcome == UCD_OUTCOME_FAILED};
    s.answered =
        r->answer_ms > 0 && r->end_ms > r->answer_ms && r->outcome != UCD_OUTCOME_VOICEMAIL;
    s.missed = s.inbound && !s.answered;
    if (s.answered) {
        s.wait_ms = r->answer_ms - r->start_ms;
        s.talk_ms = r->end_ms - r->answer_ms;
    }
    return s;
}

/* The participants of `r`, whatever participant_size it was built with. */
static size_t collect_participants(const ucd_journal_record *r, const ucd_journal_participant **out)
{
    size_t stride = r->participant_size ? r->participant_size : sizeof(ucd_journal_participant);
    size_t n = 0;
    if (r->participants == NULL || stride < offsetof(ucd_journal_participant, left_ms) + 8)
        return 0;
    for (uint32_t i = 0; i < r->participant_count && n < MAX_PARTICIPANT; i++)
        out[n++] = (const void *)((const char *)r->participants + (size_t)i * stride);
    return n;
}

/* When a party's talk began: its own answer time, or, for the caller whose
 * leg carries none, the conversation's answer. 0 = the party never talked. */
static int64_t party_answer(const ucd_journal_record *r, const ucd_journal_participant *p,
                            gboolean conversation_answered)
{
    int64_t answered = p->answered_ms;
    if (answered == 0 && p->role == UCD_ROLE_CALLER && conversation_answered)
        answered = r->answer_ms;
    if (answered <= 0 || answered < p->joined_ms || p->left_ms <= answered)
        return 0;
    return answered;
}

/* The sample of a set of participants (one user's, one line's, one group's
 * entries): answered when one of them talked, waiting from that entry's first
 * ring to its answer, talk summed, missed when the conversation is missed and
 * the set's line rang (any entry but the caller's). */
static sample party_sample(const ucd_journal_record *r, const sample *conversation,
                           const ucd_journal_participant *const *set, size_t count)
{
    sample s = *conversation;
    s.answered = FALSE;
    s.wait_ms = s.talk_ms = 0;
    gboolean rang = FALSE;
    int64_t first_answer = INT64_MAX;
    for (size_t i = 0; i < count; i++) {
        const ucd_journal_participant *p = set[i];
        rang |= p->role != UCD_ROLE_CALLER;
        int64_t answered = party_answer(r, p, conversation->answered);
        if (answered == 0)
            continue;
        s.answered = TRUE;
        s.talk_ms += p->left_ms - answered;
        if (answered < first_answer) {
            first_answer = answered;
            s.wait_ms = answered - p->joined_ms;
        }
    }
    s.missed = conversation->missed && rang;
    return s;
}

typedef const char *(*party_key_fn)(const ax_report *report, const ucd_journal_participant *p,
                                    const char *wanted);

static const char *user_key(const ax_report *report, const ucd_journal_participant *p,
                            const char *wanted)
{
    return p->user_id != NULL && (wanted == NULL || strcmp(p->user_id, wanted) == 0) ? p->user_id
                                                                                     : NULL;
}

static const char *line_key(const ax_report *report, const ucd_journal_participant *p,
                            const char *wanted)
{
    return p->line != NULL && (wanted == NULL || strcmp(p->line, wanted) == 0) ? p->line : NULL;
}

static const dir_user *directory_user(const ax_report *report, const char *id)
{
    if (report->directory == NULL || id == NULL)
        return NULL;
    return g_hash_table_lookup(report->directory->users, id);
}

/* For groups `wanted` is the group id: the participant's user is a member. */
static const char *group_key(const ax_report *report, const ucd_journal_participant *p,
                             const char *wanted)
{
    const dir_user *user = directory_user(report, p->user_id);
    return user != NULL && g_strv_contains((const char *const *)user->groups, wanted) ? wanted
                                                                                      : NULL;
}

/* Gathers the participants whose key is `key` into `set`. */
static size_t select_set(const ax_report *report, party_key_fn key_of,
                         const ucd_journal_participant *const *parts, size_t count, const char *key,
                         const ucd_journal_participant **set)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (key_of(report, parts[i], key) != NULL)
            set[n++] = parts[i];
    }
    return n;
}

static const char *row_name(const ax_report *report, ax_dimension dimension, const char *key)
{
    if (dimension == AX_DIM_USER) {
        const dir_user *user = directory_user(report, key);
        return user != NULL ? user->name : key;
    }
    if (dimension == AX_DIM_GROUP && report->directory != NULL) {
        const char *name = g_hash_table_lookup(report->directory->groups, key);
        return name != NULL ? name : key;
    }
    return key;
}

/* Adds the sample of `key`'s participants to row `key`, once per conversation. */
static void add_party(ax_report *report, ax_dimension dimension, party_key_fn key_of,
                      const char *key, const ucd_journal_record *r, const sample *conversation,
                      const ucd_journal_participant *const *parts, size_t count)
{
    const ucd_journal_participant *set[MAX_PARTICIPANT];
    size_t n = select_set(report, key_of, parts, count, key, set);
    sample s = party_sample(r, conversation, set, n);
    kpi_add(keyed_row(report, dimension, key, row_name(report, dimension, key)), &s, report->sl_ms);
}

/* TRUE when participant `i` is the first with its key (so each user and line
 * counts once per conversation). */
static gboolean first_with_key(const ax_report *report, party_key_fn key_of,
                               const ucd_journal_participant *const *parts, size_t i)
{
    const char *key = key_of(report, parts[i], NULL);
    if (key == NULL)
        return FALSE;
    for (size_t j = 0; j < i; j++) {
        const char *other = key_of(report, parts[j], NULL);
        if (other != NULL && strcmp(other, key) == 0)
            return FALSE;
    }
    return TRUE;
}

static gboolean group_seen(const ax_report *report, const ucd_journal_participant *const *parts,
                           size_t before, const char *group)
{
    for (size_t j = 0; j < before; j++) {
        if (group_key(report, parts[j], group) != NULL)
            return TRUE;
    }
    return FALSE;
}

static void add_groups(ax_report *report, const ucd_journal_record *r, const sample *conversation,
                       const ucd_journal_participant *const *parts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const dir_user *user = directory_user(report, parts[i]->user_id);
        for (char **g = user != NULL ? user->groups : NULL; g != NULL && *g != NULL; g++) {
            if (!group_seen(report, parts, i, *g))
                add_party(report, AX_DIM_GROUP, group_key, *g, r, conversation, parts, count);
        }
    }
}

static void add_participants(ax_report *report, const ucd_journal_record *r,
                             const sample *conversation)
{
    const ucd_journal_participant *parts[MAX_PARTICIPANT];
    size_t count = collect_participants(r, parts);
    for (size_t i = 0; i < count; i++) {
        if (first_with_key(report, user_key, parts, i))
            add_party(report, AX_DIM_USER, user_key, parts[i]->user_id, r, conversation, parts,
                      count);
        if (first_with_key(report, line_key, parts, i))
            add_party(report, AX_DIM_LINE, line_key, parts[i]->line, r, conversation, parts, count);
    }
    add_groups(report, r, conversation, parts, count);
}

/* Each distinct, non-empty tag of the ';'-separated list, spaces trimmed. */
static void add_tags(ax_report *report, const char *tags, const sample *s)
{
    if (tags == NULL || tags[0] == '\0')
        return;
    char **list = g_strsplit(tags, ";", -1);
    for (guint i = 0; list[i] != NULL; i++) {
        g_strstrip(list[i]);
        gboolean repeated = FALSE;
        for (guint j = 0; j < i && !repeated; j++)
            repeated = strcmp(list[i], list[j]) == 0;
        if (list[i][0] != '\0' && !repeated)
            kpi_add(keyed_row(report, AX_DIM_TAG, list[i], NULL), s, report->sl_ms);
    }
    g_strfreev(list);
}

static void add_times(ax_report *report, int64_t start_ms, const sample *s)
{
    static const ax_dimension dims[4] = {AX_DIM_HOUR, AX_DIM_DAY, AX_DIM_WEEK, AX_DIM_MONTH};
    const slot *sl = &report->slots[(start_ms - report->base_ms) / SLOT_MS];
    for (int i = 0; i < 4; i++) {
        ax_row *row = g_ptr_array_index(report->rows[dims[i]], sl->row[i]);
        kpi_add(&row->kpi, s, report->sl_ms);
    }
    report->heat[sl->weekday][sl->hour]++;
}

gboolean ax_report_add(ax_report *report, const ucd_journal_record *r)
{
    int reason = check_record(report, r, report->from_ms, report->to_ms);
    if (reason >= 0) {
        report->skipped[reason]++;
        return FALSE;
    }
    sample s = conversation_sample(r);
    kpi_add(&report->total, &s, report->sl_ms);
    kpi_add(keyed_row(report, AX_DIM_DIRECTION, ucd_call_direction_word(r->direction), NULL), &s,
            report->sl_ms);
    add_times(report, r->start_ms, &s);
    add_tags(report, r->tags, &s);
    add_participants(report, r, &s);
    return TRUE;
}

gboolean ax_report_add_previous(ax_report *report, const ucd_journal_record *r)
{
    if (check_record(report, r, ax_report_previous_from(report), report->from_ms) >= 0)
        return FALSE; /* not this report's records: only the period's are counted */
    sample s = conversation_sample(r);
    kpi_add(&report->previous, &s, report->sl_ms);
    return TRUE;
}

/* ---- reading ---- */

int64_t ax_report_from(const ax_report *report)
{
    return report->from_ms;
}

int64_t ax_report_to(const ax_report *report)
{
    return report->to_ms;
}

int64_t ax_report_previous_from(const ax_report *report)
{
    return report->from_ms - (report->to_ms - report->from_ms);
}

int ax_report_sl_seconds(const ax_report *report)
{
    return report->sl_seconds;
}

GTimeZone *ax_report_timezone(const ax_report *report)
{
    return report->tz;
}

const ax_kpi *ax_report_total(const ax_report *report)
{
    return &report->total;
}

const ax_kpi *ax_report_previous(const ax_report *report)
{
    return &report->previous;
}

static gint compare_rows(gconstpointer a, gconstpointer b)
{
    const ax_row *x = *(const ax_row *const *)a, *y = *(const ax_row *const *)b;
    return strcmp(x->key, y->key);
}

GPtrArray *ax_report_rows(ax_report *report, ax_dimension dimension)
{
    if (!report->sorted[dimension]) {
        g_ptr_array_sort(report->rows[dimension], compare_rows);
        report->sorted[dimension] = TRUE;
    }
    return report->rows[dimension];
}

uint64_t ax_report_heat(const ax_report *report, int weekday, int hour)
{
    return weekday >= 0 && weekday < 7 && hour >= 0 && hour < 24 ? report->heat[weekday][hour] : 0;
}

uint64_t ax_report_skipped(const ax_report *report, ax_skip_reason reason)
{
    return (unsigned)reason < AX_SKIP_COUNT_ ? report->skipped[reason] : 0;
}

uint64_t ax_report_skipped_total(const ax_report *report)
{
    uint64_t total = 0;
    for (int i = 0; i < AX_SKIP_COUNT_; i++)
        total += report->skipped[i];
    return total;
}

double ax_kpi_service_level(const ax_kpi *kpi)
{
    return kpi->inbound ? (double)kpi->inbound_in_sl / (double)kpi->inbound : 0.0;
}

double ax_kpi_wait_avg_s(const ax_kpi *kpi)
{
    return kpi->answered ? (double)kpi->wait_sum_ms / (double)kpi->answered / 1000.0 : 0.0;
}

double ax_kpi_talk_avg_s(const ax_kpi *kpi)
{
    return kpi->answered ? (double)kpi->talk_sum_ms / (double)kpi->answered / 1000.0 : 0.0;
}
