/*
 * loader.c - opening plugin files and ordering module instances.
 *
 * Opening a plugin is a sequence of checks, each with its own message, so that
 * an administrator reading the log knows what is wrong with which file and what
 * to do about it. The checks run cheapest and most basic first: does the file
 * exist, is it an ELF shared object (read from its header, without running any
 * of its code), can the dynamic linker load it, does it export the entry
 * symbol, is its descriptor sane and built for an ABI this core supports, and
 * is it the plugin the configuration asked for.
 *
 * Libraries are kept in a table keyed by real path: two module instances of one
 * plugin ("[module pbx-sim:a]" and "[module pbx-sim:b]") share one handle and
 * one normalized descriptor, and the file is unloaded when the last one closes.
 *
 * The loader runs on the main loop thread only; its table is not locked.
 */
#include "loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The size of the ABI 1.0 descriptor: it ends with `fini`. A plugin whose
 * struct_size is smaller is not a ucd plugin at all. Freeze this value: when a
 * later minor version appends members, the minimum stays the 1.0 layout, so
 * keep measuring up to `fini` (not sizeof, not the new last member). */
#define DESCRIPTOR_SIZE_1_0                                                                        \
    (offsetof(ucd_plugin_descriptor, fini) + sizeof(((ucd_plugin_descriptor *)0)->fini))

/* The size of the ABI 1.0 ucd_config_key: it ends with `help`. Frozen like
 * DESCRIPTOR_SIZE_1_0. */
#define CONFIG_KEY_SIZE_1_0 (offsetof(ucd_config_key, help) + sizeof(((ucd_config_key *)0)->help))

/* The size of the ABI 1.0 ucd_service_decl: it ends with `flags`. A plugin
 * built before host 1.4 has no service_decl_size (reads 0) and this stride.
 * Frozen like DESCRIPTOR_SIZE_1_0. */
#define SERVICE_DECL_SIZE_1_0                                                                      \
    (offsetof(ucd_service_decl, flags) + sizeof(((ucd_service_decl *)0)->flags))

/* struct_size, abi_major and abi_minor: the part of the descriptor every ABI,
 * past and future, keeps in place, so the ABI can be read before anything else. */
#define DESCRIPTOR_HEADER_SIZE                                                                     \
    (offsetof(ucd_plugin_descriptor, abi_minor) + sizeof(((ucd_plugin_descriptor *)0)->abi_minor))

struct core_plugin_lib {
    char *path; /* real path, the key in open_libs */
    lt_dlhandle handle;
    unsigned users; /* core_loader_open calls not yet matched by a close */
    unsigned abi_major, abi_minor;
    ucd_plugin_descriptor desc; /* normalized copy, see normalize_descriptor() */
    ucd_config_key *keys;       /* normalized copies, NULL-name terminated, or NULL */
    size_t n_keys;
    /* Normalized copies of provides, requires and uses (NULL-name
     * terminated), or NULL where the plugin declared none. */
    ucd_service_decl *services[3];
};

static GHashTable *open_libs; /* real path -> core_plugin_lib */

/* An accepted plugin stays mapped until the process exits, even after its
 * last instance closed (GStreamer does the same). The libraries a plugin
 * links, TLS and LDAP among them, keep process-wide state and thread-local
 * destructors and are not written to be unloaded: unloading them can crash a
 * later thread, and loses their one-time allocations. A refused file is still
 * unloaded at once. The price: a replaced plugin file takes effect at the next
 * start of ucd, not at a reload. */
static void make_resident(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (handle != NULL)
        dlclose(handle); /* only drops this reference; NODELETE stays */
}
static unsigned init_count;

/* ---- Life cycle ------------------------------------------------------------ */

static void lib_free(gpointer data)
{
    core_plugin_lib *lib = data;

    if (lib->handle != NULL)
        lt_dlclose(lib->handle);
    g_free(lib->keys);
    for (size_t i = 0; i < G_N_ELEMENTS(lib->services); i++)
        g_free(lib->services[i]);
    g_free(lib->path);
    g_free(lib);
}

gboolean core_loader_init(void)
{
    if (lt_dlinit() != 0)
        return FALSE;
    if (init_count++ == 0)
        open_libs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, lib_free);
    return TRUE;
}

void core_loader_shutdown(void)
{
    g_return_if_fail(init_count > 0);

    /* Libraries still open here belong to modules that were never closed; the
     * process is ending, so they are closed rather than leaked. */
    if (--init_count == 0)
        g_clear_pointer(&open_libs, g_hash_table_destroy);
    lt_dlexit();
}

/* ---- Finding the file ------------------------------------------------------ */

/* A plugin name becomes part of a file name, so it must not reach out of the
 * plugin directories. */
static gboolean plugin_name_is_valid(const char *name)
{
    return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

static char *find_in_search_path(const char *name, const char *const *search_path, char **error)
{
    g_autofree char *file = g_strconcat(name, ".so", NULL);

    if (!plugin_name_is_valid(name)) {
        *error = g_strdup_printf("plugin '%s': not a valid plugin name (it must not contain "
                                 "'/' or start with '.')",
                                 name);
        return NULL;
    }
    if (search_path == NULL || search_path[0] == NULL) {
        *error = g_strdup_printf("%s: file not found (no plugin directories are configured)", file);
        return NULL;
    }
    for (size_t i = 0; search_path[i] != NULL; i++) {
        char *candidate = g_build_filename(search_path[i], file, NULL);
        if (g_file_test(candidate, G_FILE_TEST_EXISTS))
            return candidate;
        g_free(candidate);
    }
    g_autofree char *dirs = g_strjoinv(", ", (char **)search_path);
    *error = g_strdup_printf("%s: file not found (searched %s)", file, dirs);
    return NULL;
}

/* Resolves symbolic links and "..", so that one file reached by two paths is
 * still one library. */
static char *real_path_of(const char *path, char **error)
{
    char *real = realpath(path, NULL);

    if (real == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            *error = g_strdup_printf("%s: file not found", path);
        else
            *error = g_strdup_printf("%s: cannot be read: %s", path, g_strerror(errno));
        return NULL;
    }
    /* realpath() memory comes from malloc; the table frees with g_free. */
    char *copy = g_strdup(real);
    free(real);
    return copy;
}

/* ---- Is it a shared object? ------------------------------------------------ */

static gboolean elf_ident_matches_host(const unsigned char *ident)
{
    const unsigned char host_class = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
    const unsigned char host_data = G_BYTE_ORDER == G_LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;

    return ident[EI_CLASS] == host_class && ident[EI_DATA] == host_data;
}

static const char *elf_type_name(unsigned type)
{
    switch (type) {
    case ET_REL:
        return "an object file: link it with -shared";
    case ET_EXEC:
        return "an executable";
    case ET_CORE:
        return "a core dump";
    default:
        return "not of a known ELF type";
    }
}

/* Reads the ELF header ourselves: handing a text file or an executable to the
 * dynamic linker gives vaguer messages (and libltdl turns them into "file not
 * found"). */
static gboolean check_shared_object(const char *path, char **error)
{
    ElfW(Ehdr) header;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        *error = g_strdup_printf("%s: cannot be read: %s", path, g_strerror(errno));
        return FALSE;
    }
    ssize_t got = read(fd, &header, sizeof(header));
    int read_errno = errno;
    close(fd);

    if (got < 0) {
        *error = g_strdup_printf("%s: not a shared object (cannot be read: %s)", path,
                                 g_strerror(read_errno));
        return FALSE;
    }
    if ((size_t)got < SELFMAG || memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
        *error = g_strdup_printf("%s: not a shared object (not an ELF file)", path);
        return FALSE;
    }
    if ((size_t)got < sizeof(header)) {
        *error = g_strdup_printf("%s: not a shared object (its ELF header is truncated)", path);
        return FALSE;
    }
    if (!elf_ident_matches_host(header.e_ident)) {
        *error = g_strdup_printf("%s: not a shared object for this machine (it was built for "
                                 "another word size or byte order)",
                                 path);
        return FALSE;
    }
    if (header.e_type != ET_DYN) {
        *error = g_strdup_printf("%s: not a shared object (it is %s)", path,
                                 elf_type_name(header.e_type));
        return FALSE;
    }
    return TRUE;
}

/* ---- Loading it ------------------------------------------------------------ */

/* The dynamic linker's reason, reworded where a clearer message exists. */
static char *reword_dlerror(const char *path, const char *reason)
{
    const char *undefined = strstr(reason, "undefined symbol: ");
    if (undefined != NULL) {
        const char *symbol = undefined + strlen("undefined symbol: ");
        /* glibc appends ", version V" for versioned symbols: keep the name. */
        g_autofree char *name = g_strndup(symbol, strcspn(symbol, ","));
        return g_strdup_printf("%s: missing symbol: %s (the plugin needs a library or ucd "
                               "version that provides it)",
                               path, name);
    }
    /* "libfoo.so.1: cannot open shared object file: ..." about another file
     * than the plugin is a library the plugin needs. */
    const char *cannot_open = strstr(reason, ": cannot open shared object file");
    if (cannot_open != NULL && !g_str_has_prefix(reason, path)) {
        g_autofree char *library = g_strndup(reason, (gsize)(cannot_open - reason));
        return g_strdup_printf("%s: missing library: %s (install it, or make it findable by "
                               "the dynamic linker)",
                               path, library);
    }
    /* dlerror() usually starts with the path already; do not say it twice. */
    if (g_str_has_prefix(reason, path) && g_str_has_prefix(reason + strlen(path), ": "))
        reason += strlen(path) + 2;
    return g_strdup_printf("%s: cannot be loaded: %s", path, reason);
}

/* libltdl 2.4.7 reports any dlopen failure of an existing file as "file not
 * found". The file is known to exist and to be an ELF shared object here, so
 * ask the dynamic linker directly for the real reason. Loading with RTLD_NOW
 * fails before any constructor of the plugin runs, as the libltdl attempt did. */
static char *explain_open_failure(const char *path, const char *ltdl_message)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

    if (handle != NULL) {
        /* It loads now: whatever failed was libltdl's own. */
        dlclose(handle);
        return g_strdup_printf("%s: cannot be loaded: %s", path,
                               ltdl_message ? ltdl_message : "unknown libltdl error");
    }
    const char *reason = dlerror();
    return reword_dlerror(path, reason != NULL ? reason : "unknown dynamic linker error");
}

static lt_dlhandle open_handle(const char *path, char **error)
{
    lt_dladvise advise = NULL;
    lt_dlhandle handle = NULL;

    /* Local: one plugin's symbols must not resolve another's. No ext: the path
     * is exact, libltdl must not try other suffixes. */
    if (lt_dladvise_init(&advise) != 0 || lt_dladvise_local(&advise) != 0) {
        *error = g_strdup_printf("%s: cannot be loaded: %s", path, lt_dlerror());
        lt_dladvise_destroy(&advise);
        return NULL;
    }
    handle = lt_dlopenadvise(path, advise);
    if (handle == NULL) {
        const char *ltdl_message = lt_dlerror();
        *error = explain_open_failure(path, ltdl_message);
    }
    lt_dladvise_destroy(&advise);
    return handle;
}

static const ucd_plugin_descriptor *call_entry(lt_dlhandle handle, const char *path, char **error)
{
    void *symbol = lt_dlsym(handle, UCD_PLUGIN_ENTRY_SYMBOL);

    if (symbol == NULL) {
        *error = g_strdup_printf("%s: not a ucd plugin: it does not export %s (a plugin "
                                 "declares itself with UCD_PLUGIN_DEFINE)",
                                 path, UCD_PLUGIN_ENTRY_SYMBOL);
        return NULL;
    }
    ucd_plugin_entry_fn entry = (ucd_plugin_entry_fn)symbol;
    const ucd_plugin_descriptor *desc = entry();
    if (desc == NULL)
        *error = g_strdup_printf("%s: not a ucd plugin: %s returned no descriptor", path,
                                 UCD_PLUGIN_ENTRY_SYMBOL);
    return desc;
}

/* ---- Is it a usable ucd plugin? ------------------------------------------- */

/* The major is the layout of the descriptor and the host table: another one
 * cannot be read at all. The minor is the lowest host interface the plugin
 * calls (UCD_TARGET_HOST_MINOR when it was built): a plugin that only needs
 * an older host says so and loads here. */
static gboolean check_abi(const char *path, const ucd_plugin_descriptor *desc, char **error)
{
    if (desc->abi_major != UCD_ABI_MAJOR) {
        *error = g_strdup_printf("%s: built for ucd plugin ABI %u.%u, this ucd has ABI %u "
                                 "(host interface %u.%u): rebuild the plugin against this "
                                 "ucd's SDK",
                                 path, desc->abi_major, desc->abi_minor, UCD_ABI_MAJOR,
                                 UCD_ABI_MAJOR, UCD_HOST_MINOR);
        return FALSE;
    }
    if (desc->abi_minor > UCD_HOST_MINOR) {
        *error = g_strdup_printf(
            "%s: needs host interface %u.%u, this ucd has host interface %u.%u: it needs a "
            "newer ucd, or rebuild it against this ucd's SDK headers (or with "
            "UCD_TARGET_HOST_MINOR %u or lower, if it calls nothing newer)",
            path, desc->abi_major, desc->abi_minor, UCD_ABI_MAJOR, UCD_HOST_MINOR, UCD_HOST_MINOR);
        return FALSE;
    }
    return TRUE;
}

/* The stride of the plugin's provides/requires/uses arrays: its
 * service_decl_size, or the 1.0 size when its descriptor predates the member
 * or leaves it 0 (built before host 1.4). */
static size_t service_decl_stride(const ucd_plugin_descriptor *desc)
{
    size_t end = offsetof(ucd_plugin_descriptor, service_decl_size) + sizeof(uint32_t);
    if (desc->struct_size < end || desc->service_decl_size == 0)
        return SERVICE_DECL_SIZE_1_0;
    return desc->service_decl_size;
}

/* Like the key table: a wrong stride would read every declaration after the
 * first from the middle of another. */
static gboolean check_service_tables(const char *path, const ucd_plugin_descriptor *desc,
                                     char **error)
{
    size_t stride = service_decl_stride(desc);

    if (desc->provides == NULL && desc->requires == NULL && desc->uses == NULL)
        return TRUE;
    if (stride < SERVICE_DECL_SIZE_1_0 || stride % _Alignof(ucd_service_decl) != 0) {
        *error = g_strdup_printf("%s: not a ucd plugin: malformed service table "
                                 "(service_decl_size %zu, ABI 1.0 needs at least %zu)",
                                 path, stride, SERVICE_DECL_SIZE_1_0);
        return FALSE;
    }
    return TRUE;
}

static gboolean check_key_table(const char *path, const ucd_plugin_descriptor *desc, char **error)
{
    if (desc->config_keys == NULL)
        return TRUE;
    /* A stride that is too small or misaligned would make every key after the
     * first land in the middle of another. */
    if (desc->config_key_size < CONFIG_KEY_SIZE_1_0 ||
        desc->config_key_size % _Alignof(ucd_config_key) != 0) {
        *error = g_strdup_printf("%s: not a ucd plugin: malformed key table (config_key_size "
                                 "%u, ABI 1.0 needs at least %zu)",
                                 path, desc->config_key_size, CONFIG_KEY_SIZE_1_0);
        return FALSE;
    }
    return TRUE;
}

/* The ABI is checked before the size: a plugin for another major version may
 * have a different layout, and "rebuild it" is the more useful message. */
static gboolean check_descriptor(const char *path, const ucd_plugin_descriptor *desc, char **error)
{
    if (desc->struct_size < DESCRIPTOR_HEADER_SIZE) {
        *error = g_strdup_printf("%s: not a ucd plugin: its descriptor is malformed "
                                 "(struct_size %u)",
                                 path, desc->struct_size);
        return FALSE;
    }
    if (!check_abi(path, desc, error))
        return FALSE;
    if (desc->struct_size < DESCRIPTOR_SIZE_1_0) {
        *error = g_strdup_printf("%s: not a ucd plugin: its descriptor is too small "
                                 "(struct_size %u, ABI 1.0 needs at least %zu)",
                                 path, desc->struct_size, DESCRIPTOR_SIZE_1_0);
        return FALSE;
    }
    if (desc->name == NULL || desc->name[0] == '\0') {
        *error = g_strdup_printf("%s: not a ucd plugin: its descriptor has no name", path);
        return FALSE;
    }
    return check_key_table(path, desc, error) && check_service_tables(path, desc, error);
}

static gboolean check_name(const core_plugin_lib *lib, const char *name, char **error)
{
    if (strcmp(lib->desc.name, name) == 0)
        return TRUE;
    *error = g_strdup_printf("%s: name mismatch: the file is the plugin '%s', but the "
                             "configuration loads it as '%s' (fix the module name or its path)",
                             lib->path, lib->desc.name, name);
    return FALSE;
}

/* ---- Normalizing ----------------------------------------------------------- */

/* Copies a NULL-name terminated table into this core's layout: `raw` is
 * walked at the plugin's own `stride` (its struct may be older and smaller,
 * or newer and larger, than this core's `size`), each entry copied into a
 * zeroed one of `size`, so members an older plugin lacked read as 0 (a
 * pre-1.4 service declaration has minor 0). Both tables it serves start with
 * their name. Returns the copy, ending with a zeroed entry; *count entries. */
static void *normalize_table(const void *raw, size_t stride, size_t size, size_t *count)
{
    const char *table = raw;
    size_t copy = MIN(stride, size);
    GArray *out = g_array_new(TRUE, TRUE, (guint)size);
    g_autofree char *entry = g_malloc(size);

    for (;;) {
        memset(entry, 0, size);
        memcpy(entry, table + out->len * stride, copy);
        if (*(const char **)entry == NULL)
            break;
        g_array_append_vals(out, entry, 1);
    }
    *count = out->len;
    return g_array_free(out, FALSE);
}

_Static_assert(offsetof(ucd_config_key, name) == 0, "normalize_table reads the name first");
_Static_assert(offsetof(ucd_service_decl, name) == 0, "normalize_table reads the name first");

/* Copies what the plugin filled of the descriptor into a zeroed struct of this
 * core's size: members an older plugin lacked read as 0/NULL, and a newer
 * plugin's extra members are never read. */
static void normalize_descriptor(core_plugin_lib *lib, const ucd_plugin_descriptor *raw)
{
    memset(&lib->desc, 0, sizeof(lib->desc));
    memcpy(&lib->desc, raw, MIN((size_t)raw->struct_size, sizeof(lib->desc)));
    lib->desc.struct_size = sizeof(lib->desc);
    lib->abi_major = raw->abi_major;
    lib->abi_minor = raw->abi_minor;
    if (raw->config_keys != NULL) {
        lib->keys = normalize_table(raw->config_keys, raw->config_key_size, sizeof(ucd_config_key),
                                    &lib->n_keys);
        lib->desc.config_keys = lib->keys;
        lib->desc.config_key_size = sizeof(ucd_config_key);
    }
    const ucd_service_decl *raw_decls[] = {raw->provides, raw->requires, raw->uses};
    const ucd_service_decl **decls[] = {&lib->desc.provides, &lib->desc.requires, &lib->desc.uses};
    for (size_t i = 0; i < G_N_ELEMENTS(raw_decls); i++) {
        size_t n;
        if (raw_decls[i] != NULL)
            lib->services[i] = normalize_table(raw_decls[i], service_decl_stride(raw),
                                               sizeof(ucd_service_decl), &n);
        *decls[i] = lib->services[i];
    }
    lib->desc.service_decl_size = sizeof(ucd_service_decl);
}

/* ---- Opening --------------------------------------------------------------- */

/* Loads a library not yet in the table and checks its descriptor. */
static core_plugin_lib *load_library(const char *real_path, char **error)
{
    if (!check_shared_object(real_path, error))
        return NULL;

    lt_dlhandle handle = open_handle(real_path, error);
    if (handle == NULL)
        return NULL;

    const ucd_plugin_descriptor *raw = call_entry(handle, real_path, error);
    if (raw == NULL || !check_descriptor(real_path, raw, error)) {
        lt_dlclose(handle);
        return NULL;
    }
    core_plugin_lib *lib = g_new0(core_plugin_lib, 1);
    lib->path = g_strdup(real_path);
    lib->handle = handle;
    normalize_descriptor(lib, raw);
    return lib;
}

core_plugin_lib *core_loader_open(const char *name, const char *explicit_path,
                                  const char *const *search_path, char **error)
{
    g_return_val_if_fail(name != NULL, NULL);
    g_return_val_if_fail(error != NULL, NULL);
    g_return_val_if_fail(open_libs != NULL, NULL);

    *error = NULL;
    g_autofree char *found = explicit_path != NULL ? g_strdup(explicit_path)
                                                   : find_in_search_path(name, search_path, error);
    if (found == NULL)
        return NULL;
    g_autofree char *real_path = real_path_of(found, error);
    if (real_path == NULL)
        return NULL;

    core_plugin_lib *lib = g_hash_table_lookup(open_libs, real_path);
    if (lib == NULL) {
        lib = load_library(real_path, error);
        if (lib == NULL)
            return NULL;
        g_hash_table_insert(open_libs, lib->path, lib);
    }
    if (!check_name(lib, name, error)) {
        if (lib->users == 0)
            g_hash_table_remove(open_libs, lib->path);
        return NULL;
    }
    if (lib->users++ == 0)
        make_resident(lib->path);
    return lib;
}

void core_loader_close(core_plugin_lib *lib)
{
    g_return_if_fail(lib != NULL);
    g_return_if_fail(lib->users > 0);

    if (--lib->users == 0)
        g_hash_table_remove(open_libs, lib->path);
}

const char *core_plugin_lib_path(const core_plugin_lib *lib)
{
    return lib->path;
}

const ucd_plugin_descriptor *core_plugin_lib_descriptor(const core_plugin_lib *lib)
{
    return &lib->desc;
}

void core_plugin_lib_abi(const core_plugin_lib *lib, unsigned *major, unsigned *minor)
{
    if (major != NULL)
        *major = lib->abi_major;
    if (minor != NULL)
        *minor = lib->abi_minor;
}

const ucd_config_key *core_plugin_lib_key(const core_plugin_lib *lib, size_t i)
{
    return i < lib->n_keys ? &lib->keys[i] : NULL;
}

/* ---- Start order ----------------------------------------------------------- *
 *
 * The rules are applied until nothing changes, because each failure can fail
 * others: exclusive conflicts first (they do not depend on anything else),
 * then, repeatedly, unmet requirements and requirement cycles. What remains
 * is sorted by picking, each time, the earliest item in input order whose
 * providers have all been placed: the stable topological order. */

static gboolean item_failed(const core_order_item *item)
{
    return item->error != NULL;
}

static const ucd_service_decl *find_decl(const ucd_service_decl *decls, const char *name)
{
    for (; decls != NULL && decls->name != NULL; decls++)
        if (strcmp(decls->name, name) == 0)
            return decls;
    return NULL;
}

/* The declaration of `want`'s name with `want`'s major in `decls`, or NULL. */
static const ucd_service_decl *find_decl_major(const ucd_service_decl *decls,
                                               const ucd_service_decl *want)
{
    for (; decls != NULL && decls->name != NULL; decls++)
        if (decls->major == want->major && strcmp(decls->name, want->name) == 0)
            return decls;
    return NULL;
}

/* Whether `item` provides `want` with the same major. */
static gboolean item_provides(const core_order_item *item, const ucd_service_decl *want)
{
    return item->desc != NULL && find_decl_major(item->desc->provides, want) != NULL;
}

static core_order_item *item_at(GPtrArray *items, guint i)
{
    return g_ptr_array_index(items, i);
}

/* Items without a descriptor (their plugin did not load) cannot start; an
 * item whose error the caller already set counts as failed too. */
static void fail_items_without_descriptor(GPtrArray *items)
{
    for (guint i = 0; i < items->len; i++) {
        core_order_item *item = item_at(items, i);
        if (item->desc == NULL && item->error == NULL)
            item->error = g_strdup("its plugin is not loaded");
    }
}

/* The ids of the other live items that also provide `name`, or NULL. */
static char *other_providers_of(GPtrArray *items, guint self, const char *name)
{
    GString *others = NULL;

    for (guint j = 0; j < items->len; j++) {
        core_order_item *other = item_at(items, j);
        if (j == self || item_failed(other) || find_decl(other->desc->provides, name) == NULL)
            continue;
        if (others == NULL)
            others = g_string_new(NULL);
        else
            g_string_append(others, "', '");
        g_string_append(others, other->id);
    }
    return others != NULL ? g_string_free(others, FALSE) : NULL;
}

static gboolean service_is_exclusive(GPtrArray *items, const char *name)
{
    for (guint j = 0; j < items->len; j++) {
        core_order_item *item = item_at(items, j);
        if (item_failed(item))
            continue;
        const ucd_service_decl *decl = find_decl(item->desc->provides, name);
        if (decl != NULL && (decl->flags & UCD_SERVICE_EXCLUSIVE))
            return TRUE;
    }
    return FALSE;
}

/* Both (all) providers of an exclusive service fail. Messages are collected
 * first and assigned afterwards, so that failing the first provider does not
 * hide the conflict from the second. */
static void fail_exclusive_conflicts(GPtrArray *items)
{
    g_autoptr(GPtrArray) messages = g_ptr_array_new_full(items->len, NULL);

    for (guint i = 0; i < items->len; i++) {
        core_order_item *item = item_at(items, i);
        char *message = NULL;
        for (const ucd_service_decl *decl = item->desc ? item->desc->provides : NULL;
             !item_failed(item) && message == NULL && decl != NULL && decl->name != NULL; decl++) {
            if (!service_is_exclusive(items, decl->name))
                continue;
            g_autofree char *others = other_providers_of(items, i, decl->name);
            if (others != NULL)
                message = g_strdup_printf("provides the exclusive service '%s', which '%s' "
                                          "also provides: enable only one of them",
                                          decl->name, others);
        }
        g_ptr_array_add(messages, message);
    }
    for (guint i = 0; i < items->len; i++)
        if (g_ptr_array_index(messages, i) != NULL)
            item_at(items, i)->error = g_ptr_array_index(messages, i);
}

/* An item never satisfies its own requirement: a module that requires what it
 * provides wants another provider. */
static gboolean provides_for(GPtrArray *items, guint provider, guint user,
                             const ucd_service_decl *want)
{
    return provider != user && item_provides(item_at(items, provider), want);
}

/* The message for a requirement no live provider meets, or NULL when one does.
 * A live provider of the major whose minor is older than the one asked for
 * does not meet it, and is named with both versions: that module would call
 * functions the provider's table does not have. */
static char *unmet_requirement(GPtrArray *items, guint user, const ucd_service_decl *want)
{
    g_autoptr(GString) dead = g_string_new(NULL);
    g_autoptr(GString) older = g_string_new(NULL);
    guint n_dead = 0, n_older = 0;

    for (guint j = 0; j < items->len; j++) {
        if (!provides_for(items, j, user, want))
            continue;
        const core_order_item *provider = item_at(items, j);
        if (item_failed(provider)) {
            g_string_append_printf(dead, "%s'%s'", n_dead++ ? ", " : "", provider->id);
            continue;
        }
        const ucd_service_decl *decl = find_decl_major(provider->desc->provides, want);
        if (decl->minor >= want->minor)
            return NULL;
        g_string_append_printf(older, "%s%s provides %u.%u", n_older++ ? ", " : "", provider->id,
                               decl->major, decl->minor);
    }
    if (n_older > 0)
        return g_strdup_printf("requires service '%s' %u.%u, but %s", want->name, want->major,
                               want->minor, older->str);
    if (n_dead == 1)
        return g_strdup_printf("requires service '%s' whose only provider %s cannot start",
                               want->name, dead->str);
    if (n_dead > 1)
        return g_strdup_printf("requires service '%s' whose providers %s cannot start", want->name,
                               dead->str);
    return g_strdup_printf("requires service '%s' (major %u), which no enabled module provides",
                           want->name, want->major);
}

/* Fails items whose requirements nobody (alive) provides; TRUE if any failed. */
static gboolean fail_unmet_requirements(GPtrArray *items)
{
    gboolean changed = FALSE;

    for (guint i = 0; i < items->len; i++) {
        core_order_item *item = item_at(items, i);
        for (const ucd_service_decl *want = item->desc ? item->desc->requires : NULL;
             !item_failed(item) && want != NULL && want->name != NULL; want++) {
            item->error = unmet_requirement(items, i, want);
            changed |= item->error != NULL;
        }
    }
    return changed;
}

/* Whether `item` must start after `provider`: it requires (or, when
 * `with_uses`, uses) a service the live `provider` offers. */
static gboolean depends_on(GPtrArray *items, guint item, guint provider, gboolean with_uses)
{
    const core_order_item *user = item_at(items, item);

    if (item_failed(item_at(items, provider)))
        return FALSE;
    for (const ucd_service_decl *want = user->desc->requires; want && want->name; want++)
        if (provides_for(items, provider, item, want))
            return TRUE;
    for (const ucd_service_decl *want = with_uses ? user->desc->uses : NULL; want && want->name;
         want++)
        if (provides_for(items, provider, item, want))
            return TRUE;
    return FALSE;
}

/* The first live, unplaced item that `item` depends on, or -1. */
static gint first_unplaced_dependency(GPtrArray *items, const gboolean *placed, guint item,
                                      gboolean with_uses)
{
    for (guint j = 0; j < items->len; j++)
        if (!placed[j] && depends_on(items, item, j, with_uses))
            return (gint)j;
    return -1;
}

/* The earliest live unplaced item whose dependencies are placed, or -1. */
static gint next_ready(GPtrArray *items, const gboolean *placed, gboolean with_uses)
{
    for (guint i = 0; i < items->len; i++)
        if (!placed[i] && !item_failed(item_at(items, i)) &&
            first_unplaced_dependency(items, placed, i, with_uses) < 0)
            return (gint)i;
    return -1;
}

/* Fails the members of one requirement cycle among the live items, naming it
 * "a -> b -> a" from its earliest member; FALSE when there is none. */
static gboolean fail_one_cycle(GPtrArray *items)
{
    g_autofree gboolean *placed = g_new0(gboolean, items->len);
    gint i;

    /* Place whatever can be placed; what is left waits on a cycle. */
    while ((i = next_ready(items, placed, FALSE)) >= 0)
        placed[i] = TRUE;
    for (i = 0; i < (gint)items->len; i++)
        if (!placed[i] && !item_failed(item_at(items, i)))
            break;
    if (i == (gint)items->len)
        return FALSE;

    /* Every unplaced item waits on another unplaced one: follow them until one
     * repeats. The walk from the repeated item back to itself is the cycle. */
    g_autofree gint *step_of = g_new(gint, items->len);
    g_autoptr(GArray) walk = g_array_new(FALSE, FALSE, sizeof(gint));
    for (guint j = 0; j < items->len; j++)
        step_of[j] = -1;
    while (step_of[i] < 0) {
        step_of[i] = (gint)walk->len;
        g_array_append_val(walk, i);
        i = first_unplaced_dependency(items, placed, (guint)i, FALSE);
    }
    guint start = (guint)step_of[i], len = walk->len - start, first = 0;
    for (guint k = 1; k < len; k++)
        if (g_array_index(walk, gint, start + k) < g_array_index(walk, gint, start + first))
            first = k;

    g_autoptr(GString) cycle = g_string_new("dependency cycle: ");
    for (guint k = 0; k <= len; k++) {
        gint member = g_array_index(walk, gint, start + (first + k) % len);
        g_string_append_printf(cycle, "%s%s", k ? " -> " : "", item_at(items, member)->id);
    }
    g_string_append(cycle, " (each requires a service the next provides)");
    for (guint k = 0; k < len; k++)
        item_at(items, g_array_index(walk, gint, start + k))->error = g_strdup(cycle->str);
    return TRUE;
}

/* Live items in stable dependency order, then failed ones in input order.
 * Requirements never form a cycle here (fail_one_cycle removed them); uses
 * may, and when only uses hold items back, they are ignored for one step. */
static void sort_items(GPtrArray *items)
{
    g_autofree gboolean *placed = g_new0(gboolean, items->len);
    g_autofree gpointer *sorted = g_new(gpointer, items->len);
    guint n = 0;
    gint i;

    for (;;) {
        i = next_ready(items, placed, TRUE);
        if (i < 0)
            i = next_ready(items, placed, FALSE);
        if (i < 0)
            break;
        placed[i] = TRUE;
        sorted[n++] = item_at(items, (guint)i);
    }
    for (guint j = 0; j < items->len; j++)
        if (!placed[j])
            sorted[n++] = item_at(items, j);
    memcpy(items->pdata, sorted, items->len * sizeof(gpointer));
}

void core_loader_order(GPtrArray *items)
{
    g_return_if_fail(items != NULL);

    fail_items_without_descriptor(items);
    fail_exclusive_conflicts(items);
    do {
        while (fail_unmet_requirements(items))
            ;
    } while (fail_one_cycle(items));
    sort_items(items);
}
