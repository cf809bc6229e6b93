/*
 * old-descriptor.c - checks the descriptor of abi10-plugin.so, the plugin
 * built against the frozen 1.0 headers (argv[1]: its path).
 *
 * It proves that the frozen headers, not the current ones, went into that
 * build: the descriptor must announce ABI 1.0 and have the 1.0 sizes, even
 * after the current SDK moved on to 1.x. Whether the daemon accepts and runs
 * it is tested in tests/daemon.
 */
#include <dlfcn.h>
#include <string.h>

#include <glib.h>
#include <ucd/plugin.h>

static const char *old_plugin_path;

/* Sizes of the 1.0 structs on LP64, where they are known. */
#if defined(__LP64__) && __LP64__
#define ABI10_DESCRIPTOR_SIZE 112
#define ABI10_CONFIG_KEY_SIZE 32
#endif

static const ucd_plugin_descriptor *load_descriptor(void **handle)
{
    *handle = dlopen(old_plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (*handle == NULL)
        g_error("dlopen %s: %s", old_plugin_path, dlerror());
    ucd_plugin_entry_fn entry = NULL;
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
    *(void **)&entry = dlsym(*handle, UCD_PLUGIN_ENTRY_SYMBOL);
    g_assert_nonnull(entry);
    return entry();
}

static void test_old_descriptor_is_abi_1_0(void)
{
    void *handle;
    const ucd_plugin_descriptor *desc = load_descriptor(&handle);

    g_assert_nonnull(desc);
    g_assert_cmpuint(desc->abi_major, ==, 1);
    g_assert_cmpuint(desc->abi_minor, ==, 0);
    g_assert_cmpstr(desc->name, ==, "abi10-plugin");
#ifdef ABI10_DESCRIPTOR_SIZE
    g_assert_cmpuint(desc->struct_size, ==, ABI10_DESCRIPTOR_SIZE);
    g_assert_cmpuint(desc->config_key_size, ==, ABI10_CONFIG_KEY_SIZE);
#endif
    g_assert_nonnull(desc->init);
    g_assert_nonnull(desc->start);
    g_assert_nonnull(desc->fini);
    dlclose(handle);
}

/* The key table is walked with the plugin's own stride, as the loader does. */
static void test_old_descriptor_keys(void)
{
    void *handle;
    const ucd_plugin_descriptor *desc = load_descriptor(&handle);
    const char *keys = (const char *)desc->config_keys;
    const ucd_config_key *first = (const ucd_config_key *)keys;
    const ucd_config_key *second = (const ucd_config_key *)(keys + desc->config_key_size);

    g_assert_cmpstr(first->name, ==, "note");
    g_assert_cmpuint(first->type, ==, UCD_CONFIG_STRING);
    g_assert_cmpstr(first->default_value, ==, "frozen");
    g_assert_null(second->name);
    dlclose(handle);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2) {
        g_printerr("usage: %s PATH/abi10-plugin.so\n", argv[0]);
        return 2;
    }
    old_plugin_path = argv[1];
    g_test_add_func("/abi/old-descriptor/abi-1.0", test_old_descriptor_is_abi_1_0);
    g_test_add_func("/abi/old-descriptor/keys", test_old_descriptor_keys);
    return g_test_run();
}
