/*
 * excl-b - provides the exclusive service "test.excl", as excl-a does: enabling
 * both must fail both, each naming the other.
 */
#include <ucd/plugin.h>

static const ucd_service_decl excl_provides[] = {
    UCD_PROVIDE("test.excl", 1, 0, UCD_SERVICE_EXCLUSIVE),
    {NULL},
};

UCD_PLUGIN_DEFINE(.name = "excl-b", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: provides an exclusive service",
                  .provides = excl_provides);
