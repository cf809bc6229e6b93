/*
 * test-loader-open.c - core_loader_open() against the fixture plugins: each
 * kind of broken file gets its own message naming the file, a good plugin
 * comes back with a normalized descriptor, and one file opened twice is one
 * library.
 */
#include <dlfcn.h>
#include <elf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

/* The fixture directory, with symlinks resolved, as the loader reports paths. */
static char *plugin_dir;

static char *fixture_path(const char *file)
{
    return g_build_filename(plugin_dir, file, NULL);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        g_error("expected \"%s\" in \"%s\"", needle, haystack);
}

/* Opens `path` as plugin `name`, expects a refusal naming the file, and
 * returns the message. */
static char *open_error(const char *name, const char *path)
{
    char *error = NULL;
    core_plugin_lib *lib = core_loader_open(name, path, NULL, &error);

    g_assert_null(lib);
    g_assert_nonnull(error);
    g_test_message("%s", error);
    assert_contains(error, path);
    return error;
}

/* Opens the fixture FILE.so as plugin FILE and expects a refusal. */
static char *fixture_error(const char *fixture)
{
    g_autofree char *file = g_strconcat(fixture, ".so", NULL);
    g_autofree char *path = fixture_path(file);
    return open_error(fixture, path);
}

static core_plugin_lib *open_fixture(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".so", NULL);
    g_autofree char *path = fixture_path(file);
    char *error = NULL;
    core_plugin_lib *lib = core_loader_open(name, path, NULL, &error);

    if (lib == NULL)
        g_error("%s", error);
    g_assert_null(error);
    return lib;
}

/* Whether the dynamic linker still has `path` loaded (without loading it). */
static gboolean is_loaded(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle != NULL)
        dlclose(handle);
    return handle != NULL;
}

static void test_good_basic(void)
{
    core_plugin_lib *lib = open_fixture("good-basic");
    g_autofree char *path = fixture_path("good-basic.so");
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);
    unsigned major = 99, minor = 99;

    g_assert_cmpstr(core_plugin_lib_path(lib), ==, path);
    core_plugin_lib_abi(lib, &major, &minor);
    g_assert_cmpuint(major, ==, UCD_ABI_MAJOR);
    g_assert_cmpuint(minor, ==, UCD_HOST_MINOR);

    g_assert_cmpuint(desc->struct_size, ==, sizeof(ucd_plugin_descriptor));
    g_assert_cmpstr(desc->name, ==, "good-basic");
    g_assert_cmpstr(desc->version, ==, "1.0.0");
    g_assert_nonnull(desc->init);
    g_assert_nonnull(desc->start);
    g_assert_nonnull(desc->stop);
    g_assert_nonnull(desc->fini);
    g_assert_nonnull(desc->provides);
    g_assert_cmpstr(desc->provides[0].name, ==, "test.alpha");
    g_assert_cmpuint(desc->provides[0].major, ==, 1);
    g_assert_null(desc->provides[1].name);
    g_assert_null(desc->requires);

    /* One key of each type, then a secret string, in declaration order. */
    static const struct {
        const char *name;
        uint32_t type;
    } expected[] = {
        {"greeting", UCD_CONFIG_STRING}, {"count", UCD_CONFIG_INT},
        {"verbose", UCD_CONFIG_BOOL},    {"ratio", UCD_CONFIG_DOUBLE},
        {"peers", UCD_CONFIG_LIST},      {"interval", UCD_CONFIG_DURATION},
        {"token", UCD_CONFIG_STRING},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
        const ucd_config_key *key = core_plugin_lib_key(lib, i);
        g_assert_nonnull(key);
        g_assert_cmpstr(key->name, ==, expected[i].name);
        g_assert_cmpuint(key->type, ==, expected[i].type);
        /* The normalized descriptor's own table holds the same keys. */
        g_assert_cmpstr(desc->config_keys[i].name, ==, expected[i].name);
    }
    g_assert_cmpuint(core_plugin_lib_key(lib, 6)->flags, ==, UCD_KEY_SECRET);
    g_assert_null(core_plugin_lib_key(lib, G_N_ELEMENTS(expected)));
    g_assert_null(desc->config_keys[G_N_ELEMENTS(expected)].name);

    core_loader_close(lib);
}

static void test_good_dep_requires(void)
{
    core_plugin_lib *lib = open_fixture("good-dep");
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);

    g_assert_nonnull(desc->requires);
    g_assert_cmpstr(desc->requires[0].name, ==, "test.alpha");
    g_assert_cmpuint(desc->requires[0].major, ==, 1);
    g_assert_null(desc->config_keys);
    g_assert_null(core_plugin_lib_key(lib, 0));
    core_loader_close(lib);
}

/* A descriptor and keys larger than this core's: only the known part is
 * copied, and the keys are found at the plugin's own stride. */
static void test_wide_descriptor_normalized(void)
{
    core_plugin_lib *lib = open_fixture("good-wide");
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);
    static const char *const names[] = {"first", "second", "third"};

    g_assert_cmpuint(desc->struct_size, ==, sizeof(ucd_plugin_descriptor));
    g_assert_cmpuint(desc->config_key_size, ==, sizeof(ucd_config_key));
    g_assert_cmpstr(desc->name, ==, "good-wide");
    g_assert_null(desc->init);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        g_assert_cmpstr(core_plugin_lib_key(lib, i)->name, ==, names[i]);
    g_assert_cmpuint(core_plugin_lib_key(lib, 1)->type, ==, UCD_CONFIG_INT);
    g_assert_cmpuint(core_plugin_lib_key(lib, 1)->flags, ==, UCD_KEY_REQUIRED);
    g_assert_cmpstr(core_plugin_lib_key(lib, 2)->default_value, ==, "true");
    g_assert_null(core_plugin_lib_key(lib, 3));
    /* The descriptor's own table is the normalized one, at this core's stride. */
    g_assert_cmpstr(desc->config_keys[1].name, ==, "second");
    g_assert_null(desc->config_keys[3].name);
    /* So are the declarations. */
    g_assert_cmpuint(desc->service_decl_size, ==, sizeof(ucd_service_decl));
    g_assert_cmpstr(desc->provides[0].name, ==, "test.wide");
    g_assert_cmpuint(desc->provides[0].minor, ==, 3);
    g_assert_cmpstr(desc->provides[1].name, ==, "test.wider");
    g_assert_cmpuint(desc->provides[1].major, ==, 2);
    g_assert_null(desc->provides[2].name);
    core_loader_close(lib);
}

static void test_found_by_name(void)
{
    const char *const search[] = {"/nonexistent/ucd-plugins", plugin_dir, NULL};
    g_autofree char *path = fixture_path("good-basic.so");
    char *error = NULL;
    core_plugin_lib *lib = core_loader_open("good-basic", NULL, search, &error);

    g_assert_null(error);
    g_assert_nonnull(lib);
    g_assert_cmpstr(core_plugin_lib_path(lib), ==, path);
    core_loader_close(lib);
}

static void test_not_found_by_name(void)
{
    const char *const search[] = {"/nonexistent/ucd-plugins", plugin_dir, NULL};
    g_autofree char *error = NULL;

    g_assert_null(core_loader_open("no-such-plugin", NULL, search, &error));
    g_assert_nonnull(error);
    g_test_message("%s", error);
    assert_contains(error, "no-such-plugin.so");
    assert_contains(error, "file not found");
    assert_contains(error, "/nonexistent/ucd-plugins");
    assert_contains(error, plugin_dir);
}

static void test_invalid_name_not_searched(void)
{
    const char *const search[] = {plugin_dir, NULL};
    g_autofree char *error = NULL;

    g_assert_null(core_loader_open("../plugins/good-basic", NULL, search, &error));
    assert_contains(error, "not a valid plugin name");
}

static void test_not_found_explicit(void)
{
    g_autofree char *path = fixture_path("missing-file.so");
    g_autofree char *error = open_error("missing-file", path);
    assert_contains(error, "file not found");
}

static void test_not_elf(void)
{
    g_autofree char *error = fixture_error("bad-notelf");
    assert_contains(error, "not a shared object");
    assert_contains(error, "not an ELF file");
}

/* Writes an ELF header of this machine's class with type `type`, `size`
 * bytes of it, into a temporary file, and returns the loader's message. */
static char *crafted_elf_error(unsigned type, size_t size)
{
    g_autoptr(GError) gerror = NULL;
    g_autofree char *dir = g_dir_make_tmp("ucd-loader-XXXXXX", &gerror);
    g_assert_no_error(gerror);
    g_autofree char *path = g_build_filename(dir, "crafted.so", NULL);
    ElfW(Ehdr) header = {0};

    memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
    header.e_ident[EI_DATA] = G_BYTE_ORDER == G_LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = type;
    g_assert_true(g_file_set_contents(path, (const char *)&header, (gssize)size, &gerror));
    g_assert_no_error(gerror);

    char *error = open_error("crafted", path);
    g_unlink(path);
    g_rmdir(dir);
    return error;
}

static void test_elf_but_not_shared_object(void)
{
    g_autofree char *executable = crafted_elf_error(ET_EXEC, sizeof(ElfW(Ehdr)));
    assert_contains(executable, "not a shared object");
    assert_contains(executable, "executable");

    g_autofree char *object = crafted_elf_error(ET_REL, sizeof(ElfW(Ehdr)));
    assert_contains(object, "not a shared object");
    assert_contains(object, "object file");

    g_autofree char *truncated = crafted_elf_error(ET_DYN, EI_NIDENT);
    assert_contains(truncated, "not a shared object");
    assert_contains(truncated, "truncated");
}

static void test_no_entry(void)
{
    g_autofree char *error = fixture_error("bad-noentry");
    assert_contains(error, "not a ucd plugin");
    assert_contains(error, "ucd_plugin_entry");
}

static void test_entry_returns_null(void)
{
    g_autofree char *error = fixture_error("bad-nulldesc");
    assert_contains(error, "not a ucd plugin");
    assert_contains(error, "no descriptor");
}

static void test_descriptor_too_small(void)
{
    g_autofree char *error = fixture_error("bad-small");
    assert_contains(error, "not a ucd plugin");
    assert_contains(error, "too small");
}

static void test_descriptor_without_name(void)
{
    g_autofree char *error = fixture_error("bad-noname");
    assert_contains(error, "not a ucd plugin");
    assert_contains(error, "no name");
}

static void test_key_stride_too_small(void)
{
    g_autofree char *error = fixture_error("bad-keysize");
    assert_contains(error, "not a ucd plugin: malformed key table");
}

/* A plugin for another major names both majors and the host interface. */
static void assert_names_abi(const char *error, unsigned major, unsigned minor)
{
    g_autofree char *plugin_abi = g_strdup_printf("built for ucd plugin ABI %u.%u", major, minor);
    g_autofree char *core_abi = g_strdup_printf("this ucd has ABI %u (host interface %u.%u)",
                                                UCD_ABI_MAJOR, UCD_ABI_MAJOR, UCD_HOST_MINOR);
    assert_contains(error, plugin_abi);
    assert_contains(error, core_abi);
}

/* A plugin needing a newer host names the host interface, both versions and
 * both ways out. */
static void test_abi_minor_newer(void)
{
    g_autofree char *error = fixture_error("bad-abi-newer");
    g_autofree char *both =
        g_strdup_printf("needs host interface %u.%u, this ucd has host interface %u.%u",
                        UCD_ABI_MAJOR, UCD_HOST_MINOR + 1, UCD_ABI_MAJOR, UCD_HOST_MINOR);
    assert_contains(error, both);
    assert_contains(error, "it needs a newer ucd");
    assert_contains(error, "rebuild it against this ucd's SDK headers");
    assert_contains(error, "UCD_TARGET_HOST_MINOR");
}

static void test_abi_major_newer(void)
{
    g_autofree char *error = fixture_error("bad-abi-major");
    assert_names_abi(error, 2, 0);
    assert_contains(error, "rebuild the plugin against this ucd's SDK");
}

static void test_abi_major_older(void)
{
    g_autofree char *error = fixture_error("bad-abi-old-major");
    assert_names_abi(error, 0, 9);
    assert_contains(error, "rebuild the plugin against this ucd's SDK");
}

/* Built with UCD_TARGET_HOST_MINOR 1 against the current headers: its
 * descriptor asks for host 1.1 and has the current strides. */
static void test_target_older_host(void)
{
    core_plugin_lib *lib = open_fixture("ver-target-1");
    unsigned major = 99, minor = 99;
    core_plugin_lib_abi(lib, &major, &minor);
    g_assert_cmpuint(major, ==, UCD_ABI_MAJOR);
    g_assert_cmpuint(minor, ==, 1);
    core_loader_close(lib);
}

static void test_service_stride_too_small(void)
{
    g_autofree char *error = fixture_error("bad-decl-size");
    assert_contains(error, "not a ucd plugin: malformed service table (service_decl_size 12, "
                           "ABI 1.0 needs at least 16)");
}

/* Declarations are copied at this core's stride with their minors. */
static void test_service_decls_normalized(void)
{
    core_plugin_lib *lib = open_fixture("ver-svc-2");
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);
    g_assert_cmpuint(desc->service_decl_size, ==, sizeof(ucd_service_decl));
    g_assert_cmpstr(desc->provides[0].name, ==, "test.svc");
    g_assert_cmpuint(desc->provides[0].major, ==, 1);
    g_assert_cmpuint(desc->provides[0].minor, ==, 2);
    g_assert_null(desc->provides[1].name);
    g_assert_null(desc->requires);
    g_assert_null(desc->uses);
    core_loader_close(lib);

    lib = open_fixture("ver-req-3");
    desc = core_plugin_lib_descriptor(lib);
    g_assert_cmpstr(desc->requires[0].name, ==, "test.svc");
    g_assert_cmpuint(desc->requires[0].minor, ==, 3);
    g_assert_null(desc->requires[1].name);
    core_loader_close(lib);
}

/* A plugin built before host 1.4: 16-byte declarations, walked at that
 * stride, each with minor 0; the descriptor's bytes past its struct_size
 * (where service_decl_size would be) are never read. */
static void test_old_service_decls(void)
{
    core_plugin_lib *lib = open_fixture("old-decls");
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);
    unsigned major = 99, minor = 99;
    core_plugin_lib_abi(lib, &major, &minor);
    g_assert_cmpuint(minor, ==, 0);
    g_assert_cmpstr(desc->provides[0].name, ==, "test.old");
    g_assert_cmpuint(desc->provides[0].major, ==, 1);
    g_assert_cmpuint(desc->provides[0].flags, ==, UCD_SERVICE_EXCLUSIVE);
    g_assert_cmpuint(desc->provides[0].minor, ==, 0);
    g_assert_cmpstr(desc->provides[1].name, ==, "test.older");
    g_assert_cmpuint(desc->provides[1].major, ==, 2);
    g_assert_cmpuint(desc->provides[1].flags, ==, 0);
    g_assert_cmpuint(desc->provides[1].minor, ==, 0);
    g_assert_null(desc->provides[2].name);
    g_assert_cmpstr(desc->uses[0].name, ==, "test.svc");
    g_assert_cmpuint(desc->uses[0].minor, ==, 0);
    g_assert_null(desc->uses[1].name);
    g_assert_null(desc->requires);
    core_loader_close(lib);
}

/* A plugin built for host 1.4 has no reload hook, whatever lies past its
 * descriptor; one built now has the one it set (good-basic: none). */
static void test_reload_hook_gated_by_size(void)
{
    char *error = NULL;
    core_plugin_lib *lib = core_loader_open("old-reload", OLD_RELOAD_PLUGIN, NULL, &error);
    g_assert_null(error);
    g_assert_nonnull(lib);
    const ucd_plugin_descriptor *desc = core_plugin_lib_descriptor(lib);
    g_assert_null(desc->reload);
    g_assert_cmpuint(desc->struct_size, ==, sizeof(ucd_plugin_descriptor));
    core_loader_close(lib);

    lib = open_fixture("good-basic");
    g_assert_null(core_plugin_lib_descriptor(lib)->reload);
    core_loader_close(lib);
}

/* libltdl alone would say "file not found" for a file that is there. */
static void test_missing_symbol(void)
{
    g_autofree char *error = fixture_error("bad-missing-symbol");
    assert_contains(error, "missing symbol: fixture_function_nobody_defines (the plugin needs a "
                           "library or ucd version that provides it)");
    g_assert_null(strstr(error, "not found"));
}

static void test_missing_library(void)
{
    g_autofree char *error = fixture_error("bad-needs-lib");
    assert_contains(error, "missing library: libucd-fixture-gone.so.9");
    g_assert_null(strstr(error, "not found"));
}

static void test_name_mismatch(void)
{
    /* A copy of its own: other tests here accept good-basic.so, and an accepted
     * plugin stays resident; this file must never have been accepted. */
    g_autofree char *fixture = fixture_path("good-basic.so");
    g_autoptr(GError) gerror = NULL;
    g_autofree char *dir = g_dir_make_tmp("ucd-loader-XXXXXX", &gerror);
    g_assert_no_error(gerror);
    g_autofree char *path = g_build_filename(dir, "good-basic.so", NULL);
    g_autofree char *bytes = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(fixture, &bytes, &len, NULL));
    g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));

    g_autofree char *error = open_error("pbx-other", path);
    assert_contains(error, "name mismatch");
    assert_contains(error, "'good-basic'");
    assert_contains(error, "'pbx-other'");
    /* A refused open leaves nothing loaded behind. */
    g_assert_false(is_loaded(path));
    g_unlink(path);
    g_rmdir(dir);
}

/* Two instances of one plugin, one of them through a symlink: one library,
 * kept loaded (resident) after the last instance closes. A mismatched open in
 * between does not count as a user. */
static void test_same_file_shares_handle(void)
{
    g_autofree char *path = fixture_path("good-basic.so");
    g_autoptr(GError) gerror = NULL;
    g_autofree char *dir = g_dir_make_tmp("ucd-loader-XXXXXX", &gerror);
    g_assert_no_error(gerror);
    g_autofree char *link = g_build_filename(dir, "good-basic.so", NULL);
    g_assert_cmpint(symlink(path, link), ==, 0);

    core_plugin_lib *first = open_fixture("good-basic");
    char *error = NULL;
    core_plugin_lib *second = core_loader_open("good-basic", link, NULL, &error);
    g_assert_null(error);
    g_assert_true(first == second);
    g_assert_true(core_plugin_lib_descriptor(first) == core_plugin_lib_descriptor(second));
    g_assert_cmpstr(core_plugin_lib_path(second), ==, path);

    g_free(open_error("pbx-other", path));

    core_loader_close(first);
    g_assert_true(is_loaded(path));
    g_assert_cmpstr(core_plugin_lib_descriptor(second)->name, ==, "good-basic");
    core_loader_close(second);
    /* accepted plugins are resident: see make_resident() in core/loader.c */
    g_assert_true(is_loaded(path));

    /* And it opens again afterwards. */
    core_loader_close(open_fixture("good-basic"));
    g_unlink(link);
    g_rmdir(dir);
}

/* Init and shutdown nest: an inner shutdown keeps the loader usable. */
static void test_init_nests(void)
{
    g_assert_true(core_loader_init());
    core_loader_shutdown();
    core_loader_close(open_fixture("good-dep"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    char *real = realpath(TEST_PLUGIN_DIR, NULL);
    g_assert_nonnull(real);
    plugin_dir = g_strdup(real);
    free(real);
    g_assert_true(core_loader_init());

    g_test_add_func("/loader/open/good-basic", test_good_basic);
    g_test_add_func("/loader/open/good-dep-requires", test_good_dep_requires);
    g_test_add_func("/loader/open/wide-descriptor-normalized", test_wide_descriptor_normalized);
    g_test_add_func("/loader/open/found-by-name", test_found_by_name);
    g_test_add_func("/loader/open/not-found-by-name", test_not_found_by_name);
    g_test_add_func("/loader/open/invalid-name", test_invalid_name_not_searched);
    g_test_add_func("/loader/open/not-found-explicit", test_not_found_explicit);
    g_test_add_func("/loader/open/not-elf", test_not_elf);
    g_test_add_func("/loader/open/elf-not-shared-object", test_elf_but_not_shared_object);
    g_test_add_func("/loader/open/no-entry", test_no_entry);
    g_test_add_func("/loader/open/entry-returns-null", test_entry_returns_null);
    g_test_add_func("/loader/open/descriptor-too-small", test_descriptor_too_small);
    g_test_add_func("/loader/open/descriptor-without-name", test_descriptor_without_name);
    g_test_add_func("/loader/open/key-stride-too-small", test_key_stride_too_small);
    g_test_add_func("/loader/open/abi-minor-newer", test_abi_minor_newer);
    g_test_add_func("/loader/open/abi-major-newer", test_abi_major_newer);
    g_test_add_func("/loader/open/abi-major-older", test_abi_major_older);
    g_test_add_func("/loader/open/target-older-host", test_target_older_host);
    g_test_add_func("/loader/open/service-stride-too-small", test_service_stride_too_small);
    g_test_add_func("/loader/open/service-decls-normalized", test_service_decls_normalized);
    g_test_add_func("/loader/open/old-service-decls", test_old_service_decls);
    g_test_add_func("/loader/open/missing-symbol", test_missing_symbol);
    g_test_add_func("/loader/open/missing-library", test_missing_library);
    g_test_add_func("/loader/open/name-mismatch", test_name_mismatch);
    g_test_add_func("/loader/open/same-file-shares-handle", test_same_file_shares_handle);
    g_test_add_func("/loader/open/init-nests", test_init_nests);
    g_test_add_func("/loader/open/reload-hook-gated-by-size", test_reload_hook_gated_by_size);

    int status = g_test_run();
    core_loader_shutdown();
    g_free(plugin_dir);
    return status;
}
