/*
 * bad-noentry - a valid ELF shared object that exports a function, but not
 * ucd_plugin_entry: "not a ucd plugin".
 */
#include <ucd/plugin.h>

UCD_EXPORT int fixture_not_a_plugin(void);
UCD_EXPORT int fixture_not_a_plugin(void)
{
    return 7;
}
