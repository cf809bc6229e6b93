/*
 * api-server.h - the HTTP side of api-http: listeners (HTTPS with the
 * configured certificate, plain HTTP when enabled), limits (header and body
 * size, connections per address, request timeouts), CORS, the client's
 * address behind trusted proxies, and the hand-over of /api/v1 requests to
 * the router and of /api/v1/events to the event stream.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <libsoup/soup.h>

#include "api-http.h"

/* Reads the configured certificate and private key and checks that they
 * belong together (init does it, so a wrong file fails init): FALSE and
 * `error` naming the key and file. TRUE without HTTPS. */
gboolean api_server_check_certificate(api_ctx *ctx, GError **error);
/* Creates the SoupServer, loads the certificate, binds the listeners. NULL
 * and `error` (which names the address or the file) when it cannot. */
api_server *api_server_new(api_ctx *ctx, GError **error);
void api_server_free(api_server *server);
SoupServer *api_server_soup(api_server *server);
/* Reads the certificate and key again (the reload hook, on SIGHUP): new
 * connections get the new certificate; FALSE and `error` keeps the old. */
gboolean api_server_reload_certificate(api_server *server, GError **error);
/* Connections `address` holds now (max_connections_per_address counts
 * them). */
guint api_server_connections(api_server *server, const char *address);

#endif /* API_SERVER_H */
