/*
 * report-writers.c - report writers (see report-writers.h).
 *
 * Every format writes the same KPI columns from one table (kpi_columns), so
 * a column added there appears in CSV, XML, JSON, HTML and Prometheus alike.
 */
#include "report-writers.h"

#include <json-glib/json-glib.h>
#include <libxml/xmlwriter.h>
#include <string.h>

#include "export-schedule.h"
#include "report-html.h"

typedef enum value_kind { KIND_COUNT, KIND_RATIO, KIND_SECONDS } value_kind;

typedef struct kpi_column {
    const char *name;   /* CSV/XML/JSON */
    const char *metric; /* Prometheus, without the ucd_analytics_ prefix */
    const char *help;
    value_kind kind;
} kpi_column;

static const kpi_column kpi_columns[] = {
    {"calls", "calls", "Calls (conversations) in the period.", KIND_COUNT},
    {"answered", "answered", "Calls with talk time.", KIND_COUNT},
    {"missed", "missed", "Inbound calls nobody answered.", KIND_COUNT},
    {"inbound", "inbound", "Inbound calls offered.", KIND_COUNT},
    {"answered_in_sl", "inbound_answered_in_sl",
     "Inbound calls answered within the service-level time.", KIND_COUNT},
    {"service_level", "service_level_ratio",
     "Inbound calls answered within the service-level time per inbound call offered.", KIND_RATIO},
    {"wait_avg_s", "wait_average_seconds", "Average time from first ring to answer.", KIND_SECONDS},
    {"wait_max_s", "wait_max_seconds", "Longest time from first ring to answer.", KIND_SECONDS},
    {"talk_avg_s", "talk_average_seconds", "Average talk time of answered calls.", KIND_SECONDS},
    {"busy", "busy", "Calls that ended busy.", KIND_COUNT},
    {"failed", "failed", "Calls that failed (network or number error).", KIND_COUNT},
};
#define KPI_COLUMN_COUNT G_N_ELEMENTS(kpi_columns)

static double kpi_value(const ax_kpi *k, size_t column)
{
    switch (column) {
    case 0:
        return (double)k->calls;
    case 1:
        return (double)k->answered;
    case 2:
        return (double)k->missed;
    case 3:
        return (double)k->inbound;
    case 4:
        return (double)k->inbound_in_sl;
    case 5:
        return ax_kpi_service_level(k);
    case 6:
        return ax_kpi_wait_avg_s(k);
    case 7:
        return (double)k->wait_max_ms / 1000.0;
    case 8:
        return ax_kpi_talk_avg_s(k);
    case 9:
        return (double)k->busy;
    default:
        return (double)k->failed;
    }
}

/* The value as text, independent of the locale: "12", "0.8750", "31.5". */
static const char *kpi_text(const ax_kpi *k, size_t column, char buf[G_ASCII_DTOSTR_BUF_SIZE])
{
    static const char *const formats[] = {"%.0f", "%.4f", "%.1f"};
    return g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, formats[kpi_columns[column].kind],
                           kpi_value(k, column));
}

static const char *const weekdays[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

int ax_format_parse(const char *text)
{
    for (int f = 0; text != NULL && f < AX_FORMAT_COUNT_; f++) {
        if (g_ascii_strcasecmp(text, ax_format_name(f)) == 0)
            return f;
    }
    return -1;
}

const char *ax_format_name(ax_format format)
{
    static const char *const names[AX_FORMAT_COUNT_] = {"csv", "xml", "json", "html", "prometheus"};
    return (unsigned)format < AX_FORMAT_COUNT_ ? names[format] : "?";
}

unsigned ax_formats_parse(const char *const *names, const char **bad)
{
    unsigned mask = 0;
    *bad = NULL;
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        int f = ax_format_parse(names[i]);
        if (f < 0) {
            *bad = names[i];
            return 0;
        }
        mask |= 1u << f;
    }
    if (mask == 0)
        *bad = "";
    return mask;
}

/* ISO 8601 local time of `ms` in the report's zone: "2024-03-01T00:00:00+01:00". */
static char *iso_time(const ax_report *report, int64_t ms)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, ax_report_timezone(report));
    char *text = g_date_time_format_iso8601(local);
    g_date_time_unref(local);
    g_date_time_unref(utc);
    return text;
}

static const char *zone_name(const ax_report *report)
{
    return g_time_zone_get_identifier(ax_report_timezone(report));
}

/* ---- CSV ---- */

/* RFC 4180 quoting; a text starting with = + - @ gets a leading apostrophe so
 * that a spreadsheet shows it instead of evaluating it as a formula. */
static void csv_text(GString *out, const char *text)
{
    gboolean formula = strchr("=+-@", text[0]) != NULL && text[0] != '\0';
    if (!formula && strpbrk(text, ",\"\r\n") == NULL) {
        g_string_append(out, text);
        return;
    }
    g_string_append_c(out, '"');
    if (formula)
        g_string_append_c(out, '\'');
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

static void csv_row(GString *out, const char *section, const char *key, const char *name,
                    const ax_kpi *k)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    csv_text(out, section);
    g_string_append_c(out, ',');
    csv_text(out, key);
    g_string_append_c(out, ',');
    csv_text(out, name);
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++) {
        g_string_append_c(out, ',');
        if (k != NULL)
            g_string_append(out, kpi_text(k, c, buf));
    }
    g_string_append(out, "\r\n");
}

/* One heat-map cell or skip counter: only the calls column is filled. */
static void csv_count_row(GString *out, const char *section, const char *key, const char *name,
                          uint64_t count)
{
    ax_kpi k = {.calls = count};
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    csv_text(out, section);
    g_string_append_printf(out, ",%s,", key);
    csv_text(out, name);
    g_string_append_printf(out, ",%s", kpi_text(&k, 0, buf));
    for (size_t c = 1; c < KPI_COLUMN_COUNT; c++)
        g_string_append_c(out, ',');
    g_string_append(out, "\r\n");
}

static char *render_csv(ax_report *report, const char *name)
{
    GString *out = g_string_new("section,key,name");
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++)
        g_string_append_printf(out, ",%s", kpi_columns[c].name);
    g_string_append(out, "\r\n");
    char *from = iso_time(report, ax_report_from(report));
    char *to = iso_time(report, ax_report_to(report));
    char *prev = iso_time(report, ax_report_previous_from(report));
    csv_row(out, "total", from, to, ax_report_total(report));
    csv_row(out, "previous", prev, from, ax_report_previous(report));
    for (int d = 0; d < AX_DIM_COUNT_; d++) {
        GPtrArray *rows = ax_report_rows(report, d);
        for (guint i = 0; i < rows->len; i++) {
            const ax_row *row = g_ptr_array_index(rows, i);
            csv_row(out, ax_dimension_name(d), row->key, row->name, &row->kpi);
        }
    }
    for (int w = 0; w < 7; w++) {
        for (int h = 0; h < 24; h++) {
            char key[16], label[16];
            g_snprintf(key, sizeof(key), "%d-%02d", w + 1, h);
            g_snprintf(label, sizeof(label), "%s %02d:00", weekdays[w], h);
            csv_count_row(out, "heatmap", key, label, ax_report_heat(report, w, h));
        }
    }
    for (int r = 0; r < AX_SKIP_COUNT_; r++)
        csv_count_row(out, "skipped", ax_skip_reason_name(r), ax_skip_reason_name(r),
                      ax_report_skipped(report, r));
    g_free(from);
    g_free(to);
    g_free(prev);
    return g_string_free(out, FALSE);
}

/* ---- XML ---- */

static void xml_kpi_attributes(xmlTextWriterPtr w, const ax_kpi *k)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++)
        xmlTextWriterWriteAttribute(w, BAD_CAST kpi_columns[c].name, BAD_CAST kpi_text(k, c, buf));
}

static void xml_attribute(xmlTextWriterPtr w, const char *name, const char *value)
{
    xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST value);
}

static void xml_period(xmlTextWriterPtr w, const char *element, const char *from, const char *to,
                       const ax_kpi *k)
{
    xmlTextWriterStartElement(w, BAD_CAST element);
    xml_attribute(w, "from", from);
    xml_attribute(w, "to", to);
    xml_kpi_attributes(w, k);
    xmlTextWriterEndElement(w);
}

static void xml_breakdowns(xmlTextWriterPtr w, ax_report *report)
{
    for (int d = 0; d < AX_DIM_COUNT_; d++) {
        GPtrArray *rows = ax_report_rows(report, d);
        xmlTextWriterStartElement(w, BAD_CAST "breakdown");
        xml_attribute(w, "by", ax_dimension_name(d));
        for (guint i = 0; i < rows->len; i++) {
            const ax_row *row = g_ptr_array_index(rows, i);
            xmlTextWriterStartElement(w, BAD_CAST "row");
            xml_attribute(w, "key", row->key);
            xml_attribute(w, "name", row->name);
            xml_kpi_attributes(w, &row->kpi);
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
    }
}

static void xml_heatmap(xmlTextWriterPtr w, const ax_report *report)
{
    xmlTextWriterStartElement(w, BAD_CAST "heatmap");
    for (int d = 0; d < 7; d++) {
        xmlTextWriterStartElement(w, BAD_CAST "day");
        xml_attribute(w, "name", weekdays[d]);
        for (int h = 0; h < 24; h++) {
            xmlTextWriterStartElement(w, BAD_CAST "hour");
            xmlTextWriterWriteFormatAttribute(w, BAD_CAST "h", "%d", h);
            xmlTextWriterWriteFormatAttribute(w, BAD_CAST "calls", "%" G_GUINT64_FORMAT,
                                              ax_report_heat(report, d, h));
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
}

static void xml_skipped(xmlTextWriterPtr w, const ax_report *report)
{
    xmlTextWriterStartElement(w, BAD_CAST "skipped");
    for (int r = 0; r < AX_SKIP_COUNT_; r++) {
        xmlTextWriterStartElement(w, BAD_CAST "reason");
        xml_attribute(w, "name", ax_skip_reason_name(r));
        xmlTextWriterWriteFormatAttribute(w, BAD_CAST "records", "%" G_GUINT64_FORMAT,
                                          ax_report_skipped(report, r));
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
}

static char *render_xml(ax_report *report, const char *name)
{
    xmlBufferPtr buffer = xmlBufferCreate();
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buffer, 0);
    char *from = iso_time(report, ax_report_from(report));
    char *to = iso_time(report, ax_report_to(report));
    char *prev = iso_time(report, ax_report_previous_from(report));
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "analytics-report");
    xml_attribute(w, "report", name);
    xml_attribute(w, "from", from);
    xml_attribute(w, "to", to);
    xml_attribute(w, "timezone", zone_name(report));
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "service-level-seconds", "%d",
                                      ax_report_sl_seconds(report));
    xml_period(w, "total", from, to, ax_report_total(report));
    xml_period(w, "previous", prev, from, ax_report_previous(report));
    xml_breakdowns(w, report);
    xml_heatmap(w, report);
    xml_skipped(w, report);
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    char *text = g_strdup((const char *)xmlBufferContent(buffer));
    xmlBufferFree(buffer);
    g_free(from);
    g_free(to);
    g_free(prev);
    return text;
}

/* ---- JSON ---- */

static void json_kpi(JsonBuilder *b, const ax_kpi *k)
{
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++) {
        json_builder_set_member_name(b, kpi_columns[c].name);
        if (kpi_columns[c].kind == KIND_COUNT)
            json_builder_add_int_value(b, (gint64)kpi_value(k, c));
        else
            json_builder_add_double_value(b, kpi_value(k, c));
    }
}

static void json_member_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value);
}

static void json_period(JsonBuilder *b, const char *member, const char *from, const char *to,
                        const ax_kpi *k)
{
    json_builder_set_member_name(b, member);
    json_builder_begin_object(b);
    json_member_string(b, "from", from);
    json_member_string(b, "to", to);
    json_kpi(b, k);
    json_builder_end_object(b);
}

/* This period minus the previous one, per KPI. */
static void json_change(JsonBuilder *b, const ax_kpi *now, const ax_kpi *before)
{
    json_builder_set_member_name(b, "change");
    json_builder_begin_object(b);
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++) {
        json_builder_set_member_name(b, kpi_columns[c].name);
        double delta = kpi_value(now, c) - kpi_value(before, c);
        if (kpi_columns[c].kind == KIND_COUNT)
            json_builder_add_int_value(b, (gint64)delta);
        else
            json_builder_add_double_value(b, delta);
    }
    json_builder_end_object(b);
}

static void json_breakdowns(JsonBuilder *b, ax_report *report)
{
    json_builder_set_member_name(b, "breakdowns");
    json_builder_begin_object(b);
    for (int d = 0; d < AX_DIM_COUNT_; d++) {
        GPtrArray *rows = ax_report_rows(report, d);
        json_builder_set_member_name(b, ax_dimension_name(d));
        json_builder_begin_array(b);
        for (guint i = 0; i < rows->len; i++) {
            const ax_row *row = g_ptr_array_index(rows, i);
            json_builder_begin_object(b);
            json_member_string(b, "key", row->key);
            json_member_string(b, "name", row->name);
            json_kpi(b, &row->kpi);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
}

static void json_heatmap(JsonBuilder *b, const ax_report *report)
{
    json_builder_set_member_name(b, "heatmap");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "weekdays");
    json_builder_begin_array(b);
    for (int d = 0; d < 7; d++)
        json_builder_add_string_value(b, weekdays[d]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "calls");
    json_builder_begin_array(b);
    for (int d = 0; d < 7; d++) {
        json_builder_begin_array(b);
        for (int h = 0; h < 24; h++)
            json_builder_add_int_value(b, (gint64)ax_report_heat(report, d, h));
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void json_skipped(JsonBuilder *b, const ax_report *report)
{
    json_builder_set_member_name(b, "skipped");
    json_builder_begin_object(b);
    for (int r = 0; r < AX_SKIP_COUNT_; r++) {
        json_builder_set_member_name(b, ax_skip_reason_name(r));
        json_builder_add_int_value(b, (gint64)ax_report_skipped(report, r));
    }
    json_builder_end_object(b);
}

static char *render_json(ax_report *report, const char *name)
{
    JsonBuilder *b = json_builder_new();
    char *from = iso_time(report, ax_report_from(report));
    char *to = iso_time(report, ax_report_to(report));
    char *prev = iso_time(report, ax_report_previous_from(report));
    json_builder_begin_object(b);
    json_member_string(b, "report", name);
    json_member_string(b, "from", from);
    json_member_string(b, "to", to);
    json_member_string(b, "timezone", zone_name(report));
    json_builder_set_member_name(b, "service_level_seconds");
    json_builder_add_int_value(b, ax_report_sl_seconds(report));
    json_period(b, "total", from, to, ax_report_total(report));
    json_period(b, "previous", prev, from, ax_report_previous(report));
    json_change(b, ax_report_total(report), ax_report_previous(report));
    json_breakdowns(b, report);
    json_heatmap(b, report);
    json_skipped(b, report);
    json_builder_end_object(b);
    JsonGenerator *gen = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    char *text = json_generator_to_data(gen, NULL);
    json_node_unref(root);
    g_object_unref(gen);
    g_object_unref(b);
    g_free(from);
    g_free(to);
    g_free(prev);
    return text;
}

/* ---- Prometheus ---- */

/* Label values escape backslash, double quote and newline (exposition format). */
static void prom_label(GString *out, const char *name, const char *value, gboolean first)
{
    g_string_append_printf(out, "%s%s=\"", first ? "" : ",", name);
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"')
            g_string_append_c(out, '\\');
        if (*c == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}

static void prom_sample(GString *out, const char *metric, const char *report, const char *period,
                        const char *dimension, const char *key, const char *name, const char *value)
{
    g_string_append_printf(out, "ucd_analytics_%s{", metric);
    prom_label(out, "report", report, TRUE);
    prom_label(out, "period", period, FALSE);
    prom_label(out, "dimension", dimension, FALSE);
    prom_label(out, "key", key, FALSE);
    prom_label(out, "name", name, FALSE);
    g_string_append_printf(out, "} %s\n", value);
}

/* Breakdowns by time are left out: time is Prometheus's own axis. */
static void prom_metric(GString *out, ax_report *report, const char *name, size_t c)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf(out, "# HELP ucd_analytics_%s %s\n# TYPE ucd_analytics_%s gauge\n",
                           kpi_columns[c].metric, kpi_columns[c].help, kpi_columns[c].metric);
    prom_sample(out, kpi_columns[c].metric, name, "current", "total", "", "",
                kpi_text(ax_report_total(report), c, buf));
    prom_sample(out, kpi_columns[c].metric, name, "previous", "total", "", "",
                kpi_text(ax_report_previous(report), c, buf));
    for (int d = 0; d < AX_DIM_HOUR; d++) {
        GPtrArray *rows = ax_report_rows(report, d);
        for (guint i = 0; i < rows->len; i++) {
            const ax_row *row = g_ptr_array_index(rows, i);
            prom_sample(out, kpi_columns[c].metric, name, "current", ax_dimension_name(d), row->key,
                        row->name, kpi_text(&row->kpi, c, buf));
        }
    }
}

static char *render_prometheus(ax_report *report, const char *name)
{
    GString *out = g_string_new(NULL);
    for (size_t c = 0; c < KPI_COLUMN_COUNT; c++)
        prom_metric(out, report, name, c);
    g_string_append(out, "# HELP ucd_analytics_period_start_seconds Start of the reported "
                         "period (Unix time).\n# TYPE ucd_analytics_period_start_seconds gauge\n");
    g_string_append(out, "ucd_analytics_period_start_seconds{");
    prom_label(out, "report", name, TRUE);
    g_string_append_printf(out, "} %" G_GINT64_FORMAT "\n", ax_report_from(report) / 1000);
    g_string_append(out,
                    "# HELP ucd_analytics_period_end_seconds End of the reported period "
                    "(Unix time, exclusive).\n# TYPE ucd_analytics_period_end_seconds gauge\n");
    g_string_append(out, "ucd_analytics_period_end_seconds{");
    prom_label(out, "report", name, TRUE);
    g_string_append_printf(out, "} %" G_GINT64_FORMAT "\n", ax_report_to(report) / 1000);
    g_string_append(out, "# HELP ucd_analytics_skipped_records Journal records left out as "
                         "implausible.\n# TYPE ucd_analytics_skipped_records gauge\n");
    for (int r = 0; r < AX_SKIP_COUNT_; r++) {
        g_string_append(out, "ucd_analytics_skipped_records{");
        prom_label(out, "report", name, TRUE);
        prom_label(out, "reason", ax_skip_reason_name(r), FALSE);
        g_string_append_printf(out, "} %" G_GUINT64_FORMAT "\n", ax_report_skipped(report, r));
    }
    return g_string_free(out, FALSE);
}

/* ---- dispatch and files ---- */

char *ax_export_render(ax_report *report, ax_format format, const char *name)
{
    switch (format) {
    case AX_FORMAT_CSV:
        return render_csv(report, name);
    case AX_FORMAT_XML:
        return render_xml(report, name);
    case AX_FORMAT_JSON:
        return render_json(report, name);
    case AX_FORMAT_HTML:
        return ax_html_render(report, name);
    default:
        return render_prometheus(report, name);
    }
}

/* Letters, digits, '-', '_' and '.' stay; anything else becomes '_'. */
static char *safe_name(const char *name)
{
    char *safe = g_strdup(name);
    for (char *c = safe; *c; c++) {
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
            *c = '_';
    }
    return safe;
}

char *ax_export_path(ax_report *report, ax_format format, const char *name, const char *dir)
{
    static const char *const extensions[AX_FORMAT_COUNT_] = {"csv", "xml", "json", "html", "prom"};
    char *safe = safe_name(name);
    char *file;
    if (format == AX_FORMAT_PROMETHEUS)
        file = g_strdup_printf("ucd_analytics_%s.prom", safe);
    else {
        char *label = ax_period_label(ax_report_from(report), ax_report_to(report),
                                      ax_report_timezone(report));
        file = g_strdup_printf("%s-%s.%s", safe, label, extensions[format]);
        g_free(label);
    }
    char *path = g_build_filename(dir, file, NULL);
    g_free(file);
    g_free(safe);
    return path;
}

char *ax_export_write(ax_report *report, ax_format format, const char *name, const char *dir,
                      GError **error)
{
    char *path = ax_export_path(report, format, name, dir);
    char *text = ax_export_render(report, format, name);
    /* CONSISTENT: a temporary file in `dir`, fsync'd, renamed over `path`.
     * Its name (PATH.XXXXXX) does not end in .prom, so the node exporter
     * never reads it half-written. */
    gboolean ok =
        g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
    g_free(text);
    if (!ok) {
        g_free(path);
        return NULL;
    }
    return path;
}
