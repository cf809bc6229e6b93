/*
 * cycle-a - provides "test.cycle-a" and requires "test.cycle-b", while cycle-b does the
 * reverse: the loader must name the cycle and start neither.
 */
#include <ucd/plugin.h>

static const ucd_service_decl cycle_provides[] = {
    UCD_PROVIDE("test.cycle-a", 1, 0, 0),
    {NULL},
};

static const ucd_service_decl cycle_requires[] = {
    UCD_NEED("test.cycle-b", 1, 0),
    {NULL},
};

UCD_PLUGIN_DEFINE(.name = "cycle-a", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: one half of a dependency cycle",
                  .provides = cycle_provides, .requires = cycle_requires);
