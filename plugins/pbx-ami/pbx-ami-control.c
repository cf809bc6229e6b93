/*
 * pbx-ami-control.c - ucd call control as AMI actions.
 *
 * Every operation checks what it can here (line, call, number), sends one
 * action and returns: the outcome arrives, like any call, as channel events
 * through the model. An action the server refuses is logged with the server's
 * Message. What maps onto AMI, and what does not (README.md says the same):
 *
 *   dial            Originate: ring the line's device, then Context/Exten
 *   hangup          Hangup of the leg's channel
 *   transfer_blind  BlindTransfer of the leg's channel (its bridge peer goes
 *                   to the number, the line's channel leaves)
 *   deflect         Redirect of the channel that is dialling the ringing leg
 *   pickup          Originate to the picker's device running PickupChan(the
 *                   ringing channel)
 *   send_dtmf       PlayDTMF on the far side's channel, one digit each
 *   set_dnd/forward DBPut/DBDel of the AstDB keys FreePBX's dialplan reads
 *
 * Not offered: answer (AMI cannot make a phone go off-hook), hold/retrieve
 * (Asterisk has no hold action: a phone holds by itself, and parking or music
 * on hold would be a different call state), transfer_consult (Atxfer starts
 * a consultation by dialling from one call; ucd's operation joins two calls
 * that exist already, which AMI cannot do without breaking both legs' ends).
 */
#include <stdlib.h>
#include <string.h>

#include "pbx-ami-driver.h"

#define AMI_CAPABILITIES                                                                           \
    (UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL | UCD_PBX_CAP_HANGUP | UCD_PBX_CAP_TRANSFER_BLIND |    \
     UCD_PBX_CAP_DEFLECT | UCD_PBX_CAP_PICKUP | UCD_PBX_CAP_DTMF | UCD_PBX_CAP_FORWARD |           \
     UCD_PBX_CAP_DND)

/* A dial still waiting for its OriginateResponse. */
typedef struct ami_originate {
    char *channel_id; /* the Uniqueid we gave the new channel (ChannelId:) */
    char *line;
    char *number;    /* as dialled */
    gboolean seen;   /* the model reported a leg with that Uniqueid */
    gboolean pickup; /* an Originate for pickup: no failed leg of its own */
    gboolean ended;  /* that leg ended, with end_cause */
    uint32_t end_cause;
    char *failure; /* a failed OriginateResponse's detail, while its leg has not ended */
} ami_originate;

void ami_originate_free(gpointer data)
{
    ami_originate *o = data;
    g_free(o->channel_id);
    g_free(o->line);
    g_free(o->number);
    g_free(o->failure);
    g_free(o);
}

static void warn_failed(ami_driver *d, const ami_originate *o, uint32_t cause, const char *detail);

/* ---- checks shared by the operations ------------------------------------------------- */

static ami_line *find_line(ami_driver *d, const char *address)
{
    return address != NULL ? g_hash_table_lookup(d->line_by_address, address) : NULL;
}

/* UCD_OK when `address` is a line and the link is up to act on it. */
static int usable_line(ami_driver *d, const char *address, ami_line **out)
{
    *out = find_line(d, address);
    if (*out == NULL)
        return UCD_E_NOT_FOUND;
    if (!d->running || d->conn == NULL || pami_conn_get_state(d->conn) != PAMI_CONN_UP)
        return UCD_E_UNAVAILABLE;
    return UCD_OK;
}

/* The model's leg id of a ucd call id ("office-1795358381.8" -> "1795358381.8"). */
static const char *leg_id_of(ami_driver *d, const char *call_id)
{
    size_t n = strlen(d->id_prefix);
    if (call_id == NULL || strncmp(call_id, d->id_prefix, n) != 0 || call_id[n] != '-')
        return NULL;
    return call_id + n + 1;
}

/* The channel of `call_id` on the line `address` (the leg's own, or with
 * `peer` the one bridged with it or dialling it), copied into `*channel`. */
static int call_channel(ami_driver *d, const char *address, const char *call_id, gboolean peer,
                        char **channel)
{
    ami_line *line = NULL;
    int rc = usable_line(d, address, &line);
    if (rc != UCD_OK)
        return rc;
    const char *leg_id = leg_id_of(d, call_id);
    if (leg_id == NULL || pami_model_leg_channel(d->model, address, leg_id) == NULL)
        return UCD_E_NOT_FOUND;
    const char *name = peer ? pami_model_leg_peer_channel(d->model, address, leg_id)
                            : pami_model_leg_channel(d->model, address, leg_id);
    if (name == NULL)
        return UCD_E_INVALID; /* no far side (yet): nothing to act on */
    *channel = g_strdup(name);
    return UCD_OK;
}

/* A number as Exten: the numbers service's dialable form for this driver's
 * location when there is one, then only what a dialplan extension holds
 * (separators people type are dropped; anything else refuses the number, so
 * no header or dialplan syntax can ride along). */
static char *dialable(ami_driver *d, const char *number)
{
    ucd_service s = {.struct_size = sizeof s};
    ucd_number_info info = {.struct_size = sizeof info};
    const char *raw = number;

    if (number == NULL || *number == '\0' || strlen(number) > 64)
        return NULL;
    if (d->host->service_get(d->self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &s) == UCD_OK) {
        const ucd_numbers_v1 *numbers = s.iface;
        int rc = numbers->normalize(s.impl, d->module_id, number, &info);
        if (rc == UCD_E_INVALID)
            return NULL;
        if (info.dialable[0] != '\0')
            raw = info.dialable;
    }
    GString *out = g_string_new(NULL);
    for (const char *c = raw; *c; c++) {
        if (g_ascii_isalnum(*c) || strchr("*#+", *c) != NULL) {
            g_string_append_c(out, *c);
        } else if (strchr(" -()./", *c) == NULL) {
            g_string_free(out, TRUE);
            return NULL;
        }
    }
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

/* A template ({line}, {number} replaced) as the value of an Originate
 * Variable header. Asterisk splits Variable values at commas and drops
 * quotes and backslashes (AST_STANDARD_APP_ARGS in man_do_variable_value),
 * so those are escaped with a backslash to arrive as written. */
static char *variable_value(const char *template, const char *line, const char *number)
{
    GString *s = g_string_new(template);
    g_string_replace(s, "{line}", line, 0);
    g_string_replace(s, "{number}", number, 0);
    GString *out = g_string_sized_new(s->len + 8);
    for (const char *c = s->str; *c; c++) {
        if (strchr("\\\",", *c) != NULL)
            g_string_append_c(out, '\\');
        g_string_append_c(out, *c);
    }
    g_string_free(s, TRUE);
    return g_string_free(out, FALSE);
}

static char *timeout_text(ami_driver *d)
{
    return g_strdup_printf("%" G_GINT64_FORMAT, d->originate_timeout_ms);
}

/* What "ACTION on LINE" log lines say. */
static char *what(const char *action, const char *line)
{
    return g_strdup_printf("%s on %s", action, line);
}

static int send_simple(ami_driver *d, pami_message *action, const char *verb, const char *line)
{
    char *w = what(verb, line);
    int rc = ami_send(d, action, NULL, 0, w, FALSE, NULL, NULL, NULL);
    g_free(w);
    return rc;
}

/* ---- dial and its outcome ------------------------------------------------------------ */

/* Asterisk's OriginateResponse Reason (the control frame that ended the
 * attempt) as a ucd cause. */
static uint32_t cause_of_reason(const char *reason)
{
    switch (reason != NULL ? atoi(reason) : 0) {
    case 1: /* AST_CONTROL_HANGUP: hung up before answering */
        return UCD_CAUSE_REJECTED;
    case 3: /* AST_CONTROL_RINGING: rang until the timeout */
        return UCD_CAUSE_NO_ANSWER;
    case 5: /* AST_CONTROL_BUSY */
        return UCD_CAUSE_BUSY;
    default: /* 0: no channel (device unknown or unreachable), 8: congestion */
        return UCD_CAUSE_FAILED;
    }
}

static const char *reason_text(uint32_t cause)
{
    switch (cause) {
    case UCD_CAUSE_REJECTED:
        return "hung up before answering";
    case UCD_CAUSE_NO_ANSWER:
        return "no answer";
    case UCD_CAUSE_BUSY:
        return "busy";
    case UCD_CAUSE_NORMAL:
        return "hung up";
    case UCD_CAUSE_LINK_LOST:
        return "link to Asterisk lost";
    default:
        return "failed";
    }
}

/* One warning per failed dial or pickup, naming the outcome the journal
 * shows. */
static void warn_failed(ami_driver *d, const ami_originate *o, uint32_t cause, const char *detail)
{
    ucd_warning(d->host, d->self, "%s on %s to %s failed: %s (%s)", o->pickup ? "pickup" : "dial",
                o->line, o->number, reason_text(cause), detail);
}

void ami_originate_seen(ami_driver *d, const pami_leg_change *change)
{
    ami_originate *o =
        change->leg_id != NULL ? g_hash_table_lookup(d->originates, change->leg_id) : NULL;
    if (o == NULL)
        return;
    o->seen = TRUE;
    if (change->state != UCD_CALL_DISCONNECTED)
        return;
    o->ended = TRUE;
    o->end_cause = change->cause;
    if (o->failure != NULL) { /* the OriginateResponse came first: say it now */
        warn_failed(d, o, o->end_cause, o->failure);
        g_hash_table_remove(d->originates, change->leg_id);
    }
}

/* A dial that never made a channel shows as a leg that dialled and failed,
 * so the user and the journal see the attempt (as pbx-sim tells a failed
 * dial). When Asterisk did make the channel, its own events told the story. */
static void publish_failed_dial(ami_driver *d, const ami_originate *o, uint32_t cause)
{
    pami_leg_change c = {
        .line = o->line,
        .leg_id = o->channel_id,
        .conversation_id = o->channel_id,
        .state = UCD_CALL_DIALING,
        .prev_state = UCD_CALL_IDLE,
        .direction = find_line(d, o->number) != NULL ? UCD_DIR_INTERNAL : UCD_DIR_OUTBOUND,
        .remote_number = o->number,
        .time_ms = g_get_real_time() / 1000,
    };
    ami_publish_leg(d, &c);
    c.prev_state = UCD_CALL_DIALING;
    c.state = UCD_CALL_DISCONNECTED;
    c.cause = cause;
    ami_publish_leg(d, &c);
}

/* The OriginateResponse among an async action's events, or NULL. */
static pami_message *originate_response(GPtrArray *events)
{
    for (guint i = 0; events != NULL && i < events->len; i++) {
        pami_message *e = g_ptr_array_index(events, i);
        const char *name = pami_message_event(e);
        if (name != NULL && g_ascii_strcasecmp(name, "OriginateResponse") == 0)
            return e;
    }
    return NULL;
}

static void on_originated(ami_driver *d, pami_message *response, GPtrArray *events, void *data)
{
    ami_originate *o = g_hash_table_lookup(d->originates, data);
    pami_message *result = originate_response(events);

    if (o == NULL)
        return;
    if (response == NULL && result == NULL) {
        /* No answer at all: the link went down with the Originate pending.
         * Asterisk may have made the call; the resync after reconnecting shows
         * it (or not), so no failed leg is invented here. */
        ucd_warning(d->host, d->self, "%s on %s to %s: outcome unknown, the link went down",
                    o->pickup ? "pickup" : "dial", o->line, o->number);
        g_hash_table_remove(d->originates, data);
        return;
    }
    if (ami_response_ok(response) && result != NULL && ami_response_ok(result)) {
        ucd_info(d->host, d->self, "%s on %s: answered, now calling %s",
                 o->pickup ? "pickup" : "dial", o->line, o->number);
    } else {
        /* The action's own Message only when it was refused: an accepted one
         * says "Originate successfully queued", no reason for the failure. */
        const char *message = response != NULL && !ami_response_ok(response)
                                  ? pami_message_get(response, "Message")
                                  : NULL;
        const char *reason = result != NULL ? pami_message_get(result, "Reason") : NULL;
        char *detail = message != NULL  ? g_strdup(message)
                       : reason != NULL ? g_strdup_printf("Asterisk reason %s", reason)
                                        : g_strdup("no OriginateResponse");
        if (message != NULL) /* Asterisk refused the action itself (warned below) */
            d->host->counter_add(d->failed_counter, 1);
        if (o->seen && !o->ended) {
            /* The channel exists and its own Hangup cause (17 User busy for a
             * phone that rejects) tells more than the Reason, which Asterisk
             * sends before that Hangup (0 in pjsip-originate): the warning
             * waits for the leg's end, so log and journal say the same. */
            o->failure = detail;
            return;
        }
        uint32_t cause = o->ended ? o->end_cause : cause_of_reason(reason);
        warn_failed(d, o, cause, detail);
        g_free(detail);
        if (!o->seen && !o->pickup)
            publish_failed_dial(d, o, cause);
        if (!o->seen) /* no channel came: nothing will meet the model's expectation */
            pami_model_forget_expectation(d->model, o->channel_id);
    }
    g_hash_table_remove(d->originates, data);
}

/* Sends an Originate from `line`'s device: to Context/Exten `exten`, or with
 * `application` to that application. The new channel's Uniqueid is ours
 * (ChannelId:), so the leg's call id is known before Asterisk answers. */
static int originate(ami_driver *d, ami_line *line, const char *exten, const char *shown,
                     const char *application, const char *app_data, char **channel_id)
{
    ami_originate *o = g_new0(ami_originate, 1);
    o->channel_id = g_strdup_printf("ucd.%" G_GINT64_FORMAT ".%" G_GUINT64_FORMAT,
                                    g_get_real_time() / 1000, ++d->next_originate);
    o->line = g_strdup(line->address);
    o->number = g_strdup(shown);
    o->pickup = application != NULL;
    /* Who is who: the user's phone rings first and shows the number it is
     * about to call (its connected line, set without an update: 'i'); the
     * called party sees the user, as for a call from the phone: the device's
     * own caller ID unless originate_callerid says otherwise. No CallerID
     * header: Asterisk would make it both the caller ID (what the called
     * party sees) and the connected line (what the user's phone shows),
     * overwriting the Variables (pbx_outgoing_attempt in main/pbx.c). */
    char *display = variable_value(d->originate_display, line->address, shown);
    char *connected = g_strconcat("CONNECTEDLINE(all,i)=", display, NULL);
    char *callerid = NULL;
    if (d->originate_callerid != NULL) {
        char *value = variable_value(d->originate_callerid, line->address, shown);
        callerid = g_strconcat("CALLERID(all)=", value, NULL);
        g_free(value);
    }
    char *timeout = timeout_text(d);
    pami_message *action =
        ami_action("Originate", "Channel", line->device, "Context",
                   application == NULL ? d->originate_context : NULL, "Exten", exten, "Priority",
                   application == NULL ? "1" : NULL, "Application", application, "Data", app_data,
                   "Variable", connected, "Variable", callerid, "Timeout", timeout, "Async", "true",
                   "ChannelId", o->channel_id, NULL);
    g_free(timeout);
    g_free(callerid);
    g_free(connected);
    g_free(display);

    g_hash_table_insert(d->originates, o->channel_id, o);
    if (o->pickup) /* its leg is the picked call's, once the Pickup event says which */
        pami_model_expect_pickup(d->model, o->channel_id);
    else /* the user's own call, though the phone rings first */
        pami_model_expect_originate(d->model, o->channel_id, exten);
    char *w = what(application == NULL ? "dial" : "pickup", line->address);
    guint wait_ms = (guint)d->originate_timeout_ms + 30000; /* ringing, then the dialplan */
    int rc = ami_send(d, action, "OriginateResponse", wait_ms, w, TRUE, on_originated,
                      g_strdup(o->channel_id), g_free);
    g_free(w);
    if (rc != UCD_OK) {
        pami_model_forget_expectation(d->model, o->channel_id);
        g_hash_table_remove(d->originates, o->channel_id);
        return rc;
    }
    if (channel_id != NULL)
        *channel_id = g_strdup(o->channel_id);
    return UCD_OK;
}

static int ami_dial(void *impl, const char *address, const char *number, char *call_id,
                    size_t call_id_size)
{
    ami_driver *d = impl;
    ami_line *line = NULL;
    char *channel_id = NULL;

    if (call_id != NULL && call_id_size > 0)
        call_id[0] = '\0';
    int rc = usable_line(d, address, &line);
    if (rc != UCD_OK)
        return rc;
    char *exten = dialable(d, number);
    if (exten == NULL)
        return UCD_E_INVALID;
    rc = originate(d, line, exten, exten, NULL, NULL, &channel_id);
    if (rc == UCD_OK) {
        ucd_info(d->host, d->self, "dial: ringing %s (%s) to call %s", line->address, line->device,
                 exten);
        if (call_id != NULL && call_id_size > 0)
            g_snprintf(call_id, call_id_size, "%s-%s", d->id_prefix, channel_id);
    }
    g_free(channel_id);
    g_free(exten);
    return rc;
}

/* ---- calls in progress ----------------------------------------------------------------- */

static int ami_hangup(void *impl, const char *address, const char *call_id)
{
    ami_driver *d = impl;
    char *channel = NULL;
    int rc = call_channel(d, address, call_id, FALSE, &channel);
    if (rc != UCD_OK)
        return rc;
    rc = send_simple(d, ami_action("Hangup", "Channel", channel, NULL), "hangup", address);
    g_free(channel);
    return rc;
}

/* An operation that moves a call to `number` in the originate context:
 * BlindTransfer of the line's own channel, or Redirect of the far side. */
static int send_to_number(ami_driver *d, const char *address, const char *call_id,
                          const char *number, gboolean redirect)
{
    char *channel = NULL;
    int rc = call_channel(d, address, call_id, redirect, &channel);
    if (rc != UCD_OK)
        return rc;
    char *exten = dialable(d, number);
    if (exten == NULL) {
        g_free(channel);
        return UCD_E_INVALID;
    }
    pami_message *action =
        redirect ? ami_action("Redirect", "Channel", channel, "Context", d->originate_context,
                              "Exten", exten, "Priority", "1", NULL)
                 : ami_action("BlindTransfer", "Channel", channel, "Context", d->originate_context,
                              "Exten", exten, NULL);
    rc = send_simple(d, action, redirect ? "deflect" : "transfer", address);
    g_free(exten);
    g_free(channel);
    return rc;
}

static int ami_transfer_blind(void *impl, const char *address, const char *call_id,
                              const char *number)
{
    return send_to_number(impl, address, call_id, number, FALSE);
}

static int ami_deflect(void *impl, const char *address, const char *call_id, const char *number)
{
    return send_to_number(impl, address, call_id, number, TRUE);
}

static int ami_pickup(void *impl, const char *address, const char *target)
{
    ami_driver *d = impl;
    ami_line *line = NULL;
    int rc = usable_line(d, address, &line);
    if (rc != UCD_OK)
        return rc;
    if (find_line(d, target) == NULL)
        return UCD_E_NOT_FOUND;
    const char *ringing = pami_model_ringing_channel(d->model, target);
    if (ringing == NULL)
        return UCD_E_NOT_FOUND; /* nothing rings there */
    char *channel = g_strdup(ringing);
    rc = originate(d, line, NULL, target, "PickupChan", channel, NULL);
    g_free(channel);
    return rc;
}

static gboolean valid_digits(const char *digits)
{
    if (digits == NULL || *digits == '\0' || strlen(digits) > 64)
        return FALSE;
    for (const char *c = digits; *c; c++)
        if (!g_ascii_isdigit(*c) && strchr("*#ABCDabcd", *c) == NULL)
            return FALSE;
    return TRUE;
}

/* PlayDTMF sends a digit out on a channel, to whatever is at its far end: on
 * the peer's channel the remote party (an IVR) hears it. */
static int ami_send_dtmf(void *impl, const char *address, const char *call_id, const char *digits)
{
    ami_driver *d = impl;
    char *channel = NULL;
    if (!valid_digits(digits))
        return find_line(d, address) != NULL ? UCD_E_INVALID : UCD_E_NOT_FOUND;
    int rc = call_channel(d, address, call_id, TRUE, &channel);
    for (const char *c = digits; rc == UCD_OK && *c; c++) {
        char digit[2] = {g_ascii_toupper(*c), '\0'};
        rc = send_simple(d, ami_action("PlayDTMF", "Channel", channel, "Digit", digit, NULL),
                         "dtmf", address);
    }
    g_free(channel);
    return rc;
}

/* ---- what a line cannot do over AMI ------------------------------------------------- */

static int unsupported(ami_driver *d, const char *address)
{
    return find_line(d, address) != NULL ? UCD_E_UNSUPPORTED : UCD_E_NOT_FOUND;
}

static int ami_answer(void *impl, const char *address, const char *call_id)
{
    (void)call_id;
    return unsupported(impl, address);
}

static int ami_hold(void *impl, const char *address, const char *call_id)
{
    (void)call_id;
    return unsupported(impl, address);
}

static int ami_transfer_consult(void *impl, const char *address, const char *held,
                                const char *active)
{
    (void)held;
    (void)active;
    return unsupported(impl, address);
}

/* ---- DND and forwarding in the AstDB --------------------------------------------------- */

enum { ASTDB_DND, ASTDB_FORWARD, ASTDB_OTHER };

/* What an AstDB action was sent for. */
typedef enum astdb_mode {
    ASTDB_READ,      /* DBGet: the resync, or a feature code changed the key */
    ASTDB_PUT,       /* DBPut of `value` */
    ASTDB_DEL,       /* DBDel */
    ASTDB_CHECK_DEL, /* DBGet after a refused DBDel: was the key there at all? */
} astdb_mode;

/* One AstDB read or write for a line. */
typedef struct astdb_op {
    char *address;
    char *family;
    int kind; /* ASTDB_* */
    astdb_mode mode;
    char *value; /* written (DBPut), or NULL */
} astdb_op;

static void astdb_op_free(gpointer data)
{
    astdb_op *op = data;
    g_free(op->address);
    g_free(op->family);
    g_free(op->value);
    g_free(op);
}

static void line_astdb_set(ami_driver *d, ami_line *line, int kind, const char *value)
{
    if (kind == ASTDB_DND) {
        line->dnd = value != NULL && *value != '\0';
    } else if (kind == ASTDB_FORWARD) {
        g_free(line->forward_to);
        line->forward_to = value != NULL && *value != '\0' ? g_strdup(value) : NULL;
    }
    ami_line_publish(d, line);
}

/* "Database entry not found": DBGet's answer for an absent key (and DBDel's
 * on old versions). Asterisk 16 and later answer a DBDel of an absent key
 * "Database entry could not be deleted", the same words as for a database
 * error (manager_dbdel in main/db.c), so that one is checked with a DBGet. */
static gboolean entry_absent(const pami_message *response)
{
    const char *message = response != NULL ? pami_message_get(response, "Message") : NULL;
    return message != NULL && strstr(message, "not found") != NULL;
}

static const char *message_of(const pami_message *response)
{
    const char *message = response != NULL ? pami_message_get(response, "Message") : NULL;
    return message != NULL ? message : "refused";
}

static int astdb_kind(ami_driver *d, const char *family)
{
    return g_ascii_strcasecmp(family, d->dnd_family) == 0  ? ASTDB_DND
           : g_ascii_strcasecmp(family, d->cf_family) == 0 ? ASTDB_FORWARD
                                                           : ASTDB_OTHER;
}

void ami_astdb_value(ami_driver *d, const pami_message *event)
{
    const char *family = pami_message_get(event, "Family");
    const char *key = pami_message_get(event, "Key");
    ami_line *line = find_line(d, key);
    if (line == NULL || family == NULL)
        return;
    line_astdb_set(d, line, astdb_kind(d, family), pami_message_get(event, "Val"));
}

static int astdb_send(ami_driver *d, const char *family, ami_line *line, int kind,
                      const char *value, astdb_mode mode);

/* "DBDel DND/201" for log lines (the check after a refused DBDel is named
 * after the DBDel it checks). */
static char *astdb_what(const astdb_op *op)
{
    const char *name = op->mode == ASTDB_PUT                                  ? "DBPut"
                       : op->mode == ASTDB_DEL || op->mode == ASTDB_CHECK_DEL ? "DBDel"
                                                                              : "DBGet";
    return g_strdup_printf("%s %s/%s", name, op->family, op->address);
}

static void on_astdb(ami_driver *d, pami_message *response, GPtrArray *events, void *data)
{
    astdb_op *op = data;
    ami_line *line = find_line(d, op->address);
    if (line == NULL || response == NULL)
        return; /* no answer: the link went down, the resync reads the keys again */
    gboolean ok = ami_response_ok(response);
    char *what = astdb_what(op);

    if (op->mode == ASTDB_READ || op->mode == ASTDB_CHECK_DEL) {
        gboolean present = FALSE;
        for (guint i = 0; ok && events != NULL && i < events->len; i++) {
            const char *name = pami_message_event(g_ptr_array_index(events, i));
            if (name != NULL && g_ascii_strcasecmp(name, "DBGetResponse") == 0) {
                ami_astdb_value(d, g_ptr_array_index(events, i));
                present = TRUE;
            }
        }
        if (entry_absent(response))
            line_astdb_set(d, line, op->kind, NULL); /* absent: off, and a delete done */
        else if (op->mode == ASTDB_CHECK_DEL)
            /* The key is still there (or unreadable): the DBDel really failed. */
            ami_action_failed(
                d, what, present ? "Database entry could not be deleted" : message_of(response));
    } else if (ok) {
        line_astdb_set(d, line, op->kind, op->value);
    } else if (op->mode == ASTDB_DEL && entry_absent(response)) {
        line_astdb_set(d, line, op->kind, NULL);
    } else if (op->mode == ASTDB_DEL) {
        /* Absent key or database error: ask whether the key is still there. */
        if (astdb_send(d, op->family, line, op->kind, NULL, ASTDB_CHECK_DEL) != UCD_OK)
            ami_action_failed(d, what, message_of(response));
    } else {
        ami_action_failed(d, what, message_of(response));
    }
    g_free(what);
}

static int astdb_send(ami_driver *d, const char *family, ami_line *line, int kind,
                      const char *value, astdb_mode mode)
{
    astdb_op *op = g_new0(astdb_op, 1);
    op->address = g_strdup(line->address);
    op->family = g_strdup(family);
    op->kind = kind;
    op->mode = mode;
    op->value = g_strdup(value);
    const char *name = mode == ASTDB_PUT ? "DBPut" : mode == ASTDB_DEL ? "DBDel" : "DBGet";
    pami_message *action = ami_action(name, "Family", family, "Key", line->address, "Val",
                                      mode == ASTDB_PUT ? value : NULL, NULL);
    char *w = astdb_what(op);
    /* Quiet: on_astdb judges the answer (an absent key is no failure). */
    int rc = ami_send(d, action, NULL, 0, w, TRUE, on_astdb, op, astdb_op_free);
    g_free(w);
    return rc;
}

void ami_astdb_read(ami_driver *d)
{
    for (guint i = 0; i < d->lines->len; i++) {
        ami_line *line = g_ptr_array_index(d->lines, i);
        astdb_send(d, d->dnd_family, line, ASTDB_DND, NULL, ASTDB_READ);
        astdb_send(d, d->cf_family, line, ASTDB_FORWARD, NULL, ASTDB_READ);
    }
}

/* ---- the periodic re-read ---- */

/* The values of a DBGetTree answer for `family`: key (line address) -> value.
 * Asterisk names each key "/FAMILY/KEY" (manager_dbgettree in main/db.c). */
static GHashTable *tree_values(GPtrArray *events, const char *family)
{
    GHashTable *values = g_hash_table_new(g_str_hash, g_str_equal);
    size_t n = strlen(family);
    for (guint i = 0; events != NULL && i < events->len; i++) {
        const pami_message *e = g_ptr_array_index(events, i);
        const char *name = pami_message_event(e);
        const char *key = pami_message_get(e, "Key");
        if (name == NULL || g_ascii_strcasecmp(name, "DBGetTreeResponse") != 0 || key == NULL ||
            key[0] != '/' || g_ascii_strncasecmp(key + 1, family, n) != 0 || key[n + 1] != '/')
            continue;
        const char *value = pami_message_get(e, "Val");
        g_hash_table_insert(values, (gpointer)(key + n + 2), (gpointer)(value ? value : ""));
    }
    return values;
}

static void refresh_family(ami_driver *d, const char *family);

static void on_tree(ami_driver *d, pami_message *response, GPtrArray *events, void *data)
{
    gboolean dnd = GPOINTER_TO_INT(data);
    const char *family = dnd ? d->dnd_family : d->cf_family;
    if (response == NULL)
        return; /* the link went down: the resync reads every key again */
    if (!ami_response_ok(response)) {
        /* DBGetTree came to Asterisk in 2022 (main/db.c): older ones get one DBGet
         * per line and family then. */
        if (!d->astdb_tree_unsupported)
            ucd_info(d->host, d->self, "DBGetTree refused (%s): reading DND and forward with DBGet",
                     message_of(response));
        d->astdb_tree_unsupported = TRUE;
        ami_astdb_read(d);
        return;
    }
    GHashTable *values = tree_values(events, family);
    for (guint i = 0; i < d->lines->len; i++) {
        ami_line *line = g_ptr_array_index(d->lines, i);
        line_astdb_set(d, line, dnd ? ASTDB_DND : ASTDB_FORWARD,
                       g_hash_table_lookup(values, line->address));
    }
    g_hash_table_unref(values);
    if (dnd)
        refresh_family(d, d->cf_family);
}

static void refresh_family(ami_driver *d, const char *family)
{
    gboolean dnd = family == d->dnd_family;
    char *w = g_strdup_printf("DBGetTree %s", family);
    ami_send(d, ami_action("DBGetTree", "Family", family, NULL), NULL, 0, w, TRUE, on_tree,
             GINT_TO_POINTER(dnd), NULL);
    g_free(w);
}

void ami_astdb_refresh(ami_driver *d)
{
    if (!d->running || !d->resynced || d->conn == NULL ||
        pami_conn_get_state(d->conn) != PAMI_CONN_UP)
        return;
    if (d->astdb_tree_unsupported)
        ami_astdb_read(d);
    else
        refresh_family(d, d->dnd_family); /* then the forward family */
}

/* FreePBX's feature codes (DND *78 on, *79 off, *76 toggle; forward *72, *73) and its
 * GUI write the AstDB key and set the custom device state Custom:DND<ext>
 * (BUSY on, UNAVAILABLE off) or Custom:CF<ext> (BUSY on, NOT_INUSE off);
 * Asterisk reports that as DeviceStateChange. The state says on or off but not
 * the forward's number, so the key is read again: the AstDB is the truth. */
gboolean ami_astdb_device_state(ami_driver *d, const pami_message *event)
{
    const char *device = pami_message_get(event, "Device");
    if (device == NULL || g_ascii_strncasecmp(device, "Custom:", 7) != 0)
        return FALSE;
    const char *name = device + 7;
    const char *families[] = {d->dnd_family, d->cf_family};
    for (guint i = 0; i < G_N_ELEMENTS(families); i++) {
        size_t n = strlen(families[i]);
        ami_line *line =
            g_ascii_strncasecmp(name, families[i], n) == 0 ? find_line(d, name + n) : NULL;
        if (line != NULL) {
            int kind = astdb_kind(d, families[i]);
            astdb_send(d, families[i], line, kind, NULL, ASTDB_READ);
            return TRUE;
        }
    }
    return FALSE;
}

static int ami_set_dnd(void *impl, const char *address, int on)
{
    ami_driver *d = impl;
    ami_line *line = NULL;
    int rc = usable_line(d, address, &line);
    if (rc != UCD_OK)
        return rc;
    return astdb_send(d, d->dnd_family, line, ASTDB_DND, on ? d->dnd_value : NULL,
                      on ? ASTDB_PUT : ASTDB_DEL);
}

static int ami_set_forward(void *impl, const char *address, uint32_t type, const char *number)
{
    ami_driver *d = impl;
    ami_line *line = NULL;
    int rc = usable_line(d, address, &line);
    if (rc != UCD_OK)
        return rc;
    const char *family = type == UCD_FORWARD_UNCONDITIONAL ? d->cf_family
                         : type == UCD_FORWARD_BUSY        ? d->cfb_family
                         : type == UCD_FORWARD_NO_ANSWER   ? d->cfu_family
                                                           : NULL;
    if (family == NULL)
        return UCD_E_INVALID;
    char *target = NULL;
    if (number != NULL && (target = dialable(d, number)) == NULL)
        return UCD_E_INVALID;
    int kind = type == UCD_FORWARD_UNCONDITIONAL ? ASTDB_FORWARD : ASTDB_OTHER;
    rc = astdb_send(d, family, line, kind, target, target != NULL ? ASTDB_PUT : ASTDB_DEL);
    g_free(target);
    return rc;
}

/* ---- the table -------------------------------------------------------------------------- */

static int ami_list_lines(void *impl, ucd_pbx_line_cb cb, void *user_data)
{
    ami_driver *d = impl;
    for (guint i = 0; i < d->lines->len; i++) {
        const ami_line *line = g_ptr_array_index(d->lines, i);
        const ucd_pbx_line info = {
            .struct_size = sizeof(info),
            .state = pami_model_line_state(d->model, line->address),
            .address = line->address,
            .number = line->address,
            .name = line->device,
            .capabilities = AMI_CAPABILITIES,
        };
        if (cb(&info, user_data) != 0)
            break;
    }
    return UCD_OK;
}

static uint64_t ami_capabilities(void *impl, const char *address)
{
    return find_line(impl, address) != NULL ? AMI_CAPABILITIES : 0;
}

const ucd_pbx_v1 ami_pbx_table = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = ami_list_lines,
    .capabilities = ami_capabilities,
    .dial = ami_dial,
    .answer = ami_answer,
    .hangup = ami_hangup,
    .hold = ami_hold,
    .retrieve = ami_hold,
    .transfer_blind = ami_transfer_blind,
    .transfer_consult = ami_transfer_consult,
    .deflect = ami_deflect,
    .pickup = ami_pickup,
    .send_dtmf = ami_send_dtmf,
    .set_forward = ami_set_forward,
    .set_dnd = ami_set_dnd,
};
