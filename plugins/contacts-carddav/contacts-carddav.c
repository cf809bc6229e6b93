/*
 * contacts-carddav.c - the plugin: CardDAV address books (RFC 6352) as a
 * contact source ("contact-source" 1.0, contacts.h). Reads its section
 * once at init; the server only when the store asks (replicate(), on the
 * store's worker thread), so a server that is down at start is a failed
 * replication that keeps the store's last good copy, not a module that
 * fails.
 */
#include <string.h>

#include <glib.h>
#include <libxml/parser.h>
#include <ucd/ucd.h>

#include "carddav-source.h"
#include "contact-source-config.h"

typedef struct carddav_plugin {
    ucd_plugin *self;
    const ucd_host *host;
    ucd_contact_source_info info;
    carddav_settings settings;
    char *password; /* owned: from password or password_file */
} carddav_plugin;

static const ucd_service_decl carddav_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL},
};

static const ucd_config_key carddav_keys[] = {
    {"url", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "an address book's URL, or a principal or address-book home URL: then every address book "
     "found there"},
    {"user", UCD_CONFIG_STRING, 0, NULL, "user for HTTP Basic authentication; unset: none"},
    {"password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "the user's password"},
    {"password_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "a file holding the password (its first line), instead of password"},
    {"ca_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM file of the CA(s) to trust for https://, instead of the system's"},
    {"timeout", UCD_CONFIG_DURATION, 0, "30s",
     "how long a request may stall (connecting, sending, waiting for each part of the answer)"},
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static void carddav_info(void *impl, ucd_contact_source_info *out)
{
    carddav_plugin *p = impl;
    contact_source_info_copy(&p->info, out);
}

static int carddav_replicate_cb(void *impl, const ucd_contact_sink *sink, void *sink_impl,
                                char **error)
{
    carddav_plugin *p = impl;
    return carddav_replicate(&p->settings, sink, sink_impl, error);
}

static const ucd_contact_source_v1 carddav_iface = {
    .struct_size = sizeof(ucd_contact_source_v1),
    .info = carddav_info,
    .replicate = carddav_replicate_cb,
};

/* The password from `password` or the first line of `password_file`. */
static int read_password(carddav_plugin *p)
{
    const char *password = NULL, *path = NULL;
    p->host->config_string(p->self, "password", &password);
    p->host->config_string(p->self, "password_file", &path);
    if (path == NULL || path[0] == '\0') {
        p->password = g_strdup(password);
        return UCD_OK;
    }
    if (password != NULL)
        return p->host->config_error(p->self, "password_file",
                                     "set password or password_file, not both");
    char *contents = NULL;
    GError *error = NULL;
    if (!g_file_get_contents(path, &contents, NULL, &error)) {
        int rc = p->host->config_error(p->self, "password_file", "%s", error->message);
        g_error_free(error);
        return rc;
    }
    contents[strcspn(contents, "\r\n")] = '\0';
    p->password = g_strdup(contents);
    memset(contents, 0, strlen(contents));
    g_free(contents);
    return UCD_OK;
}

static int read_settings(carddav_plugin *p)
{
    const ucd_host *host = p->host;
    carddav_settings *s = &p->settings;
    host->config_string(p->self, "url", &s->url);
    host->config_string(p->self, "user", &s->user);
    host->config_string(p->self, "ca_file", &s->ca_file);
    if (s->url == NULL ||
        (!g_str_has_prefix(s->url, "http://") && !g_str_has_prefix(s->url, "https://")))
        return host->config_error(p->self, "url", "must be an http:// or https:// URL");
    if (s->user != NULL && s->user[0] == '\0')
        s->user = NULL;
    int64_t timeout_ms = 0;
    host->config_int(p->self, "timeout", &timeout_ms);
    if (timeout_ms < 1000 || timeout_ms > 3600 * 1000)
        return host->config_error(p->self, "timeout", "must be between 1s and 1h");
    s->timeout = (unsigned)(timeout_ms / 1000);
    if (read_password(p) != UCD_OK)
        return UCD_FAIL;
    if (p->password != NULL && s->user == NULL)
        return host->config_error(p->self, "user", "a password is set but no user");
    if (g_str_has_prefix(s->url, "http://") && s->user != NULL)
        ucd_warning(host, p->self,
                    "url is http://: the password for %s goes over the network in clear text",
                    s->user);
    s->password = p->password;
    return contact_source_config_read(p->self, host, &p->info);
}

static void carddav_free(carddav_plugin *p)
{
    if (p->password != NULL)
        memset(p->password, 0, strlen(p->password));
    g_free(p->password);
    g_free(p);
}

static int carddav_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    xmlInitParser(); /* once, on the main loop, before any worker parses */
    carddav_plugin *p = g_new0(carddav_plugin, 1);
    p->self = self;
    p->host = host;
    if (read_settings(p) != UCD_OK ||
        host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                               &carddav_iface, p) != UCD_OK) {
        carddav_free(p);
        return UCD_FAIL;
    }
    *state = p;
    return UCD_OK;
}

static void carddav_fini(void *state)
{
    carddav_free(state);
}

UCD_PLUGIN_DEFINE(.name = "contacts-carddav", .version = "1.0.0", .license = "MIT",
                  .description = "contacts from CardDAV address books (RFC 6352)",
                  .provides = carddav_provides, .config_keys = carddav_keys, .init = carddav_init,
                  .fini = carddav_fini);
