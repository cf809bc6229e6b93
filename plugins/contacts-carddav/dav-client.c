/*
 * dav-client.c - see the header. Answers are read through the session's
 * stream API rather than soup_session_send_and_read so that an answer
 * larger than max_answer is cut off while it arrives, not after it filled
 * the memory.
 */
#include "dav-client.h"

#include <string.h>

#include <libsoup/soup.h>

#include "dav-multistatus.h"

#define DEFAULT_TIMEOUT    30
#define DEFAULT_MAX_ANSWER ((gsize)256 * 1024 * 1024)
#define READ_CHUNK         (64 * 1024)

struct dav_client {
    SoupSession *session;
    char *user;
    char *authorization; /* "Basic ...", or NULL */
    unsigned timeout;
    gsize max_answer;
    char *location; /* the last answer's Location header, for a redirect's message */
    unsigned last_status;
};

dav_client *dav_client_new(const dav_client_settings *settings, char **error)
{
    *error = NULL;
    GTlsDatabase *trust = NULL;
    if (settings->ca_file != NULL && settings->ca_file[0] != '\0') {
        GError *e = NULL;
        trust = g_tls_file_database_new(settings->ca_file, &e);
        if (trust == NULL) {
            *error = g_strdup_printf("ca_file %s: %s", settings->ca_file, e->message);
            g_error_free(e);
            return NULL;
        }
    }
    dav_client *c = g_new0(dav_client, 1);
    c->timeout = settings->timeout != 0 ? settings->timeout : DEFAULT_TIMEOUT;
    c->max_answer = settings->max_answer != 0 ? settings->max_answer : DEFAULT_MAX_ANSWER;
    c->session = soup_session_new_with_options("timeout", c->timeout, "idle-timeout", c->timeout,
                                               "user-agent", "ucd-contacts-carddav/1.0", NULL);
    if (trust != NULL) {
        soup_session_set_tls_database(c->session, trust);
        g_object_unref(trust);
    }
    if (settings->user != NULL && settings->user[0] != '\0') {
        c->user = g_strdup(settings->user);
        char *pair = g_strdup_printf("%s:%s", settings->user,
                                     settings->password != NULL ? settings->password : "");
        char *encoded = g_base64_encode((const guchar *)pair, strlen(pair));
        c->authorization = g_strdup_printf("Basic %s", encoded);
        memset(pair, 0, strlen(pair));
        g_free(pair);
        g_free(encoded);
    }
    return c;
}

void dav_client_free(dav_client *client)
{
    if (client == NULL)
        return;
    g_object_unref(client->session);
    if (client->authorization != NULL)
        memset(client->authorization, 0, strlen(client->authorization));
    g_free(client->authorization);
    g_free(client->user);
    g_free(client->location);
    g_free(client);
}

/* What a transport error means for an admin. */
static char *transport_error(const dav_client *c, const char *url, const GError *e)
{
    if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return g_strdup_printf("%s: no answer within %u s (timeout)", url, c->timeout);
    if (e->domain == G_TLS_ERROR)
        return g_strdup_printf("%s: TLS failed: %s (the server's certificate is checked against "
                               "%s)",
                               url, e->message, "the system's CAs or ca_file");
    return g_strdup_printf("cannot reach %s: %s", url, e->message);
}

unsigned dav_client_send(dav_client *client, const char *method, const char *url, const char *depth,
                         const char *content_type, const char *body, gsize body_len,
                         GBytes **answer, char **error)
{
    *answer = NULL;
    *error = NULL;
    client->last_status = 0;
    GError *e = NULL;
    GUri *uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, &e);
    if (uri == NULL || (g_strcmp0(g_uri_get_scheme(uri), "http") != 0 &&
                        g_strcmp0(g_uri_get_scheme(uri), "https") != 0)) {
        *error = g_strdup_printf("%s is not an http:// or https:// URL%s%s", url,
                                 e != NULL ? ": " : "", e != NULL ? e->message : "");
        g_clear_error(&e);
        if (uri != NULL)
            g_uri_unref(uri);
        return 0;
    }
    SoupMessage *msg = soup_message_new_from_uri(method, uri);
    g_uri_unref(uri);
    soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
    SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
    if (client->authorization != NULL)
        soup_message_headers_replace(headers, "Authorization", client->authorization);
    if (depth != NULL)
        soup_message_headers_replace(headers, "Depth", depth);
    if (body != NULL) {
        GBytes *bytes = g_bytes_new(body, body_len);
        soup_message_set_request_body_from_bytes(msg, content_type, bytes);
        g_bytes_unref(bytes);
    }
    unsigned status = 0;
    GInputStream *in = soup_session_send(client->session, msg, NULL, &e);
    if (in == NULL) {
        *error = transport_error(client, url, e);
        g_error_free(e);
        g_object_unref(msg);
        return 0;
    }
    GByteArray *data = g_byte_array_new();
    for (;;) {
        guint8 chunk[READ_CHUNK];
        gssize n = g_input_stream_read(in, chunk, sizeof chunk, NULL, &e);
        if (n < 0) {
            *error = transport_error(client, url, e);
            g_error_free(e);
            break;
        }
        if (n == 0)
            break;
        if (data->len + (gsize)n > client->max_answer) {
            *error = g_strdup_printf("%s: the answer is larger than %zu MiB; refused", url,
                                     client->max_answer / (1024 * 1024));
            break;
        }
        g_byte_array_append(data, chunk, n);
    }
    g_input_stream_close(in, NULL, NULL);
    g_object_unref(in);
    if (*error == NULL) {
        status = soup_message_get_status(msg);
        *answer = g_byte_array_free_to_bytes(data);
    } else
        g_byte_array_free(data, TRUE);
    g_free(client->location);
    client->location =
        g_strdup(soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location"));
    g_object_unref(msg);
    client->last_status = status;
    return status;
}

unsigned dav_client_last_status(const dav_client *client)
{
    return client->last_status;
}

GPtrArray *dav_client_query(dav_client *client, const char *method, const char *url,
                            const char *depth, const char *body, char **error)
{
    GBytes *answer = NULL;
    unsigned status = dav_client_send(client, method, url, depth, "application/xml; charset=utf-8",
                                      body, strlen(body), &answer, error);
    if (status == 0)
        return NULL;
    GPtrArray *resources = NULL;
    if (status == 207) {
        char *what = g_strdup_printf("the answer of %s to %s", url, method);
        gsize len = 0;
        const char *data = g_bytes_get_data(answer, &len);
        resources = dav_multistatus_parse(data != NULL ? data : "", len, what, error);
        g_free(what);
    } else if (status == 401 && client->user != NULL)
        *error = g_strdup_printf("authentication failed for %s at %s (401 Unauthorized: check "
                                 "user and password)",
                                 client->user, url);
    else if (status == 401)
        *error = g_strdup_printf("%s asks for a user and password (401 Unauthorized); set user "
                                 "and password",
                                 url);
    else if (status >= 300 && status < 400) {
        *error = g_strdup_printf("%s redirects (%u) to %s; set url to where it points", url, status,
                                 client->location != NULL ? client->location : "nowhere");
    } else
        *error = g_strdup_printf(
            "%s: %s answered %u %s", url, method, status,
            soup_status_get_phrase(status) != NULL ? soup_status_get_phrase(status) : "");
    g_bytes_unref(answer);
    return resources;
}

char *dav_resolve(const char *base, const char *href)
{
    char *resolved = g_uri_resolve_relative(base, href, G_URI_FLAGS_NONE, NULL);
    if (resolved == NULL)
        return NULL;
    char *hash = strchr(resolved, '#');
    if (hash != NULL)
        *hash = '\0';
    return resolved;
}
