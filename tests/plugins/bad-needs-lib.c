/*
 * bad-needs-lib - needs libucd-fixture-gone.so.9, which is not installed
 * anywhere: the loader must name the missing library.
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

int fixture_gone_function(int value);

static int needs_lib_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    return fixture_gone_function(0) == 1 ? UCD_OK : UCD_FAIL;
}

UCD_PLUGIN_DEFINE(.name = "bad-needs-lib", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: needs a library that is not installed",
                  .init = needs_lib_init);
