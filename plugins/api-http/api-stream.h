/*
 * api-stream.h - the WebSocket event stream at /api/v1/events.
 *
 * Every bus event a client may see goes to it as one JSON text message with
 * a sequence number; the permission check happens at delivery, per client.
 * A client that reconnects with its last sequence gets what it missed from
 * a bounded replay window, or a "resync" answer when the window no longer
 * holds it. The protocol is in docs/api/events.md.
 */
#ifndef API_STREAM_H
#define API_STREAM_H

#include <libsoup/soup.h>

#include "api-http.h"

/* The stream of one module start: a new epoch, an empty replay ring of
 * `replay_window` events, the counters ws_clients, ws_events_sent and
 * ws_dropped_slow. */
api_stream *api_stream_new(api_ctx *ctx);
/* Subscribes to the bus: from here on events are numbered and kept. */
void api_stream_start(api_stream *stream);
/* Closes every client (1001 going away) and unsubscribes. */
void api_stream_stop(api_stream *stream);
/* Frees the clients (after api_stream_stop) and the ring. */
void api_stream_free(api_stream *stream);

/* Registers the WebSocket handler on `server` at API_PREFIX "/events". */
void api_stream_attach(api_stream *stream, SoupServer *server);

/* Clients connected now, for `ucctl api sessions` and the counters. */
guint api_stream_client_count(api_stream *stream);

#endif /* API_STREAM_H */
