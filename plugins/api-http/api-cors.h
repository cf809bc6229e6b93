/*
 * api-cors.h - cross-origin requests from the web pages of allowed_origins
 * (a CRM's web app calling the API from the browser). Tokens travel in the
 * Authorization header, never in cookies, so CORS only decides which pages
 * may read the answers.
 */
#ifndef API_CORS_H
#define API_CORS_H

#include <libsoup/soup.h>

#include "api-http.h"

/* TRUE when `origin` is one of `allowed` (exact match, or "*"). */
gboolean api_cors_origin_allowed(const char *const *allowed, const char *origin);

/* Adds the CORS headers of an allowed Origin to the answer of `msg`, and
 * answers a preflight (OPTIONS with Access-Control-Request-Method) itself:
 * 204 for an allowed origin, 403 for another. TRUE when it answered. */
gboolean api_cors_handle(const char *const *allowed, SoupServerMessage *msg);

#endif /* API_CORS_H */
