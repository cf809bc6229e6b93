/*
 * cycle-a - provides "test.cycle-a" and requires "test.cycle-b", while cycle-b does the
 * reverse: the loader must name the cycle and start neither.
 */
#include <ucd/plugin.h>

static const ucd_service_decl cycle_provides[] = {
    {"test.cycle-a", 1, 0},
    {NULL, 0, 0},
};

static const ucd_service_decl cycle_requires[] = {
    {"test.cycle-b", 1, 0},
    {NULL, 0, 0},
};

UCD_PLUGIN_DEFINE(.name = "cycle-a", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: one half of a dependency cycle",
                  .provides = cycle_provides, .requires = cycle_requires);
