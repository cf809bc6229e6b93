/*
 * dir-user.c - users of the directory service copied out of its callbacks,
 * sorted and paged as the listings show them.
 *
 * Users are listed by login (the id for a user without one); the login is the
 * page cursor. Two users with one login are ordered by id. The copy is what
 * lets a listing sort and page without holding the directory's records past
 * its callback (directory.h).
 */
#include <string.h>

#include "control.h"
#include "model-commands-internal.h"

dir_user *dir_user_copy(const ucd_directory_user *u)
{
    dir_user *c = g_new0(dir_user, 1);
    c->id = g_strdup(u->id);
    c->login = g_strdup(u->login);
    c->display_name = g_strdup(u->display_name);
    c->given_name = g_strdup(u->given_name);
    c->surname = g_strdup(u->surname);
    c->email = g_strdup(u->email);
    c->department = g_strdup(u->department);
    c->title = g_strdup(u->title);
    c->home_server = g_strdup(u->home_server);
    c->backend = g_strdup(u->backend);
    c->enabled = u->enabled != 0;
    c->active_here = u->active_here != 0;
    static const char *const none[] = {NULL};
    c->numbers = g_strdupv((char **)(u->numbers ? u->numbers : none));
    c->e164 = g_strdupv((char **)(u->e164 ? u->e164 : none));
    c->groups = g_strdupv((char **)(u->groups ? u->groups : none));
    c->lines = g_strdupv((char **)(u->lines ? u->lines : none));
    return c;
}

void dir_user_free(gpointer p)
{
    dir_user *u = p;
    if (!u)
        return;
    g_free(u->id);
    g_free(u->login);
    g_free(u->display_name);
    g_free(u->given_name);
    g_free(u->surname);
    g_free(u->email);
    g_free(u->department);
    g_free(u->title);
    g_free(u->home_server);
    g_free(u->backend);
    g_strfreev(u->numbers);
    g_strfreev(u->e164);
    g_strfreev(u->groups);
    g_strfreev(u->lines);
    g_free(u);
}

static int keep_copy(const ucd_directory_user *u, void *ud)
{
    *(dir_user **)ud = dir_user_copy(u);
    return 1;
}

dir_user *dir_user_get(core_model_commands *c, const char *who, ucd_reply *r)
{
    ucd_service s;
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &s, r))
        return NULL;
    const ucd_directory_v1 *dir = s.iface;
    dir_user *u = NULL;
    if (who && *who)
        dir->get_user(s.impl, who, keep_copy, &u);
    if (!u && r)
        core_reply_error(r, "unknown user '%s' (see ucctl users)", or_empty(who));
    return u;
}

static const char *user_key(const dir_user *u)
{
    return u->login && *u->login ? u->login : u->id;
}

static gint by_user_login(gconstpointer a, gconstpointer b)
{
    const dir_user *x = *(const dir_user *const *)a, *y = *(const dir_user *const *)b;
    int c = strcmp(user_key(x), user_key(y));
    return c ? c : strcmp(x->id, y->id);
}

typedef struct {
    GPtrArray *users;
    gboolean (*keep)(const ucd_directory_user *u, const void *arg);
    const void *arg;
} collect_ctx;

static int add_copy(const ucd_directory_user *u, void *ud)
{
    collect_ctx *cc = ud;
    if (!cc->keep || cc->keep(u, cc->arg))
        g_ptr_array_add(cc->users, dir_user_copy(u));
    return 0;
}

GPtrArray *dir_users_sorted(core_model_commands *c,
                            gboolean (*keep)(const ucd_directory_user *u, const void *arg),
                            const void *arg, ucd_reply *r)
{
    ucd_service s;
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &s, r))
        return NULL;
    const ucd_directory_v1 *dir = s.iface;
    collect_ctx cc = {g_ptr_array_new_with_free_func(dir_user_free), keep, arg};
    dir->foreach_user(s.impl, 0, add_copy, &cc);
    g_ptr_array_sort(cc.users, by_user_login);
    return cc.users;
}

static int user_cmp_cursor(gconstpointer item, const char *cursor)
{
    return strcmp(user_key(item), cursor);
}

static char *user_cursor(gconstpointer item)
{
    return g_strdup(user_key(item));
}

void dir_users_page(const GPtrArray *users, const core_page *page, guint *start, guint *end,
                    ucd_reply *r)
{
    char *next;
    core_page_window(users, page, user_cmp_cursor, user_cursor, start, end, &next);
    page_reply_next(r, next);
}
