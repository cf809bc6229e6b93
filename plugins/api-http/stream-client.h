/*
 * stream-client.h - one WebSocket client of the event stream, and the
 * stream's state the clients share (struct api_stream, private to the
 * stream*.c files).
 *
 * A client has a cursor: the seq of the last event it has been given or
 * passed over. Live, the cursor is the ring's last event and each new event
 * goes out at once; a client that resumes walks the ring from where it
 * left, paced by what its socket takes, then is live again. Bytes handed to
 * the socket and not yet written are counted (libsoup 3.2 has no buffered
 * amount): a live client that lets more than ws_queue_limit of them pile up
 * is closed with 4008, so it never holds up the others, who are served from
 * the same loop turn.
 */
#ifndef STREAM_CLIENT_H
#define STREAM_CLIENT_H

#include <libsoup/soup.h>

#include "api-auth.h"
#include "api-stream.h"
#include "stream-filter.h"

/* WebSocket close codes of the stream (docs/api/events.md). */
#define STREAM_CLOSE_TOKEN_EXPIRED 4001 /* the token expired or was revoked, not renewed */
#define STREAM_CLOSE_TOO_SLOW      4008 /* more than ws_queue_limit bytes waiting */

typedef struct stream_client stream_client;

struct api_stream {
    api_ctx *ctx;
    char epoch[17]; /* 16 hex digits, new at every module start */
    guint64 seq;    /* of the last event taken from the bus */
    stream_replay *replay;
    stream_lookup lookup;
    GPtrArray *clients; /* stream_client*, live ones; closed ones leave at idle */
    guint sweep_idle;   /* removes closed clients */
    ucd_subscription *subscription;
    ucd_timer *auth_timer;
    guint auth_ticks;
    ucd_counter *clients_connected;
    ucd_counter *events_sent;
    ucd_counter *dropped_slow;
    gboolean stopping;
};

/* A client on the upgraded connection `io` (taken: the stream counts what
 * goes through it), for the token that `principal` (taken) resolved. Added
 * to stream->clients. */
stream_client *stream_client_new(api_stream *stream, GIOStream *io, GUri *uri, const char *origin,
                                 const char *token, api_principal *principal);
/* Sends what the client is owed of the ring, as far as its socket takes it. */
void stream_client_pump(stream_client *client);
/* Asks the auth store again whether the token still holds (revoked, user
 * disabled, expired): if not, closes with 4001. */
void stream_client_recheck(stream_client *client);
/* TRUE when the client's token expired by `now` (UTC ms) and it is still
 * open: the stream then rechecks it (and closes it with 4001). One timer of
 * the stream checks every client each second, rather than a timer per
 * client: GLib's main loop visits every source at every turn. */
gboolean stream_client_expired(stream_client *client, gint64 now);
/* Closes the WebSocket (if still open) with `code` and `reason`. */
void stream_client_close(stream_client *client, gushort code, const char *reason);
/* TRUE once the socket closed; the stream then frees the client. */
gboolean stream_client_closed(stream_client *client);
void stream_client_free(stream_client *client);

/* Frees the stream's closed clients at the next idle, never while its
 * list of clients is walked. */
void stream_sweep_later(api_stream *stream);

/* Bytes handed to the socket and not yet written. */
guint64 stream_client_buffered(stream_client *client);

#endif /* STREAM_CLIENT_H */
