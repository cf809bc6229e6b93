/*
 * report-kpis.h - the KPIs of a set of journal records, as the analytics-export
 * plugin reports them (the definitions are spelled out in README.md).
 *
 * A report covers [from, to) in one time zone. Records go in one at a time
 * (ax_report_add for the period itself, ax_report_add_previous for the
 * previous period of equal length, which only feeds the totals); the report
 * keeps one KPI accumulator per row of each breakdown. Nothing here knows the
 * ucd host: the plugin, the tests and the benchmark drive it alike.
 */
#ifndef REPORT_KPIS_H
#define REPORT_KPIS_H

#include <glib.h>
#include <stdint.h>
#include <ucd/event.h>
#include <ucd/journal.h>

/* One KPI accumulator. Averages are derived when the report is written. */
typedef struct ax_kpi {
    uint64_t calls;
    uint64_t answered;
    uint64_t missed;
    uint64_t inbound;       /* inbound calls offered */
    uint64_t inbound_in_sl; /* inbound calls answered within the service level */
    uint64_t busy;
    uint64_t failed;
    int64_t wait_sum_ms; /* over answered calls */
    int64_t wait_max_ms;
    int64_t talk_sum_ms; /* over answered calls */
} ax_kpi;

/* The breakdowns of a report, in the order the exports write them. */
typedef enum ax_dimension {
    AX_DIM_DIRECTION = 0,
    AX_DIM_USER,
    AX_DIM_GROUP,
    AX_DIM_LINE,
    AX_DIM_TAG,
    AX_DIM_HOUR,
    AX_DIM_DAY,
    AX_DIM_WEEK,
    AX_DIM_MONTH,
    AX_DIM_COUNT_
} ax_dimension;

/* One row of a breakdown: "alice" / "Alice Smith", "2024-W10" / "2024-W10". */
typedef struct ax_row {
    char *key;
    char *name;
    ax_kpi kpi;
} ax_row;

/* Users and groups as the directory service gave them, for names and groups. */
typedef struct ax_directory ax_directory;

ax_directory *ax_directory_new(void);
void ax_directory_free(ax_directory *directory);
/* Adds a user: `groups` is NULL-terminated group ids (may be NULL). */
void ax_directory_add_user(ax_directory *directory, const char *id, const char *name,
                           const char *const *groups);
void ax_directory_add_group(ax_directory *directory, const char *id, const char *name);

/* Why records were left out of a report (bad input, never a crash). */
typedef enum ax_skip_reason {
    AX_SKIP_END_BEFORE_START = 0,
    AX_SKIP_ANSWER_OUTSIDE_CALL,
    AX_SKIP_UNKNOWN_OUTCOME,
    AX_SKIP_UNKNOWN_DIRECTION,
    AX_SKIP_OUTSIDE_PERIOD,
    AX_SKIP_COUNT_
} ax_skip_reason;

typedef struct ax_report ax_report;

/* A report over [from_ms, to_ms) in `tz` (referenced). `directory` (may be
 * NULL: then rows are by user id and there is no group breakdown) must
 * outlive the report. Returns NULL when the period is empty or longer than
 * ten years. */
ax_report *ax_report_new(int64_t from_ms, int64_t to_ms, GTimeZone *tz, int sl_seconds,
                         const ax_directory *directory);
void ax_report_free(ax_report *report);

/* Counts one record of the period. Returns FALSE, and counts the reason,
 * when the record is left out. */
gboolean ax_report_add(ax_report *report, const ucd_journal_record *record);
/* Counts one record of the previous period (totals only). It writes only
 * the previous-period totals, so one thread may call it while another calls
 * ax_report_add on the same report (the plugin reads both periods at once). */
gboolean ax_report_add_previous(ax_report *report, const ucd_journal_record *record);

/* ---- reading a finished report ---- */

int64_t ax_report_from(const ax_report *report);
int64_t ax_report_to(const ax_report *report);
int64_t ax_report_previous_from(const ax_report *report);
int ax_report_sl_seconds(const ax_report *report);
GTimeZone *ax_report_timezone(const ax_report *report);
const ax_kpi *ax_report_total(const ax_report *report);
const ax_kpi *ax_report_previous(const ax_report *report);
/* The rows of a breakdown, sorted by key (time rows chronologically). The
 * array belongs to the report. */
GPtrArray *ax_report_rows(ax_report *report, ax_dimension dimension);
/* Calls per local weekday (0 = Monday) and hour. */
uint64_t ax_report_heat(const ax_report *report, int weekday, int hour);
uint64_t ax_report_skipped(const ax_report *report, ax_skip_reason reason);
uint64_t ax_report_skipped_total(const ax_report *report);

/* Lower-case names used by every export: "user", "day", "end_before_start". */
const char *ax_dimension_name(ax_dimension dimension);
const char *ax_skip_reason_name(ax_skip_reason reason);

/* Derived KPIs; 0 when there is nothing to divide. */
double ax_kpi_service_level(const ax_kpi *kpi); /* 0..1 */
double ax_kpi_wait_avg_s(const ax_kpi *kpi);
double ax_kpi_talk_avg_s(const ax_kpi *kpi);

#endif /* REPORT_KPIS_H */
