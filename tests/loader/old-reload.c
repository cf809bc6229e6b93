/*
 * old-reload - a descriptor laid out as a plugin built for host 1.4 has it:
 * its struct ends with `reserved`, before the 1.5 `reload` hook. What lies
 * past struct_size (here a hook that aborts) must never be read, let alone
 * called: the loader reads the hook as NULL.
 */
#include <stddef.h>
#include <stdlib.h>
#include <ucd/plugin.h>

static int must_not_run(void *state)
{
    abort();
}

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = offsetof(ucd_plugin_descriptor, reload),
        .abi_major = 1,
        .abi_minor = 4,
        .name = "old-reload",
        .version = "1.0.0",
        .config_key_size = sizeof(ucd_config_key),
        .service_decl_size = sizeof(ucd_service_decl),
        /* Past struct_size: a core must not read it. */
        .reload = must_not_run,
    };
    return &descriptor;
}
