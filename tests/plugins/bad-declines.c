/*
 * bad-declines - loads fine, but its init hook returns UCD_DECLINE ("not for
 * me with this configuration"), for end-to-end daemon tests.
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

static int declines_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    return UCD_DECLINE;
}

UCD_PLUGIN_DEFINE(.name = "bad-declines", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: init declines", .init = declines_init);
