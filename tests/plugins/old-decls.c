/*
 * old-decls - a descriptor laid out as a plugin built before host 1.4 has
 * it: no service_decl_size (its struct ends with `fini`, the 1.0 size) and
 * 16-byte service declarations without `minor`. The loader must walk its
 * provides and uses at that stride and read minor 0. Written out by hand
 * because the current headers can only produce the 1.4 layout.
 */
#include <stddef.h>
#include <ucd/plugin.h>

typedef struct decl_1_0 {
    const char *name;
    uint32_t major;
    uint32_t flags;
} decl_1_0;

static const decl_1_0 old_provides[] = {
    {"test.old", 1, UCD_SERVICE_EXCLUSIVE},
    {"test.older", 2, 0},
    {NULL, 0, 0},
};

static const decl_1_0 old_uses[] = {
    {"test.svc", 1, 0},
    {NULL, 0, 0},
};

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = offsetof(ucd_plugin_descriptor, fini) + sizeof(void (*)(void *)),
        .abi_major = 1,
        .abi_minor = 0,
        .name = "old-decls",
        .version = "1.0.0",
        .provides = (const ucd_service_decl *)old_provides,
        .uses = (const ucd_service_decl *)old_uses,
        .config_key_size = sizeof(ucd_config_key),
        /* What follows `fini` is past struct_size: a core must not read it. */
        .service_decl_size = 99,
    };
    return &descriptor;
}
