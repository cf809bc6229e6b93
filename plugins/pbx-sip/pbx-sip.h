/*
 * pbx-sip.h - the parts of the driver pbx-sip.so (internal to the plugin):
 * pbx-sip.c (configuration, life cycle, dialog changes -> call events),
 * pbx-sip-dial.c (click-to-dial, and keeping the driver's own SIP leg out of
 * the line's calls).
 */
#ifndef PBX_SIP_H
#define PBX_SIP_H

#include <stdint.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "sip-subscriber.h"

/* One call on one line: the ucd leg made for one SIP call-id seen there. */
typedef struct sip_leg {
    char *call_id;         /* ucd's id, unique within the instance */
    char *conversation_id; /* from the SIP call-id: both lines of an internal call share it */
    uint32_t state;        /* ucd_call_state */
    uint32_t direction;    /* ucd_call_direction */
    char *remote_number;
    char *remote_name;
    uint32_t flags; /* UCD_CALL_FLAG_* */
} sip_leg;

typedef struct sip_line {
    char *address;    /* the user part, as configured: "alice" */
    char *uri;        /* "sip:alice@DOMAIN" */
    GHashTable *legs; /* psip change key (SIP call-id) -> sip_leg */
    gboolean link_up;
    uint32_t shown_state; /* what the last line event said */
    /* A server that publishes hint state only (dialogs without call-id, as
     * Asterisk does): the line's state as the hint says, a ucd call state
     * (IDLE, OFFERING, CONNECTED...) counted like a leg's; no legs are made. */
    uint32_t hint_state;
    gboolean hint_only;     /* such a dialog was seen (logged once) */
    uint64_t outgoing_legs; /* legs the line placed so far (initiator) */
} sip_line;

typedef struct sip_rpc sip_rpc;

typedef struct sip_driver {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;
    char *id_prefix;
    char *server_uri;
    char *from_uri;
    char *domain;
    char *user;
    char *password;
    int64_t expires_ms;
    int64_t keepalive_ms;
    int64_t subscribe_window;
    GPtrArray *lines;        /* sip_line, in configuration order */
    GHashTable *line_by_uri; /* uri -> sip_line */
    GHashTable *line_by_address;
    psip_subscriber *subscriber;
    uint64_t next_call;
    gboolean running;
    GHashTable *own_dials; /* SIP Call-ID of our click-to-dial INVITEs -> sip_own_dial */
    char *server;          /* host:port as configured */
    char *listen;          /* the `listen` key, or NULL (pbx-sip-listen.c) */
    char *rpc_url;         /* Kamailio JSON-RPC (pbx-sip-rpc.c), or NULL */
    sip_rpc *rpc;          /* while running with rpc_url */
} sip_driver;

/* Publishes a line event when the line's state differs from the last one told. */
void sip_line_publish(sip_driver *d, sip_line *line);

/* Publishes the call event of `leg` (now in leg->state) coming from `prev`. */
void sip_leg_publish(sip_driver *d, const sip_line *line, const sip_leg *leg, uint32_t prev,
                     uint32_t cause);

/* Frees a sip_leg (a GDestroyNotify). */
void sip_leg_free(gpointer data);

/* TRUE when `user` may be a SIP user part here: 1-64 characters, letters,
 * digits and -_.!~*'+ (it goes into URIs and is typed in ucctl). */
gboolean sip_valid_user_part(const char *user);

/* The ucd_call_cause for a psip end cause. */
uint32_t sip_ucd_cause(psip_end_cause cause);

/* ---- pbx-sip-dial.c ---- */

/* The pbx table's dial(): click-to-dial from line `address` to `number`. */
int sip_dial(void *impl, const char *address, const char *number, char *call_id,
             size_t call_id_size);

/* An empty table of the driver's own dials (for d->own_dials). */
GHashTable *sip_own_dials_new(void);

/* TRUE when `sip_call_id` is the INVITE of one of our click-to-dials, running
 * or ended less than a grace period ago: the server publishes that leg on the
 * line (the phone as recipient), and it is not a call of the user's. */
gboolean sip_own_dial_is_ours(sip_driver *d, const char *sip_call_id);

/* The subscriber's dial_end callback: a failed click-to-dial is published as
 * one leg on the line, dialing -> disconnected with the failure's cause. */
void sip_on_dial_end(const char *sip_call_id, psip_dial_result result, int sip_code,
                     void *user_data);

/* ---- pbx-sip-numbers.c ---- */

/* The SIP user part to dial for `number` typed for click-to-dial: the number
 * service (any plugin may use it) normalizes it with context `module_id`, and
 * its extension (an internal number) or dialable form is used; without the
 * service, or when it finds no phone number (a SIP user name such as "bob"),
 * the number as typed (trimmed). UCD_OK with `*user_part` set (g_free), or
 * UCD_E_INVALID when that is not a valid SIP user part. */
int sip_dial_user_part(const ucd_host *host, ucd_plugin *self, const char *module_id,
                       const char *number, char **user_part);

/* A dialog's remote identity (URI `uri`, display name `display`, both may be
 * NULL) as the call event wants it: `*number` is the user part of a sip: or
 * sips: URI or the number of a tel: one, raw (not normalized), with
 * ;parameters and ?headers dropped, percent-decoded ("%2B49..." -> "+49...")
 * and, for a telephone number, without visual separators ("tel:+49-89-123" ->
 * "+4989123"); a URI without user part is kept whole. A withheld identity
 * (display "Anonymous", user "anonymous", host "anonymous.invalid") gives
 * `*number` and `*name` NULL and UCD_CALL_FLAG_PRIVATE in `*flags`. The
 * strings are new (g_free). */
void sip_remote_identity(const char *uri, const char *display, char **number, char **name,
                         uint32_t *flags);

/* ---- pbx-sip-listen.c ---- */

/* The sofia URL the SIP stack binds ("sip:192.0.2.10:*"): from `listen` when
 * set ("HOST", "HOST:PORT", "[V6]:PORT"; no port = any free one), else the
 * local address this host uses to reach `server` (host:port; resolved here,
 * once, at start), any port. NULL with `error` set when `server` cannot be
 * resolved or routed. A new string (g_free). */
char *sip_listen_uri(const char *listen, const char *server, GError **error);

/* ---- pbx-sip-rpc.c (built when libsoup-3 is there: PBX_SIP_RPC) ---- */

/* A JSON-RPC client for Kamailio at `url` (http://HOST:PORT/RPC) on the
 * thread-default main context; sip_rpc_free cancels what is under way. */
sip_rpc *sip_rpc_new(const char *url);
void sip_rpc_free(sip_rpc *rpc);

/* TRUE when `url` is an absolute http: or https: URL with a host. */
gboolean sip_rpc_url_valid(const char *url);

/* The pbx table's hangup(): ends the connected call `call_id` on `line`
 * through Kamailio (dlg.list to find the dialog by SIP call-id, then
 * dlg.end_dlg), asynchronously; the end shows through the subscriptions.
 * UCD_E_UNSUPPORTED without rpc_url or for a call not yet answered. */
int sip_hangup(void *impl, const char *line, const char *call_id);

#endif
