/*
 * bad-noname - a descriptor without a name: "not a ucd plugin".
 */
#include <ucd/plugin.h>

UCD_PLUGIN_DEFINE(.version = "1.0.0", .license = "MIT", .description = "test fixture: no name");
