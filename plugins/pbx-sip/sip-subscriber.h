/*
 * sip-subscriber.h - the SIP layer of pbx-sip: dialog-event subscriptions.
 *
 * A subscriber is one SIP user agent (sofia-sip's nua, run on a GLib main
 * context) that keeps an RFC 4235 `Event: dialog` subscription alive for each
 * monitored line at one registrar/presence server, and feeds every NOTIFY body
 * to that line's psip_line (sip-line.h). Each dialog state change is handed to
 * the caller's callback.
 *
 * What the SIP stack does for us: refreshing each subscription before it
 * expires, answering our NOTIFYs with 200 and NOTIFYs for subscriptions we
 * never made with 481, digest authentication once given credentials. What this
 * module adds: a new subscription, with exponential backoff, after a refused
 * SUBSCRIBE or a terminated subscription (the line's version numbering is reset
 * then), a refresh when a line needs a resync, pacing (at most a window of
 * SUBSCRIBEs unanswered at a time, so thousands of lines do not flood the
 * server at start or after link loss), and parsing. No ucd host is
 * involved; the driver maps changes to ucd calls and line events.
 */
#ifndef SIP_SUBSCRIBER_H
#define SIP_SUBSCRIBER_H

#include "sip-line.h"

#include <glib.h>

typedef struct psip_subscriber psip_subscriber;

typedef struct psip_subscriber_config {
    /* Where every SUBSCRIBE is sent, e.g. "sip:127.0.0.1:5060" (required). */
    const char *server;
    /* The watcher's own address of record (From:), e.g. "sip:ucd@example.org". */
    const char *from;
    /* The local address to listen on; NULL = "sip:127.0.0.1:*" (any free port). */
    const char *bind;
    /* Digest credentials for the watcher's account, both NULL for none. They
     * are only given to the SIP stack, never logged. */
    const char *auth_user;
    const char *auth_password;
    /* Subscription lifetime asked for, in seconds (0 = 600). */
    guint expires;
    /* Backoff between attempts to subscribe again, in milliseconds (0 = 500
     * and 30000): doubles after each failure, back to the minimum once active. */
    guint retry_min_ms;
    guint retry_max_ms;
    /* Server keepalive: an OPTIONS to `server` every this many milliseconds
     * (0 = none). A probe unanswered by the next one, or answered 408/503 or
     * with a transport error, means the link is down (see the link callback);
     * then probes go out with the backoff above (at most every keepalive) until
     * any final answer says the server is back. */
    guint keepalive_ms;
    /* At most this many of our SUBSCRIBEs unanswered at a time (0 =
     * PSIP_SUBSCRIBE_WINDOW): with many lines, the rest wait and go out one
     * per answer, so the server and our UDP socket never get a burst larger
     * than this (see the window in sip-subscriber.c). */
    guint subscribe_window;
} psip_subscriber_config;

/* The default subscribe window. Each SUBSCRIBE brings back two datagrams (the
 * 200 and the first NOTIFY, about 2.5 KB of socket buffer each on Linux), so
 * 32 keeps what can be in flight to us within the default 208 KB UDP receive
 * buffer. Measured with 2,000 lines at a local Kamailio (docs/PERFORMANCE.md):
 * 16 or 32 bring them up in 0.6 s with no datagram dropped; 64 drops a few
 * and takes 0.7-1.0 s, 128 drops hundreds and takes 1.6 s. */
#define PSIP_SUBSCRIBE_WINDOW 32

/* What happened to a line's subscription (for logs and line status). */
typedef enum psip_subscription_status {
    PSIP_SUBSCRIPTION_ACTIVE,   /* the server accepted the SUBSCRIBE (or its refresh) */
    PSIP_SUBSCRIPTION_FAILED,   /* refused, timed out or terminated: retrying later */
    PSIP_SUBSCRIPTION_BAD_BODY, /* a NOTIFY body was refused by the parser */
} psip_subscription_status;

/* How a click-to-dial ended (psip_subscriber_dial). */
typedef enum psip_dial_result {
    PSIP_DIAL_DONE,         /* the phone answered and took the REFER: its new call
                               (and how that goes) shows through its line's dialogs */
    PSIP_DIAL_PHONE_FAILED, /* the phone did not take our call: refused, busy, not
                               answered, unreachable (sip_code says which) */
    PSIP_DIAL_REFER_FAILED, /* the phone answered but refused the REFER */
    PSIP_DIAL_CALL_FAILED,  /* the phone took the REFER (202) but reported its call to
                               the target failed: a sipfrag NOTIFY with a final status
                               >= 300 (Asterisk's "400 Bad Request" for a REFER that
                               came before it had bridged our call) */
} psip_dial_result;

typedef struct psip_subscriber_callbacks {
    /* A dialog on `line_uri` changed state; `change` is valid during the call. */
    void (*change)(const char *line_uri, const psip_line_change *change, void *user_data);
    /* The subscription of `line_uri` changed status; `sip_code` is the SIP
     * status involved (0 when none). May be NULL. */
    void (*status)(const char *line_uri, psip_subscription_status status, int sip_code,
                   void *user_data);
    /* The server keepalive (config.keepalive_ms) saw the link go down (`up`
     * FALSE: this is called first, then every live dialog of every line ends
     * with reason PSIP_CHANGE_LINK_LOST through `change`, and no line is
     * subscribed until the link is up again) or come back (`up` TRUE: every
     * line then gets a fresh subscription, whose full state resyncs it, and
     * `status` says ACTIVE as each is accepted). Called once per transition;
     * `sip_code` is the probe's answer (0 for none). May be NULL. */
    void (*link)(gboolean up, int sip_code, void *user_data);
    /* A click-to-dial whose INVITE had Call-ID `call_id` is over (its SIP
     * handle is gone): `sip_code` is the failure's status (0 with DONE).
     * Called once per dial, not for dials cut short by psip_subscriber_free.
     * May be NULL. */
    void (*dial_end)(const char *call_id, psip_dial_result result, int sip_code, void *user_data);
    void *user_data;
} psip_subscriber_callbacks;

/* Creates a subscriber whose SIP stack runs on `context` (NULL = the global
 * default context): nothing happens unless that context is iterated. Returns
 * NULL with `error` set when the stack cannot start (e.g. the bind address is
 * taken). The configuration strings are copied. */
psip_subscriber *psip_subscriber_new(const psip_subscriber_config *config, GMainContext *context,
                                     const psip_subscriber_callbacks *callbacks, GError **error);

/* Starts monitoring the line `uri` (e.g. "sip:alice@example.org"): sends its
 * SUBSCRIBE now, or as soon as the subscribe window has room. FALSE when the
 * line is already monitored. */
gboolean psip_subscriber_add_line(psip_subscriber *sub, const char *uri);

/* The dialog state of a monitored line (owned by the subscriber), or NULL. */
const psip_line *psip_subscriber_line(psip_subscriber *sub, const char *uri);

/* The link to the server is lost for line `uri` (its subscription failed or
 * was terminated): every live dialog of the line is ended with reason
 * PSIP_CHANGE_LINK_LOST, each reported through the change callback, and
 * forgotten, so calls still alive when a new subscription comes are reported
 * afresh. FALSE when the line is not monitored. */
gboolean psip_subscriber_line_lost(psip_subscriber *sub, const char *uri);

/* Click-to-dial (RFC 3515): INVITEs `device_uri` (the user's own phone, with
 * an auto-answer hint: Call-Info answer-after=0 and Alert-Info), and once the
 * phone answers, REFERs it to `target_uri`; our own leg is hung up (BYE) when
 * the phone's NOTIFY says the transfer got a final answer, or at once when the
 * INVITE or the REFER fails. The dial runs on its own and ends with the
 * dial_end callback. The INVITE's Call-ID (made here, unique) goes to
 * `*call_id` (g_free it) when `call_id` is not NULL: the server publishes our
 * leg on the line's dialogs under it. FALSE only when the dial could not be
 * started. */
gboolean psip_subscriber_dial(psip_subscriber *sub, const char *device_uri, const char *target_uri,
                              char **call_id);

/* FALSE while the server keepalive says the link is down (always TRUE
 * without keepalive). */
gboolean psip_subscriber_link_up(psip_subscriber *sub);

/* The subscribe window's figures (for tests and diagnostics). */
typedef struct psip_subscriber_stats {
    guint window;       /* the configured size */
    guint sending;      /* our SUBSCRIBEs out and unanswered now */
    guint peak_sending; /* the most there were at any moment */
    guint waiting;      /* lines whose SUBSCRIBE waits for room */
    guint64 sent;       /* SUBSCRIBEs sent through the window so far (not the
                           refreshes the SIP stack sends by itself) */
} psip_subscriber_stats;

/* Fills `stats` with the subscribe window's figures now. */
void psip_subscriber_get_stats(psip_subscriber *sub, psip_subscriber_stats *stats);

/* How many monitored lines have an active subscription right now. */
guint psip_subscriber_active_count(psip_subscriber *sub);

/* Ends every subscription (unSUBSCRIBE), waits up to a few seconds on the
 * context for the stack to shut down, and frees everything. NULL is allowed. */
void psip_subscriber_free(psip_subscriber *sub);

#endif
