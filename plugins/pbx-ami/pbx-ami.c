/*
 * pbx-ami.c - a PBX driver for Asterisk and FreePBX through the Asterisk
 * Manager Interface.
 *
 * One AMI session per module instance (ami-conn.h keeps it alive: login,
 * keepalive, reconnect with backoff). Every event it delivers goes to the
 * channel model (ami-model.h), whose leg and line changes are published as
 * the ucd call and line events pbx-sim publishes for the same situations, so
 * presence and the journal work unchanged. After each (re)connect the model
 * is rebuilt from CoreShowChannels and ExtensionStateList: calls that ended
 * while the link was down close with cause link_lost. Call control is in
 * pbx-ami-control.c. README.md documents every key.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "pbx-ami-driver.h"

static const ucd_config_key ami_keys[] = {
    {"host", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "Asterisk's address or name"},
    {"port", UCD_CONFIG_INT, 0, NULL, "AMI port; default 5038, or 5039 with tls"},
    {"tls", UCD_CONFIG_BOOL, 0, "false", "AMI over TLS"},
    {"tls_verify", UCD_CONFIG_BOOL, 0, "true", "verify the server's certificate and name"},
    {"tls_ca_file", UCD_CONFIG_STRING, 0, NULL, "PEM bundle to trust instead of the system's"},
    {"username", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "manager.conf user"},
    {"secret", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "that user's secret"},
    {"events", UCD_CONFIG_STRING, 0, "call,system,agent,user", "event classes asked at login"},
    {"keepalive", UCD_CONFIG_DURATION, 0, "20s", "Ping interval"},
    {"timeout", UCD_CONFIG_DURATION, 0, "10s", "answer deadline of any action: then link dead"},
    {"lines", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL, "ADDRESS=DEVICE entries (201=PJSIP/alice)"},
    {"hints", UCD_CONFIG_LIST, 0, NULL, "ADDRESS=EXTEN@CONTEXT entries (201=201@ext-local)"},
    {"originate_context", UCD_CONFIG_STRING, 0, "from-internal", "dialplan context of dial"},
    {"originate_timeout", UCD_CONFIG_DURATION, 0, "30s", "how long dial rings the user's phone"},
    {"originate_display", UCD_CONFIG_STRING, 0, "\"{number}\" <{number}>",
     "what the user's phone shows while dial rings it ({line}, {number} replaced)"},
    {"originate_callerid", UCD_CONFIG_STRING, 0, NULL,
     "caller ID the called party sees on dial and pickup; unset: the device's own"},
    {"dnd_family", UCD_CONFIG_STRING, 0, "DND", "AstDB family of do-not-disturb"},
    {"dnd_value", UCD_CONFIG_STRING, 0, "YES", "AstDB value written for do-not-disturb on"},
    {"forward_family", UCD_CONFIG_STRING, 0, "CF", "AstDB family of unconditional forward"},
    {"forward_busy_family", UCD_CONFIG_STRING, 0, "CFB", "AstDB family of forward on busy"},
    {"forward_noanswer_family", UCD_CONFIG_STRING, 0, "CFU",
     "AstDB family of forward on no answer / unavailable"},
    {"astdb_refresh", UCD_CONFIG_DURATION, 0, "60s",
     "re-read DND and forwarding from the AstDB this often (0: only at resync and on "
     "FreePBX's device states)"},
    {"pickup_codes", UCD_CONFIG_LIST, 0, "*8;**",
     "dialled-number prefixes of pickup feature codes (FreePBX: *8 group, ** directed)"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl ami_provides[] = {
    UCD_PROVIDE(UCD_PBX_SERVICE, UCD_PBX_MAJOR, UCD_PBX_MINOR, 0),
    {NULL},
};

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* ---- publishing ---------------------------------------------------------------------- */

void ami_publish_leg(ami_driver *d, const pami_leg_change *c)
{
    char *call_id = g_strdup_printf("%s-%s", d->id_prefix, c->leg_id);
    char *conversation_id = g_strdup_printf(
        "%s-%s", d->id_prefix, c->conversation_id != NULL ? c->conversation_id : c->leg_id);
    char *related = c->related_line != NULL ? g_strdup(c->related_line) : NULL;
    const ucd_call_state_event payload = {
        .struct_size = sizeof(payload),
        .state = c->state,
        .prev_state = c->prev_state,
        .direction = c->direction,
        .cause = c->cause,
        .flags = c->flags,
        .driver_instance = d->module_id,
        .line = c->line,
        .call_id = call_id,
        .conversation_id = conversation_id,
        .remote_number = c->remote_number,
        .remote_name = c->remote_name,
        .requested_number = c->requested_number,
        .related_line = related,
        .forward_reason = c->forward_reason,
    };
    const ucd_event event = {.struct_size = sizeof(event),
                             .type = UCD_EVENT_CALL_STATE,
                             .time_ms = c->time_ms,
                             .payload = &payload};
    if (d->host->log_enabled(d->self, UCD_LOG_DEBUG))
        ucd_debug(d->host, d->self, "call %s (%s) on %s: %u -> %u, cause %u", call_id,
                  c->channel != NULL ? c->channel : "-", c->line, c->prev_state, c->state,
                  c->cause);
    d->host->publish(d->self, &event);
    g_free(related);
    g_free(conversation_id);
    g_free(call_id);
}

void ami_line_publish(ami_driver *d, ami_line *line)
{
    uint32_t state = pami_model_line_state(d->model, line->address);
    if (state == line->shown_state && line->dnd == line->shown_dnd &&
        g_strcmp0(line->forward_to, line->shown_forward) == 0)
        return;
    line->shown_state = state;
    line->shown_dnd = line->dnd;
    g_free(line->shown_forward);
    line->shown_forward = g_strdup(line->forward_to);
    const ucd_line_state_event payload = {
        .struct_size = sizeof(payload),
        .state = state,
        .driver_instance = d->module_id,
        .line = line->address,
        .dnd = line->dnd ? 1 : 0,
        .forward_to = line->forward_to,
    };
    const ucd_event event = {
        .struct_size = sizeof(event), .type = UCD_EVENT_LINE_STATE, .payload = &payload};
    d->host->publish(d->self, &event);
}

/* After something that may change many lines at once (link down, resync). */
static void publish_all_lines(ami_driver *d)
{
    for (guint i = 0; i < d->lines->len; i++)
        ami_line_publish(d, g_ptr_array_index(d->lines, i));
}

static void on_model_leg(const pami_leg_change *change, void *user_data)
{
    ami_driver *d = user_data;
    if (!d->running)
        return;
    ami_originate_seen(d, change);
    ami_publish_leg(d, change);
}

static void on_model_line(const pami_line_change *change, void *user_data)
{
    ami_driver *d = user_data;
    ami_line *line = g_hash_table_lookup(d->line_by_address, change->line);
    if (line != NULL && d->running)
        ami_line_publish(d, line);
}

/* ---- resync after (re)connect --------------------------------------------------------- */

/* Feeds the events of a list answer to the model (the "...Complete" event too:
 * the model ignores what it does not know). */
static void feed_list(ami_driver *d, GPtrArray *events)
{
    int64_t t = now_ms();
    for (guint i = 0; events != NULL && i < events->len; i++)
        pami_model_event(d->model, g_ptr_array_index(events, i), t);
}

static void resync_done(ami_driver *d)
{
    pami_model_resync_end(d->model, now_ms());
    d->resynced = TRUE;
    publish_all_lines(d);
    ucd_info(d->host, d->self, "resynced: %u live legs on %u lines", pami_model_leg_count(d->model),
             d->lines->len);
    ami_astdb_read(d);
}

static void on_extension_states(ami_driver *d, pami_message *response, GPtrArray *events,
                                void *data)
{
    if (GPOINTER_TO_UINT(data) != d->resync_generation || response == NULL)
        return; /* a newer session took over, or the link died: its own resync follows */
    if (!ami_response_ok(response))
        ucd_warning(d->host, d->self,
                    "ExtensionStateList refused (%s): hint states come "
                    "with the next ExtensionStatus events",
                    pami_message_get(response, "Message") ? pami_message_get(response, "Message")
                                                          : "no message");
    else
        feed_list(d, events);
    resync_done(d);
}

static void on_channels(ami_driver *d, pami_message *response, GPtrArray *events, void *data)
{
    guint generation = GPOINTER_TO_UINT(data);
    if (generation != d->resync_generation || response == NULL)
        return;
    if (ami_response_ok(response))
        feed_list(d, events);
    else
        /* Without the channel list the model cannot tell live calls from ended
         * ones: ending the resync closes every known call as link_lost, which
         * is what the journal should say of calls whose end we cannot know. */
        ucd_warning(d->host, d->self,
                    "CoreShowChannels refused (%s): known calls close as "
                    "link_lost",
                    pami_message_get(response, "Message") ? pami_message_get(response, "Message")
                                                          : "no message");
    /* Not sent when the link died meanwhile: the next UP resyncs anew. */
    ami_send(d, ami_action("ExtensionStateList", NULL), NULL, 0, "ExtensionStateList", TRUE,
             on_extension_states, GUINT_TO_POINTER(generation), NULL);
}

static void resync_start(ami_driver *d)
{
    guint generation = ++d->resync_generation;
    d->resynced = FALSE;
    pami_model_resync_begin(d->model);
    ami_send(d, ami_action("CoreShowChannels", NULL), NULL, 0, "CoreShowChannels", TRUE,
             on_channels, GUINT_TO_POINTER(generation), NULL);
}

/* ---- the AMI session ------------------------------------------------------------------ */

static void on_conn_state(pami_conn_state state, const char *reason, const char *banner,
                          void *user_data)
{
    ami_driver *d = user_data;
    pami_conn_state before = d->conn_state;
    d->conn_state = state;
    if (!d->running)
        return;
    if (state == PAMI_CONN_UP) {
        g_free(d->banner);
        d->banner = g_strdup(banner);
        ucd_info(d->host, d->self, "connected to %s:%u (%s)", d->conn_host, d->conn_config.port,
                 banner != NULL ? banner : "no banner");
        d->host->counter_set(d->link_gauge, 1);
        resync_start(d);
    } else if (state == PAMI_CONN_DOWN) {
        d->host->counter_set(d->link_gauge, 0);
        /* A wrong secret or an absent server is retried for ever: say it once
         * per new reason, not once per attempt. */
        int level = before == PAMI_CONN_UP || g_strcmp0(reason, d->last_reason) != 0
                        ? UCD_LOG_WARNING
                        : UCD_LOG_DEBUG;
        d->host->log(d->self, level, "link to %s:%u down: %s", d->conn_host, d->conn_config.port,
                     reason != NULL ? reason : "closed");
        g_free(d->last_reason);
        d->last_reason = g_strdup(reason);
        d->resynced = FALSE;
        d->resync_generation++; /* answers of the old session's resync are stale */
        pami_model_link_down(d->model, now_ms());
        publish_all_lines(d);
    }
}

static void on_conn_event(pami_message *event, void *user_data)
{
    ami_driver *d = user_data;
    if (!d->running)
        return;
    d->host->counter_add(d->events_counter, 1);
    const char *name = pami_message_event(event);
    if (name != NULL && g_ascii_strcasecmp(name, "DBGetResponse") == 0) {
        ami_astdb_value(d, event); /* older Asterisk answers DBGet outside a list */
        return;
    }
    if (name != NULL && g_ascii_strcasecmp(name, "DeviceStateChange") == 0)
        ami_astdb_device_state(d, event); /* the model may follow the device too */
    pami_model_event(d->model, event, now_ms());
}

static void on_conn_log(pami_log_level level, const char *text, void *user_data)
{
    ami_driver *d = user_data;
    static const int levels[] = {
        [PAMI_LOG_DEBUG] = UCD_LOG_DEBUG,
        [PAMI_LOG_INFO] = UCD_LOG_INFO,
        [PAMI_LOG_WARNING] = UCD_LOG_WARNING,
        [PAMI_LOG_ERROR] = UCD_LOG_ERROR,
    };
    int ucd_level = (guint)level < G_N_ELEMENTS(levels) ? levels[level] : UCD_LOG_INFO;
    d->host->log(d->self, ucd_level, "%s", text);
}

/* ---- sending actions ------------------------------------------------------------------ */

pami_message *ami_action(const char *name, ...)
{
    pami_message *m = pami_message_new();
    va_list ap;

    pami_message_add(m, "Action", name);
    va_start(ap, name);
    for (;;) {
        const char *header = va_arg(ap, const char *);
        if (header == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        if (value != NULL)
            pami_message_add(m, header, value);
    }
    va_end(ap);
    return m;
}

void ami_action_failed(ami_driver *d, const char *what, const char *why)
{
    d->host->counter_add(d->failed_counter, 1);
    ucd_warning(d->host, d->self, "%s failed: %s", what, why);
}

gboolean ami_response_ok(const pami_message *response)
{
    const char *r = response != NULL ? pami_message_response(response) : NULL;
    return r != NULL &&
           (g_ascii_strcasecmp(r, "Success") == 0 || g_ascii_strcasecmp(r, "Follows") == 0);
}

typedef struct ami_request {
    ami_driver *d;
    char *what;
    gboolean quiet;
    ami_done_fn done;
    void *data;
    GDestroyNotify free_data;
} ami_request;

static void request_free(ami_request *r)
{
    if (r->free_data != NULL)
        r->free_data(r->data);
    g_free(r->what);
    g_free(r);
}

static void on_answer(pami_message *response, GPtrArray *events, const GError *error,
                      void *user_data)
{
    ami_request *r = user_data;
    ami_driver *d = r->d;
    gboolean ok = ami_response_ok(response);

    /* Quiet requests (the resync's DBGet of keys that may be absent, the
     * AstDB writes) judge their answers themselves. */
    if (!ok && d->running && !r->quiet) {
        const char *message = response != NULL ? pami_message_get(response, "Message") : NULL;
        ami_action_failed(d, r->what,
                          message != NULL ? message
                          : error != NULL ? error->message
                                          : "refused");
    }
    if (r->done != NULL && d->running && (ok || r->quiet))
        r->done(d, error != NULL ? NULL : response, events, r->data);
    request_free(r);
}

int ami_send(ami_driver *d, pami_message *action, const char *final_event, guint final_timeout_ms,
             const char *what, gboolean quiet, ami_done_fn done, void *data,
             GDestroyNotify free_data)
{
    ami_request *r = g_new0(ami_request, 1);
    *r = (ami_request){.d = d,
                       .what = g_strdup(what),
                       .quiet = quiet,
                       .done = done,
                       .data = data,
                       .free_data = free_data};
    gboolean sent = d->conn != NULL &&
                    pami_conn_send(d->conn, action, final_event, final_timeout_ms, on_answer, r);
    pami_message_unref(action);
    if (!sent) {
        request_free(r);
        return UCD_E_UNAVAILABLE;
    }
    d->host->counter_add(d->actions_counter, 1);
    return UCD_OK;
}

/* ---- configuration -------------------------------------------------------------------- */

static char *read_string(ami_driver *d, const char *key)
{
    const char *value = NULL;
    if (d->host->config_string(d->self, key, &value) != UCD_OK || value == NULL || *value == '\0')
        return NULL;
    return g_strdup(value);
}

/* A line address is typed in ucctl, is a user's line entry and an AstDB key. */
static gboolean valid_address(const char *address)
{
    if (*address == '\0' || strlen(address) > 64)
        return FALSE;
    for (const char *c = address; *c; c++)
        if (!g_ascii_isalnum(*c) && strchr("-_.+*#", *c) == NULL)
            return FALSE;
    return TRUE;
}

/* "PJSIP/alice", "SIP/201", "IAX2/x", "Custom:alice", "DAHDI/1": a technology
 * and a resource, nothing that would end a header or split a list. */
static gboolean valid_device(const char *device)
{
    const char *sep = strpbrk(device, "/:");
    if (sep == NULL || sep == device || sep[1] == '\0' || strlen(device) > 128)
        return FALSE;
    for (const char *c = device; *c; c++)
        if (g_ascii_isspace(*c) || g_ascii_iscntrl(*c) || *c == ',' || *c == '&')
            return FALSE;
    return TRUE;
}

static gboolean valid_hint(const char *hint)
{
    const char *at = strchr(hint, '@');
    if (at == NULL || at == hint || at[1] == '\0' || strlen(hint) > 128)
        return FALSE;
    for (const char *c = hint; *c; c++)
        if (g_ascii_isspace(*c) || g_ascii_iscntrl(*c))
            return FALSE;
    return TRUE;
}

static void line_free(gpointer data)
{
    ami_line *line = data;
    g_free(line->address);
    g_free(line->device);
    g_free(line->hint);
    g_free(line->forward_to);
    g_free(line->shown_forward);
    g_free(line);
}

/* Splits "LEFT=RIGHT" (spaces around either side allowed); FALSE without '='
 * or with an empty side. */
static gboolean split_entry(const char *entry, char **left, char **right)
{
    const char *eq = strchr(entry, '=');
    if (eq == NULL)
        return FALSE;
    *left = g_strstrip(g_strndup(entry, (gsize)(eq - entry)));
    *right = g_strstrip(g_strdup(eq + 1));
    if (**left != '\0' && **right != '\0')
        return TRUE;
    g_free(*left);
    g_free(*right);
    return FALSE;
}

static int add_line(ami_driver *d, const char *entry)
{
    char *address = NULL, *device = NULL;
    int rc = UCD_OK;

    if (!split_entry(entry, &address, &device))
        return d->host->config_error(d->self, "lines",
                                     "'%s' is not ADDRESS=DEVICE "
                                     "(201=PJSIP/alice)",
                                     entry);
    if (!valid_address(address))
        rc = d->host->config_error(d->self, "lines",
                                   "'%s': '%s' is not a line address "
                                   "(letters, digits, - _ . + * #)",
                                   entry, address);
    else if (!valid_device(device))
        rc = d->host->config_error(d->self, "lines",
                                   "'%s': '%s' is not a device "
                                   "(TECH/RESOURCE or Custom:NAME)",
                                   entry, device);
    else if (g_hash_table_contains(d->line_by_address, address))
        rc = d->host->config_error(d->self, "lines", "'%s': line %s is listed twice", entry,
                                   address);
    else if (!pami_model_map_device(d->model, device, address))
        rc = d->host->config_error(d->self, "lines", "'%s': device %s belongs to another line",
                                   entry, device);
    if (rc == UCD_OK) {
        ami_line *line = g_new0(ami_line, 1);
        line->address = address;
        line->device = device;
        line->shown_state = UCD_LINE_UNKNOWN;
        g_ptr_array_add(d->lines, line);
        g_hash_table_insert(d->line_by_address, line->address, line);
        return UCD_OK;
    }
    g_free(address);
    g_free(device);
    return rc;
}

static int add_hint(ami_driver *d, const char *entry)
{
    char *address = NULL, *hint = NULL;
    int rc = UCD_OK;

    if (!split_entry(entry, &address, &hint))
        return d->host->config_error(d->self, "hints",
                                     "'%s' is not ADDRESS=EXTEN@CONTEXT "
                                     "(201=201@ext-local)",
                                     entry);
    ami_line *line = g_hash_table_lookup(d->line_by_address, address);
    if (line == NULL)
        rc = d->host->config_error(d->self, "hints", "'%s': %s is not one of the lines", entry,
                                   address);
    else if (!valid_hint(hint))
        rc =
            d->host->config_error(d->self, "hints", "'%s': '%s' is not EXTEN@CONTEXT", entry, hint);
    else if (line->hint != NULL)
        rc = d->host->config_error(d->self, "hints", "'%s': line %s has a hint already", entry,
                                   address);
    else if (!pami_model_map_hint(d->model, hint, address))
        rc = d->host->config_error(d->self, "hints", "'%s': hint %s belongs to another line", entry,
                                   hint);
    if (rc == UCD_OK)
        line->hint = g_steal_pointer(&hint);
    g_free(address);
    g_free(hint);
    return rc;
}

/* Runs `add` on each entry of the list `key`; `required` lists must name one. */
static int read_entries(ami_driver *d, const char *key, gboolean required,
                        int (*add)(ami_driver *, const char *))
{
    const char *const *items = NULL;
    size_t count = 0;
    if (d->host->config_list(d->self, key, &items, &count) != UCD_OK || items == NULL)
        return required ? d->host->config_error(d->self, key, "cannot be read") : UCD_OK;
    for (size_t i = 0; i < count; i++) {
        if (*items[i] == '\0')
            continue;
        int rc = add(d, items[i]);
        if (rc != UCD_OK)
            return rc;
    }
    if (required && d->lines->len == 0)
        return d->host->config_error(d->self, key, "names no line");
    return UCD_OK;
}

/* A string key that must not be empty; its default always exists. */
static int read_required(ami_driver *d, const char *key, char **out)
{
    *out = read_string(d, key);
    return *out != NULL ? UCD_OK : d->host->config_error(d->self, key, "is empty");
}

static int read_duration(ami_driver *d, const char *key, int64_t min_ms, int64_t max_ms,
                         int64_t *out)
{
    if (d->host->config_int(d->self, key, out) != UCD_OK)
        return d->host->config_error(d->self, key, "cannot be read");
    if (*out < min_ms || *out > max_ms)
        return d->host->config_error(
            d->self, key, "must be between %" PRId64 " ms and %" PRId64 " ms", min_ms, max_ms);
    return UCD_OK;
}

static int read_connection(ami_driver *d)
{
    int64_t port = 0, keepalive = 0, timeout = 0;
    int tls = 0, verify = 1;

    if (read_required(d, "host", &d->conn_host) != UCD_OK ||
        read_required(d, "username", &d->conn_username) != UCD_OK)
        return UCD_FAIL;
    d->conn_secret = read_string(d, "secret");
    d->conn_events = read_string(d, "events");
    d->conn_ca_file = read_string(d, "tls_ca_file");
    if (d->host->config_bool(d->self, "tls", &tls) != UCD_OK ||
        d->host->config_bool(d->self, "tls_verify", &verify) != UCD_OK)
        return d->host->config_error(d->self, "tls", "cannot be read");
    /* Unset: Asterisk's ports, 5038 plain and 5039 TLS (its tlsbindaddr). */
    int rc = d->host->config_int(d->self, "port", &port);
    if (rc == UCD_E_NOT_FOUND)
        port = tls ? 5039 : 5038;
    else if (rc != UCD_OK || port < 1 || port > 65535)
        return d->host->config_error(d->self, "port", "must be between 1 and 65535");
    if (read_duration(d, "keepalive", 1000, 3600000, &keepalive) != UCD_OK ||
        read_duration(d, "timeout", 500, 600000, &timeout) != UCD_OK)
        return UCD_FAIL;
    if (d->conn_ca_file != NULL && !g_file_test(d->conn_ca_file, G_FILE_TEST_IS_REGULAR))
        return d->host->config_error(d->self, "tls_ca_file", "%s is not a file", d->conn_ca_file);
    d->conn_config = (pami_conn_config){
        .host = d->conn_host,
        .port = (guint16)port,
        .tls = tls != 0,
        .tls_verify = verify != 0,
        .tls_ca_file = d->conn_ca_file,
        .username = d->conn_username,
        .secret = d->conn_secret != NULL ? d->conn_secret : "",
        .events = d->conn_events,
        .keepalive_ms = (guint)keepalive,
        .timeout_ms = (guint)timeout,
    };
    return UCD_OK;
}

/* Until issue 12 item 14, originate_callerid was the Originate's CallerID,
 * which the user's phone showed too, and configurations spelled out its old
 * default "{number}" <{number}>. Now it is only what the called party sees:
 * such a value shows the callee the number he was called on, which is the
 * bug item 14 fixed. It still works as written, so it is a warning. */
static void warn_old_callerid(ami_driver *d)
{
    if (d->originate_callerid == NULL || strstr(d->originate_callerid, "{number}") == NULL)
        return;
    ucd_warning(d->host, d->self,
                "originate_callerid \"%s\" contains {number}: this key is now only the caller "
                "ID the called party sees (what the user's phone shows is originate_display), so "
                "the called party is shown the number he was called on; remove the key to show "
                "the user's device caller ID, or set it to what the callee should see, such as "
                "\"Name\" <{line}>",
                d->originate_callerid);
}

static int read_control(ami_driver *d)
{
    if (read_required(d, "originate_context", &d->originate_context) != UCD_OK ||
        read_required(d, "originate_display", &d->originate_display) != UCD_OK ||
        read_required(d, "dnd_family", &d->dnd_family) != UCD_OK ||
        read_required(d, "dnd_value", &d->dnd_value) != UCD_OK ||
        read_required(d, "forward_family", &d->cf_family) != UCD_OK ||
        read_required(d, "forward_busy_family", &d->cfb_family) != UCD_OK ||
        read_required(d, "forward_noanswer_family", &d->cfu_family) != UCD_OK)
        return UCD_FAIL;
    d->originate_callerid = read_string(d, "originate_callerid");
    warn_old_callerid(d);
    if (d->host->config_int(d->self, "astdb_refresh", &d->astdb_refresh_ms) != UCD_OK ||
        (d->astdb_refresh_ms != 0 &&
         (d->astdb_refresh_ms < 1000 || d->astdb_refresh_ms > 24 * 3600000)))
        return d->host->config_error(d->self, "astdb_refresh", "must be 0 or between 1 s and 1 d");
    return read_duration(d, "originate_timeout", 1000, 600000, &d->originate_timeout_ms);
}

/* A call to a pickup code is held back until the Pickup event (ami-model.h):
 * otherwise it would be a short call of its own in the journal. */
static int read_pickup_codes(ami_driver *d)
{
    const char *const *items = NULL;
    size_t count = 0;
    if (d->host->config_list(d->self, "pickup_codes", &items, &count) != UCD_OK)
        return d->host->config_error(d->self, "pickup_codes", "cannot be read");
    GPtrArray *codes = g_ptr_array_new();
    for (size_t i = 0; items != NULL && i < count; i++)
        if (*items[i] != '\0')
            g_ptr_array_add(codes, (gpointer)items[i]);
    g_ptr_array_add(codes, NULL);
    pami_model_set_pickup_codes(d->model, (const char *const *)codes->pdata);
    g_ptr_array_free(codes, TRUE);
    return UCD_OK;
}

static int read_config(ami_driver *d)
{
    if (read_connection(d) != UCD_OK || read_control(d) != UCD_OK || read_pickup_codes(d) != UCD_OK)
        return UCD_FAIL;
    if (read_entries(d, "lines", TRUE, add_line) != UCD_OK)
        return UCD_FAIL;
    return read_entries(d, "hints", FALSE, add_hint);
}

/* ---- the ami command ------------------------------------------------------------------ */

static const char *conn_state_text(pami_conn_state state)
{
    switch (state) {
    case PAMI_CONN_UP:
        return "up";
    case PAMI_CONN_CONNECTING:
        return "connecting";
    default:
        return "down";
    }
}

static int cmd_status(ami_driver *d, ucd_reply *reply)
{
    const ucd_host *h = d->host;
    char *server = g_strdup_printf("%s:%u%s", d->conn_host, d->conn_config.port,
                                   d->conn_config.tls ? " (tls)" : "");
    char *legs = g_strdup_printf("%u", pami_model_leg_count(d->model));
    char *lines = g_strdup_printf("%u", d->lines->len);

    h->reply_field(reply, "server", server);
    h->reply_field(reply, "link", conn_state_text(pami_conn_get_state(d->conn)));
    h->reply_field(reply, "resynced", d->resynced ? "yes" : "no");
    h->reply_field(reply, "banner", d->banner != NULL ? d->banner : "");
    h->reply_field(reply, "last_error", d->last_reason != NULL ? d->last_reason : "");
    h->reply_field(reply, "lines", lines);
    h->reply_field(reply, "legs", legs);
    g_free(lines);
    g_free(legs);
    g_free(server);
    return UCD_OK;
}

static int ami_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    ami_driver *d = user_data;

    if (!d->running || d->conn == NULL) {
        d->host->reply_error(reply, "%s is not running", d->module_id);
        return UCD_E_UNAVAILABLE;
    }
    if (argc == 2 && strcmp(argv[1], "status") == 0)
        return cmd_status(d, reply);
    if (argc == 2 && strcmp(argv[1], "reconnect") == 0) {
        ucd_notice(d->host, d->self, "reconnecting on request");
        pami_conn_reconnect(d->conn);
        d->host->reply_text(reply, "reconnecting to %s:%u", d->conn_host, d->conn_config.port);
        return UCD_OK;
    }
    d->host->reply_error(reply, "usage: %s status|reconnect", argv[0]);
    return UCD_E_INVALID;
}

/* Command names are [a-z0-9-]: "ami", or "ami-office" for [module pbx-ami:Office]. */
static char *command_name_for(const char *instance)
{
    if (instance == NULL)
        return g_strdup("ami");
    char *name = g_strconcat("ami-", instance, NULL);
    for (char *c = name; *c; c++)
        *c = g_ascii_isalnum(*c) ? g_ascii_tolower(*c) : '-';
    return name;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static void driver_free(ami_driver *d)
{
    pami_conn_free(d->conn);
    pami_model_free(d->model);
    if (d->originates != NULL)
        g_hash_table_unref(d->originates);
    if (d->line_by_address != NULL)
        g_hash_table_unref(d->line_by_address);
    if (d->lines != NULL)
        g_ptr_array_unref(d->lines);
    if (d->conn_secret != NULL)
        memset(d->conn_secret, 0, strlen(d->conn_secret)); /* no secret in freed memory */
    g_free(d->conn_secret);
    g_free(d->conn_host);
    g_free(d->conn_username);
    g_free(d->conn_events);
    g_free(d->conn_ca_file);
    g_free(d->originate_context);
    g_free(d->originate_callerid);
    g_free(d->originate_display);
    g_free(d->dnd_family);
    g_free(d->dnd_value);
    g_free(d->cf_family);
    g_free(d->cfb_family);
    g_free(d->cfu_family);
    g_free(d->banner);
    g_free(d->last_reason);
    g_free(d->command_name);
    g_free(d->id_prefix);
    g_free(d);
}

static ami_driver *driver_new(ucd_plugin *self, const ucd_host *host)
{
    ami_driver *d = g_new0(ami_driver, 1);
    const char *instance = host->instance(self);
    const pami_model_callbacks callbacks = {
        .leg = on_model_leg, .line = on_model_line, .user_data = d};

    d->self = self;
    d->host = host;
    d->module_id = host->module_id(self);
    d->id_prefix = g_ascii_strdown(instance != NULL ? instance : "ami", -1);
    d->command_name = command_name_for(instance);
    d->lines = g_ptr_array_new_with_free_func(line_free);
    d->line_by_address = g_hash_table_new(g_str_hash, g_str_equal);
    d->originates = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ami_originate_free);
    d->model = pami_model_new(&callbacks);
    return d;
}

static int register_all(ami_driver *d)
{
    const ucd_host *h = d->host;
    int rc = h->service_register(d->self, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &ami_pbx_table, d);
    if (rc != UCD_OK) {
        h->set_error(d->self, "cannot register the pbx service: %s", ucd_strerror(rc));
        return UCD_FAIL;
    }
    rc = h->command_register(d->self, d->command_name, "status|reconnect",
                             "the AMI link: state, server, last error; reconnect now", ami_command,
                             d);
    if (rc != UCD_OK) {
        h->set_error(d->self, "cannot register command %s: %s", d->command_name, ucd_strerror(rc));
        return UCD_FAIL;
    }
    d->events_counter =
        h->counter_new(d->self, "events", UCD_COUNTER_MONOTONIC, "AMI events received");
    d->actions_counter =
        h->counter_new(d->self, "actions", UCD_COUNTER_MONOTONIC, "AMI actions sent");
    d->failed_counter = h->counter_new(d->self, "actions_failed", UCD_COUNTER_MONOTONIC,
                                       "AMI actions refused or unanswered");
    d->link_gauge =
        h->counter_new(d->self, "link_up", UCD_COUNTER_GAUGE, "1 while logged in to Asterisk");
    return UCD_OK;
}

static int ami_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    ami_driver *d = driver_new(self, host);

    *state = NULL;
    if (read_config(d) != UCD_OK) { /* config_error said what and where */
        driver_free(d);
        return UCD_FAIL;
    }
    if (register_all(d) != UCD_OK) {
        driver_free(d);
        return UCD_FAIL;
    }
    *state = d;
    return UCD_OK;
}

static void on_astdb_timer(void *user_data)
{
    ami_astdb_refresh(user_data);
}

static int ami_start(void *state)
{
    ami_driver *d = state;
    const pami_conn_callbacks callbacks = {
        .state = on_conn_state, .event = on_conn_event, .log = on_conn_log, .user_data = d};

    d->running = TRUE;
    /* The core runs its main loop on the default context: the session too. */
    d->conn = pami_conn_new(&d->conn_config, NULL, &callbacks);
    if (d->astdb_refresh_ms > 0)
        d->astdb_timer = d->host->timer_add(d->self, (uint64_t)d->astdb_refresh_ms,
                                            UCD_TIMER_REPEAT, on_astdb_timer, d);
    ucd_info(d->host, d->self, "monitoring %u lines on %s:%u as %s", d->lines->len, d->conn_host,
             d->conn_config.port, d->conn_username);
    return UCD_OK;
}

static void ami_stop(void *state)
{
    ami_driver *d = state;
    d->running = FALSE; /* pending actions fail from pami_conn_free: nothing to publish */
    if (d->astdb_timer != NULL)
        d->host->timer_remove(d->self, d->astdb_timer);
    d->astdb_timer = NULL;
    pami_conn_free(d->conn);
    d->conn = NULL;
    g_hash_table_remove_all(d->originates);
}

static void ami_fini(void *state)
{
    driver_free(state);
}

UCD_PLUGIN_DEFINE(.name = "pbx-ami", .version = "0.1.0", .license = "MIT",
                  .description = "Asterisk/FreePBX driver over the Asterisk Manager Interface",
                  .provides = ami_provides, .config_keys = ami_keys, .init = ami_init,
                  .start = ami_start, .stop = ami_stop, .fini = ami_fini);
