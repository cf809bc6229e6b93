/*
 * ucd/exporter.h - the analytics exporter interface, service "exporter" major 1.
 *
 * An exporter turns the call journal (read through the journal service's
 * query(), never a store's tables) into reports and metrics files: CSV, JSON,
 * XML, HTML, the Prometheus text format. It runs its own schedule from its
 * configuration and answers on-demand requests through export_now(), so
 * another plugin (a web console, a mailer) can ask for a report file.
 * plugins/analytics-export provides it; its `ucctl analytics export` command
 * runs the same export.
 */
#ifndef UCD_EXPORTER_H
#define UCD_EXPORTER_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_EXPORTER_SERVICE "exporter"
#define UCD_EXPORTER_MAJOR   1
#define UCD_EXPORTER_MINOR   0

typedef struct ucd_export_request {
    uint32_t struct_size;
    uint32_t reserved;
    const char *format; /* "csv", "json", "xml", "html", "prometheus" ... */
    int64_t from_ms;    /* period start (inclusive) */
    int64_t to_ms;      /* period end (exclusive) */
    /* "user", "group", "line", "tag", "direction"; NULL = none. The grouping
     * the caller needs; an exporter may write more (analytics-export writes
     * every one into each file). */
    const char *group_by;
    const char *output_dir; /* absolute; NULL = the exporter's configured directory */
} ucd_export_request;

/* Called on the main loop when an export that export_now() accepted finished:
 * UCD_OK and the path of the file written (atomically: it appears complete or
 * not at all), or an error code and a message. The string is valid during
 * the call only. */
typedef void (*ucd_export_done_cb)(int result, const char *path_or_message, void *user_data);

typedef struct ucd_exporter_v1 {
    uint32_t struct_size;

    /* NULL-terminated list of the formats this exporter writes. */
    const char *const *(*formats)(void *impl);
    /* Starts an export of one format; `done` (not NULL) reports the result,
     * and is called only when this returned UCD_OK. UCD_E_UNSUPPORTED for a
     * format not in formats(), UCD_E_INVALID for a bad request (to_ms not
     * after from_ms, an unknown group_by, a relative or missing directory),
     * UCD_E_UNAVAILABLE when its journal does not run, UCD_E_BUSY while too
     * many run. Main loop only. */
    int (*export_now)(void *impl, const ucd_export_request *request, ucd_export_done_cb done,
                      void *user_data);
} ucd_exporter_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_EXPORTER_H */
