/*
 * report-html.c - the HTML report (see report-html.h).
 *
 * The page must open in any browser, offline, from a mail attachment, and
 * print well: so one file, CSS inline, charts as inline SVG drawn here, and
 * no script at all. Colours also differ in lightness, for grey printers.
 */
#include "report-html.h"

#include <string.h>

#define CHART_W 960
#define CHART_H 240

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}"
    ".tiles{display:flex;flex-wrap:wrap;gap:10px}"
    ".tile{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:120px}"
    ".tile b{display:block;font-size:20px}.tile small{color:#555}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "svg text{font-size:11px;fill:#333}"
    ".answered{fill:#2c7bb6}.missed{fill:#d7191c}.other{fill:#bbbbbb}.cell{fill:#08519c}"
    ".legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}"
    "table,svg,.tiles{break-inside:avoid}.tile{border-color:#888}}";

static void escaped(GString *out, const char *text)
{
    char *safe = g_markup_escape_text(text, -1);
    g_string_append(out, safe);
    g_free(safe);
}

static void number(GString *out, const char *format, double value)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(out, g_ascii_formatd(buf, sizeof(buf), format, value));
}

static char *local_text(const ax_report *report, int64_t ms)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, ax_report_timezone(report));
    char *text = g_date_time_format(local, "%Y-%m-%d %H:%M");
    g_date_time_unref(local);
    g_date_time_unref(utc);
    return text;
}

/* ---- headline tiles ---- */

typedef struct tile {
    const char *label;
    double now, before;
    const char *format;
} tile;

static void tiles(GString *out, const ax_kpi *k, const ax_kpi *p)
{
    const tile list[] = {
        {"Calls", (double)k->calls, (double)p->calls, "%.0f"},
        {"Answered", (double)k->answered, (double)p->answered, "%.0f"},
        {"Missed", (double)k->missed, (double)p->missed, "%.0f"},
        {"Service level %", 100 * ax_kpi_service_level(k), 100 * ax_kpi_service_level(p), "%.1f"},
        {"Avg wait s", ax_kpi_wait_avg_s(k), ax_kpi_wait_avg_s(p), "%.1f"},
        {"Max wait s", (double)k->wait_max_ms / 1000, (double)p->wait_max_ms / 1000, "%.1f"},
        {"Avg talk s", ax_kpi_talk_avg_s(k), ax_kpi_talk_avg_s(p), "%.1f"},
        {"Busy", (double)k->busy, (double)p->busy, "%.0f"},
        {"Failed", (double)k->failed, (double)p->failed, "%.0f"},
    };
    g_string_append(out, "<div class=\"tiles\">");
    for (size_t i = 0; i < G_N_ELEMENTS(list); i++) {
        g_string_append_printf(out, "<div class=\"tile\">%s<b>", list[i].label);
        number(out, list[i].format, list[i].now);
        g_string_append(out, "</b><small>previous ");
        number(out, list[i].format, list[i].before);
        g_string_append(out, list[i].now >= list[i].before ? " (+" : " (");
        number(out, list[i].format, list[i].now - list[i].before);
        g_string_append(out, ")</small></div>");
    }
    g_string_append(out, "</div>");
}

/* ---- charts ---- */

static uint64_t max_calls(GPtrArray *rows, guint limit)
{
    uint64_t max = 1;
    for (guint i = 0; i < rows->len && i < limit; i++)
        max = MAX(max, ((const ax_row *)g_ptr_array_index(rows, i))->kpi.calls);
    return max;
}

static void rect(GString *out, const char *cls, double x, double y, double w, double h)
{
    g_string_append_printf(out, "<rect class=\"%s\" x=\"", cls);
    number(out, "%.1f", x);
    g_string_append(out, "\" y=\"");
    number(out, "%.1f", y);
    g_string_append(out, "\" width=\"");
    number(out, "%.1f", w);
    g_string_append(out, "\" height=\"");
    number(out, "%.1f", h);
    g_string_append(out, "\"/>");
}

/* One stacked column: answered at the bottom, then missed, then the rest. */
static void column(GString *out, const ax_kpi *k, double x, double w, double scale)
{
    const struct {
        const char *cls;
        uint64_t value;
    } parts[] = {{"bar answered", k->answered},
                 {"bar missed", k->missed},
                 {"bar other", k->calls - MIN(k->calls, k->answered + k->missed)}};
    double y = CHART_H - 20;
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        double h = (double)parts[i].value * scale;
        if (h <= 0)
            continue;
        y -= h;
        rect(out, parts[i].cls, x, y, w, h);
    }
}

static void time_chart(GString *out, GPtrArray *rows, const char *title)
{
    g_string_append_printf(out,
                           "<h2>Calls per %s</h2><div class=\"legend\"><span "
                           "class=\"answered\" style=\"background:#2c7bb6\"></span>answered"
                           "<span style=\"background:#d7191c\"></span>missed<span "
                           "style=\"background:#bbb\"></span>other</div>",
                           title);
    g_string_append_printf(out,
                           "<svg class=\"chart\" id=\"chart-time\" width=\"%d\" height=\"%d\" "
                           "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"calls per %s\">",
                           CHART_W, CHART_H, CHART_W, CHART_H, title);
    double scale = (CHART_H - 40) / (double)max_calls(rows, rows->len);
    double step = rows->len ? (double)(CHART_W - 40) / rows->len : 0;
    guint label_every = rows->len / 12 + 1;
    for (guint i = 0; i < rows->len; i++) {
        const ax_row *row = g_ptr_array_index(rows, i);
        double x = 30 + i * step;
        column(out, &row->kpi, x + step * 0.1, step * 0.8, scale);
        if (i % label_every == 0) {
            g_string_append(out, "<text x=\"");
            number(out, "%.1f", x);
            g_string_append_printf(out, "\" y=\"%d\">", CHART_H - 5);
            escaped(out, row->key);
            g_string_append(out, "</text>");
        }
    }
    g_string_append(out, "</svg>");
}

static void heatmap(GString *out, const ax_report *report)
{
    static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    uint64_t max = 1;
    for (int d = 0; d < 7; d++)
        for (int h = 0; h < 24; h++)
            max = MAX(max, ax_report_heat(report, d, h));
    g_string_append(out, "<h2>Calls by weekday and hour</h2><svg class=\"chart\" id=\"heatmap\" "
                         "width=\"960\" height=\"220\" viewBox=\"0 0 960 220\" role=\"img\">");
    for (int h = 0; h < 24; h++)
        g_string_append_printf(out, "<text x=\"%d\" y=\"12\">%02d</text>", 50 + h * 37, h);
    for (int d = 0; d < 7; d++) {
        g_string_append_printf(out, "<text x=\"0\" y=\"%d\">%s</text>", 36 + d * 26, days[d]);
        for (int h = 0; h < 24; h++) {
            uint64_t calls = ax_report_heat(report, d, h);
            g_string_append_printf(out,
                                   "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"35\" "
                                   "height=\"24\" fill-opacity=\"",
                                   46 + h * 37, 20 + d * 26);
            number(out, "%.3f", 0.04 + 0.96 * (double)calls / (double)max);
            g_string_append_printf(
                out, "\"><title>%s %02d:00 %" G_GUINT64_FORMAT " calls</title></rect>", days[d], h,
                calls);
        }
    }
    g_string_append(out, "</svg>");
}

/* Horizontal bars of the first `limit` rows by calls (the busiest users...). */
static void bar_chart(GString *out, GPtrArray *rows, const char *id, guint limit)
{
    guint n = MIN(rows->len, limit);
    if (n == 0)
        return;
    double scale = 700.0 / (double)max_calls(rows, n);
    g_string_append_printf(out,
                           "<svg class=\"chart\" id=\"%s\" width=\"960\" height=\"%u\" "
                           "viewBox=\"0 0 960 %u\" role=\"img\">",
                           id, n * 22 + 4, n * 22 + 4);
    for (guint i = 0; i < n; i++) {
        const ax_row *row = g_ptr_array_index(rows, i);
        g_string_append_printf(out, "<text x=\"0\" y=\"%u\">", i * 22 + 15);
        escaped(out, row->name);
        g_string_append(out, "</text>");
        rect(out, "bar answered", 200, i * 22 + 3, (double)row->kpi.answered * scale, 16);
        double rest = (double)(row->kpi.calls - row->kpi.answered) * scale;
        if (rest > 0)
            rect(out, "bar missed", 200 + (double)row->kpi.answered * scale, i * 22 + 3, rest, 16);
        g_string_append_printf(out, "<text x=\"%u\" y=\"%u\">%" G_GUINT64_FORMAT "</text>",
                               (guint)(205 + (double)row->kpi.calls * scale), i * 22 + 15,
                               row->kpi.calls);
    }
    g_string_append(out, "</svg>");
}

/* ---- tables ---- */

static void kpi_cells(GString *out, const ax_kpi *k)
{
    g_string_append_printf(out,
                           "<td>%" G_GUINT64_FORMAT "</td><td>%" G_GUINT64_FORMAT
                           "</td><td>%" G_GUINT64_FORMAT "</td><td>",
                           k->calls, k->answered, k->missed);
    number(out, "%.1f", 100 * ax_kpi_service_level(k));
    g_string_append(out, "</td><td>");
    number(out, "%.1f", ax_kpi_wait_avg_s(k));
    g_string_append(out, "</td><td>");
    number(out, "%.1f", (double)k->wait_max_ms / 1000);
    g_string_append(out, "</td><td>");
    number(out, "%.1f", ax_kpi_talk_avg_s(k));
    g_string_append_printf(out, "</td><td>%" G_GUINT64_FORMAT "</td><td>%" G_GUINT64_FORMAT "</td>",
                           k->busy, k->failed);
}

static void table(GString *out, GPtrArray *rows, const char *title)
{
    if (rows->len == 0)
        return;
    g_string_append_printf(out,
                           "<h2>By %s</h2><table><tr><th>%s</th><th>Calls</th><th>Answered</th>"
                           "<th>Missed</th><th>SL %%</th><th>Avg wait s</th><th>Max wait s</th>"
                           "<th>Avg talk s</th><th>Busy</th><th>Failed</th></tr>",
                           title, title);
    for (guint i = 0; i < rows->len; i++) {
        const ax_row *row = g_ptr_array_index(rows, i);
        g_string_append(out, "<tr><td>");
        escaped(out, row->name);
        g_string_append(out, "</td>");
        kpi_cells(out, &row->kpi);
        g_string_append(out, "</tr>");
    }
    g_string_append(out, "</table>");
}

/* Hours for a day, days up to two months, weeks up to two years, then months. */
static ax_dimension time_dimension(ax_report *report)
{
    guint days = ax_report_rows(report, AX_DIM_DAY)->len;
    if (days <= 1)
        return AX_DIM_HOUR;
    if (days <= 62)
        return AX_DIM_DAY;
    return ax_report_rows(report, AX_DIM_WEEK)->len <= 104 ? AX_DIM_WEEK : AX_DIM_MONTH;
}

static void head(GString *out, ax_report *report, const char *name)
{
    char *from = local_text(report, ax_report_from(report));
    char *to = local_text(report, ax_report_to(report));
    g_string_append(out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                         "<title>Call report ");
    escaped(out, name);
    g_string_append_printf(out, "</title><style>%s</style></head><body><h1>Call report ", style);
    escaped(out, name);
    g_string_append_printf(out, "</h1><p>%s to %s (", from, to);
    escaped(out, g_time_zone_get_identifier(ax_report_timezone(report)));
    g_string_append_printf(out,
                           "), compared with the previous period of equal length. Service "
                           "level: inbound calls answered within %d s.",
                           ax_report_sl_seconds(report));
    if (ax_report_skipped_total(report) > 0)
        g_string_append_printf(out, " %" G_GUINT64_FORMAT " implausible journal records left out.",
                               ax_report_skipped_total(report));
    g_string_append(out, "</p>");
    g_free(from);
    g_free(to);
}

static gint by_calls(gconstpointer a, gconstpointer b)
{
    const ax_row *x = *(const ax_row *const *)a, *y = *(const ax_row *const *)b;
    return x->kpi.calls < y->kpi.calls ? 1 : x->kpi.calls > y->kpi.calls ? -1 : 0;
}

char *ax_html_render(ax_report *report, const char *name)
{
    static const char *const titles[AX_DIM_COUNT_] = {"direction", "user", "group", "line", "tag",
                                                      "hour",      "day",  "week",  "month"};
    GString *out = g_string_new(NULL);
    head(out, report, name);
    tiles(out, ax_report_total(report), ax_report_previous(report));
    ax_dimension time = time_dimension(report);
    time_chart(out, ax_report_rows(report, time), titles[time]);
    heatmap(out, report);
    g_string_append(out, "<h2>Busiest users</h2><p>Blue: answered, red: not answered.</p>");
    /* A view sorted by calls; the rows stay the report's (no free function). */
    GPtrArray *rows = ax_report_rows(report, AX_DIM_USER);
    GPtrArray *users = g_ptr_array_sized_new(rows->len);
    for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add(users, g_ptr_array_index(rows, i));
    g_ptr_array_sort(users, by_calls);
    bar_chart(out, users, "chart-users", 15);
    g_ptr_array_unref(users);
    for (int d = AX_DIM_DIRECTION; d <= AX_DIM_TAG; d++)
        table(out, ax_report_rows(report, d), titles[d]);
    table(out, ax_report_rows(report, time), titles[time]);
    g_string_append(out, "</body></html>\n");
    return g_string_free(out, FALSE);
}
