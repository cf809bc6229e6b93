/*
 * ldap-graph.c - closing the group graph once per group (ldap-graph.h).
 *
 * The ancestors of a group are computed the first time a member of it is
 * expanded and remembered: a sync of 100,000 users in a few hundred groups
 * walks each group's chain once, not once per user.
 */
#include <string.h>

#include "ldap-graph.h"

struct ul_graph {
    GHashTable *parents;   /* child -> GPtrArray of parent keys (owned) */
    GHashTable *ancestors; /* group -> GPtrArray: the group, then its ancestors */
};

static void ul_array_free(gpointer array)
{
    g_ptr_array_unref(array);
}

ul_graph *ul_graph_new(void)
{
    ul_graph *graph = g_new0(ul_graph, 1);
    graph->parents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ul_array_free);
    graph->ancestors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, ul_array_free);
    return graph;
}

void ul_graph_free(ul_graph *graph)
{
    if (graph == NULL)
        return;
    g_hash_table_unref(graph->parents);
    g_hash_table_unref(graph->ancestors);
    g_free(graph);
}

void ul_graph_add_edge(ul_graph *graph, const char *child, const char *parent)
{
    if (strcmp(child, parent) == 0)
        return;
    GPtrArray *parents = g_hash_table_lookup(graph->parents, child);
    if (parents == NULL) {
        parents = g_ptr_array_new_with_free_func(g_free);
        g_hash_table_insert(graph->parents, g_strdup(child), parents);
    }
    for (guint i = 0; i < parents->len; i++)
        if (strcmp(g_ptr_array_index(parents, i), parent) == 0)
            return;
    g_ptr_array_add(parents, g_strdup(parent));
    /* An edge added after expansions would make remembered answers wrong. */
    g_hash_table_remove_all(graph->ancestors);
}

/* The group and all groups above it, breadth first, each once: the set of
 * visited groups also ends cycles. The list remembered for `group` points
 * at its key (its first item) and at keys of graph->parents, which live as
 * long as it does. */
static GPtrArray *ul_graph_ancestors(ul_graph *graph, const char *group)
{
    GPtrArray *found = g_hash_table_lookup(graph->ancestors, group);
    if (found != NULL)
        return found;
    found = g_ptr_array_new();
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    char *self = g_strdup(group);
    g_ptr_array_add(found, self);
    g_hash_table_add(seen, self);
    for (guint next = 0; next < found->len; next++) {
        GPtrArray *parents = g_hash_table_lookup(graph->parents, g_ptr_array_index(found, next));
        for (guint p = 0; parents != NULL && p < parents->len; p++) {
            char *parent = g_ptr_array_index(parents, p);
            if (g_hash_table_add(seen, parent))
                g_ptr_array_add(found, parent);
        }
    }
    g_hash_table_unref(seen);
    g_hash_table_insert(graph->ancestors, self, found);
    return found;
}

/* Up to this many groups per user repeats are found by a linear scan, not a
 * hash set (one allocation per user saved: most users are in a few groups). */
#define UL_LINEAR_MAX 16

static gboolean ul_in(GPtrArray *out, guint from, const char *item)
{
    for (guint i = from; i < out->len; i++)
        if (strcmp(g_ptr_array_index(out, i), item) == 0)
            return TRUE;
    return FALSE;
}

void ul_graph_expand(ul_graph *graph, GPtrArray *direct, GPtrArray *out)
{
    guint from = out->len;
    GHashTable *seen = NULL;
    gboolean nested = g_hash_table_size(graph->parents) > 0;
    for (guint d = 0; d < direct->len; d++) {
        const char *group = g_ptr_array_index(direct, d);
        if (group == NULL)
            continue;
        GPtrArray *chain = nested ? ul_graph_ancestors(graph, group) : NULL;
        guint n = chain != NULL ? chain->len : 1;
        for (guint i = 0; i < n; i++) {
            const char *item = chain != NULL ? g_ptr_array_index(chain, i) : group;
            if (seen == NULL && out->len - from >= UL_LINEAR_MAX) {
                seen = g_hash_table_new(g_str_hash, g_str_equal);
                for (guint k = from; k < out->len; k++)
                    g_hash_table_add(seen, g_ptr_array_index(out, k));
            }
            if (seen != NULL ? g_hash_table_contains(seen, item) : ul_in(out, from, item))
                continue;
            char *copy = g_strdup(item);
            g_ptr_array_add(out, copy);
            if (seen != NULL)
                g_hash_table_add(seen, copy);
        }
    }
    if (seen != NULL)
        g_hash_table_unref(seen);
}
