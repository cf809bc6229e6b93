/*
 * api-cors.c - see api-cors.h. The answer names the one origin asking (never
 * a list), with Vary: Origin so a shared cache keeps answers apart.
 */
#include "api-cors.h"

#include <string.h>

#include "api-call-internal.h"

#define CORS_METHODS "GET, POST, PUT, PATCH, DELETE"
#define CORS_HEADERS "Authorization, Content-Type, If-None-Match"
#define CORS_EXPOSE  "ETag, Retry-After, Content-Disposition"
#define CORS_MAX_AGE "600"

gboolean api_cors_origin_allowed(const char *const *allowed, const char *origin)
{
    if (origin == NULL || allowed == NULL)
        return FALSE;
    for (gsize i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], "*") == 0 || g_ascii_strcasecmp(allowed[i], origin) == 0)
            return TRUE;
    return FALSE;
}

gboolean api_cors_handle(const char *const *allowed, SoupServerMessage *msg)
{
    SoupMessageHeaders *in = soup_server_message_get_request_headers(msg);
    SoupMessageHeaders *out = soup_server_message_get_response_headers(msg);
    const char *origin = soup_message_headers_get_one(in, "Origin");
    gboolean preflight = strcmp(soup_server_message_get_method(msg), "OPTIONS") == 0 &&
                         soup_message_headers_get_one(in, "Access-Control-Request-Method");
    if (origin == NULL)
        return FALSE;
    soup_message_headers_append(out, "Vary", "Origin");
    if (!api_cors_origin_allowed(allowed, origin)) {
        if (!preflight)
            return FALSE;
        char *text = g_strdup_printf("origin %s may not call this API (allowed_origins)", origin);
        api_message_error(msg, SOUP_STATUS_FORBIDDEN, API_ERR_FORBIDDEN, text);
        g_free(text);
        return TRUE;
    }
    soup_message_headers_replace(out, "Access-Control-Allow-Origin", origin);
    if (!preflight) {
        soup_message_headers_replace(out, "Access-Control-Expose-Headers", CORS_EXPOSE);
        return FALSE;
    }
    soup_message_headers_replace(out, "Access-Control-Allow-Methods", CORS_METHODS);
    soup_message_headers_replace(out, "Access-Control-Allow-Headers", CORS_HEADERS);
    soup_message_headers_replace(out, "Access-Control-Max-Age", CORS_MAX_AGE);
    soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
    return TRUE;
}
