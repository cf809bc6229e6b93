/*
 * report-html.h - a report as one self-contained HTML page with SVG charts: no
 * scripts, no external references, a print style sheet.
 */
#ifndef REPORT_HTML_H
#define REPORT_HTML_H

#include "report-kpis.h"

/* The page, NUL-terminated; `name` is the report's name (g_free the result). */
char *ax_html_render(ax_report *report, const char *name);

#endif /* REPORT_HTML_H */
