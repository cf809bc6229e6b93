/*
 * contacts-fixture.c - a tiny contact source for the store's e2e test
 * (module "contacts-fixture:NAME"): its contacts are the lines of `file`,
 * "ID|NAME|COMPANY|RAW:KIND,RAW:KIND" (KIND as ucd_contact_number_kind; '#'
 * starts a comment). A line without four fields is skipped with its line
 * number; a file that cannot be read fails the replication, naming it. The
 * file is read anew at every replication, so the test changes what the
 * source says by rewriting it (or removing it).
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <ucd/ucd.h>

#include "contact-source-config.h"

typedef struct fixture_source {
    ucd_plugin *self;
    const ucd_host *host;
    char *file;
    int64_t delay_ms;
    ucd_contact_source_info info;
} fixture_source;

static const ucd_config_key fixture_keys[] = {
    {"file", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "the contacts, one per line"},
    {"delay", UCD_CONFIG_DURATION, 0, "0ms", "a pause after each line (a slow source)"},
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static void fixture_info(void *impl, ucd_contact_source_info *out)
{
    fixture_source *s = impl;
    contact_source_info_copy(&s->info, out);
}

static void push_line(const ucd_contact_sink *sink, void *sink_impl, const char *file, int line_no,
                      const char *line)
{
    char **f = g_strsplit(line, "|", 4);
    if (g_strv_length(f) != 4) {
        char *where = g_strdup_printf("%s line %d", file, line_no);
        char *what = g_strdup_printf("%u fields, expected 4", g_strv_length(f));
        sink->skipped(sink_impl, where, what);
        g_free(where);
        g_free(what);
        g_strfreev(f);
        return;
    }
    char **nums = g_strsplit(f[3], ",", 8);
    ucd_contact_number numbers[8];
    uint32_t n = 0;
    for (char **p = nums; *p != NULL && n < 8; p++) {
        char *colon = strrchr(*p, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        numbers[n++] = (ucd_contact_number){sizeof numbers[0], (uint32_t)atoi(colon + 1), *p};
    }
    ucd_contact c = {.struct_size = sizeof c,
                     .source_id = f[0],
                     .display_name = f[1],
                     .company = f[2][0] ? f[2] : NULL,
                     .n_numbers = n,
                     .numbers = numbers};
    sink->add(sink_impl, &c);
    g_strfreev(nums);
    g_strfreev(f);
}

static int fixture_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl,
                             char **error)
{
    fixture_source *s = impl;
    char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(s->file, &text, NULL, &err)) {
        *error = strdup(err->message);
        g_error_free(err);
        return UCD_E_UNAVAILABLE;
    }
    char **lines = g_strsplit(text, "\n", -1);
    guint total = g_strv_length(lines);
    int rc = UCD_OK;
    for (guint i = 0; lines[i] != NULL; i++) {
        if (sink->cancelled(sink_impl)) {
            *error = strdup("stopped halfway: the store is stopping");
            rc = UCD_E_BUSY;
            break;
        }
        g_strstrip(lines[i]);
        if (lines[i][0] != '\0' && lines[i][0] != '#')
            push_line(sink, sink_impl, s->file, (int)i + 1, lines[i]);
        sink->progress(sink_impl, i + 1, total);
        if (s->delay_ms > 0)
            g_usleep((gulong)s->delay_ms * 1000);
    }
    g_strfreev(lines);
    g_free(text);
    return rc;
}

static const ucd_contact_source_v1 fixture_iface = {
    .struct_size = sizeof fixture_iface,
    .info = fixture_info,
    .replicate = fixture_replicate,
};

static int fixture_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    fixture_source *s = g_new0(fixture_source, 1);
    const char *file = NULL;
    s->self = self;
    s->host = host;
    if (host->config_string(self, "file", &file) != UCD_OK ||
        host->config_int(self, "delay", &s->delay_ms) != UCD_OK ||
        contact_source_config_read(self, host, &s->info) != UCD_OK) {
        g_free(s);
        return UCD_FAIL;
    }
    s->file = g_strdup(file);
    *state = s;
    return host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                                  &fixture_iface, s);
}

static void fixture_fini(void *state)
{
    fixture_source *s = state;
    g_free(s->file);
    g_free(s);
}

static const ucd_service_decl fixture_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL, 0, 0, 0, 0},
};

UCD_PLUGIN_DEFINE(.name = "contacts-fixture", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: contacts from a file of lines",
                  .provides = fixture_provides, .config_keys = fixture_keys, .init = fixture_init,
                  .fini = fixture_fini);
