/*
 * bad-keysize - declares keys with a config_key_size smaller than the ABI 1.0
 * ucd_config_key: "not a ucd plugin: malformed key table".
 */
#include <ucd/plugin.h>

static const ucd_config_key keysize_keys[] = {
    {"alpha", UCD_CONFIG_STRING, 0, "a", "a key"},
    {NULL, 0, 0, NULL, NULL},
};

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = sizeof(ucd_plugin_descriptor),
        .abi_major = UCD_ABI_MAJOR,
        .abi_minor = UCD_HOST_MINOR,
        .name = "bad-keysize",
        .config_keys = keysize_keys,
        .config_key_size = sizeof(void *),
    };
    return &descriptor;
}
