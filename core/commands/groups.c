/*
 * groups.c - `ucctl groups`: the directory's groups in pages, by id, with
 * how many members each has.
 */
#include <string.h>

#include "control.h"
#include "model-commands-internal.h"

typedef struct {
    char *id, *name, *description, *leaders;
} group_row;

static void group_row_free(gpointer p)
{
    group_row *g = p;
    g_free(g->id);
    g_free(g->name);
    g_free(g->description);
    g_free(g->leaders);
    g_free(g);
}

static int add_group(const ucd_directory_group *g, void *ud)
{
    group_row *row = g_new0(group_row, 1);
    row->id = g_strdup(g->id);
    row->name = g_strdup(g->name);
    row->description = g_strdup(g->description);
    row->leaders = g->leaders ? g_strjoinv(",", (char **)g->leaders) : g_strdup("");
    g_ptr_array_add(ud, row);
    return 0;
}

static gint by_group_id(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const group_row *const *)a)->id, (*(const group_row *const *)b)->id);
}

static int group_cmp_cursor(gconstpointer item, const char *cursor)
{
    return strcmp(((const group_row *)item)->id, cursor);
}

static char *group_cursor(gconstpointer item)
{
    return g_strdup(((const group_row *)item)->id);
}

static int count_member(const ucd_directory_user *u, void *ud)
{
    (*(guint *)ud)++;
    return 0;
}

int cmd_groups(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    ucd_service s;
    if (!parse_page(argc, argv, &page, "groups [--limit N] [--after ID]", r))
        return UCD_E_INVALID;
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &s, r)) {
        g_free(page.after);
        return UCD_E_UNAVAILABLE;
    }
    const ucd_directory_v1 *dir = s.iface;
    GPtrArray *groups = g_ptr_array_new_with_free_func(group_row_free);
    dir->foreach_group(s.impl, add_group, groups);
    g_ptr_array_sort(groups, by_group_id);
    guint start, end;
    char *next;
    core_page_window(groups, &page, group_cmp_cursor, group_cursor, &start, &end, &next);
    page_reply_next(r, next);
    static const char *const cols[] = {"id", "name", "members", "leaders", "description"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const group_row *g = groups->pdata[i];
        guint members = 0;
        dir->foreach_member(s.impl, g->id, count_member, &members);
        char count[16];
        g_snprintf(count, sizeof count, "%u", members);
        const char *row[] = {g->id, or_empty(g->name), count, g->leaders, or_empty(g->description)};
        core_reply_row(r, row);
    }
    g_ptr_array_free(groups, TRUE);
    g_free(page.after);
    return UCD_OK;
}
