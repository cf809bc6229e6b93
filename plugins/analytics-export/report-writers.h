/*
 * report-writers.h - a finished report written as CSV, XML, JSON, HTML with SVG
 * charts, or the Prometheus text exposition format (README.md describes each
 * layout). Files are written atomically: a temporary file in the target
 * directory, then a rename, so a reader never sees half a report.
 */
#ifndef REPORT_WRITERS_H
#define REPORT_WRITERS_H

#include <glib.h>

#include "report-kpis.h"

typedef enum ax_format {
    AX_FORMAT_CSV = 0,
    AX_FORMAT_XML,
    AX_FORMAT_JSON,
    AX_FORMAT_HTML,
    AX_FORMAT_PROMETHEUS,
    AX_FORMAT_COUNT_
} ax_format;

/* "csv", "xml", "json", "html" or "prometheus"; -1 when unknown. */
int ax_format_parse(const char *text);
const char *ax_format_name(ax_format format);
/* Parses a list of format names into a bit mask (1 << ax_format); 0 with
 * `*bad` pointing at the offending name when one is unknown or none given. */
unsigned ax_formats_parse(const char *const *names, const char **bad);

/* The report as `format`, NUL-terminated; `name` is the report's name (the
 * module id), written into the document. g_free it. */
char *ax_export_render(ax_report *report, ax_format format, const char *name);

/* The file a report goes to: DIR/NAME-LABEL.EXT, or for Prometheus
 * DIR/ucd_analytics_NAME.prom (one file, replaced at each run, as the node
 * exporter's textfile collector expects). `name` is made file-name safe. */
char *ax_export_path(ax_report *report, ax_format format, const char *name, const char *dir);

/* Renders and writes the report atomically to ax_export_path(); returns the
 * path (g_free) or NULL with `*error` set. */
char *ax_export_write(ax_report *report, ax_format format, const char *name, const char *dir,
                      GError **error);

#endif /* REPORT_WRITERS_H */
