/*
 * export-schedule.h - when a scheduled export runs and which period it covers.
 *
 * A schedule is five cron fields (minute hour day-of-month month day-of-week)
 * read in the report's time zone; a period is a name such as previous-day
 * that turns the planned run time into [from, to). Both take the time as an
 * argument, never the clock, so tests drive them with any date they like.
 */
#ifndef EXPORT_SCHEDULE_H
#define EXPORT_SCHEDULE_H

#include <glib.h>
#include <stdint.h>

typedef struct ax_schedule ax_schedule;

/* Parses "MIN HOUR DOM MON DOW": each field '*', a number, a range a-b, a
 * step '*' or range followed by /n, or a comma-separated list of those;
 * day-of-week 0-7 with 0 and 7 both Sunday. As in cron, when both day fields
 * are restricted a day matching either runs. Returns NULL with `*error` (g_free)
 * set for anything else. */
ax_schedule *ax_schedule_parse(const char *text, char **error);
void ax_schedule_free(ax_schedule *schedule);

/* The first minute strictly after `after_ms` that the schedule matches, in
 * local time of `tz`, as UTC ms; -1 when none comes within five years (a
 * 31 February). A local minute that a DST change skips never runs; one it
 * repeats runs at its first occurrence. */
int64_t ax_schedule_next(const ax_schedule *schedule, int64_t after_ms, GTimeZone *tz);

/* The periods a schedule or a command can name. */
typedef enum ax_period {
    AX_PERIOD_PREVIOUS_HOUR = 0,
    AX_PERIOD_PREVIOUS_DAY,
    AX_PERIOD_PREVIOUS_WEEK,
    AX_PERIOD_PREVIOUS_MONTH,
    AX_PERIOD_PREVIOUS_YEAR,
    AX_PERIOD_TODAY,
    AX_PERIOD_THIS_WEEK,
    AX_PERIOD_THIS_MONTH,
    AX_PERIOD_COUNT_
} ax_period;

/* Parses a period name ("previous-day"); -1 when unknown. */
int ax_period_parse(const char *text);
const char *ax_period_name(ax_period period);
/* The names, ", "-separated, for messages. */
const char *ax_period_names(void);

/* [from, to) of `period` as seen at `at_ms` in `tz`: previous-* are the last
 * complete hour/day/ISO week/month/year before `at_ms`; today, this-week and
 * this-month run from their start to `at_ms`. */
void ax_period_range(ax_period period, int64_t at_ms, GTimeZone *tz, int64_t *from_ms,
                     int64_t *to_ms);

/* Parses a command-line time: a date "2024-03-01" (local midnight) or an ISO
 * 8601 date-time "2024-03-01T08:30[:00][Z|+01:00]" (local time when it has no
 * offset). Returns FALSE for anything else. */
gboolean ax_parse_time(const char *text, GTimeZone *tz, int64_t *ms);

/* The label a file name carries for [from, to) in `tz`: "2024-03-05" for one
 * local day, "2024-03-01_2024-03-31" for whole days (the last included),
 * "20240305T0800_20240305T1200" otherwise. g_free it. */
char *ax_period_label(int64_t from_ms, int64_t to_ms, GTimeZone *tz);

#endif /* EXPORT_SCHEDULE_H */
