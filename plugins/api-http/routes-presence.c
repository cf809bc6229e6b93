/*
 * routes-presence.c - presence for clients: GET /presence (everyone the
 * caller may see), GET /presence/{user}, PUT /presence/{user} (set the
 * manual part) and DELETE /presence/{user} (clear it). The presence
 * object is routes-model.c's.
 *
 * Who may set whose presence is the presence service's decision, not this
 * file's: it is asked with the caller's user id as the actor (an API key
 * with presence:write acts as the system), so the API, ucctl and every other
 * front end follow one rule (PERSONAL on the user, or the user themselves).
 * This file checks only what a client sent: the state word, the note, the
 * end time, each error naming the field.
 */
#include <string.h>

#include "api-answer-cache.h"
#include "api-router.h"
#include "api-routes.h"
#include "routes-model.h"
#include "routes-schemas.h"

/* The longest note taken, in bytes: a status line, not a letter. */
#define NOTE_MAX 256

/* The states a client may set, and their words (ucd_presence_word's). */
static const guint settable_states[] = {UCD_PRESENCE_AVAILABLE, UCD_PRESENCE_AWAY,
                                        UCD_PRESENCE_BUSY, UCD_PRESENCE_DND,
                                        UCD_PRESENCE_OUT_OF_OFFICE};
#define SETTABLE_WORDS "available, away, busy, dnd, out_of_office"

/* The list is made of fragments kept by their inputs (api-answer-cache.h):
 * a first pass writes every visible user's key into `inputs`, and an
 * unchanged list is answered from that alone; else a second pass looks up
 * (or builds) each user's fragment. */
typedef struct presence_list {
    api_call *call;
    api_answer_cache *cache;
    GString *inputs;          /* every record's key, in order */
    api_fragment_list *items; /* second pass; NULL in the first */
    GString *key;
    gint64 total;
} presence_list;

typedef struct presence_view {
    const ucd_presence_info *info;
    guint level;
} presence_view;

static JsonNode *build_presence(gpointer data)
{
    presence_view *v = data;
    return routes_presence_json(v->info, v->level);
}

/* Every value routes_presence_json reads, and the level it cuts to. */
static void presence_key(GString *key, const ucd_presence_info *info, guint level)
{
    api_key_string(key, "presence");
    api_key_int(key, level);
    api_key_string(key, info->user_id);
    api_key_int(key, info->state);
    api_key_int(key, info->manual_state);
    api_key_int(key, info->line_state);
    api_key_int(key, info->calendar_state);
    api_key_string(key, info->note);
    api_key_int(key, info->until_ms);
    gboolean has_party = info->struct_size >= G_STRUCT_OFFSET(ucd_presence_info, party_company) +
                                                  sizeof info->party_company;
    api_key_string(key, has_party ? info->party_name : NULL);
    api_key_string(key, has_party ? info->party_company : NULL);
}

static int list_cb(const ucd_presence_info *info, void *data)
{
    presence_list *l = data;
    guint level = routes_level(l->call, info->user_id);
    if (level < UCD_PERM_PUBLIC)
        return 0;
    l->total++;
    gsize start = l->inputs->len;
    presence_key(l->inputs, info, level);
    if (l->items) {
        g_string_truncate(l->key, 0);
        g_string_append_len(l->key, l->inputs->str + start, (gssize)(l->inputs->len - start));
        presence_view view = {.info = info, .level = level};
        api_fragment_list_add(l->items,
                              api_answer_cache_fragment(l->cache, l->key, build_presence, &view));
    }
    return 0;
}

static void presence_list_all(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    presence_list l = {
        .call = call, .cache = api_answer_cache_of(ctx), .inputs = g_string_sized_new(8192)};
    ctx->presence->foreach (ctx->presence_impl, list_cb, &l);
    api_key_int(l.inputs, l.total);
    if (!api_call_respond_kept(call, l.inputs)) {
        g_string_truncate(l.inputs, 0);
        l.total = 0;
        l.items = api_fragment_list_new();
        l.key = g_string_sized_new(256);
        ctx->presence->foreach (ctx->presence_impl, list_cb, &l);
        api_key_int(l.inputs, l.total);
        api_call_respond_fragments_keyed(call, l.items, l.total, NULL, l.inputs);
        g_string_free(l.key, TRUE);
    }
    g_string_free(l.inputs, TRUE);
}

/* Answers the presence of the user of the path, or 404 when there is none
 * (a user not active on this server has no presence). */
static void respond_presence(api_call *call, api_ctx *ctx, const char *id, guint level)
{
    JsonNode *node = routes_user_presence(ctx, id, level);
    if (JSON_NODE_HOLDS_NULL(node)) {
        json_node_unref(node);
        api_call_error(call, 404, API_ERR_NOT_FOUND, "'%s' has no presence on this server",
                       api_call_param(call, "user"));
        return;
    }
    api_call_respond(call, 200, node);
}

static void presence_get(api_call *call, gpointer data)
{
    char id[512];
    guint level = 0;
    if (routes_find_user(call, api_call_param(call, "user"), id, sizeof id, &level))
        respond_presence(call, data, id, level);
}

/* ---- PUT and DELETE ---- */

static gboolean read_state(api_call *call, JsonObject *body, guint *state)
{
    JsonNode *node = json_object_get_member(body, "state");
    const char *word =
        node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING
            ? json_node_get_string(node)
            : NULL;
    for (guint i = 0; word && i < G_N_ELEMENTS(settable_states); i++) {
        if (strcmp(word, ucd_presence_word(settable_states[i])) == 0) {
            *state = settable_states[i];
            return TRUE;
        }
    }
    if (node == NULL)
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "state: missing; one of " SETTABLE_WORDS);
    else if (word == NULL)
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "state: a string, one of " SETTABLE_WORDS);
    else
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "state: '%s' is not one of " SETTABLE_WORDS, word);
    return FALSE;
}

static gboolean read_note(api_call *call, JsonObject *body, const char **note)
{
    JsonNode *node = json_object_get_member(body, "note");
    *note = NULL;
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING &&
        strlen(json_node_get_string(node)) <= NOTE_MAX) {
        *note = json_node_get_string(node);
        return TRUE;
    }
    api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                   "note: a string of at most %d bytes, or null", NOTE_MAX);
    return FALSE;
}

/* ISO 8601 with a date and a time (UTC unless it names an offset). */
static gboolean parse_iso_ms(const char *text, gint64 *ms)
{
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *t = g_date_time_new_from_iso8601(text, utc);
    g_time_zone_unref(utc);
    if (t == NULL)
        return FALSE;
    *ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
    g_date_time_unref(t);
    return TRUE;
}

static gboolean read_until(api_call *call, JsonObject *body, gint64 *until_ms)
{
    JsonNode *node = json_object_get_member(body, "until");
    *until_ms = 0;
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return TRUE;
    GType type = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
    gboolean ok = FALSE;
    if (type == G_TYPE_INT64) {
        *until_ms = json_node_get_int(node);
        ok = TRUE;
    } else if (type == G_TYPE_STRING) {
        ok = parse_iso_ms(json_node_get_string(node), until_ms);
    }
    if (!ok) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "until: an ISO 8601 time (2026-03-05T17:00:00Z) or milliseconds since "
                       "1970, or null for open-ended");
        return FALSE;
    }
    if (*until_ms <= g_get_real_time() / 1000) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "until: must be in the future");
        return FALSE;
    }
    return TRUE;
}

/* The caller as the presence service's actor: a user's id, NULL (the
 * system) for an API key. */
static const char *actor_of(api_call *call)
{
    const api_principal *p = api_call_principal(call);
    return p ? p->user_id : NULL;
}

/* Answers the presence service's refusal of a change to `user`. */
static void change_error(api_call *call, int rc, const char *user, guint level)
{
    char *message = NULL;
    switch (rc) {
    case UCD_E_DENIED:
        message = g_strdup_printf("changing the presence of '%s' needs the personal level (you "
                                  "have %s)",
                                  user, ucd_perm_level_name(level));
        break;
    case UCD_E_NOT_FOUND:
        message = g_strdup_printf("'%s' has no presence on this server", user);
        break;
    case UCD_E_INVALID:
        message = g_strdup("the presence service refused the state, note or until");
        break;
    default:
        break;
    }
    api_call_error_ucd(call, rc, message);
    g_free(message);
}

static void presence_put(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    static const char *const allowed[] = {"state", "note", "until", NULL};
    const char *user = api_call_param(call, "user");
    char id[512];
    guint level = 0, state = 0;
    const char *note = NULL;
    gint64 until_ms = 0;
    if (!routes_find_user(call, user, id, sizeof id, &level))
        return;
    JsonObject *body = api_call_json_object(call, allowed);
    if (body == NULL || !read_state(call, body, &state) || !read_note(call, body, &note) ||
        !read_until(call, body, &until_ms))
        return;
    int rc =
        ctx->presence->set_manual(ctx->presence_impl, actor_of(call), id, state, note, until_ms);
    if (rc != UCD_OK)
        change_error(call, rc, user, level);
    else
        respond_presence(call, ctx, id, level);
}

static void presence_delete(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    const char *user = api_call_param(call, "user");
    char id[512];
    guint level = 0;
    if (!routes_find_user(call, user, id, sizeof id, &level))
        return;
    int rc = ctx->presence->clear_manual(ctx->presence_impl, actor_of(call), id);
    if (rc != UCD_OK)
        change_error(call, rc, user, level);
    else
        respond_presence(call, ctx, id, level);
}

/* ---- the routes ---- */

#define USER_PARAMETER PATH_PARAM("user", "a user id or login")

static const api_route_def presence_routes[] = {
    {"GET", "/presence", UCD_HTTP_ROLE_USER, "presence:read",
     "{\"summary\":\"Presence of everyone the caller may see\",\"description\":\"Every user "
     "active on this server whom the caller sees at PUBLIC or more, by login; note, until and "
     "the parts need BUSINESS.\",\"responses\":{" LIST_200("the presence of each user",
                                                           PRESENCE_SCHEMA, NULL_NEXT) "}}",
     presence_list_all},
    {"GET", "/presence/{user}", UCD_HTTP_ROLE_USER, "presence:read",
     "{\"summary\":\"Presence of one user\",\"parameters\":[" USER_PARAMETER
     "],\"responses\":{" OBJECT_200("the presence", PRESENCE_SCHEMA) ",\"404\":{\"description\":"
                                                                     "\"no such user, one the "
                                                                     "caller may not see, or "
                                                                     "no presence here\"}}}",
     presence_get},
    {"PUT", "/presence/{user}", UCD_HTTP_ROLE_USER, "presence:write",
     "{\"summary\":\"Set a user's manual presence\",\"description\":\"Oneself, or another user "
     "on whom the caller has PERSONAL (the presence service decides, with the caller as "
     "actor; an API key acts as the system).\",\"parameters\":[" USER_PARAMETER
     "],\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
     "\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"state\"],"
     "\"properties\":{\"state\":{\"enum\":[\"available\",\"away\",\"busy\",\"dnd\","
     "\"out_of_office\"]},\"note\":{\"type\":[\"string\",\"null\"],\"maxLength\":256},"
     "\"until\":{\"description\":\"the end, in the future: ISO 8601 (UTC unless it has an "
     "offset) or milliseconds since 1970; null or absent: open-ended\",\"oneOf\":[{\"type\":"
     "\"string\",\"format\":\"date-time\"},{\"type\":\"integer\"},{\"type\":\"null\"}]}}}}}},"
     "\"responses\":{" OBJECT_200("the presence after the change",
                                  PRESENCE_SCHEMA) ",\"400\":{\"description\":\"a wrong state, "
                                                   "note or until; unknown fields\"},\"403\":{"
                                                   "\"description\":\"the caller may not "
                                                   "change it\"},\"404\":{\"description\":\"no "
                                                   "such user here\"}}}",
     presence_put},
    {"DELETE", "/presence/{user}", UCD_HTTP_ROLE_USER, "presence:write",
     "{\"summary\":\"Clear a user's manual presence\",\"description\":\"Who may: as PUT.\","
     "\"parameters\":[" USER_PARAMETER "],\"responses\":{" OBJECT_200(
         "the presence after the change",
         PRESENCE_SCHEMA) ",\"403\":{\"description\":\"the caller may not change it\"},\"404\":{"
                          "\"description\":\"no such user here\"}}}",
     presence_delete},
};

gboolean api_routes_presence_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, presence_routes, G_N_ELEMENTS(presence_routes), ctx, NULL, error);
}
