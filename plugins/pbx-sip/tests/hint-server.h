/*
 * hint-server.h - a small SIP server for tests, shaped like Asterisk's PJSIP
 * (no Asterisk can be installed here): what pbx-sip meets when its `server` is
 * an Asterisk with hints.
 *
 * It runs a sofia-sip user agent on the thread-default GMainContext and
 *   - accepts every `Event: dialog` SUBSCRIBE (200) and NOTIFYs the hint's
 *     state as res_pjsip_dialog_info_body_generator.c writes it: one
 *     <dialog id="EXTEN"> with a <state> and, while ringing, direction
 *     "recipient" and local/remote identities; never a call-id, tags, code or
 *     event; a full document, versions counting up from 0. The bodies are
 *     constructed from Asterisk's source, not recorded from a live server;
 *   - plays the phone behind a line for click-to-dial: answers the driver's
 *     INVITE (200 with SDP), takes its REFER (202) and then NOTIFYs a
 *     message/sipfrag with a chosen final status, as Asterisk did with
 *     "SIP/2.0 400 Bad Request" for a REFER that came before the call was
 *     bridged; a BYE is answered 200.
 */
#ifndef HINT_SERVER_H
#define HINT_SERVER_H

#include <glib.h>

typedef struct hint_server hint_server;

/* The hint states Asterisk's generator can write (ast_sip_presence_exten_state_to_str):
 * NOT_INUSE/UNAVAILABLE -> terminated, RINGING -> early, INUSE/BUSY/ONHOLD
 * (and INUSE|RINGING by default) -> confirmed. */
typedef enum hint_state {
    HINT_IDLE,    /* <state>terminated</state> */
    HINT_RINGING, /* <state>early</state>, direction="recipient", identities of the caller */
    HINT_INUSE,   /* <state>confirmed</state> (also a line placing a call, from the first ring) */
} hint_state;

/* A server bound to `host` (e.g. "127.0.0.53"), any free UDP port, serving
 * SIP domain `domain`, on the thread-default GMainContext (the caller runs
 * it). NULL when the stack cannot start. */
hint_server *hint_server_new(const char *host, const char *domain);

/* The same on a thread and context of its own, for a test whose thread
 * blocks (polling ucctl); the functions below then run on that thread and
 * may be called from any one. */
hint_server *hint_server_new_threaded(const char *host, const char *domain);

void hint_server_free(hint_server *server);

/* "HOST:PORT" the server listens on (owned by the server). */
const char *hint_server_address(const hint_server *server);

/* Sets extension `exten`'s hint state; a subscription to it is NOTIFYed at
 * once. `caller` (RINGING only) is the calling extension shown as the remote
 * identity, with display name `caller_name` (may be NULL). */
void hint_server_set(hint_server *server, const char *exten, hint_state state, const char *caller,
                     const char *caller_name);

/* How many subscriptions to `exten` the server accepted so far. */
guint hint_server_subscriptions(hint_server *server, const char *exten);

/* The status line the phone's sipfrag NOTIFY says after a REFER, e.g.
 * "SIP/2.0 400 Bad Request" (the default, what Asterisk sent). */
void hint_server_set_refer_result(hint_server *server, const char *status_line);

/* How many REFERs the server took. */
guint hint_server_refers(hint_server *server);

#endif
