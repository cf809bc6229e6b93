/*
 * api-limits.h - what keeps one client from holding the server: the size of
 * a request's headers and body, the connections one address may hold, and
 * the time a client has to send a whole request (slowloris: a client that
 * trickles its headers one byte a second is cut off after request_timeout,
 * and so is a connection that sends nothing).
 */
#ifndef API_LIMITS_H
#define API_LIMITS_H

#include <libsoup/soup.h>

#include "api-http.h"

typedef struct api_limits api_limits;

/* The limits of ctx->config. The trusted proxies have no connection limit:
 * they carry many clients (limit those in the proxy). */
api_limits *api_limits_new(api_ctx *ctx);
void api_limits_free(api_limits *limits);

/* Watches `server`'s requests: starts the request timer and counts
 * connections per address. */
void api_limits_attach(api_limits *limits, SoupServer *server);

/* Checks a request's headers once they are in (an early handler): FALSE
 * after answering 431 for headers over max_header, 413 for a Content-Length
 * over max_body, 411 for a body without Content-Length. */
gboolean api_limits_check_headers(api_limits *limits, SoupServerMessage *msg);

/* Connections counted now for `address` (tests, counters). */
guint api_limits_connections(api_limits *limits, const char *address);

/* ---- the per-address table, on its own for the unit test ---- */

typedef struct api_conn_table api_conn_table;
api_conn_table *api_conn_table_new(guint per_address);
void api_conn_table_free(api_conn_table *table);
/* TRUE and counted when `address` holds fewer than the limit. */
gboolean api_conn_table_acquire(api_conn_table *table, const char *address);
void api_conn_table_release(api_conn_table *table, const char *address);
guint api_conn_table_count(api_conn_table *table, const char *address);

#endif /* API_LIMITS_H */
