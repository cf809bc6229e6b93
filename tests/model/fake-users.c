/*
 * fake-users.c - a fake users backend (fake-users.h).
 */
#include "fake-users.h"

static int users_foreach(void *impl, ucd_user_cb cb, void *ud)
{
    fake_users *b = impl;
    for (size_t i = 0; i < b->n_fixed; i++)
        cb(&b->fixed[i], ud);
    for (guint i = 0; i < b->extra->len; i++)
        cb(b->extra->pdata[i], ud);
    return UCD_OK;
}

static int groups_foreach(void *impl, ucd_group_cb cb, void *ud)
{
    fake_users *b = impl;
    cb(&b->group, ud);
    return UCD_OK;
}

const ucd_users_v1 fake_users_iface = {
    .struct_size = sizeof(ucd_users_v1),
    .foreach_user = users_foreach,
    .foreach_group = groups_foreach,
};

void fake_users_init(fake_users *b, const ucd_user *fixed, size_t n, const char *id,
                     const char *name, const char *description, const char *const *leaders)
{
    *b = (fake_users){.fixed = fixed,
                      .n_fixed = n,
                      .group = {sizeof(ucd_group), 0, id, name, description, leaders},
                      .extra = g_ptr_array_new_with_free_func(g_free),
                      .strings = g_ptr_array_new_with_free_func(g_free)};
}

void fake_users_clear(fake_users *b)
{
    g_ptr_array_free(b->extra, TRUE);
    g_ptr_array_free(b->strings, TRUE);
}

const char *fake_users_keep(fake_users *b, const char *s)
{
    char *copy = g_strdup(s);
    g_ptr_array_add(b->strings, copy);
    return copy;
}
