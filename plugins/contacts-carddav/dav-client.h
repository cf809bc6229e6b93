/*
 * dav-client.h - the HTTP side of contacts-carddav: one libsoup-3 session
 * with the source's credentials, TLS trust and timeout, used synchronously
 * on the store's worker thread for the length of one replication.
 *
 * Basic authentication is sent with every request (preemptively: a
 * CardDAV server asks for it on every URL anyway, and it saves each
 * request a 401 round trip). Redirects are not followed, so the
 * credentials go to the configured server only; a redirect is an error
 * that names where it points. TLS is verified against the system's CAs,
 * or only against `ca_file` when one is set. The password appears in no
 * message.
 */
#ifndef UCD_DAV_CLIENT_H
#define UCD_DAV_CLIENT_H

#include <glib.h>

typedef struct dav_client_settings {
    const char *user;     /* NULL: no authentication */
    const char *password; /* with user */
    const char *ca_file;  /* PEM; NULL: the system's CAs */
    unsigned timeout;     /* seconds a request may stall (connect, send, each read); 0: 30 */
    gsize max_answer;     /* bytes an answer may have; 0: 256 MiB */
} dav_client_settings;

typedef struct dav_client dav_client;

/* A client for `settings` (copied). NULL with `*error` (g_free) when the
 * ca_file cannot be read. */
dav_client *dav_client_new(const dav_client_settings *settings, char **error);

void dav_client_free(dav_client *client);

/* Sends `method` to `url` with a Depth header (NULL: none) and `body` of
 * `content_type` (NULL: none), and reads the answer into `*answer`
 * (g_bytes_unref). The HTTP status, or 0 with `*error` (g_free) naming the
 * URL when there is no answer: the server cannot be reached, TLS fails, the
 * request stalls longer than the timeout, the answer is larger than
 * max_answer. */
unsigned dav_client_send(dav_client *client, const char *method, const char *url, const char *depth,
                         const char *content_type, const char *body, gsize body_len,
                         GBytes **answer, char **error);

/* dav_client_send of an XML `body` that must be answered with 207
 * Multi-Status, read as dav-multistatus.h says: the resources
 * (g_ptr_array_unref), or NULL with `*error` (g_free) naming the URL and
 * what happened: "authentication failed for USER at URL" for a 401, the
 * status line for any other status. */
GPtrArray *dav_client_query(dav_client *client, const char *method, const char *url,
                            const char *depth, const char *body, char **error);

/* The HTTP status of the client's last answer (0: none): 207 after
 * dav_client_query failed means the answer was a 207 whose body could not be
 * read. */
unsigned dav_client_last_status(const dav_client *client);

/* `href` resolved against `base` (an absolute URL), without a fragment;
 * NULL when it cannot be (g_free). */
char *dav_resolve(const char *base, const char *href);

#endif /* UCD_DAV_CLIENT_H */
