/*
 * sip-subscriber.c - dialog-event subscriptions over sofia-sip's nua.
 *
 * One nua user agent per subscriber, its su_root driven by a GSource on the
 * caller's GMainContext, so every nua event below runs on that context's
 * thread. One nua handle per monitored line; the handle is replaced (not
 * reused) whenever a subscription has to start over, so a late answer to an
 * abandoned SUBSCRIBE can never be taken for the new one.
 */
#define SU_ROOT_MAGIC_T struct psip_subscriber
#define NUA_MAGIC_T     struct psip_subscriber
#define NUA_HMAGIC_T    struct psip_sub_line

#include "sip-subscriber.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/soa_tag.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_tag.h>

#include <string.h>

#define G_LOG_DOMAIN_PSIP "psip"

#define DIALOG_EVENT     "dialog"
#define DIALOG_ACCEPT    "application/dialog-info+xml"
#define SHUTDOWN_WAIT_MS 5000

typedef struct psip_sub_line {
    struct psip_subscriber *owner;
    char *uri;
    psip_line *line;
    nua_handle_t *handle; /* NULL while waiting to subscribe again */
    gboolean active;
    gboolean auth_tried; /* credentials answer one challenge per SUBSCRIBE, not a loop */
    guint retry_ms;
    GSource *retry;   /* the pending new subscription, or NULL */
    gboolean sending; /* our SUBSCRIBE is out and unanswered: it holds a place in the window */
    GList *waiting;   /* our link in the owner's `waiting` queue, NULL when not queued */
} psip_sub_line;

struct psip_subscriber {
    GMainContext *context;
    su_root_t *root;
    nua_t *nua;
    GHashTable *lines; /* uri -> psip_sub_line * */
    GHashTable *dials; /* nua_handle_t * -> psip_dial *: click-to-dial calls under way */
    psip_subscriber_callbacks callbacks;
    char *auth_user;
    char *auth_password;
    char *expires;
    guint retry_min_ms;
    guint retry_max_ms;
    gboolean shutdown_done;
    /* Server keepalive (0 = off): one OPTIONS probe at a time. */
    char *server_uri;
    guint keepalive_ms;
    nua_handle_t *probe;  /* the probe awaiting its answer, or NULL */
    GSource *probe_timer; /* the next probe */
    gboolean link_down;
    guint down_probe_ms; /* the interval between probes while down (backoff) */
    /* Pacing (see "the subscribe window" below). */
    guint window;       /* at most this many of our SUBSCRIBEs unanswered at a time */
    guint sending;      /* how many are unanswered now */
    guint peak_sending; /* the most there ever were */
    guint64 sent;       /* SUBSCRIBEs sent through the window */
    GQueue waiting;     /* psip_sub_line *: lines whose SUBSCRIBE waits for room */
    gboolean closing;   /* psip_subscriber_free has begun: nothing new is sent */
};

static void subscribe_again_later(psip_sub_line *l);

static void report_status(psip_sub_line *l, psip_subscription_status status, int code)
{
    psip_subscriber *sub = l->owner;
    if (sub->callbacks.status)
        sub->callbacks.status(l->uri, status, code, sub->callbacks.user_data);
}

/* Sends a SUBSCRIBE on the line's handle: the first one, or a refresh when
 * the handle already has a subscription (nua tells them apart itself). */
static void send_subscribe(psip_sub_line *l)
{
    psip_subscriber *sub = l->owner;
    nua_subscribe(l->handle, NUTAG_URL(l->uri), SIPTAG_EVENT_STR(DIALOG_EVENT),
                  SIPTAG_ACCEPT_STR(DIALOG_ACCEPT), SIPTAG_EXPIRES_STR(sub->expires), TAG_END());
}

/* ---- the subscribe window ---------------------------------------------------------------
 *
 * Every SUBSCRIBE this module sends itself (a line's first, a new one after a
 * failure, every line's after the link comes back, a resync refresh) goes
 * through a window: at most `window` of them unanswered at a time, the next
 * one sent as an answer (any final one) comes in. Sent all at once, a few
 * thousand SUBSCRIBEs make the server answer with as many 200s and NOTIFYs
 * within milliseconds; they overflow our UDP socket's receive buffer and
 * the server's, and the lost ones wait for SIP retransmission timers
 * (0.5, 1.5, 3.5 s...): the lines come up in waves, seconds late, after a
 * burst a production server would rather not take either. The refreshes
 * nua sends by itself do not need this: it schedules each at a random moment
 * between 1/4 and 3/4 of the granted lifetime (30-60 s before the end for
 * lifetimes under 5 minutes), so lines subscribed together refresh spread
 * out. */

static void send_waiting(psip_subscriber *sub);

/* The line's SUBSCRIBE is answered or abandoned: its place goes to the next. */
static void leave_window(psip_sub_line *l)
{
    psip_subscriber *sub = l->owner;
    if (l->waiting) {
        g_queue_delete_link(&sub->waiting, l->waiting);
        l->waiting = NULL;
    }
    if (!l->sending)
        return;
    l->sending = FALSE;
    sub->sending--;
    send_waiting(sub);
}

static void send_in_window(psip_sub_line *l)
{
    psip_subscriber *sub = l->owner;
    if (!l->handle)
        l->handle = nua_handle(sub->nua, l, SIPTAG_TO_STR(l->uri), TAG_END());
    l->sending = TRUE;
    sub->sending++;
    sub->peak_sending = MAX(sub->peak_sending, sub->sending);
    sub->sent++;
    send_subscribe(l);
}

/* Lines wait in the order they asked; none is sent while the link is down
 * (its coming back subscribes every line) or the subscriber is closing. */
static void send_waiting(psip_subscriber *sub)
{
    while (sub->sending < sub->window && !sub->link_down && !sub->closing &&
           !g_queue_is_empty(&sub->waiting)) {
        psip_sub_line *l = g_queue_pop_head(&sub->waiting);
        l->waiting = NULL;
        send_in_window(l);
    }
}

/* Sends the line's SUBSCRIBE (on a new handle when it has none: a fresh
 * subscription) when the window has room, else queues it. A line already
 * sending or queued is left as it is: the answer it waits for does the same. */
static void request_subscribe(psip_sub_line *l)
{
    psip_subscriber *sub = l->owner;
    if (l->sending || l->waiting)
        return;
    g_queue_push_tail(&sub->waiting, l);
    l->waiting = g_queue_peek_tail_link(&sub->waiting);
    send_waiting(sub);
}

static void drop_handle(psip_sub_line *l)
{
    if (l->handle) {
        nua_handle_bind(l->handle, NULL);
        nua_handle_destroy(l->handle);
        l->handle = NULL;
    }
    leave_window(l);
}

/* A fresh subscription on a fresh handle (made when the window lets it go);
 * the line's documents are numbered anew by the server, so its version is
 * forgotten. */
static void subscribe_fresh(psip_sub_line *l)
{
    drop_handle(l);
    l->active = FALSE;
    l->auth_tried = FALSE;
    psip_line_new_subscription(l->line);
    request_subscribe(l);
}

static gboolean retry_fired(gpointer data)
{
    psip_sub_line *l = data;
    g_source_unref(l->retry);
    l->retry = NULL;
    subscribe_fresh(l);
    return G_SOURCE_REMOVE;
}

/* Destroys a pending timer source, if any, and forgets it. */
static void cancel_source(GSource **source)
{
    if (!*source)
        return;
    g_source_destroy(*source);
    g_source_unref(*source);
    *source = NULL;
}

static void cancel_retry(psip_sub_line *l)
{
    cancel_source(&l->retry);
}

/* The subscription is gone (refused, timed out, terminated by the server):
 * start over after the current backoff, which then doubles. */
static void subscribe_again_later(psip_sub_line *l)
{
    psip_subscriber *sub = l->owner;
    drop_handle(l);
    l->active = FALSE;
    if (l->retry || sub->link_down) /* the link coming back subscribes every line */
        return;
    l->retry = g_timeout_source_new(l->retry_ms);
    g_source_set_callback(l->retry, retry_fired, l, NULL);
    g_source_attach(l->retry, sub->context);
    l->retry_ms = MIN(l->retry_ms * 2, sub->retry_max_ms);
}

/* Answers the 401/407 challenge in `sip` on handle `nh` with the configured
 * credentials. The realm comes from the challenge; nua keeps the credentials
 * for later requests on the handle. */
static gboolean answer_challenge(psip_subscriber *sub, nua_handle_t *nh, const sip_t *sip)
{
    if (!sub->auth_user || !sip)
        return FALSE;
    const msg_auth_t *challenge =
        sip->sip_www_authenticate ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    if (!challenge)
        return FALSE;
    const char *realm = msg_params_find(challenge->au_params, "realm=");
    if (!realm)
        return FALSE;
    char *credentials = g_strdup_printf("%s:%s:%s:%s", challenge->au_scheme, realm, sub->auth_user,
                                        sub->auth_password);
    nua_authenticate(nh, NUTAG_AUTH(credentials), TAG_END());
    memset(credentials, 0, strlen(credentials)); /* not left behind in freed memory */
    g_free(credentials);
    return TRUE;
}

/* Credentials answer one challenge per SUBSCRIBE, not a loop. */
static gboolean authenticate(psip_sub_line *l, const sip_t *sip)
{
    if (l->auth_tried || !answer_challenge(l->owner, l->handle, sip))
        return FALSE;
    l->auth_tried = TRUE;
    return TRUE;
}

static void on_subscribe_answer(psip_sub_line *l, int status, const sip_t *sip)
{
    if (status < 200)
        return;
    if ((status == 401 || status == 407) && authenticate(l, sip))
        return; /* the SUBSCRIBE goes again, in the same place in the window */
    leave_window(l);
    if (status == 481 && l->active) {
        /* A refresh the server no longer knows (it restarted, or the
         * subscription expired there): the server is fine, subscribe anew
         * at once; its first full document resyncs the line. */
        subscribe_fresh(l);
        return;
    }
    if (status < 300) {
        l->active = TRUE;
        l->retry_ms = l->owner->retry_min_ms;
        report_status(l, PSIP_SUBSCRIPTION_ACTIVE, status);
        return;
    }
    report_status(l, PSIP_SUBSCRIPTION_FAILED, status);
    subscribe_again_later(l);
}

static void report_changes(psip_sub_line *l, GPtrArray *changes)
{
    psip_subscriber *sub = l->owner;
    for (guint i = 0; i < changes->len; i++)
        sub->callbacks.change(l->uri, g_ptr_array_index(changes, i), sub->callbacks.user_data);
}

/* Parses and applies one NOTIFY body. A body the parser refuses leaves the
 * line as it was: the next full document puts it right. */
static void apply_body(psip_sub_line *l, const sip_payload_t *payload)
{
    if (!payload || payload->pl_len == 0)
        return;
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(payload->pl_data, payload->pl_len, &error);
    if (!doc) {
        g_log(G_LOG_DOMAIN_PSIP, G_LOG_LEVEL_DEBUG, "%s: NOTIFY body refused: %s", l->uri,
              error->message);
        g_error_free(error);
        report_status(l, PSIP_SUBSCRIPTION_BAD_BODY, 0);
        return;
    }
    GPtrArray *changes = psip_line_changes_new();
    psip_line_apply(l->line, doc, changes);
    report_changes(l, changes);
    g_ptr_array_unref(changes);
    psip_doc_free(doc);
    /* A gap in partial documents: a refresh makes the server send full state. */
    if (psip_line_needs_resync(l->line) && l->active)
        request_subscribe(l);
}

static void on_notify(psip_sub_line *l, const sip_t *sip, tagi_t tags[])
{
    if (sip)
        apply_body(l, sip->sip_payload);
    const tagi_t *substate = tl_find(tags, nutag_substate);
    if (substate && substate->t_value == nua_substate_terminated) {
        report_status(l, PSIP_SUBSCRIPTION_FAILED, 0);
        subscribe_again_later(l);
    } else if (!l->active && substate && substate->t_value == nua_substate_active) {
        l->active = TRUE;
    }
}

/* ---- server keepalive ------------------------------------------------------------------ */

static void line_lost(psip_sub_line *l);

/* Answers that say the server did not take the probe: timeout, unavailable
 * (also what sofia-sip reports for a transport error), and sofia-sip's own
 * internal codes (9xx). Any other final answer, 404 and 405 included, proves
 * that the server is alive. */
static gboolean probe_failed_status(int status)
{
    return status == 408 || status == 503 || status >= 900;
}

static void arm_probe_timer(psip_subscriber *sub, guint ms);

static void drop_probe(psip_subscriber *sub)
{
    if (!sub->probe)
        return;
    nua_handle_destroy(sub->probe);
    sub->probe = NULL;
}

/* Tells the link's new state once and brings every line along: down, its
 * calls end (their outcome is unknown now) and its subscription is dropped;
 * up, the server may have restarted and forgotten every subscription, so
 * each line subscribes afresh (a subscription it still kept gets 481 at its
 * next NOTIFY and ends there). FALSE when the link was in that state. */
static gboolean set_link(psip_subscriber *sub, gboolean up, int status)
{
    if (sub->link_down != up)
        return FALSE;
    sub->link_down = !up;
    if (sub->callbacks.link)
        sub->callbacks.link(up, status, sub->callbacks.user_data);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, sub->lines);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        psip_sub_line *l = value;
        cancel_retry(l);
        if (up) {
            l->retry_ms = sub->retry_min_ms;
            subscribe_fresh(l);
        } else {
            drop_handle(l);
            l->active = FALSE;
            line_lost(l);
        }
    }
    return TRUE;
}

/* Down: probes go on with backoff. */
static void link_lost(psip_subscriber *sub, int status)
{
    if (set_link(sub, FALSE, status))
        sub->down_probe_ms = MIN(sub->retry_min_ms, sub->keepalive_ms);
}

static void link_back(psip_subscriber *sub, int status)
{
    if (set_link(sub, TRUE, status))
        arm_probe_timer(sub, sub->keepalive_ms);
}

static void on_probe_answer(psip_subscriber *sub, int status)
{
    if (status < 200)
        return;
    drop_probe(sub);
    if (probe_failed_status(status))
        link_lost(sub, status);
    else
        link_back(sub, status);
}

static void send_probe(psip_subscriber *sub)
{
    sub->probe = nua_handle(sub->nua, NULL, SIPTAG_TO_STR(sub->server_uri), TAG_END());
    if (sub->probe)
        nua_options(sub->probe, NUTAG_URL(sub->server_uri), TAG_END());
}

/* Every keepalive interval (while down: the backoff interval): a probe still
 * unanswered since the last tick means no answer, so the link is down; then
 * the next probe goes out. */
static gboolean probe_tick(gpointer data)
{
    psip_subscriber *sub = data;
    g_source_unref(sub->probe_timer);
    sub->probe_timer = NULL;
    if (sub->probe) {
        drop_probe(sub);
        link_lost(sub, 0);
    }
    send_probe(sub);
    guint next = sub->keepalive_ms;
    if (sub->link_down) { /* backoff, never slower than the keepalive itself */
        next = sub->down_probe_ms;
        sub->down_probe_ms = MIN(sub->down_probe_ms * 2, sub->keepalive_ms);
    }
    arm_probe_timer(sub, next);
    return G_SOURCE_REMOVE;
}

static void cancel_probe_timer(psip_subscriber *sub)
{
    cancel_source(&sub->probe_timer);
}

static void arm_probe_timer(psip_subscriber *sub, guint ms)
{
    cancel_probe_timer(sub);
    sub->probe_timer = g_timeout_source_new(ms);
    g_source_set_callback(sub->probe_timer, probe_tick, sub, NULL);
    g_source_attach(sub->probe_timer, sub->context);
}

gboolean psip_subscriber_link_up(psip_subscriber *sub)
{
    return !sub->link_down;
}

/* ---- click-to-dial ------------------------------------------------------------------- */

/* An SDP offer for our leg to the user's phone: we never send media (port 9,
 * discard), but the phone must find a codec it accepts, or it refuses the call
 * (488) before it can be transferred. */
#define DIAL_SDP                                                                                   \
    "v=0\r\n"                                                                                      \
    "o=ucd 1 1 IN IP4 127.0.0.1\r\n"                                                               \
    "s=ucd\r\n"                                                                                    \
    "c=IN IP4 127.0.0.1\r\n"                                                                       \
    "t=0 0\r\n"                                                                                    \
    "m=audio 9 RTP/AVP 0 8 111\r\n"                                                                \
    "a=rtpmap:0 PCMU/8000\r\n"                                                                     \
    "a=rtpmap:8 PCMA/8000\r\n"                                                                     \
    "a=rtpmap:111 opus/48000/2\r\n"

typedef struct psip_dial {
    char *call_id;
    char *target_uri;
    psip_dial_result result; /* how it ends, as far as known */
    int failure_code;
    gboolean referred;   /* the REFER is sent */
    gboolean hung_up;    /* our BYE is sent */
    gboolean auth_tried; /* one challenge answered per INVITE, not a loop */
} psip_dial;

static void dial_free(gpointer data)
{
    psip_dial *dial = data;
    g_free(dial->call_id);
    g_free(dial->target_uri);
    g_free(dial);
}

static void dial_hang_up(nua_handle_t *nh, psip_dial *dial)
{
    if (dial->hung_up)
        return;
    dial->hung_up = TRUE;
    nua_bye(nh, TAG_END());
}

static void dial_failed(psip_dial *dial, psip_dial_result result, int status)
{
    if (dial->result != PSIP_DIAL_DONE)
        return; /* the first failure tells */
    dial->result = result;
    dial->failure_code = status;
}

/* The dial's handle is terminated: tell how it went, then forget it. */
static void dial_forget(psip_subscriber *sub, nua_handle_t *nh, psip_dial *dial)
{
    if (sub->callbacks.dial_end)
        sub->callbacks.dial_end(dial->call_id, dial->result, dial->failure_code,
                                sub->callbacks.user_data);
    g_hash_table_remove(sub->dials, nh);
    nua_handle_destroy(nh);
}

static void on_dial_invite_answer(psip_subscriber *sub, nua_handle_t *nh, psip_dial *dial,
                                  int status, const sip_t *sip)
{
    if (sip && sip->sip_call_id && g_strcmp0(sip->sip_call_id->i_id, dial->call_id) != 0)
        g_log(G_LOG_DOMAIN_PSIP, G_LOG_LEVEL_WARNING,
              "dial: answer with Call-ID %s, not ours (%s): our leg may show on the line",
              sip->sip_call_id->i_id, dial->call_id);
    if (status < 200)
        return;
    if ((status == 401 || status == 407) && !dial->auth_tried) {
        dial->auth_tried = TRUE;
        if (answer_challenge(sub, nh, sip))
            return;
    }
    if (status >= 300) {
        dial_failed(dial, PSIP_DIAL_PHONE_FAILED, status);
        return; /* nua_i_state terminated follows and forgets the call */
    }
    if (!dial->referred) {
        dial->referred = TRUE;
        nua_refer(nh, SIPTAG_REFER_TO_STR(dial->target_uri), TAG_END());
    }
}

/* The status line of a message/sipfrag NOTIFY body ("SIP/2.0 200 OK"), 0 when
 * there is none: how the phone tells how its call to the target went. */
static int sipfrag_status(const sip_t *sip)
{
    if (!sip || !sip->sip_payload || sip->sip_payload->pl_len < 12)
        return 0;
    const char *body = sip->sip_payload->pl_data;
    if (strncmp(body, "SIP/2.0 ", 8) != 0)
        return 0;
    return (int)g_ascii_strtoll(body + 8, NULL, 10);
}

static void on_dial_event(psip_subscriber *sub, nua_event_t event, int status, nua_handle_t *nh,
                          psip_dial *dial, const sip_t *sip, tagi_t tags[])
{
    switch (event) {
    case nua_r_invite:
        on_dial_invite_answer(sub, nh, dial, status, sip);
        break;
    case nua_r_refer:
        if (status >= 300) { /* the phone will not transfer: our leg is of no use */
            dial_failed(dial, PSIP_DIAL_REFER_FAILED, status);
            dial_hang_up(nh, dial);
        }
        break;
    case nua_i_notify: {
        int frag = sipfrag_status(sip);
        if (frag >= 300) /* the REFER was taken, but the call it asked for failed */
            dial_failed(dial, PSIP_DIAL_CALL_FAILED, frag);
        if (frag >= 200)
            dial_hang_up(nh, dial);
        break;
    }
    case nua_i_state: {
        const tagi_t *state = tl_find(tags, nutag_callstate);
        if (state && state->t_value == nua_callstate_terminated)
            dial_forget(sub, nh, dial);
        break;
    }
    default:
        break;
    }
}

gboolean psip_subscriber_dial(psip_subscriber *sub, const char *device_uri, const char *target_uri,
                              char **call_id)
{
    g_return_val_if_fail(sub && device_uri && target_uri, FALSE);
    /* Our own Call-ID, known before anything is sent: the server may publish
     * the dialog on the line before any answer reaches us. */
    char *uuid = g_uuid_string_random();
    char *id = g_strdup_printf("ucd-dial-%s", uuid);
    g_free(uuid);
    nua_handle_t *nh =
        nua_handle(sub->nua, NULL, SIPTAG_TO_STR(device_uri), SIPTAG_CALL_ID_STR(id), TAG_END());
    if (!nh) {
        g_free(id);
        return FALSE;
    }
    psip_dial *dial = g_new0(psip_dial, 1);
    dial->call_id = id;
    dial->result = PSIP_DIAL_DONE;
    dial->target_uri = g_strdup(target_uri);
    if (call_id)
        *call_id = g_strdup(id);
    g_hash_table_insert(sub->dials, nh, dial);
    /* answer-after=0 (Call-Info) and info=alert-autoanswer (Alert-Info): the
     * two auto-answer hints desk phones and soft phones commonly honour. */
    nua_invite(nh, NUTAG_URL(device_uri), SOATAG_USER_SDP_STR(DIAL_SDP),
               SIPTAG_CALL_INFO_STR("<sip:127.0.0.1>;answer-after=0"),
               SIPTAG_HEADER_STR("Alert-Info: <http://127.0.0.1/>;info=alert-autoanswer"),
               TAG_END());
    return TRUE;
}

static void on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua,
                         psip_subscriber *sub, nua_handle_t *nh, psip_sub_line *l, sip_t const *sip,
                         tagi_t tags[])
{
    (void)phrase;
    (void)nua;
    if (event == nua_r_shutdown) {
        if (status >= 200)
            sub->shutdown_done = TRUE;
        return;
    }
    if (nh && nh == sub->probe) {
        if (event == nua_r_options)
            on_probe_answer(sub, status);
        return;
    }
    psip_dial *dial = nh ? g_hash_table_lookup(sub->dials, nh) : NULL;
    if (dial) {
        on_dial_event(sub, event, status, nh, dial, sip, tags);
        return;
    }
    /* Events of a handle we dropped, or one nua made for a request of its own. */
    if (!l || l->handle != nh)
        return;
    switch (event) {
    case nua_r_subscribe:
        on_subscribe_answer(l, status, sip);
        break;
    case nua_i_notify:
        on_notify(l, sip, tags);
        break;
    default:
        break;
    }
}

static void line_free(gpointer data)
{
    psip_sub_line *l = data;
    cancel_retry(l);
    drop_handle(l);
    psip_line_free(l->line);
    g_free(l->uri);
    g_free(l);
}

static void set_defaults(psip_subscriber *sub, const psip_subscriber_config *config)
{
    sub->expires = g_strdup_printf("%u", config->expires ? config->expires : 600);
    sub->retry_min_ms = config->retry_min_ms ? config->retry_min_ms : 500;
    sub->retry_max_ms = config->retry_max_ms ? config->retry_max_ms : 30000;
    sub->window = config->subscribe_window ? config->subscribe_window : PSIP_SUBSCRIBE_WINDOW;
    if (sub->retry_max_ms < sub->retry_min_ms)
        sub->retry_max_ms = sub->retry_min_ms;
    sub->server_uri = g_strdup(config->server);
    sub->keepalive_ms = config->keepalive_ms;
    if (config->auth_user && config->auth_password) {
        sub->auth_user = g_strdup(config->auth_user);
        sub->auth_password = g_strdup(config->auth_password);
    }
}

static GQuark subscriber_error_quark(void)
{
    return g_quark_from_static_string("psip-subscriber-error-quark");
}

psip_subscriber *psip_subscriber_new(const psip_subscriber_config *config, GMainContext *context,
                                     const psip_subscriber_callbacks *callbacks, GError **error)
{
    g_return_val_if_fail(config && config->server && callbacks && callbacks->change, NULL);
    su_init();
    psip_subscriber *sub = g_new0(psip_subscriber, 1);
    sub->context = context ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    sub->callbacks = *callbacks;
    sub->lines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, line_free);
    sub->dials = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, dial_free);
    set_defaults(sub, config);
    sub->root = su_glib_root_create(sub);
    if (sub->root) {
        g_source_attach(su_glib_root_gsource(sub->root), sub->context);
        sub->nua = nua_create(sub->root, on_nua_event, sub,
                              NUTAG_URL(config->bind ? config->bind : "sip:127.0.0.1:*"),
                              NUTAG_PROXY(config->server),
                              TAG_IF(config->from, SIPTAG_FROM_STR(config->from)),
                              SIPTAG_USER_AGENT_STR("ucd pbx-sip"), TAG_END());
    }
    if (!sub->nua) {
        g_set_error(error, subscriber_error_quark(), 1,
                    "cannot start the SIP stack on %s (address taken or invalid?)",
                    config->bind ? config->bind : "sip:127.0.0.1:*");
        sub->shutdown_done = TRUE;
        psip_subscriber_free(sub);
        return NULL;
    }
    if (sub->keepalive_ms)
        arm_probe_timer(sub, sub->keepalive_ms);
    return sub;
}

gboolean psip_subscriber_add_line(psip_subscriber *sub, const char *uri)
{
    if (g_hash_table_contains(sub->lines, uri))
        return FALSE;
    psip_sub_line *l = g_new0(psip_sub_line, 1);
    l->owner = sub;
    l->uri = g_strdup(uri);
    l->line = psip_line_new();
    l->retry_ms = sub->retry_min_ms;
    g_hash_table_insert(sub->lines, l->uri, l);
    if (!sub->link_down) /* else the link coming back subscribes it */
        subscribe_fresh(l);
    return TRUE;
}

const psip_line *psip_subscriber_line(psip_subscriber *sub, const char *uri)
{
    psip_sub_line *l = g_hash_table_lookup(sub->lines, uri);
    return l ? l->line : NULL;
}

static void line_lost(psip_sub_line *l)
{
    GPtrArray *changes = psip_line_changes_new();
    psip_line_end_all(l->line, changes);
    report_changes(l, changes);
    g_ptr_array_unref(changes);
}

gboolean psip_subscriber_line_lost(psip_subscriber *sub, const char *uri)
{
    psip_sub_line *l = g_hash_table_lookup(sub->lines, uri);
    if (!l)
        return FALSE;
    line_lost(l);
    return TRUE;
}

void psip_subscriber_get_stats(psip_subscriber *sub, psip_subscriber_stats *stats)
{
    *stats = (psip_subscriber_stats){.window = sub->window,
                                     .sending = sub->sending,
                                     .peak_sending = sub->peak_sending,
                                     .waiting = g_queue_get_length(&sub->waiting),
                                     .sent = sub->sent};
}

guint psip_subscriber_active_count(psip_subscriber *sub)
{
    guint n = 0;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, sub->lines);
    while (g_hash_table_iter_next(&it, NULL, &value))
        n += ((psip_sub_line *)value)->active ? 1 : 0;
    return n;
}

static gboolean shutdown_timed_out(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* nua_shutdown ends every subscription (un-SUBSCRIBE) and answers with
 * nua_r_shutdown; run the context until it does, or give up after a while
 * (an unreachable server must not hang the caller). */
static void wait_for_shutdown(psip_subscriber *sub)
{
    gboolean timed_out = FALSE;
    GSource *timer = g_timeout_source_new(SHUTDOWN_WAIT_MS);
    g_source_set_callback(timer, shutdown_timed_out, &timed_out, NULL);
    g_source_attach(timer, sub->context);
    nua_shutdown(sub->nua);
    while (!sub->shutdown_done && !timed_out)
        g_main_context_iteration(sub->context, TRUE);
    g_source_destroy(timer);
    g_source_unref(timer);
}

/* Calls still under way at shutdown: nua_shutdown has ended them, only their
 * handles are left. */
static void destroy_dials(psip_subscriber *sub)
{
    GHashTableIter it;
    gpointer nh;
    g_hash_table_iter_init(&it, sub->dials);
    while (g_hash_table_iter_next(&it, &nh, NULL)) {
        nua_handle_destroy(nh);
        g_hash_table_iter_remove(&it);
    }
    g_hash_table_destroy(sub->dials);
}

/* Lines whose subscription is not (yet) accepted have nothing to end at the
 * server: their handles go before nua_shutdown, which would otherwise wait for
 * the answer to a SUBSCRIBE the server may never give (32 s). */
static void drop_unaccepted(psip_subscriber *sub)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, sub->lines);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        psip_sub_line *l = value;
        if (!l->active)
            drop_handle(l);
    }
}

void psip_subscriber_free(psip_subscriber *sub)
{
    if (!sub)
        return;
    sub->closing = TRUE;
    cancel_probe_timer(sub);
    drop_probe(sub);
    drop_unaccepted(sub);
    if (sub->nua && !sub->shutdown_done)
        wait_for_shutdown(sub);
    g_hash_table_destroy(sub->lines); /* handles before the stack */
    destroy_dials(sub);
    if (sub->nua)
        nua_destroy(sub->nua);
    if (sub->root)
        su_root_destroy(sub->root);
    su_deinit();
    if (sub->auth_password)
        memset(sub->auth_password, 0, strlen(sub->auth_password));
    g_free(sub->auth_user);
    g_free(sub->auth_password);
    g_free(sub->expires);
    g_free(sub->server_uri);
    g_main_context_unref(sub->context);
    g_free(sub);
}
