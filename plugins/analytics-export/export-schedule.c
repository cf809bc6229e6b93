/*
 * export-schedule.c - cron schedules and report periods (see export-schedule.h).
 */
#include "export-schedule.h"

#include <stdlib.h>
#include <string.h>

/* One bit per allowed value of each field. */
struct ax_schedule {
    uint64_t minute; /* 0-59 */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint32_t month;  /* 1-12 */
    uint32_t dow;    /* 0-6, 0 = Sunday */
    gboolean dom_any, dow_any;
};

typedef struct field_spec {
    const char *name;
    int min, max;
} field_spec;

static const field_spec fields[5] = {{"minute", 0, 59},
                                     {"hour", 0, 23},
                                     {"day of month", 1, 31},
                                     {"month", 1, 12},
                                     {"day of week", 0, 7}};

static gboolean parse_number(const char *text, int min, int max, int *value)
{
    guint64 n;
    if (!g_ascii_string_to_unsigned(text, 10, (guint64)min, (guint64)max, &n, NULL))
        return FALSE;
    *value = (int)n;
    return TRUE;
}

/* One list item: "*", "N", "A-B", each optionally followed by "/STEP". */
static gboolean parse_item(const char *item, const field_spec *spec, uint64_t *bits)
{
    char **step_parts = g_strsplit(item, "/", 2);
    int low = spec->min, high = spec->max, step = 1;
    gboolean ok = step_parts[1] == NULL || parse_number(step_parts[1], 1, spec->max, &step);
    if (ok && strcmp(step_parts[0], "*") != 0) {
        char **range = g_strsplit(step_parts[0], "-", 2);
        ok = parse_number(range[0], spec->min, spec->max, &low);
        high = low;
        if (ok && range[1] != NULL)
            ok = parse_number(range[1], low, spec->max, &high);
        else if (ok && step_parts[1] != NULL)
            high = spec->max; /* "5/15": from 5 to the end, as cron reads it */
        g_strfreev(range);
    }
    for (int v = low; ok && v <= high; v += step)
        *bits |= UINT64_C(1) << v;
    g_strfreev(step_parts);
    return ok;
}

static gboolean parse_field(const char *text, const field_spec *spec, uint64_t *bits)
{
    char **items = g_strsplit(text, ",", -1);
    gboolean ok = items[0] != NULL;
    for (guint i = 0; ok && items[i] != NULL; i++)
        ok = parse_item(items[i], spec, bits);
    g_strfreev(items);
    return ok;
}

ax_schedule *ax_schedule_parse(const char *text, char **error)
{
    char *trimmed = g_strstrip(g_strdup(text ? text : ""));
    char **parts = g_regex_split_simple("\\s+", trimmed, 0, 0);
    g_free(trimmed);
    ax_schedule *s = g_new0(ax_schedule, 1);
    uint64_t bits[5] = {0};
    gboolean ok = g_strv_length(parts) == 5;
    if (!ok)
        *error = g_strdup("a schedule has five fields: minute hour day-of-month month "
                          "day-of-week");
    for (int i = 0; ok && i < 5; i++) {
        ok = parse_field(parts[i], &fields[i], &bits[i]);
        if (!ok)
            *error = g_strdup_printf("bad %s field \"%s\" (%d-%d, *, ranges, lists, /steps)",
                                     fields[i].name, parts[i], fields[i].min, fields[i].max);
    }
    if (ok) {
        s->minute = bits[0];
        s->hour = (uint32_t)bits[1];
        s->dom = (uint32_t)bits[2];
        s->month = (uint32_t)bits[3];
        s->dow = (uint32_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
        s->dom_any = parts[2][0] == '*';
        s->dow_any = parts[4][0] == '*';
    }
    g_strfreev(parts);
    if (!ok) {
        g_free(s);
        return NULL;
    }
    return s;
}

void ax_schedule_free(ax_schedule *schedule)
{
    g_free(schedule);
}

/* cron's day rule: with both day fields restricted, either may match. */
static gboolean day_matches(const ax_schedule *s, int year, int month, int day)
{
    GDate *date = g_date_new_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year);
    int dow = g_date_get_weekday(date) % 7; /* GLib: Monday 1 .. Sunday 7 */
    g_date_free(date);
    gboolean dom_ok = (s->dom >> day) & 1, dow_ok = (s->dow >> dow) & 1;
    if (s->dom_any || s->dow_any)
        return dom_ok && dow_ok;
    return dom_ok || dow_ok;
}

/* A local minute being searched; fields roll over like a clock. */
typedef struct cursor {
    int year, month, day, hour, minute;
} cursor;

static void next_month(cursor *c)
{
    c->day = 1;
    c->hour = c->minute = 0;
    if (++c->month > 12) {
        c->month = 1;
        c->year++;
    }
}

static void next_day(cursor *c)
{
    c->hour = c->minute = 0;
    if (++c->day > g_date_get_days_in_month((GDateMonth)c->month, (GDateYear)c->year))
        next_month(c);
}

static void next_hour(cursor *c)
{
    c->minute = 0;
    if (++c->hour > 23)
        next_day(c);
}

static void next_minute(cursor *c)
{
    if (++c->minute > 59)
        next_hour(c);
}

/* Advances `c` one step towards a match; TRUE when `c` matches. */
static gboolean step(const ax_schedule *s, cursor *c)
{
    if (!((s->month >> c->month) & 1))
        next_month(c);
    else if (!day_matches(s, c->year, c->month, c->day))
        next_day(c);
    else if (!((s->hour >> c->hour) & 1))
        next_hour(c);
    else if (!((s->minute >> c->minute) & 1))
        next_minute(c);
    else
        return TRUE;
    return FALSE;
}

/* The UTC time of local minute `c`, or -1 when a DST change skips it. */
static int64_t local_minute_ms(const cursor *c, GTimeZone *tz)
{
    GDateTime *dt = g_date_time_new(tz, c->year, c->month, c->day, c->hour, c->minute, 0);
    if (dt == NULL)
        return -1;
    gboolean exists = g_date_time_get_hour(dt) == c->hour &&
                      g_date_time_get_minute(dt) == c->minute &&
                      g_date_time_get_day_of_month(dt) == c->day;
    int64_t ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return exists ? ms : -1;
}

int64_t ax_schedule_next(const ax_schedule *s, int64_t after_ms, GTimeZone *tz)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(after_ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, tz);
    cursor c = {g_date_time_get_year(local), g_date_time_get_month(local),
                g_date_time_get_day_of_month(local), g_date_time_get_hour(local),
                g_date_time_get_minute(local)};
    g_date_time_unref(local);
    g_date_time_unref(utc);
    int last_year = c.year + 5;
    next_minute(&c);
    while (c.year <= last_year) {
        if (!step(s, &c))
            continue;
        int64_t ms = local_minute_ms(&c, tz);
        if (ms > after_ms)
            return ms;
        next_minute(&c);
    }
    return -1;
}

/* ---- periods ---- */

static const char *const period_names[AX_PERIOD_COUNT_] = {
    "previous-hour", "previous-day", "previous-week", "previous-month",
    "previous-year", "today",        "this-week",     "this-month"};

int ax_period_parse(const char *text)
{
    for (int i = 0; text != NULL && i < AX_PERIOD_COUNT_; i++) {
        if (strcmp(text, period_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *ax_period_name(ax_period period)
{
    return (unsigned)period < AX_PERIOD_COUNT_ ? period_names[period] : "?";
}

const char *ax_period_names(void)
{
    return "previous-hour, previous-day, previous-week, previous-month, previous-year, today, "
           "this-week, this-month";
}

static int64_t to_ms(GDateTime *dt)
{
    int64_t ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return ms;
}

/* Local midnight starting the day of `local`, `days` days later (negative:
 * earlier); wall-clock days, so a DST day is 23 or 25 hours long. */
static GDateTime *midnight(GDateTime *local, int days)
{
    GDateTime *day = g_date_time_add_days(local, days);
    GDateTime *start =
        g_date_time_new(g_date_time_get_timezone(local), g_date_time_get_year(day),
                        g_date_time_get_month(day), g_date_time_get_day_of_month(day), 0, 0, 0);
    g_date_time_unref(day);
    return start;
}

static GDateTime *month_start(GDateTime *local, int months)
{
    GDateTime *first = g_date_time_new(g_date_time_get_timezone(local), g_date_time_get_year(local),
                                       g_date_time_get_month(local), 1, 0, 0, 0);
    GDateTime *moved = g_date_time_add_months(first, months);
    g_date_time_unref(first);
    return moved;
}

void ax_period_range(ax_period period, int64_t at_ms, GTimeZone *tz, int64_t *from, int64_t *to)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(at_ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, tz);
    int monday = 1 - g_date_time_get_day_of_week(local); /* days back to Monday */
    *to = at_ms;
    switch (period) {
    case AX_PERIOD_PREVIOUS_HOUR:
        *to = at_ms - (int64_t)g_date_time_get_minute(local) * 60000 -
              (int64_t)g_date_time_get_second(local) * 1000 - at_ms % 1000;
        *from = *to - 3600000;
        break;
    case AX_PERIOD_PREVIOUS_DAY:
        *from = to_ms(midnight(local, -1));
        *to = to_ms(midnight(local, 0));
        break;
    case AX_PERIOD_PREVIOUS_WEEK:
        *from = to_ms(midnight(local, monday - 7));
        *to = to_ms(midnight(local, monday));
        break;
    case AX_PERIOD_PREVIOUS_MONTH:
        *from = to_ms(month_start(local, -1));
        *to = to_ms(month_start(local, 0));
        break;
    case AX_PERIOD_PREVIOUS_YEAR:
        *from = to_ms(month_start(local, -12 - (g_date_time_get_month(local) - 1)));
        *to = to_ms(month_start(local, -(g_date_time_get_month(local) - 1)));
        break;
    case AX_PERIOD_TODAY:
        *from = to_ms(midnight(local, 0));
        break;
    case AX_PERIOD_THIS_WEEK:
        *from = to_ms(midnight(local, monday));
        break;
    default:
        *from = to_ms(month_start(local, 0));
        break;
    }
    g_date_time_unref(local);
    g_date_time_unref(utc);
}

/* "YYYY-MM-DDTHH:MM" not followed by seconds; compiled once, thread-safe. */
static GRegex *minutes_only(void)
{
    static GRegex *regex;
    if (g_once_init_enter(&regex))
        g_once_init_leave(&regex, g_regex_new("^(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2})(?=$|Z|[+-])",
                                              G_REGEX_OPTIMIZE, 0, NULL));
    return regex;
}

gboolean ax_parse_time(const char *text, GTimeZone *tz, int64_t *ms)
{
    if (text == NULL)
        return FALSE;
    GDateTime *dt = NULL;
    if (g_regex_match_simple("^\\d{4}-\\d{2}-\\d{2}$", text, 0, 0)) {
        int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8);
        if (g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
            dt = g_date_time_new(tz, y, m, d, 0, 0, 0);
    } else if (strchr(text, 'T') != NULL) {
        /* GLib wants seconds; people type 2024-03-01T08:30. */
        char *full = g_regex_replace(minutes_only(), text, -1, 0, "\\1:00", 0, NULL);
        dt = full != NULL ? g_date_time_new_from_iso8601(full, tz) : NULL;
        g_free(full);
    }
    if (dt == NULL)
        return FALSE;
    *ms = to_ms(dt);
    return TRUE;
}

static gboolean is_midnight(GDateTime *dt)
{
    return g_date_time_get_hour(dt) == 0 && g_date_time_get_minute(dt) == 0 &&
           g_date_time_get_second(dt) == 0;
}

char *ax_period_label(int64_t from_ms, int64_t to_ms_, GTimeZone *tz)
{
    GDateTime *from_utc = g_date_time_new_from_unix_utc(from_ms / 1000);
    GDateTime *to_utc = g_date_time_new_from_unix_utc(to_ms_ / 1000);
    GDateTime *from = g_date_time_to_timezone(from_utc, tz);
    GDateTime *to = g_date_time_to_timezone(to_utc, tz);
    char *label;
    if (is_midnight(from) && is_midnight(to)) {
        GDateTime *last = g_date_time_add_days(to, -1);
        char *a = g_date_time_format(from, "%Y-%m-%d"), *b = g_date_time_format(last, "%Y-%m-%d");
        label = strcmp(a, b) == 0 ? g_strdup(a) : g_strconcat(a, "_", b, NULL);
        g_free(a);
        g_free(b);
        g_date_time_unref(last);
    } else {
        char *a = g_date_time_format(from, "%Y%m%dT%H%M"),
             *b = g_date_time_format(to, "%Y%m%dT%H%M");
        label = g_strconcat(a, "_", b, NULL);
        g_free(a);
        g_free(b);
    }
    g_date_time_unref(from);
    g_date_time_unref(to);
    g_date_time_unref(from_utc);
    g_date_time_unref(to_utc);
    return label;
}
