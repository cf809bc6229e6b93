/*
 * cycle-b - provides "test.cycle-b" and requires "test.cycle-a", while cycle-a does the
 * reverse: the loader must name the cycle and start neither.
 */
#include <ucd/plugin.h>

static const ucd_service_decl cycle_provides[] = {
    {"test.cycle-b", 1, 0},
    {NULL, 0, 0},
};

static const ucd_service_decl cycle_requires[] = {
    {"test.cycle-a", 1, 0},
    {NULL, 0, 0},
};

UCD_PLUGIN_DEFINE(.name = "cycle-b", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: one half of a dependency cycle",
                  .provides = cycle_provides, .requires = cycle_requires);
