/*
 * contacts-xml.c - the plugin: an XML file of contacts as a contact source
 * ("contact-source" 1.0, contacts.h), in the one shape xml-source.h
 * describes. Reads its section once at init; the file only when the store
 * asks (replicate()), so a file missing at start is a failed replication
 * that keeps the store's last good copy, not a module that fails.
 */
#include <glib.h>
#include <libxml/parser.h>
#include <ucd/ucd.h>

#include "contact-source-config.h"
#include "xml-source.h"

typedef struct xml_plugin {
    ucd_plugin *self;
    const ucd_host *host;
    ucd_contact_source_info info;
    xml_source_settings settings;
} xml_plugin;

static const ucd_service_decl xml_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL},
};

static const ucd_config_key xml_keys[] = {
    /* Not "path": the core's key for the plugin's own file in every section. */
    {"file", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "the XML file (<contacts><contact id=...>...), read at each replication"},
    {"crm_link", UCD_CONFIG_STRING, 0, NULL,
     "link for contacts without <crm_link>: {id}, {company} ... replaced by the contact's "
     "fields, percent-encoded"},
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static void xml_info(void *impl, ucd_contact_source_info *out)
{
    xml_plugin *p = impl;
    contact_source_info_copy(&p->info, out);
}

static int xml_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    xml_plugin *p = impl;
    return xml_source_replicate(&p->settings, sink, sink_impl, error);
}

static const ucd_contact_source_v1 xml_iface = {
    .struct_size = sizeof(ucd_contact_source_v1),
    .info = xml_info,
    .replicate = xml_replicate,
};

static int xml_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    xmlInitParser(); /* once, on the main loop, before any worker parses */
    xml_plugin *p = g_new0(xml_plugin, 1);
    p->self = self;
    p->host = host;
    int rc = UCD_FAIL;
    host->config_string(self, "file", &p->settings.path);
    host->config_string(self, "crm_link", &p->settings.crm_link);
    char *link_error = xml_source_check_link(p->settings.crm_link);
    if (p->settings.path == NULL || p->settings.path[0] == '\0')
        rc = host->config_error(self, "file", "must name the XML file");
    else if (link_error != NULL)
        rc = host->config_error(self, "crm_link", "%s", link_error);
    else if (contact_source_config_read(self, host, &p->info) == UCD_OK)
        rc = host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                                    &xml_iface, p);
    g_free(link_error);
    if (rc != UCD_OK) {
        g_free(p);
        return UCD_FAIL;
    }
    *state = p;
    return UCD_OK;
}

static void xml_fini(void *state)
{
    g_free(state);
}

UCD_PLUGIN_DEFINE(.name = "contacts-xml", .version = "1.0.0", .license = "MIT",
                  .description = "contacts from an XML file (<contacts><contact>...)",
                  .provides = xml_provides, .config_keys = xml_keys, .init = xml_init,
                  .fini = xml_fini);
