/*
 * ami-replay.h - a scripted AMI server for the tests: it replays a capture
 * (ami-script.h format) to whoever connects to 127.0.0.1 and checks what the
 * client sends.
 *
 * Every connection gets the banner, then the script from its start: a block
 * Asterisk sent is sent as it is; a block the client sent is an expectation:
 * the peer waits for the client's next action and checks its Action: and the
 * headers the block lists (ActionID never; a value "*" matches anything; a
 * header listed several times, like Variable, must each be among the
 * client's headers of that name; for
 * Login only Username, and Secret against options.secret when set: a wrong
 * one is answered "Authentication failed" and the connection closed, as
 * Asterisk does). The client's ActionID replaces the script's in everything
 * sent afterwards (responses, list events, OriginateResponse). A value
 * "{VALUE}" matches whatever the client sends, which then replaces VALUE in
 * everything sent afterwards: "ChannelId: {1795381150.12}" makes a recorded
 * channel's Uniqueid the one the client chose.
 *
 * Ping is always answered ("Ping: Pong"), and Filter with Success, unless
 * the script expects them. Any other unexpected action is recorded as a
 * mismatch and answered "Response: Error / Message: unexpected action" (or
 * the connection is closed when options.strict). Every action received is
 * recorded for the test to check.
 *
 * The peer runs on the GMainContext given to ami_replay_new() (the test
 * iterates it), and as the program ami-replay (ami-replay-main.c).
 */
#ifndef AMI_REPLAY_H
#define AMI_REPLAY_H

#include <gio/gio.h>

#include "ami-message.h"

typedef struct ami_replay ami_replay;

typedef struct ami_replay_options {
    guint16 port;         /* 0 = any free port (ami_replay_port() tells) */
    const char *secret;   /* Login Secret to require; NULL = any */
    const char *banner;   /* NULL = the script's, else "Asterisk Call Manager/11.0.0" */
    gboolean strict;      /* an unexpected action closes the connection */
    gboolean loop;        /* at the end, play the script again from the step after
                             the first expectation's answer (the Login's) */
    guint stall_after;    /* > 0: after this many actions of a connection, answer
                             nothing more and send nothing (the socket stays open) */
    guint close_after;    /* > 0: after this many messages sent on a connection, send
                             half of the next block and close */
    const char *tls_cert; /* PEM certificate and key: serve AMI over TLS */
    const char *tls_key;
    const char *log_actions;  /* append every action received here (Secret masked) */
    const char *hold_section; /* a connection waits before the first step of the section
                                 "=== NAME ===" of this name until ami_replay_release() */
} ami_replay_options;

/* Listens on 127.0.0.1 and serves `script` (capture format) on `context`
 * (NULL = the default one). NULL with `error` set when it cannot listen or
 * load the TLS certificate. `options` may be NULL; its strings are copied. */
ami_replay *ami_replay_new(const char *script, const ami_replay_options *options,
                           GMainContext *context, GError **error);

/* Closes every connection and the listener. NULL is fine. */
void ami_replay_free(ami_replay *r);

guint16 ami_replay_port(const ami_replay *r);

/* Every action received, on all connections, in order (pami_message *,
 * borrowed). */
GPtrArray *ami_replay_actions(const ami_replay *r);

/* The last action received called `action` (case-insensitive), or NULL. */
pami_message *ami_replay_last_action(const ami_replay *r, const char *action);

/* Descriptions of the mismatches seen (char *, borrowed). */
GPtrArray *ami_replay_mismatches(const ami_replay *r);

/* Connections accepted so far, and currently open. */
guint ami_replay_accepted(const ami_replay *r);
guint ami_replay_open(const ami_replay *r);

/* Appends script text (capture format) to the script: open connections that
 * have reached the end play it at once, new ones after the rest. */
void ami_replay_queue(ami_replay *r, const char *script);

/* Lets every connection go on past options.hold_section (now and later). */
void ami_replay_release(ami_replay *r);

/* Sends raw bytes to every open connection now (events, junk). */
void ami_replay_inject(ami_replay *r, const char *data, gsize len);

/* Makes every open connection stop answering (as stall_after does). */
void ami_replay_stall(ami_replay *r);

/* Closes every open connection now. */
void ami_replay_drop(ami_replay *r);

#endif /* AMI_REPLAY_H */
