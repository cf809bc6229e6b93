/*
 * routes-directory.c - who the users, groups and lines are, for clients:
 * GET /users (search, group filter, keyset pages by login), /users/{id},
 * /groups, /groups/{id}, /groups/{id}/members, /lines, /lines/{driver}/{address}.
 * The user and line objects are routes-model.c's.
 *
 * The directory answers from memory, so each route runs on the main loop
 * at once. A user the caller sees at BLOCKED is left out of every list and
 * answers 404 like an unknown one: a client learns nothing about who is
 * hidden. A page of users is chosen before any object is built (a search
 * over 10,000 users builds 100 objects, with their presence and calls).
 */
#include <string.h>

#include "api-router.h"
#include "api-routes.h"
#include "routes-model.h"
#include "routes-schemas.h"

/* Longest ?q= and ?after= taken: longer is no login, name or number. */
#define QUERY_MAX 256

/* One user a search matched: enough to sort, page and find it again. */
typedef struct user_hit {
    char *login;
    char *id;
    guint level;
} user_hit;

static void user_hit_free(gpointer p)
{
    user_hit *h = p;
    g_free(h->login);
    g_free(h->id);
    g_free(h);
}

static gint user_hit_cmp(gconstpointer a, gconstpointer b)
{
    const user_hit *x = *(user_hit *const *)a;
    const user_hit *y = *(user_hit *const *)b;
    return strcmp(x->login, y->login);
}

typedef struct user_search {
    api_call *call;
    char *q_folded;    /* ?q= case-folded, NULL: no search */
    char *q_digits;    /* its digits when it looks like a number, else NULL */
    const char *group; /* ?group= or the members' group, NULL: any */
    GPtrArray *hits;
} user_search;

static gboolean text_matches(const char *text, const char *q_folded)
{
    if (text == NULL || *text == '\0')
        return FALSE;
    char *folded = g_utf8_casefold(text, -1);
    gboolean hit = strstr(folded, q_folded) != NULL;
    g_free(folded);
    return hit;
}

/* The digits of `text`, so "+49 89 4521-201" matches "4521201". */
static char *digits_of(const char *text)
{
    GString *s = g_string_new(NULL);
    for (const char *c = text; c && *c; c++)
        if (g_ascii_isdigit(*c))
            g_string_append_c(s, *c);
    return g_string_free(s, FALSE);
}

static gboolean number_matches(const char *const *numbers, const char *q_digits)
{
    for (const char *const *n = numbers; q_digits && n && *n; n++) {
        char *digits = digits_of(*n);
        gboolean hit = strstr(digits, q_digits) != NULL;
        g_free(digits);
        if (hit)
            return TRUE;
    }
    return FALSE;
}

static gboolean in_list(const char *const *list, const char *item)
{
    for (const char *const *l = list; l && *l; l++)
        if (strcmp(*l, item) == 0)
            return TRUE;
    return FALSE;
}

static gboolean user_matches(const user_search *s, const ucd_directory_user *u)
{
    if (s->group && !in_list(u->groups, s->group))
        return FALSE;
    if (s->q_folded == NULL)
        return TRUE;
    return text_matches(u->login, s->q_folded) || text_matches(u->display_name, s->q_folded) ||
           text_matches(u->given_name, s->q_folded) || text_matches(u->surname, s->q_folded) ||
           text_matches(u->email, s->q_folded) || number_matches(u->numbers, s->q_digits) ||
           number_matches(u->e164, s->q_digits);
}

static int search_user_cb(const ucd_directory_user *u, void *data)
{
    user_search *s = data;
    if (!u->login || !user_matches(s, u))
        return 0;
    guint level = routes_user_level(s->call, u);
    if (level == UCD_PERM_BLOCKED)
        return 0;
    user_hit *h = g_new0(user_hit, 1);
    h->login = g_strdup(u->login);
    h->id = g_strdup(u->id);
    h->level = level;
    g_ptr_array_add(s->hits, h);
    return 0;
}

typedef struct user_add {
    api_call *call;
    JsonArray *items;
    guint level;
} user_add;

static int add_user_cb(const ucd_directory_user *u, void *data)
{
    user_add *a = data;
    json_array_add_element(a->items, routes_user_json(a->call, u, a->level));
    return 1;
}

/* The page of users after ?after= matching ?q= in `group` (NULL: ?group=). */
static void list_users(api_call *call, const char *group)
{
    api_ctx *ctx = api_call_ctx(call);
    const char *q = api_call_query(call, "q");
    const char *after = api_call_query(call, "after");
    guint limit = 0;
    if (!routes_read_limit(call, &limit))
        return;
    if (q && strlen(q) > QUERY_MAX) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "q: at most %d bytes", QUERY_MAX);
        return;
    }
    if (after && (*after == '\0' || strlen(after) > QUERY_MAX)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "after: the login of the previous page's last user (its next)");
        return;
    }
    user_search s = {.call = call, .group = group ? group : api_call_query(call, "group")};
    s.hits = g_ptr_array_new_with_free_func(user_hit_free);
    if (q && *q) {
        s.q_folded = g_utf8_casefold(q, -1);
        char *digits = digits_of(q);
        if (*digits && strspn(q, "0123456789+-/() ") == strlen(q))
            s.q_digits = digits;
        else
            g_free(digits);
    }
    ctx->dir->foreach_user(ctx->dir_impl, 0, search_user_cb, &s);
    g_ptr_array_sort(s.hits, user_hit_cmp);

    guint first = 0;
    while (after && first < s.hits->len &&
           strcmp(((user_hit *)s.hits->pdata[first])->login, after) <= 0)
        first++;
    guint end = MIN(s.hits->len, first + limit);
    user_add a = {.call = call, .items = json_array_new()};
    for (guint i = first; i < end; i++) {
        user_hit *h = s.hits->pdata[i];
        a.level = h->level;
        ctx->dir->get_user(ctx->dir_impl, h->id, add_user_cb, &a);
    }
    const char *next = end < s.hits->len ? ((user_hit *)s.hits->pdata[end - 1])->login : NULL;
    api_call_respond_list(call, a.items, s.hits->len, next);
    g_ptr_array_free(s.hits, TRUE);
    g_free(s.q_folded);
    g_free(s.q_digits);
}

static void users_list(api_call *call, gpointer data)
{
    (void)data;
    list_users(call, NULL);
}

static void users_get(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    char id[512];
    guint level = 0;
    if (!routes_find_user(call, api_call_param(call, "id"), id, sizeof id, &level))
        return;
    user_add a = {.call = call, .items = json_array_new(), .level = level};
    ctx->dir->get_user(ctx->dir_impl, id, add_user_cb, &a);
    api_call_respond(call, 200, json_array_dup_element(a.items, 0));
    json_array_unref(a.items);
}

/* ---- groups ---- */

typedef struct group_add {
    api_call *call;
    JsonArray *items;
} group_add;

static int add_group_cb(const ucd_directory_group *g, void *data)
{
    group_add *a = data;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "id", g->id);
    routes_add_string(b, "name", g->name);
    routes_add_string(b, "description", g->description);
    /* Leaders the caller may not see stay hidden, as in every user list. */
    json_builder_set_member_name(b, "leaders");
    json_builder_begin_array(b);
    for (const char *const *l = g->leaders; l && *l; l++)
        if (routes_level(a->call, *l) >= UCD_PERM_PUBLIC)
            json_builder_add_string_value(b, *l);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_array_add_element(a->items, json_builder_get_root(b));
    g_object_unref(b);
    return 0;
}

static void groups_list(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    group_add a = {.call = call, .items = json_array_new()};
    ctx->dir->foreach_group(ctx->dir_impl, add_group_cb, &a);
    api_call_respond_list(call, a.items, json_array_get_length(a.items), NULL);
}

/* The group of the path, as a one-element array; NULL after a 404. */
static JsonArray *find_group(api_call *call, api_ctx *ctx)
{
    const char *id = api_call_param(call, "id");
    group_add a = {.call = call, .items = json_array_new()};
    if (id && *id)
        ctx->dir->get_group(ctx->dir_impl, id, add_group_cb, &a);
    if (json_array_get_length(a.items) == 0) {
        api_call_error(call, 404, API_ERR_NOT_FOUND, "no group '%s'", id ? id : "");
        json_array_unref(a.items);
        return NULL;
    }
    return a.items;
}

static void groups_get(api_call *call, gpointer data)
{
    JsonArray *found = find_group(call, data);
    if (found == NULL)
        return;
    api_call_respond(call, 200, json_array_dup_element(found, 0));
    json_array_unref(found);
}

static void groups_members(api_call *call, gpointer data)
{
    JsonArray *found = find_group(call, data);
    if (found == NULL)
        return;
    json_array_unref(found);
    list_users(call, api_call_param(call, "id"));
}

/* ---- lines ---- */

typedef struct line_list {
    api_call *call;
    const char *user_id; /* ?user=, NULL: every user's */
    JsonArray *items;
} line_list;

static int list_line_cb(const ucd_directory_line *l, void *data)
{
    line_list *s = data;
    if (s->user_id && g_strcmp0(l->user_id, s->user_id) != 0)
        return 0;
    guint level = routes_level(s->call, l->user_id);
    if (level >= UCD_PERM_BUSINESS)
        json_array_add_element(s->items, routes_line_json(l, level));
    return 0;
}

static void lines_list(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    const char *user = api_call_query(call, "user");
    char id[512];
    guint level = 0;
    line_list s = {.call = call};
    if (user) {
        if (!routes_find_user(call, user, id, sizeof id, &level))
            return;
        if (level < UCD_PERM_BUSINESS) {
            api_call_error(call, 403, API_ERR_FORBIDDEN,
                           "the lines of '%s' need the business level (you have %s)", user,
                           ucd_perm_level_name(level));
            return;
        }
        s.user_id = id;
    }
    s.items = json_array_new();
    ctx->dir->foreach_line(ctx->dir_impl, NULL, list_line_cb, &s);
    api_call_respond_list(call, s.items, json_array_get_length(s.items), NULL);
}

static int get_line_cb(const ucd_directory_line *l, void *data)
{
    line_list *s = data;
    guint level = routes_level(s->call, l->user_id);
    if (level >= UCD_PERM_BUSINESS)
        json_array_add_element(s->items, routes_line_json(l, level));
    return 1;
}

static void lines_get(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    const char *driver = api_call_param(call, "driver");
    const char *address = api_call_param(call, "address");
    line_list s = {.call = call, .items = json_array_new()};
    if (driver && *driver && address && *address)
        ctx->dir->get_line(ctx->dir_impl, driver, address, get_line_cb, &s);
    if (json_array_get_length(s.items) == 0)
        api_call_error(call, 404, API_ERR_NOT_FOUND, "no line '%s' on driver '%s'",
                       address ? address : "", driver ? driver : "");
    else
        api_call_respond(call, 200, json_array_dup_element(s.items, 0));
    json_array_unref(s.items);
}

/* ---- the routes ---- */

static const api_route_def directory_routes[] = {
    {"GET", "/users", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"Users the caller may see\",\"description\":\"Every user the caller sees "
     "at "
     "PUBLIC or more (disabled users only at PERSONAL), by login, each cut to the caller's "
     "level. Keyset paging by login: pass next as "
     "after.\",\"parameters\":[" USER_PAGE_PARAMETERS
     ",{\"name\":\"group\",\"in\":\"query\",\"description\":\"only members of this group "
     "(id)\",\"schema\":{\"type\":\"string\"}}],\"responses\":{" LIST_200(
         "a page of users", USER_SCHEMA, PAGE_NEXT) ",\"400\":{\"description\":\"a bad limit, "
                                                    "q or after\"}}}",
     users_list},
    {"GET", "/users/{id}", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"One user\",\"parameters\":[" PATH_PARAM(
         "id",
         "a user id or login") "],\"responses\":{" OBJECT_200("the user, cut to the caller's "
                                                              "level",
                                                              USER_SCHEMA) ",\"404\":{"
                                                                           "\"description\":"
                                                                           "\"no such user, or "
                                                                           "one the caller may "
                                                                           "not see\"}}}",
     users_get},
    {"GET", "/groups", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"Groups\",\"description\":\"Every group, by id.\",\"responses\":{" LIST_200(
         "the groups", GROUP_SCHEMA, NULL_NEXT) "}}",
     groups_list},
    {"GET", "/groups/{id}", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"One group\",\"parameters\":[" PATH_PARAM(
         "id",
         "a group id") "],\"responses\":{" OBJECT_200("the group",
                                                      GROUP_SCHEMA) ",\"404\":{\"description\":"
                                                                    "\"no such group\"}}}",
     groups_get},
    {"GET", "/groups/{id}/members", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"Members of a group the caller may see\",\"description\":\"As GET /users "
     "with group.\",\"parameters\":[" PATH_PARAM(
         "id", "a group id") "," USER_PAGE_PARAMETERS
                             "],\"responses\":{" LIST_200(
                                 "a page of members", USER_SCHEMA,
                                 PAGE_NEXT) ",\"404\":{\"description\":\"no such group\"}}}",
     groups_members},
    {"GET", "/lines", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"Lines the caller may see\",\"description\":\"Lines of users the caller "
     "sees "
     "at BUSINESS or more, by driver and address.\",\"parameters\":[{\"name\":\"user\",\"in\":"
     "\"query\",\"description\":\"only this user's lines (id or login)\",\"schema\":{\"type\":"
     "\"string\"}}],\"responses\":{" LIST_200(
         "the lines", LINE_SCHEMA, NULL_NEXT) ",\"403\":{\"description\":\"the caller sees user "
                                              "below BUSINESS\"},\"404\":{\"description\":\"no "
                                              "such user\"}}}",
     lines_list},
    {"GET", "/lines/{driver}/{address}", UCD_HTTP_ROLE_USER, "directory:read",
     "{\"summary\":\"One line\",\"parameters\":[" PATH_PARAM(
         "driver",
         "the PBX driver's "
         "module id, e.g. "
         "pbx-sim:office") "," PATH_PARAM("address",
                                          "the line's "
                                          "address (a "
                                          "slash as %2F)") "],\"responses\":"
                                                           "{" OBJECT_200(
                                                               "the line",
                                                               LINE_SCHEMA) ",\"404\":{"
                                                                            "\"description\":\"no "
                                                                            "such line, or one the "
                                                                            "caller may "
                                                                            "not see\"}}}",
     lines_get},
};

gboolean api_routes_directory_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, directory_routes, G_N_ELEMENTS(directory_routes), ctx, NULL, error);
}
