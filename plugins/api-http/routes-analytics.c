/*
 * routes-analytics.c - GET /analytics/kpis: the call-centre KPIs of a
 * period as the exporter service (ucd/exporter.h; analytics-export provides
 * it) writes them in its JSON format.
 *
 * The exporter writes files, so the route asks it for one "json" export
 * into a directory of its own (mode 0700 under the module's state
 * directory, one per request), reads the file, deletes the directory and
 * serves the document. For an admin or an API key with analytics:read the
 * document is served as the exporter wrote it, the very document `ucctl
 * analytics export --format json` writes for the same period. A leader gets
 * the rows of their own: the user rows of the members of the groups they
 * lead (those they see at BUSINESS, as in the journal), the rows of those
 * groups and of those members' lines; every company-wide part (the totals,
 * the previous period, the change, the direction, tag and time breakdowns,
 * the heat map, the skipped records) is left out, since it counts everyone's
 * calls. Reading and deleting run in a work item.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include <ucd/directory.h>
#include <ucd/exporter.h>

#include "api-pending.h"
#include "api-router.h"
#include "api-routes.h"
#include "routes-journal.h"

static const char *const group_by_words[] = {"user", "group", "line", "tag", "direction", NULL};
/* The breakdowns a leader keeps, each filtered to their own keys. */
static const char *const leader_breakdowns[] = {"user", "group", "line", NULL};

/* One request's export. The exporter may call back after api-http stopped
 * (an export running at shutdown): the call and the context come from
 * `pending`, NULL then, and only the directory is cleaned up. */
typedef struct kpi_job {
    api_pending *pending;
    char *dir;  /* the request's own directory */
    char *path; /* the file the exporter wrote */
    /* A leader's keys (sets); NULL for everyone's document. */
    GHashTable *users, *groups, *lines;
    /* Filled by the work item. */
    JsonNode *document;
    char *error;
} kpi_job;

/* Deletes the request's directory and whatever the exporter left in it. */
static void remove_dir(const char *dir)
{
    GDir *d = dir ? g_dir_open(dir, 0, NULL) : NULL;
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
        g_free(path);
    }
    if (d)
        g_dir_close(d);
    if (dir)
        g_rmdir(dir);
}

static void kpi_job_free(kpi_job *job)
{
    if (job->pending)
        api_pending_end(job->pending);
    g_free(job->dir);
    g_free(job->path);
    if (job->users)
        g_hash_table_unref(job->users);
    if (job->groups)
        g_hash_table_unref(job->groups);
    if (job->lines)
        g_hash_table_unref(job->lines);
    if (job->document)
        json_node_unref(job->document);
    g_free(job->error);
    g_free(job);
}

/* ---- a leader's rows ---- */

static int add_user_lines(const ucd_directory_user *u, void *data)
{
    GHashTable *lines = data;
    for (const char *const *l = u->lines; l && *l; l++) {
        const char *slash = strchr(*l, '/');
        g_hash_table_add(lines, g_strdup(*l));
        if (slash)
            g_hash_table_add(lines, g_strdup(slash + 1));
    }
    return 1;
}

/* The report's line rows are keyed by the line as the driver reports it
 * (the address), the directory's lines are DRIVER/ADDRESS: both are kept. */
static GHashTable *lines_of(api_ctx *ctx, GHashTable *users)
{
    GHashTable *lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTableIter it;
    gpointer user;
    g_hash_table_iter_init(&it, users);
    while (g_hash_table_iter_next(&it, &user, NULL))
        ctx->dir->get_user(ctx->dir_impl, user, add_user_lines, lines);
    return lines;
}

static JsonArray *rows_with_keys(JsonArray *rows, GHashTable *keys)
{
    JsonArray *kept = json_array_new();
    for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
        JsonNode *row = json_array_get_element(rows, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(row) ? json_node_get_object(row) : NULL;
        const char *key =
            o && json_object_has_member(o, "key") ? json_object_get_string_member(o, "key") : NULL;
        if (key && g_hash_table_contains(keys, key))
            json_array_add_element(kept, json_node_copy(row));
    }
    return kept;
}

/* A leader's part of the document (see the top of the file). */
static JsonNode *leader_document(JsonObject *full, kpi_job *job)
{
    static const char *const kept_members[] = {
        "report", "from", "to", "timezone", "service_level_seconds", NULL};
    JsonObject *out = json_object_new();
    for (const char *const *m = kept_members; *m; m++) {
        JsonNode *n = json_object_get_member(full, *m);
        if (n)
            json_object_set_member(out, *m, json_node_copy(n));
    }
    json_object_set_string_member(out, "scope", "own_groups");
    JsonNode *bd = json_object_get_member(full, "breakdowns");
    JsonObject *breakdowns = bd && JSON_NODE_HOLDS_OBJECT(bd) ? json_node_get_object(bd) : NULL;
    JsonObject *kept = json_object_new();
    GHashTable *keys[] = {job->users, job->groups, job->lines};
    for (guint i = 0; leader_breakdowns[i]; i++) {
        JsonNode *rows =
            breakdowns ? json_object_get_member(breakdowns, leader_breakdowns[i]) : NULL;
        json_object_set_array_member(
            kept, leader_breakdowns[i],
            rows_with_keys(rows && JSON_NODE_HOLDS_ARRAY(rows) ? json_node_get_array(rows) : NULL,
                           keys[i]));
    }
    json_object_set_object_member(out, "breakdowns", kept);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, out);
    return node;
}

/* ---- reading the file ---- */

static void read_work(void *data)
{
    kpi_job *job = data;
    JsonParser *parser = json_parser_new();
    GError *error = NULL;
    if (!json_parser_load_from_file(parser, job->path, &error)) {
        job->error = g_strdup_printf("the exporter's file cannot be read: %s", error->message);
        g_error_free(error);
    } else if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        job->error = g_strdup("the exporter's file is not a JSON object");
    } else if (job->users) {
        job->document = leader_document(json_node_get_object(json_parser_get_root(parser)), job);
    } else {
        job->document = json_node_copy(json_parser_get_root(parser));
    }
    g_object_unref(parser);
    remove_dir(job->dir);
}

static void read_done(void *data)
{
    kpi_job *job = data;
    api_call *call = api_pending_call(job->pending);
    if (call && job->error)
        api_call_error(call, 500, API_ERR_INTERNAL, "%s", job->error);
    else if (call)
        api_call_respond(call, 200, g_steal_pointer(&job->document));
    kpi_job_free(job);
}

static void on_export_done(int result, const char *path_or_message, void *user_data)
{
    kpi_job *job = user_data;
    api_call *call = api_pending_call(job->pending);
    api_ctx *ctx = api_pending_ctx(job->pending);
    if (call == NULL) { /* api-http stopped meanwhile */
        remove_dir(job->dir);
        kpi_job_free(job);
        return;
    }
    if (result != UCD_OK) {
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "the export failed: %s",
                       path_or_message ? path_or_message : ucd_strerror(result));
        remove_dir(job->dir);
        kpi_job_free(job);
        return;
    }
    job->path = g_strdup(path_or_message);
    if (ctx->host->work_submit(ctx->self, read_work, read_done, job) != UCD_OK) {
        remove_dir(job->dir);
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "api-http is stopping");
        kpi_job_free(job);
    }
}

/* ---- the route ---- */

/* from, to (both required) and group_by; FALSE after answering. */
static gboolean read_request(api_call *call, ucd_export_request *request)
{
    const char *from = api_call_query(call, "from");
    const char *to = api_call_query(call, "to");
    const char *group_by = api_call_query(call, "group_by");
    if (from == NULL || to == NULL) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "from and to are required: the period [from, to), each %s",
                       JOURNAL_TIME_FORMS);
        return FALSE;
    }
    if (!journal_parse_time(from, &request->from_ms)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "from: '%s' is not %s", from,
                       JOURNAL_TIME_FORMS);
        return FALSE;
    }
    if (!journal_parse_time(to, &request->to_ms)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "to: '%s' is not %s", to,
                       JOURNAL_TIME_FORMS);
        return FALSE;
    }
    if (request->to_ms <= request->from_ms) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "to must be after from");
        return FALSE;
    }
    if (group_by && !g_strv_contains(group_by_words, group_by)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "group_by: one of user, group, line, tag, direction");
        return FALSE;
    }
    request->group_by = group_by;
    return TRUE;
}

/* The exporter's refusal as an answer. */
static void refused(api_call *call, int rc)
{
    switch (rc) {
    case UCD_E_BUSY:
        api_call_error(call, 503, API_ERR_UNAVAILABLE,
                       "the exporter runs as many exports as it may; try again shortly");
        break;
    case UCD_E_UNAVAILABLE:
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "the exporter's journal does not run");
        break;
    case UCD_E_UNSUPPORTED:
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "the exporter does not write JSON");
        break;
    default:
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "the exporter refused the period");
        break;
    }
}

static void get_kpis(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    ucd_export_request request = {.struct_size = sizeof request, .format = "json"};
    if (!read_request(call, &request))
        return;
    ucd_service s = {.struct_size = sizeof s};
    if (ctx->host->service_get(ctx->self, UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, NULL, &s) !=
        UCD_OK) {
        api_call_error(call, 503, API_ERR_UNAVAILABLE,
                       "no analytics exporter runs (the analytics-export module)");
        return;
    }
    kpi_job *job = g_new0(kpi_job, 1);
    char *template = g_build_filename(ctx->host->state_dir(ctx->self), "kpis-XXXXXX", NULL);
    job->dir = g_mkdtemp_full(template, 0700);
    if (job->dir == NULL) {
        api_call_error(call, 500, API_ERR_INTERNAL, "cannot make a directory for the export: %s",
                       g_strerror(errno));
        g_free(template);
        kpi_job_free(job);
        return;
    }
    const api_principal *who = api_call_principal(call);
    if (who->user_id && who->role < UCD_HTTP_ROLE_ADMIN) {
        job->users = journal_leader_visible(call, who->user_id);
        job->groups = journal_leader_groups(ctx, who->user_id);
        job->lines = lines_of(ctx, job->users);
    }
    request.output_dir = job->dir;
    const ucd_exporter_v1 *exporter = s.iface;
    job->pending = api_pending_start(ctx, call);
    int rc = exporter->export_now(s.impl, &request, on_export_done, job);
    if (rc != UCD_OK) {
        refused(call, rc);
        remove_dir(job->dir);
        kpi_job_free(job);
    }
}

static const api_route_def analytics_routes[] = {
    {"GET", "/analytics/kpis", UCD_HTTP_ROLE_LEADER, "analytics:read",
     "{\"summary\":\"Call-centre KPIs of a period\",\"description\":\"The analytics exporter's "
     "JSON report (plugins/analytics-export/README.md defines every KPI) for [from, to): "
     "report, from, to, timezone, service_level_seconds, total, previous, change, "
     "breakdowns.{direction,user,group,line,tag,hour,day,week,month}, heatmap, skipped. An "
     "admin or an API key with analytics:read gets the whole document, the same as `ucctl "
     "analytics export --format json` writes. A leader gets scope \\\"own_groups\\\" and only "
     "breakdowns.user, .group and .line, each with the rows of the groups they lead (members "
     "seen at BUSINESS or more); every company-wide part is left out.\",\"parameters\":["
     "{\"name\":\"from\",\"in\":\"query\",\"required\":true,\"description\":\"period start "
     "(inclusive): ISO 8601 (UTC unless an offset is given), a date (midnight UTC) or "
     "milliseconds since 1970\",\"schema\":{\"type\":\"string\"}},{\"name\":\"to\",\"in\":"
     "\"query\",\"required\":true,\"description\":\"period end (exclusive), as from\","
     "\"schema\":{\"type\":\"string\"}},{\"name\":\"group_by\",\"in\":\"query\","
     "\"description\":\"the breakdown wanted; the report holds every one anyway\",\"schema\":"
     "{\"enum\":[\"user\",\"group\",\"line\",\"tag\",\"direction\"]}}],\"responses\":{\"200\":"
     "{\"description\":\"the report\",\"content\":{\"application/json\":{\"schema\":{\"type\":"
     "\"object\",\"properties\":{\"report\":{\"type\":\"string\"},\"from\":{\"type\":"
     "\"string\"},\"to\":{\"type\":\"string\"},\"scope\":{\"const\":\"own_groups\"},\"total\":"
     "{\"type\":\"object\"},\"breakdowns\":{\"type\":\"object\"}}}}}},\"400\":{\"description\":"
     "\"a bad period or group_by\"},\"503\":{\"description\":\"no exporter runs, or it is "
     "busy\"}}}",
     get_kpis},
};

gboolean api_routes_analytics_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, analytics_routes, G_N_ELEMENTS(analytics_routes), ctx, NULL, error);
}
