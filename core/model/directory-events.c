/*
 * directory-events.c - UCD_EVENT_DIRECTORY: what a directory pull, or a
 * driver's lines coming and going, changed.
 *
 * A pull builds a new generation of the directory (directory.c); comparing it
 * with the old one, user by user and group by group, says what was added,
 * modified or removed. Lines appear when a driver lists them or an event names
 * them, disappear (from the services' view) when their driver stops, and
 * change when a pull gives them another user. Changes are collected and
 * published together; a pass with more than CORE_DIRECTORY_EVENTS_MAX of them
 * publishes one RESYNCED instead, since a subscriber then re-reads everything
 * faster than it would take thousands of events one by one.
 */
#include <string.h>

#include "log.h"
#include "directory.h"

typedef struct change {
    uint32_t change; /* ucd_change */
    uint32_t kind;   /* ucd_directory_kind */
    char *id;
} change;

struct core_dir_changes {
    GArray *items; /* change */
};

static void change_clear(gpointer p)
{
    g_free(((change *)p)->id);
}

core_dir_changes *core_dir_changes_new(void)
{
    core_dir_changes *c = g_new0(core_dir_changes, 1);
    c->items = g_array_new(FALSE, FALSE, sizeof(change));
    g_array_set_clear_func(c->items, change_clear);
    return c;
}

void core_dir_changes_add(core_dir_changes *c, ucd_change what, ucd_directory_kind kind,
                          const char *id)
{
    change ch = {what, kind, g_strdup(id)};
    g_array_append_val(c->items, ch);
}

void core_dir_changes_add_line(core_dir_changes *c, ucd_change what, const core_line *line)
{
    change ch = {what, UCD_DIRECTORY_LINE, g_strconcat(line->driver, "/", line->address, NULL)};
    g_array_append_val(c->items, ch);
}

static void publish_one(core_model *m, uint32_t what, uint32_t kind, const char *id)
{
    ucd_directory_event de = {.struct_size = sizeof de, .change = what, .kind = kind, .id = id};
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_DIRECTORY, .payload = &de};
    int rc = core_bus_publish(m->rt->bus, "core", &ev);
    if (rc != UCD_OK)
        core_warn("model: cannot publish a directory change: %s", ucd_strerror(rc));
}

void core_dir_changes_publish(core_model *m, core_dir_changes *c)
{
    if (c->items->len > CORE_DIRECTORY_EVENTS_MAX) {
        publish_one(m, UCD_CHANGE_RESYNCED, 0, NULL);
    } else {
        for (guint i = 0; i < c->items->len; i++) {
            const change *ch = &g_array_index(c->items, change, i);
            publish_one(m, ch->change, ch->kind, ch->id);
        }
    }
    g_array_free(c->items, TRUE);
    g_free(c);
}

/* ---- comparing two generations ------------------------------------------------- */

static gboolean strv_equal(char **a, char **b)
{
    return g_strv_equal((const char *const *)a, (const char *const *)b);
}

/* Everything a backend reported; e164 follows from the numbers and line_ptrs
 * from the lines, which the line events tell about. */
static gboolean user_equal(const core_user *a, const core_user *b)
{
    return a->enabled == b->enabled && !g_strcmp0(a->login, b->login) &&
           !g_strcmp0(a->display_name, b->display_name) &&
           !g_strcmp0(a->given_name, b->given_name) && !g_strcmp0(a->surname, b->surname) &&
           !g_strcmp0(a->email, b->email) && !g_strcmp0(a->department, b->department) &&
           !g_strcmp0(a->title, b->title) && !g_strcmp0(a->home_server, b->home_server) &&
           !g_strcmp0(a->backend, b->backend) && strv_equal(a->numbers, b->numbers) &&
           strv_equal(a->groups, b->groups) && strv_equal(a->lines, b->lines);
}

static gboolean group_equal(const core_group *a, const core_group *b)
{
    return !g_strcmp0(a->name, b->name) && !g_strcmp0(a->description, b->description) &&
           !g_strcmp0(a->backend, b->backend) && strv_equal(a->leaders, b->leaders);
}

/* Adds what differs between two tables id -> record of one kind. */
static void diff(core_dir_changes *c, ucd_directory_kind kind, GHashTable *before,
                 GHashTable *after, gboolean (*equal)(gconstpointer, gconstpointer))
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, after);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        gpointer old = g_hash_table_lookup(before, k);
        if (!old)
            core_dir_changes_add(c, UCD_CHANGE_ADDED, kind, k);
        else if (!equal(old, v))
            core_dir_changes_add(c, UCD_CHANGE_MODIFIED, kind, k);
    }
    g_hash_table_iter_init(&it, before);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!g_hash_table_contains(after, k))
            core_dir_changes_add(c, UCD_CHANGE_REMOVED, kind, k);
}

static gboolean user_equal_cb(gconstpointer a, gconstpointer b)
{
    return user_equal(a, b);
}

static gboolean group_equal_cb(gconstpointer a, gconstpointer b)
{
    return group_equal(a, b);
}

void core_dir_changes_diff(core_dir_changes *c, GHashTable *users_before, GHashTable *users_after,
                           GHashTable *groups_before, GHashTable *groups_after)
{
    diff(c, UCD_DIRECTORY_USER, users_before, users_after, user_equal_cb);
    diff(c, UCD_DIRECTORY_GROUP, groups_before, groups_after, group_equal_cb);
}
