/*
 * analytics-export.c - call-centre KPIs from any journal store, exported as
 * CSV, XML, JSON, HTML and Prometheus text, on a schedule or on demand
 * (README.md).
 *
 * The plugin reads journals only through service "journal" major 1 query(),
 * which blocks, so every report runs as a work item on the core's pool: the
 * main loop only parses, snapshots the core's directory (service "directory":
 * every users backend merged; main-loop only) and sends replies. A report job
 * owns everything it touches, so a scheduled export, a command and an
 * export_now() of the "exporter" service it provides may run side by side.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <ucd/ucd.h>

#include "export-schedule.h"
#include "report-kpis.h"
#include "report-writers.h"

#define MAX_JOBS       4   /* reports running at once; more commands are refused as busy */
#define CURSOR_SIZE    256 /* journal paging cursors */
#define LAST_RUN_FILE  "last-run"
#define DEFAULT_FORMAT "csv;xml;json;html"
#define SLICE_MS       INT64_C(86400000) /* journal queries cover one day at most */

static const ucd_config_key keys[] = {
    {"journal", UCD_CONFIG_STRING, 0, NULL,
     "module id of the journal to read (default: the first running journal)"},
    {"timezone", UCD_CONFIG_STRING, 0, "",
     "IANA time zone of days, weeks and hours (default: the system's)"},
    {"service_level_seconds", UCD_CONFIG_INT, 0, "20",
     "an inbound call answered within this many seconds meets the service level"},
    {"schedule", UCD_CONFIG_STRING, 0, NULL,
     "cron-like MIN HOUR DOM MON DOW of scheduled exports (none: on demand only)"},
    {"period", UCD_CONFIG_STRING, 0, "previous-day", "the period a scheduled export covers"},
    {"formats", UCD_CONFIG_LIST, 0, DEFAULT_FORMAT,
     "formats of scheduled exports and the command's default: csv;xml;json;html;prometheus"},
    {"directory", UCD_CONFIG_STRING, 0, NULL,
     "absolute directory for exported files (scheduled, and the command's default)"},
    {"prometheus_dir", UCD_CONFIG_STRING, 0, NULL,
     "node exporter textfile directory: each scheduled run also writes a .prom file there"},
    {"catch_up", UCD_CONFIG_BOOL, 0, "true",
     "at start, run the last scheduled export that was missed while ucd was down"},
    {"page_size", UCD_CONFIG_INT, 0, "20000", "records per journal query page"},
    {NULL},
};

static const ucd_service_decl requires[] = {UCD_NEED(UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, 0),
                                            {NULL}};
static const ucd_service_decl uses[] = {UCD_NEED(UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, 0),
                                        {NULL}};
static const ucd_service_decl provides[] = {
    UCD_PROVIDE(UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, UCD_EXPORTER_MINOR, 0), {NULL}};

typedef struct ax_plugin {
    ucd_plugin *self;
    const ucd_host *host;
    char *name; /* "analytics" or "analytics-INSTANCE": command and file prefix */
    const char *journal;
    GTimeZone *tz;
    int sl_seconds;
    uint32_t page_size;
    ax_schedule *schedule;
    int period;
    unsigned formats;
    const char *directory, *prometheus_dir;
    int catch_up;
    ucd_timer *timer;
    int64_t planned_ms; /* when the armed timer's run is due */
    unsigned jobs;
    gboolean scheduled_running;
    ucd_counter *exports, *failures, *skipped;
} ax_plugin;

/* One report: built on the pool, answered on the main loop. */
typedef struct ax_job {
    ax_plugin *plugin;
    const ucd_journal_v1 *journal;
    void *journal_impl;
    ax_directory *directory;
    int64_t from_ms, to_ms;
    unsigned formats;
    char *out_dir, *prom_dir;
    ucd_reply *reply;        /* the command's; NULL for a scheduled run or export_now() */
    ucd_export_done_cb done; /* export_now()'s, with its user data */
    void *done_data;
    int64_t planned_ms; /* a scheduled run's due time, for LAST_RUN_FILE */
    char *state_dir;
    /* results */
    ax_report *report;
    GPtrArray *files;
    char *error;
    char *previous_error; /* the previous period's reader (previous_thread) */
} ax_job;

/* ---- configuration ---- */

static int read_timezone(ax_plugin *p)
{
    const char *zone = "";
    p->host->config_string(p->self, "timezone", &zone);
    p->tz = zone[0] ? g_time_zone_new_identifier(zone) : g_time_zone_new_local();
    if (p->tz == NULL)
        return p->host->config_error(p->self, "timezone", "unknown time zone \"%s\"", zone);
    return UCD_OK;
}

static int read_numbers(ax_plugin *p)
{
    int64_t sl = 20, page = 20000;
    p->host->config_int(p->self, "service_level_seconds", &sl);
    p->host->config_int(p->self, "page_size", &page);
    if (sl < 1 || sl > 3600)
        return p->host->config_error(p->self, "service_level_seconds",
                                     "must be between 1 and 3600 seconds");
    if (page < 1 || page > 100000)
        return p->host->config_error(p->self, "page_size", "must be between 1 and 100000");
    p->sl_seconds = (int)sl;
    p->page_size = (uint32_t)page;
    return UCD_OK;
}

static int read_directory(ax_plugin *p, const char *key, const char **value)
{
    *value = NULL;
    p->host->config_string(p->self, key, value);
    if (*value != NULL && !g_path_is_absolute(*value))
        return p->host->config_error(p->self, key, "must be an absolute path");
    return UCD_OK;
}

static int read_formats(ax_plugin *p)
{
    const char *const *names = NULL;
    const char *bad = NULL;
    p->host->config_list(p->self, "formats", &names, NULL);
    p->formats = ax_formats_parse(names, &bad);
    if (p->formats == 0)
        return p->host->config_error(
            p->self, "formats", "unknown format \"%s\" (csv, xml, json, html, prometheus)", bad);
    return UCD_OK;
}

static int read_schedule(ax_plugin *p)
{
    const char *text = NULL, *period = "previous-day";
    p->host->config_string(p->self, "period", &period);
    p->period = ax_period_parse(period);
    if (p->period < 0)
        return p->host->config_error(p->self, "period", "unknown period \"%s\" (%s)", period,
                                     ax_period_names());
    if (p->host->config_string(p->self, "schedule", &text) != UCD_OK || text == NULL)
        return UCD_OK;
    char *error = NULL;
    p->schedule = ax_schedule_parse(text, &error);
    if (p->schedule == NULL) {
        int rc = p->host->config_error(p->self, "schedule", "%s", error);
        g_free(error);
        return rc;
    }
    gboolean only_prometheus = p->formats == 1u << AX_FORMAT_PROMETHEUS;
    if (p->directory == NULL && !(only_prometheus && p->prometheus_dir != NULL))
        return p->host->config_error(p->self, "schedule",
                                     "scheduled exports need \"directory\" to write into");
    p->host->config_bool(p->self, "catch_up", &p->catch_up);
    return UCD_OK;
}

static int read_config(ax_plugin *p)
{
    int rc = read_timezone(p);
    if (rc == UCD_OK)
        rc = read_numbers(p);
    if (rc == UCD_OK)
        rc = read_directory(p, "directory", &p->directory);
    if (rc == UCD_OK)
        rc = read_directory(p, "prometheus_dir", &p->prometheus_dir);
    if (rc == UCD_OK)
        rc = read_formats(p);
    if (rc == UCD_OK)
        rc = read_schedule(p);
    if (rc == UCD_OK)
        p->host->config_string(p->self, "journal", &p->journal);
    return rc;
}

/* ---- the job's work, on the pool ---- */

static int add_current(const ucd_journal_record *record, void *data)
{
    ax_report_add(data, record);
    return 0;
}

static int add_previous(const ucd_journal_record *record, void *data)
{
    ax_report_add_previous(data, record);
    return 0;
}

/* Reads [from, to) page by page. A cursor that does not move would loop
 * forever on a broken store: it ends the query as an error. */
static int read_slice(ax_job *job, int64_t from, int64_t to, ucd_journal_record_cb cb, char **error)
{
    char cursor[CURSOR_SIZE] = "", next[CURSOR_SIZE];
    do {
        ucd_journal_query q = {.struct_size = sizeof(q),
                               .from_ms = from,
                               .to_ms = to,
                               .limit = job->plugin->page_size,
                               .after = cursor[0] ? cursor : NULL};
        next[0] = '\0';
        int rc = job->journal->query(job->journal_impl, &q, cb, job->report, next, sizeof(next));
        if (rc != UCD_OK) {
            *error = g_strdup_printf("journal query failed: %s", ucd_strerror(rc));
            return rc;
        }
        if (next[0] && strcmp(next, cursor) == 0) {
            *error = g_strdup("the journal's paging cursor does not advance");
            return UCD_FAIL;
        }
        memcpy(cursor, next, sizeof(cursor));
    } while (cursor[0]);
    return UCD_OK;
}

static void write_files(ax_job *job)
{
    for (int f = 0; f < AX_FORMAT_COUNT_ && job->error == NULL; f++) {
        if (!(job->formats & (1u << f)))
            continue;
        const char *dir = f == AX_FORMAT_PROMETHEUS && job->prom_dir ? job->prom_dir : job->out_dir;
        GError *error = NULL;
        char *path = ax_export_write(job->report, f, job->plugin->name, dir, &error);
        if (path == NULL) {
            job->error = g_strdup_printf("writing %s: %s", ax_format_name(f), error->message);
            g_error_free(error);
        } else
            g_ptr_array_add(job->files, path);
    }
}

/* Reads [from, to) one day at a time, newest day first. A store may bound its
 * index scan by the query's range rather than by the paging cursor (measured
 * with journal-sqlite: every page of a month walked the index from the
 * month's end down to the cursor, 22 s for a month and its previous month
 * over 10 million conversations); slices of a day keep each page's scan
 * short with any store. */
static int read_journal(ax_job *job, int64_t from, int64_t to, ucd_journal_record_cb cb,
                        char **error)
{
    for (int64_t end = to; end > from; end -= SLICE_MS) {
        int rc = read_slice(job, MAX(from, end - SLICE_MS), end, cb, error);
        if (rc != UCD_OK)
            return rc;
    }
    return UCD_OK;
}

/* The previous period is read on a thread of its own while the work item
 * reads the current one: a report then takes about as long as its longer
 * half (measured: a month over 10 million conversations, 4.7-4.9 s read one
 * after the other). The two readers share nothing they write: add_previous
 * touches only the report's previous-period totals, add_current everything
 * else, and a store's query() is called concurrently anyway (the core's pool
 * has several threads). */
static gpointer previous_thread(gpointer data)
{
    ax_job *job = data;
    read_journal(job, ax_report_previous_from(job->report), job->from_ms, add_previous,
                 &job->previous_error);
    return NULL;
}

/* Remembers a scheduled run, so a restart knows which runs it missed. */
static void remember_run(ax_job *job)
{
    if (job->reply != NULL || job->state_dir == NULL || job->error != NULL)
        return;
    char *path = g_build_filename(job->state_dir, LAST_RUN_FILE, NULL);
    char *text = g_strdup_printf("%" G_GINT64_FORMAT "\n", job->planned_ms);
    g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
    g_free(text);
    g_free(path);
}

static void job_work(void *data)
{
    ax_job *job = data;
    job->report = ax_report_new(job->from_ms, job->to_ms, job->plugin->tz, job->plugin->sl_seconds,
                                job->directory);
    if (job->report == NULL) {
        job->error = g_strdup("the period is empty or longer than ten years");
        return;
    }
    GThread *previous = g_thread_new("ax-previous", previous_thread, job);
    read_journal(job, job->from_ms, job->to_ms, add_current, &job->error);
    g_thread_join(previous);
    if (job->error == NULL)
        job->error = g_steal_pointer(&job->previous_error);
    if (job->error == NULL) {
        if (g_mkdir_with_parents(job->out_dir, 0755) != 0 ||
            (job->prom_dir && g_mkdir_with_parents(job->prom_dir, 0755) != 0))
            job->error = g_strdup_printf("creating the output directory: %s", g_strerror(errno));
        else
            write_files(job);
    }
    remember_run(job);
}

/* ---- jobs on the main loop ---- */

static void job_free(ax_job *job)
{
    ax_report_free(job->report);
    ax_directory_free(job->directory);
    if (job->files != NULL)
        g_ptr_array_unref(job->files);
    g_free(job->out_dir);
    g_free(job->prom_dir);
    g_free(job->state_dir);
    g_free(job->error);
    g_free(job->previous_error);
    g_free(job);
}

static int add_group(const ucd_directory_group *group, void *data)
{
    ax_directory_add_group(data, group->id, group->name);
    return 0;
}

static int add_user(const ucd_directory_user *user, void *data)
{
    const char *name = user->display_name ? user->display_name : user->login;
    ax_directory_add_user(data, user->id, name, user->groups);
    return 0;
}

/* A copy of the users and groups of every users backend, from the core's
 * directory, taken on the main loop for the pool. NULL without a directory
 * (a core before host 1.4): rows are then by user id and there are no
 * groups. */
static ax_directory *snapshot_directory(ax_plugin *p)
{
    ucd_service service = {.struct_size = sizeof(service)};
    if (p->host->service_get == NULL ||
        p->host->service_get(p->self, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, NULL, &service) !=
            UCD_OK)
        return NULL;
    const ucd_directory_v1 *dir = service.iface;
    ax_directory *directory = ax_directory_new();
    dir->foreach_group(service.impl, add_group, directory);
    dir->foreach_user(service.impl, 0, add_user, directory);
    return directory;
}

/* A job for [from, to), or NULL with `*error` when no journal runs. */
static ax_job *job_new(ax_plugin *p, int64_t from, int64_t to, unsigned formats,
                       const char *out_dir, char **error)
{
    ucd_service service = {.struct_size = sizeof(service)};
    if (p->host->service_get == NULL ||
        p->host->service_get(p->self, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, p->journal,
                             &service) != UCD_OK) {
        *error = g_strdup_printf("no running journal%s%s", p->journal ? " " : "",
                                 p->journal ? p->journal : "");
        return NULL;
    }
    ax_job *job = g_new0(ax_job, 1);
    job->plugin = p;
    job->journal = service.iface;
    job->journal_impl = service.impl;
    job->directory = snapshot_directory(p);
    job->from_ms = from;
    job->to_ms = to;
    job->formats = formats;
    job->out_dir = g_strdup(out_dir ? out_dir : p->prometheus_dir);
    job->prom_dir = g_strdup(p->prometheus_dir);
    job->files = g_ptr_array_new_with_free_func(g_free);
    return job;
}

static void log_outcome(ax_plugin *p, ax_job *job)
{
    if (job->report != NULL && ax_report_skipped_total(job->report) > 0) {
        GString *reasons = g_string_new(NULL);
        for (int r = 0; r < AX_SKIP_COUNT_; r++) {
            uint64_t n = ax_report_skipped(job->report, r);
            if (n > 0)
                g_string_append_printf(reasons, " %s=%" G_GUINT64_FORMAT, ax_skip_reason_name(r),
                                       n);
        }
        p->host->counter_add(p->skipped, (int64_t)ax_report_skipped_total(job->report));
        p->host->log(p->self, UCD_LOG_WARNING, "implausible journal records left out:%s",
                     reasons->str);
        g_string_free(reasons, TRUE);
    }
    if (job->error != NULL) {
        p->host->counter_add(p->failures, 1);
        p->host->log(p->self, UCD_LOG_ERROR, "export failed: %s", job->error);
    } else {
        p->host->counter_add(p->exports, 1);
        p->host->log(p->self, UCD_LOG_INFO, "exported %u file(s) to %s", job->files->len,
                     job->out_dir);
    }
}

/* ---- the command ---- */

static void reply_number(ax_plugin *p, ucd_reply *reply, const char *name, const char *format,
                         double value)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    p->host->reply_field(reply, name, g_ascii_formatd(buf, sizeof(buf), format, value));
}

static void reply_result(ax_plugin *p, ax_job *job)
{
    if (job->error != NULL) {
        p->host->reply_error(job->reply, "%s", job->error);
        return;
    }
    const ax_kpi *k = ax_report_total(job->report);
    for (guint i = 0; i < job->files->len; i++)
        p->host->reply_field(job->reply, "file", g_ptr_array_index(job->files, i));
    reply_number(p, job->reply, "calls", "%.0f", (double)k->calls);
    reply_number(p, job->reply, "answered", "%.0f", (double)k->answered);
    reply_number(p, job->reply, "missed", "%.0f", (double)k->missed);
    reply_number(p, job->reply, "service_level_percent", "%.1f", 100 * ax_kpi_service_level(k));
    reply_number(p, job->reply, "wait_avg_s", "%.1f", ax_kpi_wait_avg_s(k));
    reply_number(p, job->reply, "talk_avg_s", "%.1f", ax_kpi_talk_avg_s(k));
    reply_number(p, job->reply, "skipped_records", "%.0f",
                 (double)ax_report_skipped_total(job->report));
}

static void command_done(void *data)
{
    ax_job *job = data;
    ax_plugin *p = job->plugin;
    log_outcome(p, job);
    reply_result(p, job);
    p->host->reply_complete(job->reply);
    p->jobs--;
    job_free(job);
}

typedef struct export_args {
    char *from, *to, *period, *format, *output;
} export_args;

static void export_args_clear(export_args *a)
{
    g_free(a->from);
    g_free(a->to);
    g_free(a->period);
    g_free(a->format);
    g_free(a->output);
}

/* Parses "export --from T --to T | --period P [--format F[,F]] [--output DIR]". */
static gboolean parse_export(int argc, const char *const *argv, export_args *a, char **error)
{
    GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &a->from, "start (ISO date or date-time)", "T"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &a->to, "end, exclusive", "T"},
        {"period", 0, 0, G_OPTION_ARG_STRING, &a->period, "a named period instead", "P"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &a->format, "formats, comma-separated", "F"},
        {"output", 0, 0, G_OPTION_ARG_STRING, &a->output, "absolute output directory", "DIR"},
        {NULL},
    };
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        *error = g_strdup("usage: export (--from T --to T | --period P) [--format F[,F]] "
                          "[--output DIR]");
        return FALSE;
    }
    GOptionContext *context = g_option_context_new(NULL);
    g_option_context_set_help_enabled(context, FALSE);
    g_option_context_add_main_entries(context, entries, NULL);
    /* "export" plays the program name; argv need not end in NULL. */
    char **args = g_new0(char *, (size_t)argc);
    for (int i = 1; i < argc; i++)
        args[i - 1] = g_strdup(argv[i]);
    GError *gerror = NULL;
    gboolean ok = g_option_context_parse_strv(context, &args, &gerror);
    if (ok && g_strv_length(args) > 1) {
        *error = g_strdup_printf("unexpected argument \"%s\"", args[1]);
        ok = FALSE;
    } else if (!ok) {
        *error = g_strdup(gerror->message);
        g_error_free(gerror);
    }
    g_strfreev(args);
    g_option_context_free(context);
    return ok;
}

static gboolean export_range(ax_plugin *p, const export_args *a, int64_t *from, int64_t *to,
                             char **error)
{
    if (a->period != NULL && (a->from != NULL || a->to != NULL)) {
        *error = g_strdup("give either --period or --from and --to");
        return FALSE;
    }
    if (a->period != NULL) {
        int period = ax_period_parse(a->period);
        if (period < 0) {
            *error = g_strdup_printf("unknown period \"%s\" (%s)", a->period, ax_period_names());
            return FALSE;
        }
        ax_period_range(period, g_get_real_time() / 1000, p->tz, from, to);
        return TRUE;
    }
    if (!ax_parse_time(a->from, p->tz, from) || !ax_parse_time(a->to, p->tz, to)) {
        *error = g_strdup("--from and --to take a date (2024-03-01) or a date-time "
                          "(2024-03-01T08:00, with an optional Z or +01:00)");
        return FALSE;
    }
    if (*to <= *from) {
        *error = g_strdup("--to must be after --from");
        return FALSE;
    }
    return TRUE;
}

static gboolean export_target(ax_plugin *p, const export_args *a, unsigned *formats,
                              const char **dir, char **error)
{
    *formats = p->formats;
    if (a->format != NULL) {
        char **names = g_strsplit(a->format, ",", -1);
        const char *bad = NULL;
        *formats = ax_formats_parse((const char *const *)names, &bad);
        if (*formats == 0)
            *error =
                g_strdup_printf("unknown format \"%s\" (csv, xml, json, html, prometheus)", bad);
        g_strfreev(names);
        if (*formats == 0)
            return FALSE;
    }
    *dir = a->output != NULL ? a->output : p->directory;
    if (*dir == NULL || !g_path_is_absolute(*dir)) {
        *error = g_strdup("--output must be an absolute directory (no \"directory\" is "
                          "configured)");
        return FALSE;
    }
    return TRUE;
}

/* Builds the job a command asks for; NULL with `*error`. */
static ax_job *command_job(ax_plugin *p, int argc, const char *const *argv, char **error)
{
    export_args a = {0};
    int64_t from = 0, to = 0;
    unsigned formats = 0;
    const char *dir = NULL;
    ax_job *job = NULL;
    if (parse_export(argc, argv, &a, error) && export_range(p, &a, &from, &to, error) &&
        export_target(p, &a, &formats, &dir, error))
        job = job_new(p, from, to, formats, dir, error);
    export_args_clear(&a);
    return job;
}

static int command(int argc, const char *const *argv, ucd_reply *reply, void *data)
{
    ax_plugin *p = data;
    if (!UCD_HOST_HAS(p->host, reply_complete)) {
        p->host->reply_error(reply, "this ucd core is too old: exports need deferred replies "
                                    "(SDK ABI 1.3)");
        return UCD_E_UNSUPPORTED;
    }
    if (p->jobs >= MAX_JOBS) {
        p->host->reply_error(reply, "%u exports are running; try again later", p->jobs);
        return UCD_E_BUSY;
    }
    char *error = NULL;
    ax_job *job = command_job(p, argc, argv, &error);
    if (job == NULL) {
        p->host->log(p->self, UCD_LOG_DEBUG, "%s refused: %s", p->name, error);
        p->host->reply_error(reply, "%s", error);
        g_free(error);
        return UCD_E_INVALID;
    }
    job->reply = reply;
    p->jobs++;
    p->host->reply_defer(reply);
    p->host->work_submit(p->self, job_work, command_done, job);
    return UCD_OK;
}

/* ---- the exporter service ---- */

/* In ax_format order, so that a name's index is its ax_format. */
static const char *const format_names[] = {"csv", "xml", "json", "html", "prometheus", NULL};

/* Every file holds every breakdown, so each grouping asked for is in it. */
static const char *const group_by_names[] = {"user", "group", "line", "tag", "direction", NULL};

static const char *const *exporter_formats(void *impl)
{
    return format_names;
}

static void export_done(void *data)
{
    ax_job *job = data;
    ax_plugin *p = job->plugin;
    log_outcome(p, job);
    p->jobs--;
    if (job->error != NULL)
        job->done(UCD_FAIL, job->error, job->done_data);
    else
        job->done(UCD_OK, g_ptr_array_index(job->files, 0), job->done_data);
    job_free(job);
}

/* The command's job with one format, answered through `done` instead of a
 * reply: the same journal reading, report and atomic file write. */
static int exporter_export_now(void *impl, const ucd_export_request *request,
                               ucd_export_done_cb done, void *user_data)
{
    ax_plugin *p = impl;
    if (request == NULL || done == NULL || request->format == NULL ||
        request->struct_size < offsetof(ucd_export_request, output_dir) + sizeof(char *))
        return UCD_E_INVALID;
    int format = ax_format_parse(request->format);
    if (format < 0)
        return UCD_E_UNSUPPORTED;
    if (request->to_ms <= request->from_ms ||
        (request->group_by != NULL && !g_strv_contains(group_by_names, request->group_by)))
        return UCD_E_INVALID;
    const char *dir = request->output_dir != NULL ? request->output_dir : p->directory;
    gboolean to_prometheus_dir = format == AX_FORMAT_PROMETHEUS && p->prometheus_dir != NULL;
    if (dir != NULL ? !g_path_is_absolute(dir) : !to_prometheus_dir)
        return UCD_E_INVALID;
    if (p->jobs >= MAX_JOBS)
        return UCD_E_BUSY;
    char *error = NULL;
    ax_job *job = job_new(p, request->from_ms, request->to_ms, 1u << format, dir, &error);
    if (job == NULL) {
        p->host->log(p->self, UCD_LOG_WARNING, "export_now: %s", error);
        g_free(error);
        return UCD_E_UNAVAILABLE;
    }
    job->done = done;
    job->done_data = user_data;
    p->jobs++;
    p->host->work_submit(p->self, job_work, export_done, job);
    return UCD_OK;
}

static const ucd_exporter_v1 exporter_iface = {
    .struct_size = sizeof(ucd_exporter_v1),
    .formats = exporter_formats,
    .export_now = exporter_export_now,
};

/* ---- the schedule ---- */

static void arm_timer(ax_plugin *p, int64_t after_ms);

static void scheduled_done(void *data)
{
    ax_job *job = data;
    ax_plugin *p = job->plugin;
    log_outcome(p, job);
    p->jobs--;
    p->scheduled_running = FALSE;
    job_free(job);
}

/* Runs the export due at `planned_ms`, for the period as seen then (a late
 * run still reports the period it was meant for). */
static void run_scheduled(ax_plugin *p, int64_t planned_ms)
{
    if (p->scheduled_running) {
        p->host->log(p->self, UCD_LOG_WARNING,
                     "the previous scheduled export still runs: skipping this one");
        return;
    }
    int64_t from, to;
    char *error = NULL;
    ax_period_range(p->period, planned_ms, p->tz, &from, &to);
    ax_job *job =
        job_new(p, from, to, p->formats | (p->prometheus_dir ? 1u << AX_FORMAT_PROMETHEUS : 0),
                p->directory, &error);
    if (job == NULL) {
        p->host->counter_add(p->failures, 1);
        p->host->log(p->self, UCD_LOG_ERROR, "scheduled export: %s", error);
        g_free(error);
        return;
    }
    job->planned_ms = planned_ms;
    job->state_dir = g_strdup(p->host->state_dir(p->self));
    p->jobs++;
    p->scheduled_running = TRUE;
    p->host->work_submit(p->self, job_work, scheduled_done, job);
}

static void timer_fired(void *data)
{
    ax_plugin *p = data;
    p->timer = NULL; /* one-shot: gone already */
    int64_t planned = p->planned_ms;
    run_scheduled(p, planned);
    int64_t now = g_get_real_time() / 1000;
    arm_timer(p, MAX(planned, now));
}

static void arm_timer(ax_plugin *p, int64_t after_ms)
{
    int64_t next = ax_schedule_next(p->schedule, after_ms, p->tz);
    if (next < 0) {
        p->host->log(p->self, UCD_LOG_WARNING, "the schedule never matches: no scheduled exports");
        return;
    }
    int64_t now = g_get_real_time() / 1000;
    p->planned_ms = next;
    p->timer = p->host->timer_add(p->self, (uint64_t)MAX(next - now, 0), 0, timer_fired, p);
}

/* The due time of the last scheduled run, from the state directory; -1 if none. */
static int64_t last_run(ax_plugin *p)
{
    const char *dir = p->host->state_dir(p->self);
    char *path = dir ? g_build_filename(dir, LAST_RUN_FILE, NULL) : NULL, *text = NULL;
    gint64 ms = -1;
    if (path != NULL && g_file_get_contents(path, &text, NULL, NULL))
        g_ascii_string_to_signed(g_strstrip(text), 10, 0, G_MAXINT64, &ms, NULL);
    g_free(text);
    g_free(path);
    return ms;
}

/* Missed runs while ucd was down: only the most recent one is run, once. An
 * export is a summary of a period: ten missed daily exports would all be
 * written at once, and the periods before the last are still available on
 * demand with the command. */
static void catch_up(ax_plugin *p, int64_t now)
{
    int64_t last = last_run(p);
    if (!p->catch_up || last < 0)
        return;
    int64_t due = -1;
    for (int64_t t = ax_schedule_next(p->schedule, last, p->tz); t >= 0 && t <= now;
         t = ax_schedule_next(p->schedule, t, p->tz))
        due = t;
    if (due >= 0) {
        p->host->log(p->self, UCD_LOG_NOTICE,
                     "running the scheduled export missed while ucd "
                     "was down");
        run_scheduled(p, due);
    }
}

/* ---- life cycle ---- */

static void plugin_free(ax_plugin *p)
{
    ax_schedule_free(p->schedule);
    if (p->tz != NULL)
        g_time_zone_unref(p->tz);
    g_free(p->name);
    g_free(p);
}

static int plugin_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    ax_plugin *p = g_new0(ax_plugin, 1);
    p->self = self;
    p->host = host;
    const char *instance = host->instance(self);
    p->name = instance ? g_strconcat("analytics-", instance, NULL) : g_strdup("analytics");
    int rc = read_config(p);
    if (rc == UCD_OK)
        rc = host->command_register(self, p->name,
                                    "export (--from T --to T | --period P) [--format F[,F]] "
                                    "[--output DIR]",
                                    "export call KPIs from the journal", command, p);
    if (rc == UCD_OK)
        rc = host->service_register(self, UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, &exporter_iface,
                                    p);
    if (rc != UCD_OK) {
        if (rc != UCD_FAIL)
            host->set_error(self, "cannot register the command %s or the exporter service: %s",
                            p->name, ucd_strerror(rc));
        plugin_free(p);
        return UCD_FAIL;
    }
    p->exports = host->counter_new(self, "exports", UCD_COUNTER_MONOTONIC, "reports exported");
    p->failures =
        host->counter_new(self, "export_failures", UCD_COUNTER_MONOTONIC, "exports that failed");
    p->skipped = host->counter_new(self, "records_skipped", UCD_COUNTER_MONOTONIC,
                                   "implausible journal records left out of reports");
    *state = p;
    return UCD_OK;
}

static int plugin_start(void *state)
{
    ax_plugin *p = state;
    if (p->schedule == NULL)
        return UCD_OK;
    int64_t now = g_get_real_time() / 1000;
    catch_up(p, now);
    arm_timer(p, now);
    return UCD_OK;
}

static void plugin_stop(void *state)
{
    ax_plugin *p = state;
    if (p->timer != NULL)
        p->host->timer_remove(p->self, p->timer);
    p->timer = NULL;
}

static void plugin_fini(void *state)
{
    plugin_free(state);
}

UCD_PLUGIN_DEFINE(.name = "analytics-export", .version = "1.0.0", .license = "MIT",
                  .description = "call KPIs from the journal as CSV, XML, JSON, HTML and "
                                 "Prometheus, scheduled or on demand",
                  .provides = provides, .requires = requires, .uses = uses, .config_keys = keys,
                  .init = plugin_init, .start = plugin_start, .stop = plugin_stop,
                  .fini = plugin_fini);
