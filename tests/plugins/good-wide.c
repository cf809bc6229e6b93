/*
 * good-wide - a valid plugin whose descriptor, key and service declaration
 * structs are larger than this core's (as if members had been appended), so
 * the loader must copy only what it knows of the descriptor and walk the keys
 * and declarations with the plugin's own strides. The appended members hold values the test must
 * never see.
 */
#include <ucd/plugin.h>

typedef struct wide_key {
    ucd_config_key key;
    const char *appended;
} wide_key;

typedef struct wide_decl {
    ucd_service_decl decl;
    const char *appended;
} wide_decl;

static const wide_decl wide_provides[] = {
    {UCD_PROVIDE("test.wide", 1, 3, 0), "not-a-decl"},
    {UCD_PROVIDE("test.wider", 2, 0, 0), "not-a-decl"},
    {{NULL}, "not-a-decl"},
};

typedef struct wide_descriptor {
    ucd_plugin_descriptor descriptor;
    const char *appended[2];
} wide_descriptor;

static const wide_key wide_keys[] = {
    {{"first", UCD_CONFIG_STRING, 0, "one", "the first key"}, "not-a-key"},
    {{"second", UCD_CONFIG_INT, UCD_KEY_REQUIRED, NULL, "the second key"}, "not-a-key"},
    {{"third", UCD_CONFIG_BOOL, 0, "true", "the third key"}, "not-a-key"},
    {{NULL, 0, 0, NULL, NULL}, "not-a-key"},
};

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    static const wide_descriptor wide = {
        .descriptor =
            {
                .struct_size = sizeof(wide_descriptor),
                .abi_major = UCD_ABI_MAJOR,
                .abi_minor = UCD_HOST_MINOR,
                .name = "good-wide",
                .version = "1.0.0",
                .config_keys = &wide_keys[0].key,
                .config_key_size = sizeof(wide_key),
                .provides = &wide_provides[0].decl,
                .service_decl_size = sizeof(wide_decl),
            },
        .appended = {"beyond", "the end"},
    };
    return &wide.descriptor;
}
