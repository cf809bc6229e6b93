/*
 * ver-target-1 - built against the current headers, but targets host 1.1
 * (UCD_TARGET_HOST_MINOR defined before any ucd header, the opt-in of
 * plugin.h): its descriptor says abi_minor 1, so a 1.1 core would load it too.
 * It calls the 1.4 work queues only after UCD_HOST_HAS says the running core
 * has them, and reports that in the counter host_has_queues (1 or 0).
 */
#define UCD_TARGET_HOST_MINOR 1
#include <ucd/host.h>
#include <ucd/plugin.h>

static int target_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    int has = UCD_HOST_HAS(host, work_queue_free);
    ucd_counter *counter = host->counter_new(self, "host_has_queues", UCD_COUNTER_GAUGE,
                                             "1 when the core has work queues");
    host->counter_set(counter, has);
    if (has) {
        ucd_work_queue *queue = host->work_queue_new(self, "probe");
        host->work_queue_free(self, queue);
    }
    return UCD_OK;
}

UCD_PLUGIN_DEFINE(.name = "ver-target-1", .version = "1.0.0", .license = "MIT",
                  .description = "targets host 1.1 with current headers", .init = target_init);
