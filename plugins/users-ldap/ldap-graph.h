/*
 * ldap-graph.h - nested groups resolved once per group: the graph of "group A
 * is a member of group B" edges read with the groups, closed once, and then
 * every user's direct groups expanded with it.
 *
 * Asking the server per group or per user (LDAP_MATCHING_RULE_IN_CHAIN) was
 * 12 of 14 s of a 1,500-user sync against AD; the edges come with the group
 * search a sync does anyway (the groups' memberOf, or their member lists),
 * so the closure costs memory lookups only, on any LDAP server.
 */
#ifndef USERS_LDAP_GRAPH_H
#define USERS_LDAP_GRAPH_H

#include <glib.h>

typedef struct ul_graph ul_graph;

/* An empty graph: every group expands to itself only. */
ul_graph *ul_graph_new(void);
void ul_graph_free(ul_graph *graph);

/* Group `child` (a DN key) is a direct member of group `parent`. */
void ul_graph_add_edge(ul_graph *graph, const char *child, const char *parent);

/* Appends to `out` the groups of a member whose direct groups are `direct`
 * (NULL entries skipped): each direct group, then every group it belongs to
 * through any depth of nesting, each once. Cycles end where they close. The
 * strings appended are new (g_free). */
void ul_graph_expand(ul_graph *graph, GPtrArray *direct, GPtrArray *out);

#endif /* USERS_LDAP_GRAPH_H */
