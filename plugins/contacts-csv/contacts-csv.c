/*
 * contacts-csv.c - the plugin: a CSV file as a contact source
 * ("contact-source" 1.0, contacts.h). Reads its section once at init,
 * checks what can be checked without the file (delimiter, quote, encoding,
 * the crm_link template), and on each replicate() from the store reads the
 * file from its first line to its last (csv-source.h). The file is read
 * only when the store asks, never at init, so a file missing at start is a
 * failed replication (the store keeps its copy), not a module that fails.
 */
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "contact-source-config.h"
#include "csv-source.h"
#include "csv-text.h"

typedef struct csv_plugin {
    ucd_plugin *self;
    const ucd_host *host;
    ucd_contact_source_info info;
    csv_source_settings settings;
} csv_plugin;

static const ucd_service_decl csv_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL},
};

static const ucd_config_key csv_keys[] = {
    /* Not "path": the core's key for the plugin's own file in every section. */
    {"file", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "the CSV file, read at each replication"},
    {"delimiter", UCD_CONFIG_STRING, 0, ",", "one character between fields: , ; | or tab"},
    {"quote", UCD_CONFIG_STRING, 0, "\"", "the quote character; empty: fields are never quoted"},
    {"encoding", UCD_CONFIG_STRING, 0, "UTF-8",
     "the file's encoding: UTF-8, WINDOWS-1252, ISO-8859-1, ISO-8859-15 (anything iconv knows "
     "that keeps ASCII as ASCII)"},
    {"map_source_id", UCD_CONFIG_STRING, 0, NULL,
     "column with a stable key of each row; unset: the row number"},
    {"map_display_name", UCD_CONFIG_STRING, 0, NULL,
     "column with the name shown; unset or empty: given name and surname, else company"},
    {"map_given_name", UCD_CONFIG_STRING, 0, NULL, "column with the given name"},
    {"map_surname", UCD_CONFIG_STRING, 0, NULL, "column with the surname"},
    {"map_company", UCD_CONFIG_STRING, 0, NULL, "column with the company"},
    {"map_department", UCD_CONFIG_STRING, 0, NULL, "column with the department"},
    {"map_email", UCD_CONFIG_STRING, 0, NULL, "column with the e-mail address"},
    {"map_address", UCD_CONFIG_LIST, 0, NULL,
     "columns of the address, joined with \", \" (Street;ZIP;City)"},
    {"map_business", UCD_CONFIG_LIST, 0, NULL, "columns with business numbers"},
    {"map_mobile", UCD_CONFIG_LIST, 0, NULL, "columns with mobile numbers"},
    {"map_home", UCD_CONFIG_LIST, 0, NULL, "columns with home numbers"},
    {"map_fax", UCD_CONFIG_LIST, 0, NULL, "columns with fax numbers"},
    {"map_other", UCD_CONFIG_LIST, 0, NULL, "columns with other numbers"},
    {"crm_link", UCD_CONFIG_STRING, 0, NULL,
     "link to the contact in a CRM: {Column} is replaced by the row's value, percent-encoded"},
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static void csv_info(void *impl, ucd_contact_source_info *out)
{
    csv_plugin *p = impl;
    contact_source_info_copy(&p->info, out);
}

static int csv_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    csv_plugin *p = impl;
    return csv_source_replicate(&p->settings, sink, sink_impl, error);
}

static const ucd_contact_source_v1 csv_iface = {
    .struct_size = sizeof(ucd_contact_source_v1),
    .info = csv_info,
    .replicate = csv_replicate,
};

static const char *config_string(csv_plugin *p, const char *key)
{
    const char *value = NULL;
    if (p->host->config_string(p->self, key, &value) != UCD_OK)
        return NULL;
    return value;
}

static const char *const *config_list(csv_plugin *p, const char *key)
{
    const char *const *items = NULL;
    if (p->host->config_list(p->self, key, &items, NULL) != UCD_OK)
        return NULL;
    return items;
}

/* One ASCII character that cannot be a line end; "tab" (or a tab, which
 * the configuration file writes as \t) for a tab. -1 when not. */
static int one_character(const char *value)
{
    if (value == NULL)
        return -1;
    if (strcmp(value, "tab") == 0 || strcmp(value, "\\t") == 0)
        return '\t';
    if (strlen(value) != 1 || (unsigned char)value[0] >= 0x80 || value[0] == '\n' ||
        value[0] == '\r')
        return -1;
    return (unsigned char)value[0];
}

static int read_format(csv_plugin *p)
{
    const ucd_host *host = p->host;
    int delimiter = one_character(config_string(p, "delimiter"));
    if (delimiter < 0)
        return host->config_error(p->self, "delimiter",
                                  "must be one ASCII character (, ; |) or \"tab\"");
    const char *quote_text = config_string(p, "quote");
    int quote = quote_text == NULL || quote_text[0] == '\0' || strcmp(quote_text, "none") == 0
                    ? 0
                    : one_character(quote_text);
    if (quote < 0)
        return host->config_error(p->self, "quote",
                                  "must be one ASCII character, or empty for no quoting");
    if (quote == delimiter)
        return host->config_error(p->self, "quote", "must differ from the delimiter");
    p->settings.delimiter = (char)delimiter;
    p->settings.quote = (char)quote;

    p->settings.encoding = config_string(p, "encoding");
    char *error = NULL;
    csv_text *text = csv_text_new(p->settings.encoding, &error);
    if (text == NULL) {
        int rc = host->config_error(p->self, "encoding", "%s", error);
        g_free(error);
        return rc;
    }
    csv_text_free(text);
    return UCD_OK;
}

static int read_map(csv_plugin *p)
{
    csv_map_spec *spec = &p->settings.spec;
    for (int f = 0; f < CSV_FIELD_COUNT; f++)
        spec->columns[f] = config_string(p, csv_field_keys[f]);
    spec->address = config_list(p, "map_address");
    for (int k = 0; k < CSV_NUMBER_KINDS; k++)
        spec->numbers[k] = config_list(p, csv_number_keys[k]);
    spec->crm_link = config_string(p, "crm_link");
    const char *key = NULL;
    char *error = csv_map_spec_check(spec, &key);
    if (error != NULL) {
        int rc = p->host->config_error(p->self, key, "%s", error);
        g_free(error);
        return rc;
    }
    return UCD_OK;
}

static int csv_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    csv_plugin *p = g_new0(csv_plugin, 1);
    p->self = self;
    p->host = host;
    p->settings.path = config_string(p, "file");
    int rc = UCD_FAIL;
    if (p->settings.path == NULL || p->settings.path[0] == '\0')
        rc = host->config_error(self, "file", "must name the CSV file");
    else if (contact_source_config_read(self, host, &p->info) == UCD_OK &&
             read_format(p) == UCD_OK && read_map(p) == UCD_OK)
        rc = host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                                    &csv_iface, p);
    if (rc != UCD_OK) {
        g_free(p);
        return UCD_FAIL;
    }
    *state = p;
    return UCD_OK;
}

static void csv_fini(void *state)
{
    g_free(state);
}

UCD_PLUGIN_DEFINE(.name = "contacts-csv", .version = "1.0.0", .license = "MIT",
                  .description = "contacts from a CSV file (a nightly CRM export)",
                  .provides = csv_provides, .config_keys = csv_keys, .init = csv_init,
                  .fini = csv_fini);
