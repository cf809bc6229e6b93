/*
 * directory.c - users and groups copied from every "users" service, indexed by
 * id, login and phone number, and the assignment of lines to users.
 *
 * The core pulls (users.h): after start, when a users service starts, and on
 * UCD_EVENT_USER_CHANGED. A backend that changes a thousand users publishes a
 * burst of events, so a pull is debounced to the next idle of the main loop.
 * A pull builds complete new tables and swaps them in, so nothing ever sees a
 * half-read directory.
 *
 * Line assignment: a user's `lines` entries are "DRIVER/ADDRESS" or a bare
 * ADDRESS that matches that address on any driver. Both forms go into one
 * table keyed by the entry as written; a line (D, A) looks up "D/A" first, then
 * "A". Addresses may themselves contain '/' ("PJSIP/alice"): a bare entry
 * "PJSIP/alice" still matches, because the lookup never splits the entry.
 */
#include <string.h>

#include "log.h"
#include "directory.h"

static char **strv_copy(const char *const *v)
{
    return v ? g_strdupv((char **)v) : g_new0(char *, 1);
}

static void user_free(gpointer p)
{
    core_user *u = p;
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
    g_ptr_array_free(u->line_ptrs, TRUE);
    g_free(u);
}

static void group_free(gpointer p)
{
    core_group *g = p;
    g_free(g->id);
    g_free(g->name);
    g_free(g->description);
    g_free(g->backend);
    g_strfreev(g->leaders);
    g_free(g);
}

/* One generation of the directory: built completely, then swapped in. */
typedef struct {
    core_model *m;
    const char *backend;
    GHashTable *users, *logins, *numbers, *groups, *assignments;
    GHashTable *backends; /* module ids read from (owned strings) */
} directory;

static void directory_new(directory *dir, core_model *m)
{
    *dir = (directory){
        .m = m,
        .users = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, user_free),
        .logins = g_hash_table_new(g_str_hash, g_str_equal),
        .numbers = g_hash_table_new(g_str_hash, g_str_equal),
        .groups = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, group_free),
        .assignments = g_hash_table_new(g_str_hash, g_str_equal),
        .backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
}

static void directory_destroy(GHashTable *users, GHashTable *logins, GHashTable *numbers,
                              GHashTable *groups, GHashTable *assignments)
{
    /* Indexes first: their keys belong to the users. */
    g_hash_table_destroy(assignments);
    g_hash_table_destroy(numbers);
    g_hash_table_destroy(logins);
    g_hash_table_destroy(groups);
    g_hash_table_destroy(users);
}

GPtrArray *core_directory_sorted_values(GHashTable *table, GCompareFunc order)
{
    GPtrArray *all = g_ptr_array_sized_new(g_hash_table_size(table));
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(all, v);
    g_ptr_array_sort(all, order);
    return all;
}

/* The users in the order every listing gives them, made once per pull:
 * listing 10,000 users' presence sorted them on every request before. */
static GPtrArray *users_in_order(GHashTable *users)
{
    return core_directory_sorted_values(users, core_directory_user_order);
}

const GPtrArray *core_directory_users_sorted(core_model *m)
{
    return m->users_sorted;
}

void core_directory_init(core_model *m)
{
    directory dir;
    directory_new(&dir, m);
    m->users = dir.users;
    m->users_sorted = users_in_order(m->users);
    m->logins = dir.logins;
    m->numbers = dir.numbers;
    m->groups = dir.groups;
    m->assignments = dir.assignments;
    m->backends = dir.backends;
}

void core_directory_cancel_pull(core_model *m)
{
    if (m->pull_source) {
        g_source_destroy(m->pull_source);
        g_source_unref(m->pull_source);
        m->pull_source = NULL;
    }
}

void core_directory_free(core_model *m)
{
    core_directory_cancel_pull(m);
    g_ptr_array_free(m->users_sorted, TRUE);
    directory_destroy(m->users, m->logins, m->numbers, m->groups, m->assignments);
    g_hash_table_destroy(m->backends);
}

/* ---- copying from a backend ------------------------------------------------------ */

static void index_numbers(directory *dir, core_user *u)
{
    guint n = g_strv_length(u->numbers);
    u->e164 = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        ucd_number_info info = {.struct_size = sizeof info};
        gboolean ok = core_model_normalize(dir->m, NULL, u->numbers[i], &info);
        u->e164[i] = g_strdup(ok ? info.e164 : "");
        g_hash_table_insert(dir->numbers, u->numbers[i], u);
        if (ok)
            g_hash_table_insert(dir->numbers, u->e164[i], u);
    }
}

static int copy_user(const ucd_user *in, void *ud)
{
    directory *dir = ud;
    if (!in->id || !*in->id)
        return 0;
    if (g_hash_table_contains(dir->users, in->id)) {
        core_warn("model: user id '%s' from %s is already taken by another backend; ignored",
                  in->id, dir->backend);
        return 0;
    }
    core_user *u = g_new0(core_user, 1);
    u->id = g_strdup(in->id);
    u->login = g_strdup(in->login);
    u->display_name = g_strdup(in->display_name);
    u->given_name = g_strdup(in->given_name);
    u->surname = g_strdup(in->surname);
    u->email = g_strdup(in->email);
    u->department = g_strdup(in->department);
    u->title = g_strdup(in->title);
    u->home_server = g_strdup(in->home_server);
    u->backend = g_strdup(dir->backend);
    u->enabled = in->enabled != 0;
    u->numbers = strv_copy(in->numbers);
    u->groups = strv_copy(in->groups);
    u->lines = strv_copy(in->lines);
    u->line_ptrs = g_ptr_array_new();
    g_hash_table_insert(dir->users, u->id, u);
    if (u->login && *u->login)
        g_hash_table_insert(dir->logins, u->login, u);
    index_numbers(dir, u);
    for (char **l = u->lines; *l; l++)
        g_hash_table_insert(dir->assignments, *l, u);
    return 0;
}

static int copy_group(const ucd_group *in, void *ud)
{
    directory *dir = ud;
    if (!in->id || !*in->id || g_hash_table_contains(dir->groups, in->id))
        return 0;
    core_group *g = g_new0(core_group, 1);
    g->id = g_strdup(in->id);
    g->name = g_strdup(in->name);
    g->description = g_strdup(in->description);
    g->backend = g_strdup(dir->backend);
    g->leaders = strv_copy(in->leaders);
    g_hash_table_insert(dir->groups, g->id, g);
    return 0;
}

static int pull_backend(const ucd_service *s, void *ud)
{
    directory *dir = ud;
    const ucd_users_v1 *users = s->iface;
    dir->backend = s->provider;
    g_hash_table_add(dir->backends, g_strdup(s->provider));
    if (users->foreach_user) {
        int rc = users->foreach_user(s->impl, copy_user, dir);
        if (rc != UCD_OK)
            core_warn("model: reading users from %s: %s", s->provider, ucd_strerror(rc));
    }
    if (users->foreach_group) {
        int rc = users->foreach_group(s->impl, copy_group, dir);
        if (rc != UCD_OK)
            core_warn("model: reading groups from %s: %s", s->provider, ucd_strerror(rc));
    }
    return 0;
}

/* ---- assignment ------------------------------------------------------------------ */

static core_user *assigned_user(core_model *m, const core_line *line)
{
    char *full = g_strconcat(line->driver, "/", line->address, NULL);
    core_user *u = g_hash_table_lookup(m->assignments, full);
    g_free(full);
    return u ? u : g_hash_table_lookup(m->assignments, line->address);
}

gint core_directory_user_order(gconstpointer a, gconstpointer b)
{
    const core_user *x = *(const core_user *const *)a, *y = *(const core_user *const *)b;
    int c = g_strcmp0(x->login, y->login);
    return c ? c : strcmp(x->id, y->id);
}

/* Driver, then address: the order the directory service lists lines in, and
 * so the "first line" of a user everywhere. */
gint core_directory_line_order(gconstpointer a, gconstpointer b)
{
    const core_line *x = *(const core_line *const *)a, *y = *(const core_line *const *)b;
    int c = strcmp(x->driver, y->driver);
    return c ? c : strcmp(x->address, y->address);
}

void core_directory_assign_line(core_model *m, core_line *line)
{
    line->user = assigned_user(m, line);
    if (line->user) {
        g_ptr_array_add(line->user->line_ptrs, line);
        g_ptr_array_sort(line->user->line_ptrs, core_directory_line_order);
    }
}

/* Moves every line to the new generation's users; a visible line whose user
 * changed is a directory change. The old generation is still alive, so the
 * user a line had can be read. */
static void reassign_all_lines(core_model *m, core_dir_changes *changes)
{
    GHashTableIter di, li;
    gpointer d, l;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        const core_driver *driver = d;
        g_hash_table_iter_init(&li, driver->lines);
        while (g_hash_table_iter_next(&li, NULL, &l)) {
            core_line *line = l;
            const char *before = line->user ? line->user->id : NULL;
            core_directory_assign_line(m, line);
            if (!driver->gone && g_strcmp0(before, line->user ? line->user->id : NULL) != 0)
                core_dir_changes_add_line(changes, UCD_CHANGE_MODIFIED, line);
        }
    }
}

void core_directory_pull(core_model *m)
{
    directory dir;
    directory_new(&dir, m);
    core_modules_service_foreach(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, pull_backend, &dir);

    GHashTable *old_users = m->users, *old_logins = m->logins, *old_numbers = m->numbers;
    GHashTable *old_groups = m->groups, *old_assignments = m->assignments;
    m->users = dir.users;
    GPtrArray *old_sorted = m->users_sorted;
    m->users_sorted = users_in_order(m->users);
    m->logins = dir.logins;
    m->numbers = dir.numbers;
    m->groups = dir.groups;
    m->assignments = dir.assignments;
    GHashTable *old_backends = m->backends;
    m->backends = dir.backends;
    m->generation++;
    core_dir_changes *changes = core_dir_changes_new();
    core_dir_changes_diff(changes, old_users, m->users, old_groups, m->groups);
    /* Lines point at users: move them to the new generation before the old
     * one goes. */
    reassign_all_lines(m, changes);
    g_ptr_array_free(old_sorted, TRUE);
    directory_destroy(old_users, old_logins, old_numbers, old_groups, old_assignments);
    g_hash_table_destroy(old_backends);
    if (m->directory_pulled)
        m->directory_pulled(m);
    core_dir_changes_publish(m, changes);
    core_info("model: %u users, %u groups", g_hash_table_size(m->users),
              g_hash_table_size(m->groups));
}

static gboolean pull_now(gpointer data)
{
    core_model *m = data;
    g_source_unref(m->pull_source);
    m->pull_source = NULL;
    core_directory_pull(m);
    return G_SOURCE_REMOVE;
}

void core_directory_pull_soon(core_model *m)
{
    if (m->pull_source || m->stopped)
        return;
    m->pull_source = g_idle_source_new();
    g_source_set_callback(m->pull_source, pull_now, m, NULL);
    g_source_attach(m->pull_source, m->rt->ctx);
}

const char *core_model_server_name(core_model *m)
{
    return m->rt->server_name ? m->rt->server_name : g_get_host_name();
}

gboolean core_model_user_here(core_model *m, const core_user *u)
{
    /* users-ldap already reports a user homed elsewhere as disabled; users-file
     * and users-sql hand the home server over as it is, so the comparison is
     * made here, once, for every backend. */
    return u->enabled && (u->home_server == NULL || *u->home_server == '\0' ||
                          g_ascii_strcasecmp(u->home_server, core_model_server_name(m)) == 0);
}

gboolean core_model_normalize(core_model *m, const char *context, const char *raw,
                              ucd_number_info *out)
{
    ucd_service s = {.struct_size = sizeof s};
    out->e164[0] = '\0';
    if (!raw || !*raw ||
        core_modules_service_get(m->mods, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &s) !=
            UCD_OK)
        return FALSE;
    const ucd_numbers_v1 *numbers = s.iface;
    /* Only the E.164 form is wanted here, which the core's rules give: an
     * attached numbering plan (numbers-phonenumber, 40 - 60 us a number)
     * would add nothing but its cost to every directory pull and leg. A
     * numbers service older than 1.1 (a test's) has only normalize(). */
    gboolean has_rules = numbers->struct_size >= G_STRUCT_OFFSET(ucd_numbers_v1, normalize_rules) +
                                                     sizeof numbers->normalize_rules &&
                         numbers->normalize_rules;
    int rc = has_rules ? numbers->normalize_rules(s.impl, context, raw, out)
                       : numbers->normalize(s.impl, context, raw, out);
    return (rc == UCD_OK || rc == UCD_E_NOT_FOUND) && out->e164[0];
}

/* ---- lookups --------------------------------------------------------------------- */

const core_user *core_model_user(core_model *m, const char *id_or_login)
{
    if (!id_or_login)
        return NULL;
    core_user *u = g_hash_table_lookup(m->users, id_or_login);
    return u ? u : g_hash_table_lookup(m->logins, id_or_login);
}

const core_user *core_model_user_by_number(core_model *m, const char *number)
{
    return core_directory_user_by_number(m, number, NULL);
}

const core_user *core_directory_user_by_number(core_model *m, const char *number,
                                               const char *context)
{
    if (!number)
        return NULL;
    core_user *u = g_hash_table_lookup(m->numbers, number);
    if (u)
        return u;
    ucd_number_info info = {.struct_size = sizeof info};
    return core_model_normalize(m, context, number, &info)
               ? g_hash_table_lookup(m->numbers, info.e164)
               : NULL;
}

gboolean core_directory_has_backend(core_model *m, const char *module)
{
    return module && g_hash_table_contains(m->backends, module);
}

const core_group *core_model_group(core_model *m, const char *id)
{
    return id ? g_hash_table_lookup(m->groups, id) : NULL;
}

void core_model_foreach_user(core_model *m, int (*cb)(const core_user *u, void *ud), void *ud)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->users);
    while (g_hash_table_iter_next(&it, NULL, &v))
        if (cb(v, ud))
            break;
}

void core_model_foreach_group(core_model *m, int (*cb)(const core_group *g, void *ud), void *ud)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->groups);
    while (g_hash_table_iter_next(&it, NULL, &v))
        if (cb(v, ud))
            break;
}
