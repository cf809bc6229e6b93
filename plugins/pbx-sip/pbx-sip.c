/*
 * pbx-sip.c - a PBX driver for SIP servers that publish RFC 4235 dialog state.
 *
 * The driver watches lines: one `Event: dialog` subscription per configured
 * line at the registrar/presence server (sip-subscriber.h does the SIP), and
 * turns each dialog change into the ucd call and line events pbx-sim publishes
 * for the same situations, so presence and the journal work unchanged. Call
 * control over plain SIP is click-to-dial (the user's phone is called, then
 * REFERred to the number): lines report MONITOR and DIAL. The calls that
 * result are seen, like any other, through the dialog subscriptions.
 * README.md documents every key.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "line-state.h"
#include "pbx-sip.h"

static const ucd_config_key sip_keys[] = {
    {"server", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "host:port of the registrar/presence server"},
    {"domain", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "SIP domain of the lines"},
    {"lines", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL, "user parts of the monitored lines"},
    {"user", UCD_CONFIG_STRING, 0, "ucd", "the driver's own SIP user (From: and digest)"},
    {"password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "digest password of `user`"},
    {"expires", UCD_CONFIG_DURATION, 0, "600s", "subscription lifetime asked for"},
    {"rpc_url", UCD_CONFIG_STRING, 0, NULL,
     "Kamailio JSON-RPC URL (http://HOST:PORT/RPC): adds hangup"},
    {"keepalive", UCD_CONFIG_DURATION, 0, "30s",
     "OPTIONS to the server this often to notice link loss; 0 = off"},
    {"listen", UCD_CONFIG_STRING, 0, NULL,
     "local SIP address[:port]; default: the address facing the server, any port"},
    {"subscribe_window", UCD_CONFIG_INT, 0, G_STRINGIFY(PSIP_SUBSCRIBE_WINDOW),
     "at most this many SUBSCRIBEs unanswered at a time (pacing many lines)"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl sip_provides[] = {
    UCD_PROVIDE(UCD_PBX_SERVICE, UCD_PBX_MAJOR, UCD_PBX_MINOR, 0),
    {NULL},
};

/* ---- lines and legs ---------------------------------------------------------------- */

void sip_leg_free(gpointer data)
{
    sip_leg *leg = data;
    g_free(leg->call_id);
    g_free(leg->conversation_id);
    g_free(leg->remote_number);
    g_free(leg->remote_name);
    g_free(leg);
}

static void line_free(gpointer data)
{
    sip_line *line = data;
    g_free(line->address);
    g_free(line->uri);
    g_hash_table_unref(line->legs);
    g_free(line);
}

static uint32_t line_state_now(const sip_line *line)
{
    line_state_tally tally = {0};
    GHashTableIter it;
    gpointer value;

    if (!line->link_up)
        return UCD_LINE_OUT_OF_SERVICE;
    g_hash_table_iter_init(&it, line->legs);
    while (g_hash_table_iter_next(&it, NULL, &value))
        line_state_tally_add(&tally, ((const sip_leg *)value)->state);
    line_state_tally_add(&tally, line->hint_state);
    return line_state_of_tally(&tally);
}

/* Publishes a line event when the line's state differs from the last one told. */
void sip_line_publish(sip_driver *d, sip_line *line)
{
    uint32_t state = line_state_now(line);
    if (state == line->shown_state)
        return;
    line->shown_state = state;
    const ucd_line_state_event payload = {
        .struct_size = sizeof(payload),
        .state = state,
        .driver_instance = d->module_id,
        .line = line->address,
    };
    const ucd_event event = {
        .struct_size = sizeof(event), .type = UCD_EVENT_LINE_STATE, .payload = &payload};
    d->host->publish(d->self, &event);
}

void sip_leg_publish(sip_driver *d, const sip_line *line, const sip_leg *leg, uint32_t prev,
                     uint32_t cause)
{
    const ucd_call_state_event payload = {
        .struct_size = sizeof(payload),
        .state = leg->state,
        .prev_state = prev,
        .direction = leg->direction,
        .cause = cause,
        .flags = leg->flags,
        .driver_instance = d->module_id,
        .line = line->address,
        .call_id = leg->call_id,
        .conversation_id = leg->conversation_id,
        .remote_number = leg->remote_number,
        .remote_name = leg->remote_name,
    };
    const ucd_event event = {
        .struct_size = sizeof(event), .type = UCD_EVENT_CALL_STATE, .payload = &payload};
    ucd_debug(d->host, d->self, "call %s on %s: %u -> %u, cause %u", leg->call_id, line->address,
              prev, leg->state, cause);
    d->host->publish(d->self, &event);
}

/* ---- dialog changes -> call events --------------------------------------------------- */

static uint32_t direction_of(sip_driver *d, const psip_line_change *change, const char *remote)
{
    if (remote != NULL && g_hash_table_contains(d->line_by_address, remote))
        return UCD_DIR_INTERNAL;
    switch (change->direction) {
    case PSIP_DIRECTION_INITIATOR:
        return UCD_DIR_OUTBOUND;
    case PSIP_DIRECTION_RECIPIENT:
        return UCD_DIR_INBOUND;
    default:
        return UCD_DIR_UNKNOWN;
    }
}

/* The ucd call state for a dialog state, seen from the line: the caller dials
 * then hears ringback, the callee is offered the call. IDLE: nothing to say. */
static uint32_t call_state_of(psip_dialog_state state, psip_direction direction)
{
    gboolean caller = direction == PSIP_DIRECTION_INITIATOR;
    switch (state) {
    case PSIP_DIALOG_TRYING:
    case PSIP_DIALOG_PROCEEDING:
        return caller ? UCD_CALL_DIALING : UCD_CALL_OFFERING;
    case PSIP_DIALOG_EARLY:
        return caller ? UCD_CALL_RINGBACK : UCD_CALL_OFFERING;
    case PSIP_DIALOG_CONFIRMED:
        return UCD_CALL_CONNECTED;
    case PSIP_DIALOG_TERMINATED:
        return UCD_CALL_DISCONNECTED;
    default:
        return UCD_CALL_IDLE;
    }
}

static sip_leg *leg_new(sip_driver *d, sip_line *line, const psip_line_change *change)
{
    sip_leg *leg = g_new0(sip_leg, 1);
    leg->call_id = g_strdup_printf("%s-%" PRIu64, d->id_prefix, ++d->next_call);
    leg->conversation_id = g_strdup_printf("%s-%s", d->id_prefix, change->key);
    leg->state = UCD_CALL_IDLE;
    sip_remote_identity(change->remote_identity, change->remote_display, &leg->remote_number,
                        &leg->remote_name, &leg->flags);
    leg->direction = direction_of(d, change, leg->remote_number);
    if (change->direction == PSIP_DIRECTION_INITIATOR)
        line->outgoing_legs++; /* a failed click-to-dial may already show here (pbx-sip-dial.c) */
    g_hash_table_insert(line->legs, g_strdup(change->key), leg);
    return leg;
}

uint32_t sip_ucd_cause(psip_end_cause cause)
{
    switch (cause) {
    case PSIP_END_NONE:
        return UCD_CAUSE_NONE;
    case PSIP_END_BUSY:
        return UCD_CAUSE_BUSY;
    case PSIP_END_NO_ANSWER:
        return UCD_CAUSE_NO_ANSWER;
    case PSIP_END_REJECTED:
        return UCD_CAUSE_REJECTED;
    case PSIP_END_FAILED:
        return UCD_CAUSE_FAILED;
    case PSIP_END_PICKED_UP:
        return UCD_CAUSE_PICKED_UP;
    case PSIP_END_TRANSFERRED:
        return UCD_CAUSE_TRANSFERRED;
    case PSIP_END_LINK_LOST:
        return UCD_CAUSE_LINK_LOST;
    default:
        return UCD_CAUSE_NORMAL;
    }
}

/* The ucd cause of a leg reaching `state` (sip-line.h says how SIP ends map). */
static uint32_t cause_of(const psip_line_change *change, uint32_t state)
{
    if (state != UCD_CALL_DISCONNECTED)
        return UCD_CAUSE_NONE;
    return sip_ucd_cause(psip_line_change_end_cause(change));
}

/* A dialog without a SIP call-id is a hint's state, not a call. RFC 4235
 * makes call-id and tags optional, and Asterisk's PJSIP hints
 * (res_pjsip_dialog_info_body_generator.c) send one <dialog id="EXTEN"> per
 * extension with a state and, while it rings, identities, never a call-id:
 * the same dialog stands for every call the extension has, a caller's line
 * is "confirmed" from the first ring and nothing tells a missed call from an
 * answered one. Legs made from it were journal rows of calls that never
 * happened as shown, so such a dialog sets the line's state only. */
static gboolean change_is_hint(const psip_line_change *change)
{
    return change->call_id == NULL || change->call_id[0] == '\0';
}

static void on_hint_change(sip_driver *d, sip_line *line, const psip_line_change *change)
{
    uint32_t state = call_state_of(change->to, change->direction);
    if (!line->hint_only) {
        line->hint_only = TRUE;
        ucd_info(d->host, d->self,
                 "line %s: the server publishes hint state only (dialogs without call-id, as "
                 "Asterisk does): line state shown, no calls (for calls with Asterisk use pbx-ami)",
                 line->address);
    }
    line->hint_state = state == UCD_CALL_DISCONNECTED ? UCD_CALL_IDLE : state;
    sip_line_publish(d, line);
}

static void on_change(const char *line_uri, const psip_line_change *change, void *user_data)
{
    sip_driver *d = user_data;
    sip_line *line = g_hash_table_lookup(d->line_by_uri, line_uri);
    uint32_t state = call_state_of(change->to, change->direction);

    if (line == NULL || !d->running)
        return;
    if (change_is_hint(change)) {
        on_hint_change(d, line, change);
        return;
    }
    if (state == UCD_CALL_IDLE)
        return;
    if (sip_own_dial_is_ours(d, change->call_id))
        return; /* the driver's own click-to-dial leg, not a call of the user's */
    sip_leg *leg = g_hash_table_lookup(line->legs, change->key);
    if (leg == NULL && state == UCD_CALL_DISCONNECTED)
        return; /* a call we never told about */
    if (leg == NULL)
        leg = leg_new(d, line, change);
    if (leg->state == state)
        return;
    uint32_t prev = leg->state;
    leg->state = state;
    sip_leg_publish(d, line, leg, prev, cause_of(change, state));
    if (state == UCD_CALL_DISCONNECTED)
        g_hash_table_remove(line->legs, change->key);
    sip_line_publish(d, line);
}

/* A failed or terminated subscription: what the server said last can no
 * longer end, so the line's calls end here ("link lost") and the line is out of
 * service until a new subscription is active (the subscriber retries). */
static void on_status(const char *line_uri, psip_subscription_status status, int sip_code,
                      void *user_data)
{
    sip_driver *d = user_data;
    sip_line *line = g_hash_table_lookup(d->line_by_uri, line_uri);

    if (line == NULL || !d->running || status == PSIP_SUBSCRIPTION_BAD_BODY)
        return;
    if (status == PSIP_SUBSCRIPTION_ACTIVE) {
        line->link_up = TRUE;
    } else {
        ucd_warning(d->host, d->self, "line %s: subscription failed (SIP %d), retrying",
                    line->address, sip_code);
        psip_subscriber_line_lost(d->subscriber, line_uri);
        line->link_up = FALSE;
    }
    sip_line_publish(d, line);
}

/* The server keepalive saw the link go down or come back: logged once per
 * transition. Down: every line is out of service at once (the subscriber then
 * ends their calls, cause link_lost). Up: each line comes back as its fresh
 * subscription is accepted (on_status). */
static void on_link(gboolean up, int sip_code, void *user_data)
{
    sip_driver *d = user_data;

    if (!d->running)
        return;
    if (up) {
        ucd_warning(d->host, d->self, "server %s answers again (SIP %d): subscribing every line",
                    d->server_uri, sip_code);
        return;
    }
    if (sip_code != 0)
        ucd_warning(d->host, d->self, "server %s is unreachable (SIP %d): lines out of service",
                    d->server_uri, sip_code);
    else
        ucd_warning(d->host, d->self, "server %s does not answer: lines out of service",
                    d->server_uri);
    for (guint i = 0; i < d->lines->len; i++) {
        sip_line *line = g_ptr_array_index(d->lines, i);
        line->link_up = FALSE;
        sip_line_publish(d, line);
    }
}

/* ---- the pbx service ------------------------------------------------------------------ */

/* What plain SIP lets a third party do with a line: watch it, and make calls
 * from it (click-to-dial); not answer, hold or transfer the phone's calls. */
#define SIP_LINE_CAPABILITIES (UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL)

/* With Kamailio's JSON-RPC (rpc_url) the driver can also end calls. */
static uint64_t line_capabilities(const sip_driver *d)
{
    return SIP_LINE_CAPABILITIES | (d->rpc_url != NULL ? UCD_PBX_CAP_HANGUP : 0);
}

static uint64_t sip_capabilities(void *impl, const char *address)
{
    sip_driver *d = impl;
    return g_hash_table_contains(d->line_by_address, address) ? line_capabilities(d) : 0;
}

static int sip_list_lines(void *impl, ucd_pbx_line_cb cb, void *user_data)
{
    sip_driver *d = impl;
    for (guint i = 0; i < d->lines->len; i++) {
        const sip_line *line = g_ptr_array_index(d->lines, i);
        const ucd_pbx_line info = {
            .struct_size = sizeof(info),
            .state = line_state_now(line),
            .address = line->address,
            .number = line->address,
            .capabilities = line_capabilities(d),
        };
        if (cb(&info, user_data) != 0)
            break;
    }
    return UCD_OK;
}

static const ucd_pbx_v1 sip_pbx_table = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = sip_list_lines,
    .capabilities = sip_capabilities,
    .dial = sip_dial,
#ifdef PBX_SIP_RPC
    .hangup = sip_hangup,
#endif
};

/* ---- configuration ------------------------------------------------------------------- */

static char *read_string(sip_driver *d, const char *key)
{
    const char *value = NULL;
    if (d->host->config_string(d->self, key, &value) != UCD_OK || value == NULL || *value == '\0')
        return NULL;
    return g_strdup(value);
}

static int add_line(sip_driver *d, const char *address)
{
    if (!sip_valid_user_part(address))
        return d->host->config_error(d->self, "lines", "'%s' is not a SIP user part", address);
    if (g_hash_table_contains(d->line_by_address, address))
        return d->host->config_error(d->self, "lines", "line %s is listed twice", address);
    sip_line *line = g_new0(sip_line, 1);
    line->address = g_strdup(address);
    line->uri = g_strdup_printf("sip:%s@%s", address, d->domain);
    line->legs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, sip_leg_free);
    line->shown_state = UCD_LINE_UNKNOWN;
    g_ptr_array_add(d->lines, line);
    g_hash_table_insert(d->line_by_uri, line->uri, line);
    g_hash_table_insert(d->line_by_address, line->address, line);
    return UCD_OK;
}

static int read_lines(sip_driver *d)
{
    const char *const *items = NULL;
    if (d->host->config_list(d->self, "lines", &items, NULL) != UCD_OK || items == NULL)
        return d->host->config_error(d->self, "lines", "cannot be read");
    for (const char *const *item = items; *item != NULL; item++) {
        char *address = g_strstrip(g_strdup(*item));
        int rc = add_line(d, address);
        g_free(address);
        if (rc != UCD_OK)
            return rc;
    }
    if (d->lines->len == 0)
        return d->host->config_error(d->self, "lines", "names no line");
    return UCD_OK;
}

/* rpc_url: only when this build has JSON-RPC (libsoup-3), and a real URL. */
static int read_rpc_url(sip_driver *d)
{
    d->rpc_url = read_string(d, "rpc_url");
    if (d->rpc_url == NULL)
        return UCD_OK;
#ifdef PBX_SIP_RPC
    if (!sip_rpc_url_valid(d->rpc_url))
        return d->host->config_error(d->self, "rpc_url", "is not an http(s) URL with a host");
    return UCD_OK;
#else
    return d->host->config_error(d->self, "rpc_url",
                                 "this build has no JSON-RPC support (libsoup-3 missing)");
#endif
}

static int read_config(sip_driver *d)
{
    char *server = read_string(d, "server");
    d->domain = read_string(d, "domain");
    d->user = read_string(d, "user");
    d->password = read_string(d, "password");

    if (server == NULL)
        return d->host->config_error(d->self, "server", "is empty");
    d->server_uri = g_strconcat("sip:", server, NULL);
    d->server = server;
    d->listen = read_string(d, "listen");
    if (d->domain == NULL)
        return d->host->config_error(d->self, "domain", "is empty");
    if (d->user == NULL || !sip_valid_user_part(d->user))
        return d->host->config_error(d->self, "user", "is not a SIP user part");
    d->from_uri = g_strdup_printf("sip:%s@%s", d->user, d->domain);
    if (d->host->config_int(d->self, "expires", &d->expires_ms) != UCD_OK)
        return d->host->config_error(d->self, "expires", "cannot be read");
    if (d->expires_ms < 60000 || d->expires_ms > 86400000)
        return d->host->config_error(d->self, "expires", "must be between 60 s and 1 d");
    if (d->host->config_int(d->self, "keepalive", &d->keepalive_ms) != UCD_OK)
        return d->host->config_error(d->self, "keepalive", "cannot be read");
    if (d->keepalive_ms != 0 && (d->keepalive_ms < 1000 || d->keepalive_ms > 86400000))
        return d->host->config_error(d->self, "keepalive", "must be 0 (off) or 1 s to 1 d");
    if (d->host->config_int(d->self, "subscribe_window", &d->subscribe_window) != UCD_OK)
        return d->host->config_error(d->self, "subscribe_window", "cannot be read");
    if (d->subscribe_window < 1 || d->subscribe_window > 100000)
        return d->host->config_error(d->self, "subscribe_window", "must be 1 to 100000");
    int rc = read_rpc_url(d);
    return rc == UCD_OK ? read_lines(d) : rc;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void driver_free(sip_driver *d)
{
    psip_subscriber_free(d->subscriber);
    if (d->line_by_uri != NULL)
        g_hash_table_unref(d->line_by_uri);
    if (d->line_by_address != NULL)
        g_hash_table_unref(d->line_by_address);
    if (d->lines != NULL)
        g_ptr_array_unref(d->lines);
    if (d->own_dials != NULL)
        g_hash_table_unref(d->own_dials);
    if (d->password != NULL)
        memset(d->password, 0, strlen(d->password)); /* a secret does not linger in freed memory */
    g_free(d->password);
    g_free(d->rpc_url);
    g_free(d->user);
    g_free(d->domain);
    g_free(d->from_uri);
    g_free(d->server_uri);
    g_free(d->server);
    g_free(d->listen);
    g_free(d->id_prefix);
    g_free(d);
}

static int sip_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    sip_driver *d = g_new0(sip_driver, 1);
    const char *instance = host->instance(self);

    *state = NULL;
    d->self = self;
    d->host = host;
    d->module_id = host->module_id(self);
    d->id_prefix = g_ascii_strdown(instance != NULL ? instance : "sip", -1);
    d->lines = g_ptr_array_new_with_free_func(line_free);
    d->line_by_uri = g_hash_table_new(g_str_hash, g_str_equal);
    d->line_by_address = g_hash_table_new(g_str_hash, g_str_equal);
    d->own_dials = sip_own_dials_new();
    int rc = read_config(d);
    if (rc == UCD_OK)
        rc = host->service_register(self, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &sip_pbx_table, d);
    if (rc != UCD_OK) {
        host->set_error(self, "configuration or pbx service refused: %s", ucd_strerror(rc));
        driver_free(d);
        return UCD_FAIL;
    }
    *state = d;
    return UCD_OK;
}

static int sip_start(void *state)
{
    sip_driver *d = state;
    GError *error = NULL;
    char *bind = sip_listen_uri(d->listen, d->server, &error);
    if (bind == NULL) {
        /* The network (or DNS) may not be up yet at boot: start anyway on
         * every interface, so the subscriptions retry until the server is
         * reachable, rather than leaving the driver stopped for good. */
        ucd_warning(d->host, d->self,
                    "no local address towards %s (%s): listening on all interfaces; set "
                    "`listen` to choose",
                    d->server, error->message);
        g_clear_error(&error);
        bind = g_strdup("sip:*:*");
    }
    const psip_subscriber_config config = {
        .server = d->server_uri,
        .bind = bind,
        .from = d->from_uri,
        .auth_user = d->password != NULL ? d->user : NULL,
        .auth_password = d->password,
        .expires = (guint)(d->expires_ms / 1000),
        .keepalive_ms = (guint)d->keepalive_ms,
        .subscribe_window = (guint)d->subscribe_window,
    };
    const psip_subscriber_callbacks callbacks = {.change = on_change,
                                                 .status = on_status,
                                                 .link = on_link,
                                                 .dial_end = sip_on_dial_end,
                                                 .user_data = d};

    /* The core runs its main loop on the default context: the SIP stack too. */
    d->subscriber = psip_subscriber_new(&config, NULL, &callbacks, &error);
    ucd_debug(d->host, d->self, "SIP stack bound to %s", bind);
    g_free(bind);
    if (d->subscriber == NULL) {
        d->host->set_error(d->self, "cannot start the SIP stack: %s", error->message);
        g_error_free(error);
        return UCD_FAIL;
    }
#ifdef PBX_SIP_RPC
    if (d->rpc_url != NULL)
        d->rpc = sip_rpc_new(d->rpc_url);
#endif
    d->running = TRUE;
    for (guint i = 0; i < d->lines->len; i++) {
        sip_line *line = g_ptr_array_index(d->lines, i);
        psip_subscriber_add_line(d->subscriber, line->uri);
    }
    ucd_info(d->host, d->self, "monitoring %u lines at %s", d->lines->len, d->server_uri);
    return UCD_OK;
}

static void sip_stop(void *state)
{
    sip_driver *d = state;
    d->running = FALSE; /* the unsubscribes below report nothing more */
#ifdef PBX_SIP_RPC
    sip_rpc_free(d->rpc); /* cancels hangups under way */
    d->rpc = NULL;
#endif
    psip_subscriber_free(d->subscriber);
    d->subscriber = NULL;
}

static void sip_fini(void *state)
{
    driver_free(state);
}

UCD_PLUGIN_DEFINE(.name = "pbx-sip", .version = "0.1.0", .license = "MIT",
                  .description =
                      "SIP PBX driver: RFC 4235 line monitoring, click-to-dial with REFER",
                  .provides = sip_provides, .config_keys = sip_keys, .init = sip_init,
                  .start = sip_start, .stop = sip_stop, .fini = sip_fini);
