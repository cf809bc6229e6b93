/*
 * api-server.c - the SoupServer of api-http (api-server.h).
 *
 * One server carries every listener, HTTPS and plain. The certificate and
 * key are checked with OpenSSL before GLib's TLS backend gets them, because
 * the backend takes a key that does not belong to the certificate and only
 * the clients' handshakes fail later; here init fails and names both files.
 * TLS versions: GLib's backend (glib-networking with GnuTLS) takes TLS 1.1
 * unless told otherwise, and only through the process environment
 * (G_TLS_GNUTLS_PRIORITY, read once, at the first TLS connection of the
 * process): the plugin sets it when it is loaded, unless the environment
 * has it already (README.md, "TLS").
 */
#include "api-server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api-answer-cache.h"
#include "api-call-internal.h"
#include "api-config.h"
#include "api-cors.h"
#include "api-limits.h"
#include "api-router.h"

/* Connections the kernel queues for accept() on each listener. GLib's
 * default is 10: a hundred clients connecting at once got resets and
 * retries (SYN cookies) before the main loop accepted them. The kernel
 * caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096

struct api_server {
    api_ctx *ctx;
    SoupServer *soup;
    api_limits *limits;
    api_answer_cache *answers; /* the routes' kept JSON (api-answer-cache.h) */
};

/* TLS 1.2 and 1.3 only. Set when the plugin is loaded (dlopen), before the
 * backend makes its first connection; an administrator's own value wins. */
#define TLS_PRIORITY "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"

__attribute__((constructor)) static void tls_floor(void)
{
    setenv("G_TLS_GNUTLS_PRIORITY", TLS_PRIORITY, 0);
}

/* ---- the certificate ---- */

static char *openssl_reason(void)
{
    unsigned long e = ERR_get_error();
    char buffer[256] = "";
    if (e)
        ERR_error_string_n(e, buffer, sizeof buffer);
    ERR_clear_error();
    return g_strdup(buffer[0] ? buffer : "no PEM data found");
}

/* The key belongs to the certificate, each file reads. */
static gboolean check_pair(const char *cert_path, const char *key_path, GError **error)
{
    FILE *f = fopen(cert_path, "r");
    if (f == NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "certificate %s: %s", cert_path,
                    g_strerror(errno));
        return FALSE;
    }
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL) {
        char *why = openssl_reason();
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "certificate %s is not a PEM certificate (%s)", cert_path, why);
        g_free(why);
        return FALSE;
    }
    f = fopen(key_path, "r");
    if (f == NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "private_key %s: %s", key_path,
                    g_strerror(errno));
        X509_free(cert);
        return FALSE;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL) {
        char *why = openssl_reason();
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "private_key %s is not an unencrypted PEM private key (%s)", key_path, why);
        g_free(why);
        X509_free(cert);
        return FALSE;
    }
    gboolean ok = X509_check_private_key(cert, key) == 1;
    ERR_clear_error();
    if (!ok)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "private_key %s does not belong to certificate %s", key_path, cert_path);
    EVP_PKEY_free(key);
    X509_free(cert);
    return ok;
}

static GTlsCertificate *load_certificate(const api_config *config, GError **error)
{
    if (!check_pair(config->certificate, config->private_key, error))
        return NULL;
    GError *tls_error = NULL;
    GTlsCertificate *cert =
        g_tls_certificate_new_from_files(config->certificate, config->private_key, &tls_error);
    if (cert == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "certificate %s with private_key %s: %s", config->certificate,
                    config->private_key, tls_error->message);
        g_error_free(tls_error);
    }
    return cert;
}

gboolean api_server_check_certificate(api_ctx *ctx, GError **error)
{
    if (ctx->config.https_listen[0] == NULL)
        return TRUE;
    GTlsCertificate *cert = load_certificate(&ctx->config, error);
    if (cert)
        g_object_unref(cert);
    return cert != NULL;
}

/* glib-networking asks a server whether to take every client certificate,
 * also one the CA verified; libsoup says no unless told: taken when the
 * client_ca verified it. */
static gboolean accept_client_certificate(SoupServerMessage *msg, GTlsCertificate *certificate,
                                          GTlsCertificateFlags errors, gpointer data)
{
    (void)msg, (void)certificate, (void)data;
    return errors == 0;
}

static void watch_client_certificate(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
    (void)soup, (void)data;
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_client_certificate), NULL);
}

static gboolean set_tls(api_server *server, GError **error)
{
    const api_config *config = &server->ctx->config;
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "https_listen: GLib has no TLS backend (install glib-networking)");
        return FALSE;
    }
    GTlsCertificate *cert = load_certificate(config, error);
    if (cert == NULL)
        return FALSE;
    soup_server_set_tls_certificate(server->soup, cert);
    g_object_unref(cert);
    if (config->client_ca) {
        GError *ca_error = NULL;
        GTlsDatabase *db = g_tls_file_database_new(config->client_ca, &ca_error);
        if (db == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "client_ca %s: %s",
                        config->client_ca, ca_error->message);
            g_error_free(ca_error);
            return FALSE;
        }
        soup_server_set_tls_database(server->soup, db);
        soup_server_set_tls_auth_mode(server->soup, G_TLS_AUTHENTICATION_REQUESTED);
        g_object_unref(db);
        g_signal_connect(server->soup, "request-started", G_CALLBACK(watch_client_certificate),
                         NULL);
    }
    return TRUE;
}

gboolean api_server_reload_certificate(api_server *server, GError **error)
{
    if (server->ctx->config.https_listen[0] == NULL)
        return TRUE;
    GTlsCertificate *cert = load_certificate(&server->ctx->config, error);
    if (cert == NULL)
        return FALSE;
    soup_server_set_tls_certificate(server->soup, cert);
    g_object_unref(cert);
    return TRUE;
}

/* ---- handlers ---- */

static void early(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer data)
{
    (void)soup, (void)path, (void)query;
    api_server *server = data;
    api_limits_check_headers(server->limits, msg);
}

static void on_api(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                   gpointer data)
{
    (void)soup, (void)query;
    api_server *server = data;
    if (api_cors_handle(server->ctx->config.allowed_origins, msg))
        return;
    if (!g_str_has_prefix(path, API_PREFIX "/") || path[strlen(API_PREFIX) + 1] == '\0') {
        char *text = g_strdup_printf("no resource %s (see %s/openapi.json)", path, API_PREFIX);
        api_message_error(msg, SOUP_STATUS_NOT_FOUND, API_ERR_NOT_FOUND, text);
        g_free(text);
        return;
    }
    if (strcmp(soup_server_message_get_method(msg), "OPTIONS") == 0) {
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                     "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
        return;
    }
    api_router_dispatch(server->ctx->router, msg, path + strlen(API_PREFIX));
}

static void on_other(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                     gpointer data)
{
    (void)soup, (void)query, (void)data;
    char *text = g_strdup_printf("no resource %s: the API is under %s/", path, API_PREFIX);
    api_message_error(msg, SOUP_STATUS_NOT_FOUND, API_ERR_NOT_FOUND, text);
    g_free(text);
}

/* ---- listeners ---- */

/* A listening socket on `address` with LISTEN_BACKLOG, handed to libsoup
 * (soup_server_listen would make one with GLib's backlog of 10). */
static gboolean listen_on(api_server *server, GSocketAddress *address,
                          SoupServerListenOptions options, GError **error)
{
    GSocketFamily family = g_socket_address_get_family(address);
    GSocket *socket = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
    if (socket == NULL)
        return FALSE;
    gboolean ok = TRUE;
    /* As libsoup's own listeners: an IPv6 listener takes IPv6 only, the
     * IPv4 one is separate. */
    if (family == G_SOCKET_FAMILY_IPV6)
        ok = g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error);
    g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
    ok = ok && g_socket_bind(socket, address, TRUE, error) && g_socket_listen(socket, error) &&
         soup_server_listen_socket(server->soup, socket, options, error);
    g_object_unref(socket);
    return ok;
}

/* Every address, as soup_server_listen_all: IPv4 and, when the system has
 * it, IPv6, on one port (port 0: the one the kernel gave IPv4). */
static gboolean listen_any(api_server *server, guint16 port, SoupServerListenOptions options,
                           GError **error)
{
    GSocketAddress *v4 = g_inet_socket_address_new_from_string("0.0.0.0", port);
    gboolean ok = listen_on(server, v4, options, error);
    g_object_unref(v4);
    if (!ok)
        return FALSE;
    if (port == 0) {
        GSList *uris = soup_server_get_uris(server->soup);
        for (GSList *u = uris; u; u = u->next)
            port = (guint16)g_uri_get_port(u->data);
        g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
    }
    GError *v6_error = NULL;
    GSocketAddress *v6 = g_inet_socket_address_new_from_string("::", port);
    ok = listen_on(server, v6, options, &v6_error);
    g_object_unref(v6);
    if (!ok && g_error_matches(v6_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
        g_error_free(v6_error); /* a system without IPv6: IPv4 is enough */
        return TRUE;
    }
    if (!ok)
        g_propagate_error(error, v6_error);
    return ok;
}

static gboolean listen_all(api_server *server, const char *key, const char *const *list,
                           SoupServerListenOptions options, GError **error)
{
    for (gsize i = 0; list && list[i]; i++) {
        char *host = NULL;
        guint16 port = 0;
        GError *e = NULL;
        gboolean ok = api_config_parse_listen(list[i], &host, &port, &e);
        if (ok && host == NULL)
            ok = listen_any(server, port, options, &e);
        else if (ok) {
            GInetAddress *a = g_inet_address_new_from_string(host);
            GSocketAddress *sa = g_inet_socket_address_new(a, port);
            ok = listen_on(server, sa, options, &e);
            g_object_unref(sa);
            g_object_unref(a);
        }
        g_free(host);
        if (!ok) {
            g_set_error(error, G_IO_ERROR, e ? e->code : G_IO_ERROR_FAILED, "%s %s: %s", key,
                        list[i], e ? e->message : "cannot listen");
            g_clear_error(&e);
            return FALSE;
        }
    }
    return TRUE;
}

api_server *api_server_new(api_ctx *ctx, GError **error)
{
    api_server *server = g_new0(api_server, 1);
    server->ctx = ctx;
    server->soup = soup_server_new("server-header", "ucd", NULL);
    server->limits = api_limits_new(ctx);
    server->answers = api_answer_cache_new();
    ctx->answers = server->answers;
    const api_config *config = &ctx->config;
    if (config->https_listen[0] && !set_tls(server, error))
        goto fail;
    api_limits_attach(server->limits, server->soup);
    soup_server_add_early_handler(server->soup, NULL, early, server, NULL);
    soup_server_add_early_handler(server->soup, API_PREFIX, early, server, NULL);
    soup_server_add_early_handler(server->soup, API_PREFIX "/events", early, server, NULL);
    soup_server_add_handler(server->soup, NULL, on_other, server, NULL);
    soup_server_add_handler(server->soup, API_PREFIX, on_api, server, NULL);
    if (!listen_all(server, "https_listen", config->https_listen, SOUP_SERVER_LISTEN_HTTPS,
                    error) ||
        !listen_all(server, "http_listen", config->http_listen, 0, error))
        goto fail;
    return server;
fail:
    api_server_free(server);
    return NULL;
}

void api_server_free(api_server *server)
{
    if (server == NULL)
        return;
    soup_server_disconnect(server->soup);
    api_limits_free(server->limits); /* disconnects from the server's signals */
    g_object_unref(server->soup);
    if (server->ctx->answers == server->answers)
        server->ctx->answers = NULL;
    api_answer_cache_unref(server->answers);
    g_free(server);
}

SoupServer *api_server_soup(api_server *server)
{
    return server->soup;
}

guint api_server_connections(api_server *server, const char *address)
{
    return api_limits_connections(server->limits, address);
}
