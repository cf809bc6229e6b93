/*
 * cycle-b - provides "test.cycle-b" and requires "test.cycle-a", while cycle-a does the
 * reverse: the loader must name the cycle and start neither.
 */
#include <ucd/plugin.h>

static const ucd_service_decl cycle_provides[] = {
    UCD_PROVIDE("test.cycle-b", 1, 0, 0),
    {NULL},
};

static const ucd_service_decl cycle_requires[] = {
    UCD_NEED("test.cycle-a", 1, 0),
    {NULL},
};

UCD_PLUGIN_DEFINE(.name = "cycle-b", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: one half of a dependency cycle",
                  .provides = cycle_provides, .requires = cycle_requires);
