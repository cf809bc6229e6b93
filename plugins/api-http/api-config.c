/*
 * api-config.c - see api-config.h. Defaults are the design's: HTTPS on port
 * 7225 of every address, plain HTTP off, limits that keep one client from
 * holding the server.
 */
#include "api-config.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

const ucd_config_key api_config_keys[] = {
    {"https_listen", UCD_CONFIG_LIST, 0, ":7225",
     "HTTPS listen addresses, HOST:PORT or :PORT for every address (empty: no HTTPS)"},
    {"http_listen", UCD_CONFIG_LIST, 0, "",
     "plain HTTP listen addresses (default none; for a reverse proxy on the same host)"},
    {"certificate", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM certificate (chain) of the HTTPS listeners"},
    {"private_key", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL, "PEM private key of the certificate"},
    {"client_ca", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM CA bundle: HTTPS clients may present a certificate it signed"},
    {"allowed_origins", UCD_CONFIG_LIST, 0, "",
     "origins (https://crm.example.com) whose web pages may call the API (CORS)"},
    {"trusted_proxies", UCD_CONFIG_LIST, 0, "",
     "addresses of reverse proxies whose X-Forwarded-For is believed"},
    {"admin_group", UCD_CONFIG_STRING, 0, NULL, "directory group id whose members are admins"},
    {"session_lifetime", UCD_CONFIG_DURATION, 0, "8h", "life of an access token"},
    {"refresh_lifetime", UCD_CONFIG_DURATION, 0, "30d", "life of a refresh token"},
    {"max_body", UCD_CONFIG_INT, 0, "1048576", "largest request body in bytes"},
    {"max_header", UCD_CONFIG_INT, 0, "16384", "largest request header block in bytes"},
    {"max_ws_message", UCD_CONFIG_INT, 0, "65536", "largest incoming WebSocket message in bytes"},
    {"max_connections_per_address", UCD_CONFIG_INT, 0, "256",
     "open connections one client address may hold"},
    {"request_timeout", UCD_CONFIG_DURATION, 0, "30s",
     "time a client has to send a whole request (and an idle connection lives)"},
    {"ws_queue_limit", UCD_CONFIG_INT, 0, "1048576",
     "bytes queued to one WebSocket client before it is dropped as too slow"},
    {"ws_ping_interval", UCD_CONFIG_DURATION, 0, "30s", "WebSocket ping interval"},
    {"replay_window", UCD_CONFIG_INT, 0, "10000", "events kept for reconnecting clients"},
    {"login_attempts", UCD_CONFIG_INT, 0, "5",
     "failed logins per minute, per login and per address, before 429"},
    {NULL},
};

gboolean api_config_parse_listen(const char *text, char **host, guint16 *port, GError **error)
{
    *host = NULL;
    *port = 0;
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (colon == NULL || colon[1] == '\0') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "\"%s\" is not HOST:PORT or :PORT", text ? text : "");
        return FALSE;
    }
    char *end = NULL;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p == 0 || p > 65535 || colon[1] == '-' || colon[1] == '+') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "\"%s\": the port must be a number from 1 to 65535", text);
        return FALSE;
    }
    const char *start = text;
    gsize length = (gsize)(colon - text);
    if (length >= 2 && text[0] == '[' && text[length - 1] == ']') {
        start++;
        length -= 2;
    } else if (memchr(text, ':', length) != NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "\"%s\": write an IPv6 address in brackets, [::1]:PORT", text);
        return FALSE;
    }
    if (length > 0) {
        char *name = g_strndup(start, length);
        GInetAddress *address = g_inet_address_new_from_string(name);
        if (address == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "\"%s\": \"%s\" is not an IP address", text, name);
            g_free(name);
            return FALSE;
        }
        g_object_unref(address);
        *host = name;
    }
    *port = (guint16)p;
    return TRUE;
}

static int check_listen(api_ctx *ctx, const char *key, const char *const *list)
{
    for (gsize i = 0; list && list[i]; i++) {
        char *host = NULL;
        guint16 port = 0;
        GError *error = NULL;
        if (!api_config_parse_listen(list[i], &host, &port, &error)) {
            int rc = ctx->host->config_error(ctx->self, key, "%s", error->message);
            g_error_free(error);
            return rc;
        }
        g_free(host);
    }
    return UCD_OK;
}

typedef struct number_key {
    const char *name;
    gint64 *value;
    gint64 least, most;
    const char *unit;
} number_key;

static int read_numbers(api_ctx *ctx)
{
    api_config *c = &ctx->config;
    const gint64 day = 86400000, year = 366 * day;
    const number_key numbers[] = {
        {"session_lifetime", &c->session_lifetime_ms, 1000, year, "ms"},
        {"refresh_lifetime", &c->refresh_lifetime_ms, 1000, 10 * year, "ms"},
        {"max_body", &c->max_body, 1024, G_GINT64_CONSTANT(1) << 30, "bytes"},
        {"max_header", &c->max_header, 1024, 1024 * 1024, "bytes"},
        {"max_ws_message", &c->max_ws_message, 128, 64 * 1024 * 1024, "bytes"},
        {"max_connections_per_address", &c->max_connections_per_address, 1, 1000000, ""},
        {"request_timeout", &c->request_timeout_ms, 100, day, "ms"},
        {"ws_queue_limit", &c->ws_queue_limit, 1024, G_GINT64_CONSTANT(1) << 32, "bytes"},
        {"ws_ping_interval", &c->ws_ping_interval_ms, 1000, day, "ms"},
        {"replay_window", &c->replay_window, 0, 10000000, "events"},
        {"login_attempts", &c->login_attempts, 1, 1000000, "per minute"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(numbers); i++) {
        int64_t v = 0;
        ctx->host->config_int(ctx->self, numbers[i].name, &v);
        if (v < numbers[i].least || v > numbers[i].most)
            return ctx->host->config_error(ctx->self, numbers[i].name,
                                           "must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                                           " %s",
                                           numbers[i].least, numbers[i].most, numbers[i].unit);
        *numbers[i].value = v;
    }
    if (c->refresh_lifetime_ms < c->session_lifetime_ms)
        return ctx->host->config_error(ctx->self, "refresh_lifetime",
                                       "must not be shorter than session_lifetime");
    return UCD_OK;
}

static const char *const empty_list[] = {NULL};

static const char *const *list_of(api_ctx *ctx, const char *key)
{
    const char *const *items = NULL;
    if (ctx->host->config_list(ctx->self, key, &items, NULL) != UCD_OK || items == NULL)
        return empty_list;
    return items;
}

static const char *string_of(api_ctx *ctx, const char *key)
{
    const char *value = NULL;
    if (ctx->host->config_string(ctx->self, key, &value) != UCD_OK || value == NULL ||
        value[0] == '\0')
        return NULL;
    return value;
}

int api_config_read(api_ctx *ctx)
{
    api_config *c = &ctx->config;
    c->https_listen = list_of(ctx, "https_listen");
    c->http_listen = list_of(ctx, "http_listen");
    c->allowed_origins = list_of(ctx, "allowed_origins");
    c->trusted_proxies = list_of(ctx, "trusted_proxies");
    c->certificate = string_of(ctx, "certificate");
    c->private_key = string_of(ctx, "private_key");
    c->client_ca = string_of(ctx, "client_ca");
    c->admin_group = string_of(ctx, "admin_group");

    int rc = check_listen(ctx, "https_listen", c->https_listen);
    if (rc == UCD_OK)
        rc = check_listen(ctx, "http_listen", c->http_listen);
    if (rc != UCD_OK)
        return rc;
    if (c->https_listen[0] == NULL && c->http_listen[0] == NULL)
        return ctx->host->config_error(ctx->self, "https_listen",
                                       "is empty and so is http_listen: nothing to listen on");
    if (c->https_listen[0] != NULL && c->certificate == NULL)
        return ctx->host->config_error(ctx->self, "certificate",
                                       "is needed for https_listen (%s): set certificate and "
                                       "private_key, or https_listen = (empty) for plain HTTP only",
                                       c->https_listen[0]);
    if (c->https_listen[0] != NULL && c->private_key == NULL)
        return ctx->host->config_error(ctx->self, "private_key",
                                       "is needed for https_listen (%s) with certificate %s",
                                       c->https_listen[0], c->certificate);
    if (c->client_ca != NULL && c->https_listen[0] == NULL)
        return ctx->host->config_error(ctx->self, "client_ca",
                                       "client certificates need HTTPS: https_listen is empty");
    for (gsize i = 0; c->allowed_origins[i]; i++) {
        const char *o = c->allowed_origins[i];
        if (strcmp(o, "*") != 0 && !g_str_has_prefix(o, "https://") &&
            !g_str_has_prefix(o, "http://"))
            return ctx->host->config_error(ctx->self, "allowed_origins",
                                           "\"%s\" is not an origin like https://crm.example.com",
                                           o);
    }
    for (gsize i = 0; c->trusted_proxies[i]; i++) {
        GInetAddress *a = g_inet_address_new_from_string(c->trusted_proxies[i]);
        if (a == NULL)
            return ctx->host->config_error(ctx->self, "trusted_proxies",
                                           "\"%s\" is not an IP address", c->trusted_proxies[i]);
        g_object_unref(a);
    }
    return read_numbers(ctx);
}
