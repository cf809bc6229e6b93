/*
 * ami-conn.h - one AMI session with an Asterisk server, kept alive.
 *
 * The connection runs on a GLib main context (the driver's: the core's main
 * loop) and never blocks it: connect, TLS handshake, reads and writes are
 * asynchronous. Its life:
 *
 *   connect (TCP, or TLS with the server's certificate verified unless the
 *   configuration turns verification off) -> banner (must be
 *   "Asterisk Call Manager/x.y.z", anything else is "not an AMI server") ->
 *   Login (Username, Secret, Events: the configured event classes, so the
 *   dialplan class - VarSet, Newexten, ~40% of all traffic - is never sent)
 *   -> best-effort Filter actions that exclude VarSet and Newexten too (they
 *   need the "system" permission; a refusal is logged at debug and ignored)
 *   -> UP. Then a Ping every `keepalive`; no answer to any action within
 *   `timeout` declares the link dead; so does Event: Shutdown (Asterisk
 *   stopping; it is still delivered first). A dead or closed link goes DOWN, every
 *   pending action fails, and a new connection is tried after a backoff
 *   (min doubling to max; back to min once UP). A refused login is DOWN too,
 *   with the server's message; it retries at the maximum backoff, so a wrong
 *   secret does not hammer the server.
 *
 * The secret is sent in the Login action only; it is never logged (the wire
 * trace at debug level shows "Secret: ***") and is wiped when the connection
 * is freed.
 */
#ifndef AMI_CONN_H
#define AMI_CONN_H

#include <gio/gio.h>
#include <glib.h>

#include "ami-message.h"

typedef struct pami_conn pami_conn;

typedef enum pami_conn_state {
    PAMI_CONN_DOWN = 0,   /* not connected; a retry is scheduled */
    PAMI_CONN_CONNECTING, /* TCP/TLS, banner or login in progress */
    PAMI_CONN_UP,         /* logged in: events flow, actions may be sent */
} pami_conn_state;

typedef enum pami_log_level {
    PAMI_LOG_DEBUG = 0,
    PAMI_LOG_INFO,
    PAMI_LOG_WARNING,
    PAMI_LOG_ERROR,
} pami_log_level;

typedef struct pami_conn_config {
    const char *host;        /* name or address */
    guint16 port;            /* 5038 for TCP, usually 5039 for TLS */
    gboolean tls;            /* AMI over TLS (Asterisk's tlsenable/tlsbindaddr) */
    gboolean tls_verify;     /* verify the certificate and host name (TRUE unless told) */
    const char *tls_ca_file; /* PEM bundle to trust instead of the system's; NULL = system */
    const char *username;    /* manager.conf user */
    const char *secret;      /* copied; never logged */
    const char *events;      /* Login Events: classes; NULL = "call,system,agent,user" */
    guint keepalive_ms;      /* Ping interval; 0 = 20000 */
    guint timeout_ms;        /* answer deadline for any action incl. Ping; 0 = 10000 */
    guint retry_min_ms;      /* 0 = 1000 */
    guint retry_max_ms;      /* 0 = 30000 */
} pami_conn_config;

typedef struct pami_conn_callbacks {
    /* The session changed state. `reason` says why it went DOWN ("connection
     * refused", "login refused: Authentication failed", "no answer to Ping
     * within 10 s", "not an AMI server: HTTP/1.1 400 ..."), NULL otherwise.
     * On UP, `banner` holds the AMI version line. */
    void (*state)(pami_conn_state state, const char *reason, const char *banner, void *user_data);
    /* An event that is not part of an action's answer (list events and the
     * final event of an async action go to that action's callback instead). */
    void (*event)(pami_message *event, void *user_data);
    /* A line for the plugin's log (never contains the secret). */
    void (*log)(pami_log_level level, const char *text, void *user_data);
    void *user_data;
} pami_conn_callbacks;

/* The answer to one action. `response` is the Response message (NULL when the
 * action failed without one: `error` says why - timeout, link down, freed).
 * `events` holds, in order, the events of an event list (EventList: start ...
 * the "...Complete" event, which is included last), or for an async action the
 * final event (OriginateResponse); empty otherwise. The callback does not own
 * the arguments; it takes references to keep them. */
typedef void (*pami_action_cb)(pami_message *response, GPtrArray *events, const GError *error,
                               void *user_data);

/* Creates the connection and starts connecting on `context` (NULL = default).
 * The config's strings are copied. Never fails for a bad server: the state
 * callback reports it. */
pami_conn *pami_conn_new(const pami_conn_config *config, GMainContext *context,
                         const pami_conn_callbacks *callbacks);

/* Closes the socket, fails every pending action with a "freed" error (their
 * callbacks run from here), wipes the secret and frees. NULL is fine. */
void pami_conn_free(pami_conn *c);

pami_conn_state pami_conn_get_state(const pami_conn *c);

/* Sends `action` (its first header must be "Action:"). The connection sets a
 * fresh ActionID (any ActionID in `action` is replaced). `cb` runs once:
 * with the Response (plus list events, see pami_action_cb), or an error.
 * `final_event`, when not NULL, names the event that completes an async
 * action (e.g. "OriginateResponse" for Originate with Async: true): the
 * callback then waits for it, with `final_timeout_ms` (0 = 60000) instead of
 * the usual deadline. Returns FALSE (and does not call `cb`) when the link is
 * not UP. */
gboolean pami_conn_send(pami_conn *c, pami_message *action, const char *final_event,
                        guint final_timeout_ms, pami_action_cb cb, void *user_data);

/* Drops the link now (as if it died) and reconnects after the minimum
 * backoff; for tests and for `ucctl` reconnect. */
void pami_conn_reconnect(pami_conn *c);

#endif /* AMI_CONN_H */
