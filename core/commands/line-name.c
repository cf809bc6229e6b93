/*
 * line-name.c - resolving a line name through the directory (line-name.h).
 */
#include <string.h>

#include "control.h"
#include "line-name.h"

typedef struct {
    char *driver, *address;
    uint64_t capabilities;
} found_line;

static void found_line_free(gpointer p)
{
    found_line *l = p;
    g_free(l->driver);
    g_free(l->address);
    g_free(l);
}

static int add_found(const ucd_directory_line *line, void *ud)
{
    found_line *l = g_new0(found_line, 1);
    l->driver = g_strdup(line->driver);
    l->address = g_strdup(line->address);
    l->capabilities = line->capabilities;
    g_ptr_array_add(ud, l);
    return 0;
}

typedef struct {
    const char *address;
    GPtrArray *found;
} address_match;

static int add_if_address(const ucd_directory_line *line, void *ud)
{
    address_match *m = ud;
    if (strcmp(line->address, m->address) == 0)
        add_found(line, m->found);
    return 0;
}

gboolean line_name_resolve(const ucd_service *dir_s, const char *arg, char **driver, char **address,
                           uint64_t *capabilities, ucd_reply *r)
{
    const ucd_directory_v1 *dir = dir_s->iface;
    GPtrArray *found = g_ptr_array_new_with_free_func(found_line_free);
    /* Some '/' splits a driver from one of its lines. */
    for (const char *slash = strchr(arg, '/'); slash && !found->len;
         slash = strchr(slash + 1, '/')) {
        char *name = g_strndup(arg, (gsize)(slash - arg));
        dir->get_line(dir_s->impl, name, slash + 1, add_found, found);
        g_free(name);
    }
    if (!found->len) {
        address_match m = {arg, found};
        dir->foreach_line(dir_s->impl, NULL, add_if_address, &m);
    }
    gboolean ok = found->len == 1;
    if (ok) {
        const found_line *l = found->pdata[0];
        *driver = g_strdup(l->driver);
        *address = g_strdup(l->address);
        if (capabilities)
            *capabilities = l->capabilities;
    } else if (found->len == 0) {
        core_reply_error(r, "unknown line '%s' (see ucctl lines)", arg);
    } else {
        /* foreach_line hands them out by driver, then address */
        GString *names = g_string_new(NULL);
        for (guint i = 0; i < found->len; i++) {
            const found_line *l = found->pdata[i];
            g_string_append_printf(names, "%s%s/%s", i ? ", " : "", l->driver, l->address);
        }
        core_reply_error(r, "line '%s' is on several drivers: %s (name one as DRIVER/ADDRESS)", arg,
                         names->str);
        g_string_free(names, TRUE);
    }
    g_ptr_array_free(found, TRUE);
    return ok;
}
