/*
 * exporter-stub.c - module exporter-stub: an "exporter" service
 * (ucd/exporter.h) whose exports never finish on their own. Each waits
 * until the module stops, which is after api-http (it uses the service),
 * and then fails. test-api-stop uses it to have GET /analytics/kpis still
 * waiting when api-http stops, without racing a real export.
 */
#include <stddef.h>

#include <ucd/exporter.h>
#include <ucd/ucd.h>

#define HELD_MAX 8

typedef struct held_export {
    ucd_export_done_cb done;
    void *user_data;
} held_export;

typedef struct stub {
    ucd_plugin *self;
    const ucd_host *host;
    held_export held[HELD_MAX];
    size_t count;
} stub;

static stub the_stub;

static const char *const *stub_formats(void *impl)
{
    (void)impl;
    static const char *const formats[] = {"json", NULL};
    return formats;
}

static int stub_export_now(void *impl, const ucd_export_request *request, ucd_export_done_cb done,
                           void *user_data)
{
    stub *s = impl;
    (void)request;
    if (s->count == HELD_MAX)
        return UCD_E_BUSY;
    s->held[s->count++] = (held_export){done, user_data};
    ucd_info(s->host, s->self, "export held (%zu waiting)", s->count);
    return UCD_OK;
}

static const ucd_exporter_v1 stub_iface = {
    .struct_size = sizeof stub_iface,
    .formats = stub_formats,
    .export_now = stub_export_now,
};

static const ucd_service_decl provides[] = {
    UCD_PROVIDE(UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, UCD_EXPORTER_MINOR, 0),
    {NULL},
};

static int stub_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    the_stub = (stub){.self = self, .host = host};
    *state = &the_stub;
    return host->service_register(self, UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, &stub_iface,
                                  &the_stub);
}

/* The exports end now: their callers hear that the exporter stopped. */
static void stub_stop(void *state)
{
    stub *s = state;
    for (size_t i = 0; i < s->count; i++)
        s->held[i].done(UCD_E_UNAVAILABLE, "the exporter stopped", s->held[i].user_data);
    ucd_info(s->host, s->self, "%zu held exports ended", s->count);
    s->count = 0;
}

UCD_PLUGIN_DEFINE(.name = "exporter-stub", .version = "1.0.0", .license = "MIT",
                  .description = "an exporter whose exports end when it stops (tests)",
                  .provides = provides, .init = stub_init, .stop = stub_stop);
