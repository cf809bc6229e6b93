/*
 * good-dep - a well-formed plugin that requires "test.alpha" major 1 (which
 * good-basic provides) and, once started, calls it and logs the answer.
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

#include "test-alpha.h"

static ucd_plugin *dep_self;
static const ucd_host *dep_host;

static int dep_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    dep_self = self;
    dep_host = host;
    host->log(self, UCD_LOG_INFO, "good-dep init");
    return UCD_OK;
}

static int dep_start(void *state)
{
    ucd_service alpha = {.struct_size = sizeof(alpha)};
    int rc = dep_host->service_get(dep_self, TEST_ALPHA_SERVICE, TEST_ALPHA_MAJOR, NULL, &alpha);
    if (rc != UCD_OK) {
        dep_host->set_error(dep_self, "test.alpha is not available: %s", ucd_strerror(rc));
        return rc;
    }
    const test_alpha_v1 *iface = alpha.iface;
    dep_host->log(dep_self, UCD_LOG_INFO, "good-dep start answer=%d from %s",
                  iface->answer(alpha.impl), alpha.provider);
    return UCD_OK;
}

static void dep_stop(void *state)
{
    dep_host->log(dep_self, UCD_LOG_INFO, "good-dep stop");
}

static const ucd_service_decl dep_requires[] = {
    UCD_NEED(TEST_ALPHA_SERVICE, TEST_ALPHA_MAJOR, 0),
    {NULL},
};

UCD_PLUGIN_DEFINE(.name = "good-dep", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: requires test.alpha", .requires = dep_requires,
                  .init = dep_init, .start = dep_start, .stop = dep_stop);
