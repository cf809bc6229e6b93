/*
 * bad-missing-symbol - calls a function that no library defines. It links
 * because shared modules may leave symbols undefined (no -z defs), but it is
 * linked with -z now like every plugin, so the dynamic linker refuses it at
 * open: "missing symbol: fixture_function_nobody_defines".
 */
#include <ucd/host.h>
#include <ucd/plugin.h>

extern int fixture_function_nobody_defines(int value);

static int missing_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    return fixture_function_nobody_defines(1) == 0 ? UCD_OK : UCD_FAIL;
}

UCD_PLUGIN_DEFINE(.name = "bad-missing-symbol", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: needs an undefined function", .init = missing_init);
