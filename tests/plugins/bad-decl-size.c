/*
 * bad-decl-size - a descriptor whose service_decl_size (12) is smaller than
 * the 1.0 ucd_service_decl: walking provides at that stride would read each
 * declaration after the first from the middle of another. Refused as a
 * malformed service table.
 */
#include <ucd/plugin.h>

static const ucd_service_decl bad_provides[] = {
    UCD_PROVIDE("test.bad", 1, 0, 0),
    {NULL},
};

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = sizeof(ucd_plugin_descriptor),
        .abi_major = UCD_ABI_MAJOR,
        .abi_minor = UCD_HOST_MINOR,
        .name = "bad-decl-size",
        .version = "1.0.0",
        .provides = bad_provides,
        .config_key_size = sizeof(ucd_config_key),
        .service_decl_size = 12,
    };
    return &descriptor;
}
