/*
 * bad-small - a descriptor whose struct_size is smaller than the ABI 1.0
 * descriptor, though its ABI numbers are right: "not a ucd plugin".
 */
#include <stddef.h>
#include <ucd/plugin.h>

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const ucd_plugin_descriptor descriptor = {
        .struct_size = offsetof(ucd_plugin_descriptor, version),
        .abi_major = UCD_ABI_MAJOR,
        .abi_minor = UCD_HOST_MINOR,
        .name = "bad-small",
    };
    return &descriptor;
}
