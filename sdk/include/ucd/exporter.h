/*
 * ucd/exporter.h - the analytics exporter interface, service "exporter" major 1.
 *
 * An exporter turns the call journal (read through the journal service's
 * query(), never a store's tables) and the core's counters into reports and
 * metrics files: CSV, JSON, XML, HTML, the Prometheus text format. It runs its
 * own schedule from its configuration, and answers on-demand requests through
 * export_now(), which `ucctl analytics export` calls.
 */
#ifndef UCD_EXPORTER_H
#define UCD_EXPORTER_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_EXPORTER_SERVICE "exporter"
#define UCD_EXPORTER_MAJOR   1
#define UCD_EXPORTER_MINOR 0

typedef struct ucd_export_request {
    uint32_t struct_size;
    uint32_t reserved;
    const char *format;     /* "csv", "json", "xml", "html", "prometheus" ... */
    int64_t from_ms;        /* period start (inclusive) */
    int64_t to_ms;          /* period end (exclusive) */
    const char *group_by;   /* "user", "group", "line", "tag", "direction"; NULL = none */
    const char *output_dir; /* NULL = the exporter's configured directory */
} ucd_export_request;

/* Called on the main loop when an export finished: UCD_OK and the file written
 * (atomically: it appears complete or not at all), or an error and a message. */
typedef void (*ucd_export_done_cb)(int result, const char *path_or_message, void *user_data);

typedef struct ucd_exporter_v1 {
    uint32_t struct_size;

    /* NULL-terminated list of the formats this exporter writes. */
    const char *const *(*formats)(void *impl);
    /* Starts an export; `done` reports the result. UCD_E_UNSUPPORTED for a
     * format not in formats(), UCD_E_BUSY while too many run. */
    int (*export_now)(void *impl, const ucd_export_request *request, ucd_export_done_cb done,
                      void *user_data);
} ucd_exporter_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_EXPORTER_H */
