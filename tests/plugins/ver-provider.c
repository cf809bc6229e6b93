/*
 * ver-provider - provides "test.svc" 1.VER_MINOR (ver-svc-2 is built with
 * VER_MINOR 2), declared with UCD_PROVIDE and registered at init, so that the
 * service registry and the loader's order see that minor.
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

#include "test-svc.h"

static uint32_t provider_minor(void *impl)
{
    return VER_MINOR;
}

static const test_svc_v1 provider_svc = {
    .struct_size = sizeof(test_svc_v1),
    .minor = provider_minor,
};

static const ucd_service_decl provider_provides[] = {
    UCD_PROVIDE(TEST_SVC_SERVICE, TEST_SVC_MAJOR, VER_MINOR, 0),
    {NULL},
};

static int provider_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    return host->service_register(self, TEST_SVC_SERVICE, TEST_SVC_MAJOR, &provider_svc, NULL);
}

UCD_PLUGIN_DEFINE(.name = VER_NAME, .version = "1.0.0", .license = "MIT",
                  .description = "provides test.svc at a fixed minor",
                  .provides = provider_provides, .init = provider_init);
