/*
 * bad-init-fails - loads fine, but its init hook records a reason with
 * host->set_error() and returns UCD_FAIL, for end-to-end daemon tests.
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

static int fails_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    host->set_error(self, "the bad-init-fails fixture always fails to initialize");
    return UCD_FAIL;
}

UCD_PLUGIN_DEFINE(.name = "bad-init-fails", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: init fails", .init = fails_init);
