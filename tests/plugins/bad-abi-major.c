/*
 * bad-abi-major - claims ABI 2.0: refused, rebuild against this ucd's SDK.
 * The descriptor is written out by hand because UCD_PLUGIN_DEFINE always
 * stamps this SDK's own ABI.
 */
#include <ucd/plugin.h>

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = sizeof(ucd_plugin_descriptor),
        .abi_major = 2,
        .abi_minor = 0,
        .name = "bad-abi-major",
        .version = "1.0.0",
        .config_key_size = sizeof(ucd_config_key),
    };
    return &descriptor;
}
