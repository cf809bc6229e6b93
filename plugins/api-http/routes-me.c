/*
 * routes-me.c - GET /me: the caller's own user with every field, their role
 * and a summary of what they may see of the others, what a client shows
 * first after the login (and how it knows which buttons to offer: the
 * leader's views, the admin's pages).
 *
 * The summary counts users per level rather than listing them: GET /users
 * gives each user's level with the user, and a directory of 10,000 users
 * would make /me as large as the directory.
 */
#include <string.h>

#include "api-router.h"
#include "api-routes.h"
#include "routes-model.h"
#include "routes-schemas.h"

static const char *role_word(guint role)
{
    switch (role) {
    case UCD_HTTP_ROLE_ADMIN:
        return "admin";
    case UCD_HTTP_ROLE_LEADER:
        return "leader";
    default:
        return "user";
    }
}

typedef struct me_scan {
    api_call *call;
    const char *user_id;
    JsonNode *user;
    gint64 levels[UCD_PERM_PERSONAL + 1];
    JsonArray *leads;
} me_scan;

static int me_cb(const ucd_directory_user *u, void *data)
{
    me_scan *s = data;
    s->user = routes_user_json(s->call, u, UCD_PERM_PERSONAL);
    return 1;
}

static int count_cb(const ucd_directory_user *u, void *data)
{
    me_scan *s = data;
    if (strcmp(u->id, s->user_id) != 0)
        s->levels[MIN(routes_user_level(s->call, u), UCD_PERM_PERSONAL)]++;
    return 0;
}

static int leads_cb(const ucd_directory_group *g, void *data)
{
    me_scan *s = data;
    for (const char *const *l = g->leaders; l && *l; l++)
        if (strcmp(*l, s->user_id) == 0)
            json_array_add_string_element(s->leads, g->id);
    return 0;
}

static void me_get(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    const api_principal *p = api_call_principal(call);
    me_scan s = {.call = call, .user_id = p->user_id};
    ctx->dir->get_user(ctx->dir_impl, p->user_id, me_cb, &s);
    if (s.user == NULL) {
        api_call_error(call, 404, API_ERR_NOT_FOUND, "your user '%s' is no longer in the directory",
                       p->user_id);
        return;
    }
    ctx->dir->foreach_user(ctx->dir_impl, 0, count_cb, &s);
    s.leads = json_array_new();
    ctx->dir->foreach_group(ctx->dir_impl, leads_cb, &s);

    JsonObject *o = json_node_get_object(s.user);
    json_object_set_string_member(o, "role", role_word(p->role));
    json_object_set_array_member(o, "leads", s.leads);
    JsonObject *levels = json_object_new();
    for (guint level = UCD_PERM_BLOCKED; level <= UCD_PERM_PERSONAL; level++)
        json_object_set_int_member(levels, ucd_perm_level_name(level), s.levels[level]);
    JsonObject *permissions = json_object_new();
    json_object_set_object_member(permissions, "users_by_level", levels);
    json_object_set_object_member(o, "permissions", permissions);
    api_call_respond(call, 200, s.user);
}

static const api_route_def me_routes[] = {
    {"GET", "/me", UCD_HTTP_ROLE_USER, NULL,
     "{\"summary\":\"The caller\",\"description\":\"The caller's own user with every field "
     "(level personal), their role, the groups they lead and how many other users they see at "
     "each permission level. Users only: an API key has no user.\",\"responses\":{\"200\":{"
     "\"description\":\"the "
     "caller\",\"content\":{\"application/json\":{\"schema\":{\"allOf\":[" USER_SCHEMA
     ",{\"type\":\"object\",\"properties\":{\"role\":{\"enum\":[\"user\",\"leader\","
     "\"admin\"]},\"leads\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"permissions\":"
     "{\"type\":\"object\",\"properties\":{\"users_by_level\":{\"type\":\"object\","
     "\"description\":\"other users per level the caller sees them at\",\"properties\":{"
     "\"blocked\":{\"type\":\"integer\"},\"public\":{\"type\":\"integer\"},\"business\":{"
     "\"type\":\"integer\"},\"team\":{\"type\":\"integer\"},\"personal\":{\"type\":"
     "\"integer\"}}}}}},\"required\":[\"role\",\"leads\",\"permissions\"]}]}}}},\"404\":{"
     "\"description\":\"the caller's user left the directory\"}}}",
     me_get},
};

gboolean api_routes_me_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, me_routes, G_N_ELEMENTS(me_routes), ctx, NULL, error);
}
