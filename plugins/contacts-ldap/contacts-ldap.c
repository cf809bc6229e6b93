/*
 * contacts-ldap.c - the contacts-ldap plugin: contacts from an LDAP
 * directory or Active Directory, service "contact-source" major 1
 * (ucd/contacts.h).
 *
 * Each replicate() call connects on the store's worker thread (TLS
 * verified by default, fail-over over the URIs), binds as the service
 * account, runs one paged search (RFC 2696, so AD's 1,000-entry limit
 * does not cut the result) and hands each entry through the attribute
 * map to the store's sink as it arrives. Connecting, TLS, binding and the
 * paged search are users-ldap's (ldap-client.c, compiled in from there:
 * see README). Everything replicate() reads was fixed in init.
 */
#include <string.h>

#include <glib.h>
#include <ucd/contacts.h>
#include <ucd/ucd.h>

#include "cldap-map.h"
#include "contact-link.h"
#include "contact-source-config.h"
#include "ldap-client.h"

/* Entries between two cancellation checks. */
#define CLDAP_CANCEL_EVERY 64

typedef struct cldap_state {
    ucd_plugin *self;
    const ucd_host *host;
    ucd_contact_source_info info;
    ul_server_config server;
    char *base_dn;
    char *filter;
    int scope;
    cldap_map *map;
} cldap_state;

static const ucd_config_key cldap_keys[] = {
    {"uris", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL,
     "LDAP servers, tried in order: ldap://HOST[:PORT] or ldaps://HOST[:PORT]"},
    {"starttls", UCD_CONFIG_BOOL, 0, "false", "StartTLS on ldap:// URIs (required when true)"},
    {"tls_verify", UCD_CONFIG_BOOL, 0, "true",
     "verify the server certificate and host name; false is for tests only"},
    {"ca_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM file of the CA(s) that sign the server certificate"},
    {"ca_dir", UCD_CONFIG_STRING, 0, NULL, "directory of hashed CA certificates"},
    {"bind_dn", UCD_CONFIG_STRING, 0, NULL, "the service account's DN; unset: anonymous"},
    {"bind_password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "the service account's password"},
    {"bind_password_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "a file holding the password (its first line), instead of bind_password"},
    {"timeout", UCD_CONFIG_DURATION, 0, "30s", "network and operation timeout"},
    {"page_size", UCD_CONFIG_INT, 0, "500", "entries per page of the paged search (RFC 2696)"},
    {"base_dn", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "where contacts are searched"},
    {"scope", UCD_CONFIG_STRING, 0, "sub", "search scope below base_dn: base, one or sub"},
    {"filter", UCD_CONFIG_STRING, 0,
     "(|(objectClass=inetOrgPerson)(objectClass=contact)(&(objectCategory=person)(objectClass=user)"
     "))",
     "which entries are contacts"},
    {"max_value_length", UCD_CONFIG_INT, 0, "4096",
     "longest value accepted, in bytes; an entry with a longer one is skipped"},
    CLDAP_MAP_KEYS,
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl cldap_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL},
};

/* ---- the service ---------------------------------------------------------------- */

static void cldap_info(void *impl, ucd_contact_source_info *out)
{
    cldap_state *state = impl;
    contact_source_info_copy(&state->info, out);
}

/* One replication: the sink, and why it stopped early. */
typedef struct cldap_run {
    cldap_state *state;
    const ucd_contact_sink *sink;
    void *sink_impl;
    guint64 entries;
    int result; /* UCD_OK, or why on_entry stopped the search */
    char *error;
} cldap_run;

static gboolean cldap_on_entry(LDAP *ld, LDAPMessage *entry, void *data)
{
    cldap_run *run = data;
    run->entries++;
    if (run->entries % CLDAP_CANCEL_EVERY == 0 && run->sink->cancelled(run->sink_impl)) {
        run->result = UCD_E_BUSY;
        run->error = g_strdup_printf("cancelled at entry %" G_GUINT64_FORMAT, run->entries);
        return FALSE;
    }
    ucd_contact contact;
    const char *dn = NULL, *problem = NULL;
    if (!cldap_map_read(run->state->map, ld, entry, &contact, &dn, &problem)) {
        run->sink->skipped(run->sink_impl, dn, problem);
        return TRUE;
    }
    int result = run->sink->add(run->sink_impl, &contact);
    if (result != UCD_OK && result != UCD_E_INVALID) {
        run->result = result;
        run->error = g_strdup_printf("the store refused %s: %s", dn, ucd_strerror(result));
        return FALSE;
    }
    return TRUE;
}

static void cldap_on_page(guint64 read, guint64 estimate, void *data)
{
    cldap_run *run = data;
    run->sink->progress(run->sink_impl, read, estimate);
}

static int cldap_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    cldap_state *state = impl;
    cldap_run run = {state, sink, sink_impl, 0, UCD_OK, NULL};
    char *message = NULL;
    gboolean unavailable = FALSE;
    LDAP *ld = ul_ldap_connect(&state->server, &message, &unavailable, NULL);
    int result = UCD_OK;
    if (ld == NULL) {
        result = unavailable ? UCD_E_UNAVAILABLE : UCD_FAIL;
    } else if (!ul_ldap_search(ld, &state->server, state->base_dn, state->scope, state->filter,
                               cldap_map_attributes(state->map), TRUE, cldap_on_entry,
                               cldap_on_page, &run, NULL, &message)) {
        result = run.result != UCD_OK ? run.result : UCD_FAIL;
    } else {
        sink->progress(sink_impl, run.entries, run.entries);
    }
    ul_ldap_close(ld);
    if (result != UCD_OK) {
        /* on_entry's reason beats the search's "stopped" */
        const char *text = run.error != NULL ? run.error : message;
        *error = strdup(text != NULL ? text : "failed");
    }
    g_free(run.error);
    g_free(message);
    return result;
}

static const ucd_contact_source_v1 cldap_iface = {
    .struct_size = sizeof(ucd_contact_source_v1),
    .info = cldap_info,
    .replicate = cldap_replicate,
};

/* ---- configuration -------------------------------------------------------------- */

static char *cldap_string(cldap_state *state, const char *key)
{
    const char *value = NULL;
    if (state->host->config_string(state->self, key, &value) != UCD_OK || value == NULL ||
        *value == '\0')
        return NULL;
    return g_strdup(value);
}

static char **cldap_list(cldap_state *state, const char *key)
{
    const char *const *items = NULL;
    size_t count = 0;
    GPtrArray *out = g_ptr_array_new();
    if (state->host->config_list(state->self, key, &items, &count) == UCD_OK)
        for (size_t i = 0; i < count; i++)
            if (items[i] != NULL && *items[i] != '\0')
                g_ptr_array_add(out, g_strdup(items[i]));
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* The password from bind_password or the first line of bind_password_file. */
static int cldap_read_password(cldap_state *state)
{
    char *path = cldap_string(state, "bind_password_file");
    state->server.bind_password = cldap_string(state, "bind_password");
    if (path == NULL)
        return UCD_OK;
    int result = UCD_OK;
    char *contents = NULL;
    GError *error = NULL;
    if (state->server.bind_password != NULL) {
        result = state->host->config_error(state->self, "bind_password_file",
                                           "set bind_password or bind_password_file, not both");
    } else if (!g_file_get_contents(path, &contents, NULL, &error)) {
        result = state->host->config_error(state->self, "bind_password_file", "%s", error->message);
        g_error_free(error);
    } else {
        contents[strcspn(contents, "\r\n")] = '\0';
        state->server.bind_password = g_strdup(contents);
        memset(contents, 0, strlen(contents));
    }
    g_free(contents);
    g_free(path);
    return result;
}

static int cldap_read_server(cldap_state *state)
{
    const ucd_host *host = state->host;
    state->server.uris = cldap_list(state, "uris");
    if (state->server.uris[0] == NULL)
        return host->config_error(state->self, "uris", "must name at least one LDAP server");
    for (char **uri = state->server.uris; *uri != NULL; uri++)
        if (!ldap_is_ldap_url(*uri) && !ldap_is_ldaps_url(*uri))
            return host->config_error(state->self, "uris",
                                      "\"%s\" is not an ldap:// or ldaps:// URI", *uri);
    int starttls = 0, verify = 1;
    host->config_bool(state->self, "starttls", &starttls);
    host->config_bool(state->self, "tls_verify", &verify);
    state->server.starttls = starttls != 0;
    state->server.tls_verify = verify != 0;
    state->server.ca_file = cldap_string(state, "ca_file");
    state->server.ca_dir = cldap_string(state, "ca_dir");
    if (!state->server.tls_verify)
        ucd_warning(host, state->self,
                    "tls_verify = false: server certificates are NOT checked; anyone on the "
                    "path can read the service password. For tests only.");
    state->server.bind_dn = cldap_string(state, "bind_dn");
    int64_t timeout_ms = 0, page = 0;
    host->config_int(state->self, "timeout", &timeout_ms);
    host->config_int(state->self, "page_size", &page);
    if (timeout_ms < 1000)
        return host->config_error(state->self, "timeout", "must be at least 1s");
    if (page < 1 || page > 100000)
        return host->config_error(state->self, "page_size", "must be between 1 and 100000");
    state->server.timeout_s = (int)MIN(timeout_ms / 1000, 3600);
    state->server.page_size = (int)page;
    return cldap_read_password(state);
}

static int cldap_read_search(cldap_state *state)
{
    const ucd_host *host = state->host;
    state->base_dn = cldap_string(state, "base_dn");
    state->filter = cldap_string(state, "filter");
    char *scope = cldap_string(state, "scope");
    state->scope = g_strcmp0(scope, "base") == 0  ? LDAP_SCOPE_BASE
                   : g_strcmp0(scope, "one") == 0 ? LDAP_SCOPE_ONELEVEL
                   : g_strcmp0(scope, "sub") == 0 ? LDAP_SCOPE_SUBTREE
                                                  : -1;
    g_free(scope);
    if (state->base_dn == NULL)
        return host->config_error(state->self, "base_dn", "must name where contacts are");
    if (state->scope < 0)
        return host->config_error(state->self, "scope", "must be base, one or sub");
    if (state->filter == NULL)
        return host->config_error(state->self, "filter", "must not be empty");
    return UCD_OK;
}

static int cldap_read_map(cldap_state *state)
{
    const ucd_host *host = state->host;
    int64_t max_value = 0;
    host->config_int(state->self, "max_value_length", &max_value);
    if (max_value < 16 || max_value > 1024 * 1024)
        return host->config_error(state->self, "max_value_length", "must be 16..1048576");
    char *link = cldap_string(state, "crm_link");
    const char *why = NULL;
    contact_link *parsed = link != NULL ? contact_link_parse(link, &why) : NULL;
    contact_link_free(parsed);
    if (why != NULL) {
        g_free(link);
        return host->config_error(state->self, "crm_link", "%s", why);
    }
    char **text[CLDAP_F_TEXT_COUNT], **numbers[CLDAP_NUMBER_KINDS];
    for (int i = 0; i < CLDAP_F_TEXT_COUNT; i++)
        text[i] = cldap_list(state, cldap_map_text_keys[i]);
    for (int k = 0; k < CLDAP_NUMBER_KINDS; k++)
        numbers[k] = cldap_list(state, cldap_map_number_keys[k]);
    state->map = cldap_map_new(text, numbers, link, (gsize)max_value);
    for (int i = 0; i < CLDAP_F_TEXT_COUNT; i++)
        g_strfreev(text[i]);
    for (int k = 0; k < CLDAP_NUMBER_KINDS; k++)
        g_strfreev(numbers[k]);
    g_free(link);
    return UCD_OK;
}

/* ---- life cycle ----------------------------------------------------------------- */

static void cldap_state_free(cldap_state *state)
{
    g_strfreev(state->server.uris);
    g_free(state->server.ca_file);
    g_free(state->server.ca_dir);
    g_free(state->server.bind_dn);
    if (state->server.bind_password != NULL)
        memset(state->server.bind_password, 0, strlen(state->server.bind_password));
    g_free(state->server.bind_password);
    g_free(state->base_dn);
    g_free(state->filter);
    cldap_map_free(state->map);
    g_free(state);
}

static int cldap_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    cldap_state *state = g_new0(cldap_state, 1);
    state->self = self;
    state->host = host;
    int result = contact_source_config_read(self, host, &state->info);
    if (result == UCD_OK)
        result = cldap_read_server(state);
    if (result == UCD_OK)
        result = cldap_read_search(state);
    if (result == UCD_OK)
        result = cldap_read_map(state);
    if (result == UCD_OK) {
        result = host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                                        &cldap_iface, state);
        if (result != UCD_OK)
            host->set_error(self, "cannot register the contact-source service: %s",
                            ucd_strerror(result));
    }
    if (result != UCD_OK) {
        cldap_state_free(state);
        return UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

static void cldap_fini(void *data)
{
    cldap_state_free(data);
}

UCD_PLUGIN_DEFINE(.name = "contacts-ldap", .version = "1.0.0", .license = "MIT",
                  .description = "contacts from LDAP or Active Directory (paged search)",
                  .provides = cldap_provides, .config_keys = cldap_keys, .init = cldap_init,
                  .fini = cldap_fini);
