/*
 * api-address.h - the client's address for a request: the peer's, or
 * behind a trusted proxy (config trusted_proxies) the last address in
 * X-Forwarded-For that is not one of those proxies. What the rate limit of
 * logins, the sessions' records and the logs name.
 */
#ifndef API_ADDRESS_H
#define API_ADDRESS_H

#include <libsoup/soup.h>

#include "api-http.h"

/* The client's address for `msg` (g_free it). */
char *api_client_address(const api_config *config, SoupServerMessage *msg);

#endif /* API_ADDRESS_H */
