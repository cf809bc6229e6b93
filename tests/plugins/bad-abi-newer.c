/*
 * bad-abi-newer - claims this SDK's ABI major and a newer host minor: refused,
 * "it needs a newer ucd" (it could call host functions this core lacks).
 * The descriptor is written out by hand because UCD_PLUGIN_DEFINE always
 * stamps this SDK's own ABI.
 */
#include <ucd/plugin.h>

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = sizeof(ucd_plugin_descriptor),
        .abi_major = UCD_ABI_MAJOR,
        .abi_minor = UCD_HOST_MINOR + 1,
        .name = "bad-abi-newer",
        .version = "1.0.0",
        .config_key_size = sizeof(ucd_config_key),
    };
    return &descriptor;
}
