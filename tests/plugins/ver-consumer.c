/*
 * ver-consumer - needs "test.svc" 1.VER_MINOR, in `requires` when built with
 * VER_REQUIRES, else in `uses`; ver-req-dir instead requires the core's
 * "directory" at 1.99, newer than any core. At start it looks for what it
 * asked for and keeps the answers in counters, which the tests read:
 *   svc_found      1 when service_get found test.svc 1, else 0
 *   svc_minor      the minor service_get reported (its .minor), or -1
 *   svc_providers  how many providers service_foreach offered
 *   core_found     1 when service_get found "test.core" 1, a service it does
 *                  not declare (so the core does not filter it)
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

#include "test-svc.h"

static const ucd_service_decl consumer_needs[] = {
#ifdef VER_NEEDS_DIRECTORY
    UCD_NEED("directory", 1, 99),
#else
    UCD_NEED(TEST_SVC_SERVICE, TEST_SVC_MAJOR, VER_MINOR),
#endif
    {NULL},
};

typedef struct consumer {
    ucd_plugin *self;
    const ucd_host *host;
} consumer;

static consumer the_consumer; /* one instance per test process is enough */

static int count_provider(const ucd_service *service, void *user_data)
{
    (*(int64_t *)user_data)++;
    return 0;
}

static void set_counter(consumer *c, const char *name, int64_t value)
{
    c->host->counter_set(c->host->counter_new(c->self, name, UCD_COUNTER_GAUGE, name), value);
}

static int consumer_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    the_consumer = (consumer){self, host};
    *state = &the_consumer;
    return UCD_OK;
}

static int consumer_start(void *state)
{
    consumer *c = state;
    ucd_service svc = {.struct_size = sizeof svc};
    int rc = c->host->service_get(c->self, TEST_SVC_SERVICE, TEST_SVC_MAJOR, NULL, &svc);
    set_counter(c, "svc_found", rc == UCD_OK);
    set_counter(c, "svc_minor", rc == UCD_OK ? (int64_t)svc.minor : -1);
    if (rc == UCD_OK && ((const test_svc_v1 *)svc.iface)->minor(svc.impl) != svc.minor)
        return UCD_FAIL; /* the registry's minor is not the provider's */
    int64_t providers = 0;
    c->host->service_foreach(c->self, TEST_SVC_SERVICE, TEST_SVC_MAJOR, count_provider, &providers);
    set_counter(c, "svc_providers", providers);
    ucd_service core = {.struct_size = sizeof core};
    set_counter(c, "core_found",
                c->host->service_get(c->self, "test.core", 1, NULL, &core) == UCD_OK);
    return UCD_OK;
}

UCD_PLUGIN_DEFINE(.name = VER_NAME, .version = "1.0.0", .license = "MIT",
                  .description = "needs test.svc at a fixed minor",
#ifdef VER_REQUIRES
                  .requires = consumer_needs,
#else
                  .uses = consumer_needs,
#endif
                  .init = consumer_init, .start = consumer_start);
