/*
 * routes-admin.c - the administrator's routes (role ADMIN, no API key):
 * modules, reload, log levels, the support bundle and the counters.
 *
 * Each runs the very control command ucctl runs, through the core's control
 * service (ucd/control.h), so the API and the console can never disagree:
 * the answer is what `ucctl --json COMMAND` prints, turned into the API's
 * shapes. The service hands over the control socket's reply,
 *   {"ok":true,"columns":[...],"rows":[[...]],"fields":[{"name","value"}],"text":...}
 * and ucctl prints a table as an array of row objects (every value a
 * string), fields and text as one object; here a table becomes a list
 * {"items": [row objects], "total": N, "next": null} (with the fields and
 * text beside it when the command gave both), anything else the object.
 */
#include <string.h>

#include "api-pending.h"
#include "api-router.h"
#include "api-routes.h"

/* What to do with a command's successful reply. */
typedef void (*admin_answer_fn)(api_call *call, JsonObject *reply, gpointer data);

/* A command on its way. The control service answers after run() returned,
 * maybe after api-http stopped (a reload that restarts it): the call and
 * the context come from `pending`, NULL then. */
typedef struct admin_job {
    api_call *call; /* until run_command hands it to `pending` */
    api_ctx *ctx;
    api_pending *pending;
    admin_answer_fn answer;
    char *module; /* PUT /admin/log/levels */
    char *level;
} admin_job;

static void admin_job_free(admin_job *job)
{
    g_free(job->module);
    g_free(job->level);
    g_free(job);
}

static const char *member_text(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : NULL;
}

static JsonArray *member_list(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* The value of a reply's field `name`, NULL when it has none. */
static const char *reply_field(JsonObject *reply, const char *name)
{
    JsonArray *fields = member_list(reply, "fields");
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonNode *f = json_array_get_element(fields, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(f) ? json_node_get_object(f) : NULL;
        const char *field = member_text(o, "name");
        if (field && strcmp(field, name) == 0)
            return member_text(o, "value");
    }
    return NULL;
}

/* The table's rows as objects keyed by column, as ucctl --json prints them. */
static JsonArray *row_objects(JsonArray *columns, JsonArray *rows)
{
    JsonArray *items = json_array_new();
    for (guint r = 0; rows && r < json_array_get_length(rows); r++) {
        JsonNode *row = json_array_get_element(rows, r);
        JsonArray *cells = JSON_NODE_HOLDS_ARRAY(row) ? json_node_get_array(row) : NULL;
        JsonObject *item = json_object_new();
        for (guint c = 0; c < json_array_get_length(columns); c++) {
            const char *value = cells && c < json_array_get_length(cells)
                                    ? json_array_get_string_element(cells, c)
                                    : NULL;
            json_object_set_string_member(item, json_array_get_string_element(columns, c),
                                          value ? value : "");
        }
        json_array_add_object_element(items, item);
    }
    return items;
}

/* The reply in the API's shape (see the top of the file). */
static void answer_reply(api_call *call, JsonObject *reply, gpointer data)
{
    JsonObject *out = json_object_new();
    JsonArray *fields = member_list(reply, "fields");
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonNode *f = json_array_get_element(fields, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(f) ? json_node_get_object(f) : NULL;
        const char *name = member_text(o, "name");
        const char *value = member_text(o, "value");
        if (name)
            json_object_set_string_member(out, name, value ? value : "");
    }
    if (member_text(reply, "text"))
        json_object_set_string_member(out, "text", member_text(reply, "text"));
    JsonArray *columns = member_list(reply, "columns");
    if (columns && json_array_get_length(columns) > 0) {
        JsonArray *items = row_objects(columns, member_list(reply, "rows"));
        json_object_set_int_member(out, "total", json_array_get_length(items));
        json_object_set_array_member(out, "items", items);
        json_object_set_null_member(out, "next");
    }
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, out);
    api_call_respond(call, 200, node);
}

static void on_control_done(int result, const char *json, void *user_data)
{
    admin_job *job = user_data;
    api_pending *pending = job->pending;
    job->call = api_pending_call(pending);
    job->ctx = api_pending_ctx(pending);
    if (job->call == NULL) { /* api-http stopped meanwhile */
        api_pending_end(pending);
        admin_job_free(job);
        return;
    }
    JsonParser *parser = json_parser_new();
    JsonObject *reply = NULL;
    if (json && json_parser_load_from_data(parser, json, -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
        reply = json_node_get_object(json_parser_get_root(parser));
    if (reply == NULL)
        api_call_error(job->call, 500, API_ERR_INTERNAL,
                       "the control service's answer is not JSON");
    else if (result != UCD_OK)
        api_call_error_ucd(job->call, result, member_text(reply, "error"));
    else
        job->answer(job->call, reply, job);
    g_object_unref(parser);
    api_pending_end(pending);
    admin_job_free(job);
}

/* Runs `argv` as the caller; `answer` gets the reply of a command that
 * succeeded, errors answer themselves. Takes `job`. The call stays
 * deferred until the answer (a command chained after another keeps the
 * deferral of the first). */
static void run_command(admin_job *job, int argc, const char *const *argv)
{
    const api_principal *who = api_call_principal(job->call);
    char *actor = g_strdup_printf("api-http: admin %s", who->login ? who->login : who->user_id);
    job->pending = api_pending_start(job->ctx, job->call);
    int rc =
        job->ctx->control->run(job->ctx->control_impl, actor, argc, argv, on_control_done, job);
    g_free(actor);
    if (rc != UCD_OK) {
        api_call_error_ucd(job->call, rc == UCD_E_NOT_FOUND ? UCD_E_UNAVAILABLE : rc,
                           rc == UCD_E_NOT_FOUND ? "this ucd core does not have that command"
                                                 : NULL);
        api_pending_end(job->pending);
        admin_job_free(job);
    }
}

static admin_job *job_new(api_call *call, gpointer data, admin_answer_fn answer)
{
    admin_job *job = g_new0(admin_job, 1);
    job->call = call;
    job->ctx = data;
    job->answer = answer;
    return job;
}

/* A handler that runs one fixed command. */
#define FIXED_COMMAND(handler, ...)                                                                \
    static void handler(api_call *call, gpointer data)                                             \
    {                                                                                              \
        static const char *const argv[] = {__VA_ARGS__};                                           \
        run_command(job_new(call, data, answer_reply), G_N_ELEMENTS(argv), argv);                  \
    }

FIXED_COMMAND(get_modules, "modules")
FIXED_COMMAND(get_log_levels, "log", "level")
FIXED_COMMAND(get_counters, "counters")

/* POST /admin/reload, body optional: {"force": true} reloads also a
 * configuration that enables no module while modules run. */
static void post_reload(api_call *call, gpointer data)
{
    static const char *const allowed[] = {"force", NULL};
    gboolean force = FALSE;
    GBytes *body = api_call_body(call);
    gsize size = body ? g_bytes_get_size(body) : 0;
    g_clear_pointer(&body, g_bytes_unref);
    if (size > 0) {
        JsonObject *o = api_call_json_object(call, allowed);
        if (o == NULL)
            return;
        JsonNode *f = json_object_get_member(o, "force");
        if (f && (!JSON_NODE_HOLDS_VALUE(f) || json_node_get_value_type(f) != G_TYPE_BOOLEAN)) {
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "force: true or false");
            return;
        }
        force = f && json_node_get_boolean(f);
    }
    const char *argv[] = {"reload", "--force"};
    run_command(job_new(call, data, answer_reply), force ? 2 : 1, argv);
}

/* ---- log levels ---- */

static const char *const level_words[] = {"error", "warning", "notice", "info", "debug", NULL};

static void answer_level_set(api_call *call, JsonObject *reply, gpointer data)
{
    admin_job *job = data;
    JsonObject *out = json_object_new();
    json_object_set_string_member(out, "module", job->module ? job->module : "(default)");
    json_object_set_string_member(out, "level", job->level);
    if (member_text(reply, "text"))
        json_object_set_string_member(out, "text", member_text(reply, "text"));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, out);
    api_call_respond(call, 200, node);
}

/* The module must be one `log level` lists (the core sets a level for any
 * name; a typo would change nothing and say it did). */
static void set_level_if_known(api_call *call, JsonObject *reply, gpointer data)
{
    admin_job *levels = data;
    JsonArray *rows = member_list(reply, "rows");
    gboolean known = FALSE;
    for (guint r = 0; rows && r < json_array_get_length(rows) && !known; r++) {
        JsonNode *row = json_array_get_element(rows, r);
        if (JSON_NODE_HOLDS_ARRAY(row) && json_array_get_length(json_node_get_array(row)) > 0)
            known = g_strcmp0(json_array_get_string_element(json_node_get_array(row), 0),
                              levels->module) == 0;
    }
    if (!known) {
        api_call_error(call, 404, API_ERR_NOT_FOUND,
                       "module: no module '%s' (GET /admin/log/levels lists them)", levels->module);
        return;
    }
    admin_job *job = job_new(call, levels->ctx, answer_level_set);
    job->module = g_strdup(levels->module);
    job->level = g_strdup(levels->level);
    const char *argv[] = {"log", "level", job->module, job->level};
    run_command(job, G_N_ELEMENTS(argv), argv);
}

/* PUT /admin/log/levels {"module": M, "level": L}; without module the
 * level of every module that has none of its own. */
static void put_log_level(api_call *call, gpointer data)
{
    static const char *const allowed[] = {"module", "level", NULL};
    JsonObject *o = api_call_json_object(call, allowed);
    if (o == NULL)
        return;
    JsonNode *m = json_object_get_member(o, "module");
    JsonNode *l = json_object_get_member(o, "level");
    const char *module = NULL, *level = NULL;
    if (m && !JSON_NODE_HOLDS_NULL(m)) {
        module = JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_STRING
                     ? json_node_get_string(m)
                     : "";
        if (!*module) {
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                           "module: a module id (\"pbx-sim\"), or leave it out for the default");
            return;
        }
    }
    if (l && JSON_NODE_HOLDS_VALUE(l) && json_node_get_value_type(l) == G_TYPE_STRING)
        level = json_node_get_string(l);
    if (level == NULL || !g_strv_contains(level_words, level)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "level: one of error, warning, notice, info, debug");
        return;
    }
    if (module == NULL) {
        admin_job *job = job_new(call, data, answer_level_set);
        job->level = g_strdup(level);
        const char *argv[] = {"log", "level", level};
        run_command(job, G_N_ELEMENTS(argv), argv);
        return;
    }
    admin_job *job = job_new(call, data, set_level_if_known);
    job->module = g_strdup(module);
    job->level = g_strdup(level);
    static const char *const list[] = {"log", "level"};
    run_command(job, G_N_ELEMENTS(list), list);
}

/* ---- the support bundle ---- */

/* The text `ucctl log export FILE` saves: the reply's "bundle" field. */
static void answer_bundle(api_call *call, JsonObject *reply, gpointer data)
{
    const char *bundle = reply_field(reply, "bundle");
    if (bundle == NULL) {
        api_call_error(call, 500, API_ERR_INTERNAL, "log export gave no bundle");
        return;
    }
    GDateTime *now = g_date_time_new_now_utc();
    char *name = g_date_time_format(now, "ucd-support-%Y%m%d-%H%M%SZ.txt");
    g_date_time_unref(now);
    api_call_respond_file(call, "text/plain; charset=utf-8", g_bytes_new(bundle, strlen(bundle)),
                          name);
    g_free(name);
}

static void get_bundle(api_call *call, gpointer data)
{
    static const char *const argv[] = {"log", "export"};
    run_command(job_new(call, data, answer_bundle), G_N_ELEMENTS(argv), argv);
}

/* ---- the routes ---- */

#define TABLE_RESPONSE(what)                                                                       \
    "\"responses\":{\"200\":{\"description\":\"" what ": the rows `ucctl --json` prints, as "      \
    "items (every value a string)\",\"content\":{\"application/json\":{\"schema\":{\"type\":"      \
    "\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","     \
    "\"additionalProperties\":{\"type\":\"string\"}}},\"total\":{\"type\":\"integer\"},"           \
    "\"next\":{\"type\":\"null\"}}}}}}}"

static const api_route_def admin_routes[] = {
    {"GET", "/admin/modules", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Every module (ucctl modules)\",\"description\":\"id, version, host "
     "interface, state, services and last error of each module, as `ucctl --json modules` "
     "prints them.\"," TABLE_RESPONSE("the modules") "}",
     get_modules},
    {"POST", "/admin/reload", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Re-read the configuration (ucctl reload)\",\"description\":\"Refused "
     "(400) when the configuration on disk has errors, or enables no module while modules run "
     "unless force is true. The answer is the command's text.\",\"requestBody\":{\"required\":"
     "false,\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\","
     "\"additionalProperties\":false,\"properties\":{\"force\":{\"type\":\"boolean\"}}}}}},"
     "\"responses\":{\"200\":{\"description\":\"reloaded\",\"content\":{\"application/json\":{"
     "\"schema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}}}},"
     "\"400\":{\"description\":\"the configuration was refused\"}}}",
     post_reload},
    {"GET", "/admin/log/levels", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Log levels (ucctl log level)\",\"description\":\"The default level "
     "(module \\\"(default)\\\"), the core's and each module's.\"," TABLE_RESPONSE(
         "module and level") "}",
     get_log_levels},
    {"PUT", "/admin/log/levels", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Change a log level (ucctl log level MODULE LEVEL)\",\"description\":"
     "\"Without module: the level of every module that has none of its own. Takes effect at "
     "once; not saved in the configuration.\",\"requestBody\":{\"required\":true,\"content\":{"
     "\"application/json\":{\"schema\":{\"type\":\"object\",\"additionalProperties\":false,"
     "\"required\":[\"level\"],\"properties\":{\"module\":{\"type\":\"string\",\"example\":"
     "\"pbx-sim\"},\"level\":{\"enum\":[\"error\",\"warning\",\"notice\",\"info\",\"debug\"]}}}"
     "}}},\"responses\":{\"200\":{\"description\":\"changed\",\"content\":{\"application/json\":"
     "{\"schema\":{\"type\":\"object\",\"properties\":{\"module\":{\"type\":\"string\"},"
     "\"level\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"}}}}}},\"400\":{"
     "\"description\":\"not a level\"},\"404\":{\"description\":\"no such module\"}}}",
     put_log_level},
    {"GET", "/admin/bundle", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"The support bundle (ucctl log export)\",\"description\":\"Version, "
     "modules, the configuration with secrets redacted and the recent log: the text `ucctl "
     "log export FILE` writes, as an attachment.\",\"responses\":{\"200\":{\"description\":"
     "\"the bundle\",\"headers\":{\"Content-Disposition\":{\"schema\":{\"type\":\"string\"}}},"
     "\"content\":{\"text/plain\":{\"schema\":{\"type\":\"string\"}}}}}}",
     get_bundle},
    {"GET", "/admin/counters", UCD_HTTP_ROLE_ADMIN, NULL,
     "{\"summary\":\"Every module's counters (ucctl counters)\"," TABLE_RESPONSE(
         "counter, kind, value and help") "}",
     get_counters},
};

gboolean api_routes_admin_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, admin_routes, G_N_ELEMENTS(admin_routes), ctx, NULL, error);
}
