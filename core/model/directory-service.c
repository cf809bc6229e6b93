/*
 * directory-service.c - ucd_directory_v1 over the model's directory.
 *
 * The model keeps users, groups and lines in hash tables; the service hands
 * out read-only views of them, built on the stack for the callback's
 * duration, in the orders directory.h promises (users by login, groups by id,
 * lines by driver then address). Lines of a driver whose module stopped are
 * hidden: the model keeps them (the trace ring points at them) but they are
 * not there for anybody to call.
 */
#include <string.h>

#include "directory-service.h"
#include "directory.h"

static gboolean visible(core_model *m, const core_line *line)
{
    const core_driver *d = core_model_driver(m, line->driver, FALSE);
    return d && !d->gone;
}

/* ---- views ------------------------------------------------------------------ */

static int give_user(core_model *m, const core_user *u, ucd_directory_user_cb cb, void *ud)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < u->line_ptrs->len; i++) {
        const core_line *line = u->line_ptrs->pdata[i];
        if (visible(m, line))
            g_ptr_array_add(lines, g_strconcat(line->driver, "/", line->address, NULL));
    }
    g_ptr_array_add(lines, NULL);
    ucd_directory_user du = {
        .struct_size = sizeof du,
        .enabled = u->enabled,
        .active_here = core_model_user_here(m, u),
        .id = u->id,
        .login = u->login,
        .display_name = u->display_name,
        .given_name = u->given_name,
        .surname = u->surname,
        .email = u->email,
        .department = u->department,
        .title = u->title,
        .home_server = u->home_server,
        .backend = u->backend,
        .numbers = (const char *const *)u->numbers,
        .e164 = (const char *const *)u->e164,
        .groups = (const char *const *)u->groups,
        .lines = (const char *const *)lines->pdata,
    };
    int stop = cb(&du, ud);
    g_ptr_array_free(lines, TRUE);
    return stop;
}

static int give_group(const core_group *g, ucd_directory_group_cb cb, void *ud)
{
    ucd_directory_group dg = {
        .struct_size = sizeof dg,
        .id = g->id,
        .name = g->name,
        .description = g->description,
        .backend = g->backend,
        .leaders = (const char *const *)g->leaders,
    };
    return cb(&dg, ud);
}

static int give_line(const core_line *line, ucd_directory_line_cb cb, void *ud)
{
    ucd_directory_line dl = {
        .struct_size = sizeof dl,
        .state = line->state,
        .driver = line->driver,
        .address = line->address,
        .number = line->number,
        .name = line->name,
        .capabilities = line->capabilities,
        .dnd = line->dnd,
        .forward_to = line->forward_to,
        .user_id = line->user ? line->user->id : NULL,
    };
    return cb(&dl, ud);
}

/* ---- sorted listings ---------------------------------------------------------- */

static gint group_order(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const core_group *const *)a)->id, (*(const core_group *const *)b)->id);
}

static gboolean in_strv(char **v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return TRUE;
    return FALSE;
}

/* ---- lines by driver and address ------------------------------------------------- */

/* The visible line (driver, address); driver NULL: the one driver that has
 * it. UCD_E_INVALID when several do. */
static int find_line(core_model *m, const char *driver, const char *address, const core_line **out)
{
    *out = NULL;
    if (!address || !*address || (driver && !*driver))
        return UCD_E_INVALID;
    if (driver) {
        const core_line *line = core_model_line(m, driver, address);
        if (!line || !visible(m, line))
            return UCD_E_NOT_FOUND;
        *out = line;
        return UCD_OK;
    }
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->drivers);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const core_driver *d = v;
        const core_line *line = d->gone ? NULL : g_hash_table_lookup(d->lines, address);
        if (!line)
            continue;
        if (*out)
            return UCD_E_INVALID;
        *out = line;
    }
    return *out ? UCD_OK : UCD_E_NOT_FOUND;
}

/* ---- the service ------------------------------------------------------------------ */

static int get_user(void *impl, const char *id_or_login, ucd_directory_user_cb cb, void *ud)
{
    if (!id_or_login || !*id_or_login || !cb)
        return UCD_E_INVALID;
    const core_user *u = core_model_user(impl, id_or_login);
    if (!u)
        return UCD_E_NOT_FOUND;
    give_user(impl, u, cb, ud);
    return UCD_OK;
}

static int user_by_number(void *impl, const char *number, const char *context,
                          ucd_directory_user_cb cb, void *ud)
{
    if (!number || !*number || !cb)
        return UCD_E_INVALID;
    const core_user *u = core_directory_user_by_number(impl, number, context);
    if (!u)
        return UCD_E_NOT_FOUND;
    give_user(impl, u, cb, ud);
    return UCD_OK;
}

static int foreach_user(void *impl, uint32_t flags, ucd_directory_user_cb cb, void *ud)
{
    core_model *m = impl;
    if (!cb)
        return UCD_E_INVALID;
    const GPtrArray *users = core_directory_users_sorted(m);
    for (guint i = 0; i < users->len; i++) {
        const core_user *u = users->pdata[i];
        if ((flags & UCD_DIRECTORY_ACTIVE_HERE) && !core_model_user_here(m, u))
            continue;
        if (give_user(m, u, cb, ud))
            break;
    }
    return UCD_OK;
}

static int get_group(void *impl, const char *id, ucd_directory_group_cb cb, void *ud)
{
    if (!id || !*id || !cb)
        return UCD_E_INVALID;
    const core_group *g = core_model_group(impl, id);
    if (!g)
        return UCD_E_NOT_FOUND;
    give_group(g, cb, ud);
    return UCD_OK;
}

static int foreach_group(void *impl, ucd_directory_group_cb cb, void *ud)
{
    core_model *m = impl;
    if (!cb)
        return UCD_E_INVALID;
    GPtrArray *groups = core_directory_sorted_values(m->groups, group_order);
    for (guint i = 0; i < groups->len; i++)
        if (give_group(groups->pdata[i], cb, ud))
            break;
    g_ptr_array_free(groups, TRUE);
    return UCD_OK;
}

static int foreach_member(void *impl, const char *group_id, ucd_directory_user_cb cb, void *ud)
{
    core_model *m = impl;
    if (!group_id || !*group_id || !cb)
        return UCD_E_INVALID;
    /* Members of a group no backend describes still count: users list it. */
    gboolean any = core_model_group(m, group_id) != NULL, stopped = FALSE;
    const GPtrArray *users = core_directory_users_sorted(m);
    for (guint i = 0; i < users->len && !stopped; i++) {
        const core_user *u = users->pdata[i];
        if (!in_strv(u->groups, group_id))
            continue;
        any = TRUE;
        stopped = give_user(m, u, cb, ud) != 0;
    }
    return any ? UCD_OK : UCD_E_NOT_FOUND;
}

static int get_line(void *impl, const char *driver, const char *address, ucd_directory_line_cb cb,
                    void *ud)
{
    const core_line *line;
    int rc = cb ? find_line(impl, driver, address, &line) : UCD_E_INVALID;
    if (rc == UCD_OK)
        give_line(line, cb, ud);
    return rc;
}

static int foreach_line(void *impl, const char *driver, ucd_directory_line_cb cb, void *ud)
{
    core_model *m = impl;
    if (!cb || (driver && !*driver))
        return UCD_E_INVALID;
    GPtrArray *lines = g_ptr_array_new();
    GHashTableIter di, li;
    gpointer d, l;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        const core_driver *drv = d;
        if (drv->gone || (driver && strcmp(driver, drv->id) != 0))
            continue;
        g_hash_table_iter_init(&li, drv->lines);
        while (g_hash_table_iter_next(&li, NULL, &l))
            g_ptr_array_add(lines, l);
    }
    g_ptr_array_sort(lines, core_directory_line_order);
    for (guint i = 0; i < lines->len; i++)
        if (give_line(lines->pdata[i], cb, ud))
            break;
    gboolean none = driver && lines->len == 0;
    g_ptr_array_free(lines, TRUE);
    return none ? UCD_E_NOT_FOUND : UCD_OK;
}

static int line_user(void *impl, const char *driver, const char *address, ucd_directory_user_cb cb,
                     void *ud)
{
    const core_line *line;
    int rc = cb ? find_line(impl, driver, address, &line) : UCD_E_INVALID;
    if (rc != UCD_OK)
        return rc;
    if (!line->user)
        return UCD_E_NOT_FOUND;
    give_user(impl, line->user, cb, ud);
    return UCD_OK;
}

static const char *server_name(void *impl)
{
    return core_model_server_name(impl);
}

static const ucd_directory_v1 iface = {
    .struct_size = sizeof iface,
    .get_user = get_user,
    .user_by_number = user_by_number,
    .foreach_user = foreach_user,
    .get_group = get_group,
    .foreach_group = foreach_group,
    .foreach_member = foreach_member,
    .get_line = get_line,
    .foreach_line = foreach_line,
    .line_user = line_user,
    .server_name = server_name,
};

const ucd_directory_v1 *core_directory_service_iface(void)
{
    return &iface;
}
