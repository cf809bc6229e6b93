/*
 * routes-model.c - the model's records as the client API's JSON, cut to the
 * caller's level (routes-model.h): users, lines, presence and live legs,
 * and the lookups and JSON helpers the routes of me, directory, presence
 * and calls share. The route files call down into this one and never into
 * each other.
 */
#include <string.h>
#include <time.h>

#include <ucd/pbx.h>

#include "routes-model.h"

/* Longest user id or login looked up: longer is none. */
#define QUERY_MAX 256

/* The words of UCD_PBX_CAP_* bits, in bit order, as `ucctl caps` writes them. */
static const char *const capability_words[] = {
    "monitor", "dial",   "answer", "hangup",  "hold", "transfer_blind", "transfer_consult",
    "deflect", "pickup", "dtmf",   "forward", "dnd",  "conference",
};

/* ---- JSON helpers ---- */

void routes_add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

void routes_add_strings(JsonBuilder *b, const char *name, const char *const *values)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (const char *const *v = values; v && *v; v++)
        json_builder_add_string_value(b, *v);
    json_builder_end_array(b);
}

const char *routes_iso_time(gint64 ms, char *buf, gsize size)
{
    struct tm tm;
    time_t seconds = (time_t)(ms / 1000);
    if (ms <= 0 || gmtime_r(&seconds, &tm) == NULL) {
        buf[0] = '\0';
        return buf;
    }
    g_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

void routes_add_time(JsonBuilder *b, const char *name, gint64 ms)
{
    char text[32];
    char *name_ms = g_strconcat(name, "_ms", NULL);
    routes_add_string(b, name, ms > 0 ? routes_iso_time(ms, text, sizeof text) : NULL);
    json_builder_set_member_name(b, name_ms);
    if (ms > 0)
        json_builder_add_int_value(b, ms);
    else
        json_builder_add_null_value(b);
    g_free(name_ms);
}

/* ---- levels ---- */

gboolean routes_is_key(api_call *call)
{
    const api_principal *p = api_call_principal(call);
    return p == NULL || p->user_id == NULL;
}

guint routes_level(api_call *call, const char *subject)
{
    const api_principal *p = api_call_principal(call);
    if (routes_is_key(call))
        return UCD_PERM_PERSONAL;
    if (subject == NULL)
        return p->role >= UCD_HTTP_ROLE_ADMIN ? UCD_PERM_PERSONAL : UCD_PERM_BLOCKED;
    if (strcmp(subject, p->user_id) == 0)
        return UCD_PERM_PERSONAL;
    return api_call_level(call, subject);
}

guint routes_user_level(api_call *call, const ucd_directory_user *u)
{
    guint level = routes_level(call, u->id);
    return !u->enabled && level < UCD_PERM_PERSONAL ? UCD_PERM_BLOCKED : level;
}

typedef struct user_find {
    api_call *call;
    char *id;
    gsize size;
    guint level;
} user_find;

static int find_user_cb(const ucd_directory_user *u, void *data)
{
    user_find *f = data;
    g_strlcpy(f->id, u->id, f->size);
    f->level = routes_user_level(f->call, u);
    return 1;
}

gboolean routes_find_user(api_call *call, const char *user, char *id, gsize size, guint *level)
{
    api_ctx *ctx = api_call_ctx(call);
    user_find f = {.call = call, .id = id, .size = size, .level = UCD_PERM_BLOCKED};
    id[0] = '\0';
    if (user && *user && strlen(user) <= QUERY_MAX)
        ctx->dir->get_user(ctx->dir_impl, user, find_user_cb, &f);
    if (id[0] == '\0' || f.level == UCD_PERM_BLOCKED) {
        api_call_error(call, 404, API_ERR_NOT_FOUND, "no user '%s'", user ? user : "");
        return FALSE;
    }
    *level = f.level;
    return TRUE;
}

/* ---- lines ---- */

typedef struct line_find {
    const char *driver; /* NULL: any */
    const char *address;
    ucd_directory_line_cb cb;
    void *data;
    guint found;
} line_find;

static int find_line_cb(const ucd_directory_line *l, void *data)
{
    line_find *f = data;
    f->found++;
    return f->cb(l, f->data);
}

int routes_find_line(api_ctx *ctx, const char *name, ucd_directory_line_cb cb, void *data)
{
    if (name == NULL || *name == '\0')
        return UCD_E_NOT_FOUND;
    /* "DRIVER/ADDRESS" when the part before the first slash is a driver
     * with that line; else the whole name is an address ("PJSIP/alice"). */
    const char *slash = strchr(name, '/');
    line_find f = {.cb = cb, .data = data};
    if (slash && slash[1]) {
        char *driver = g_strndup(name, (gsize)(slash - name));
        ctx->dir->get_line(ctx->dir_impl, driver, slash + 1, find_line_cb, &f);
        g_free(driver);
        if (f.found)
            return UCD_OK;
    }
    ctx->dir->get_line(ctx->dir_impl, NULL, name, find_line_cb, &f);
    return f.found ? UCD_OK : UCD_E_NOT_FOUND;
}

JsonNode *routes_line_json(const ucd_directory_line *l, guint level)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    char *id = g_strdup_printf("%s/%s", l->driver, l->address);
    routes_add_string(b, "id", id);
    g_free(id);
    routes_add_string(b, "driver", l->driver);
    routes_add_string(b, "address", l->address);
    routes_add_string(b, "number", l->number);
    routes_add_string(b, "name", l->name);
    routes_add_string(b, "user_id", l->user_id);
    routes_add_string(b, "state", ucd_line_state_word(l->state));
    if (level >= UCD_PERM_PERSONAL) {
        json_builder_set_member_name(b, "dnd");
        json_builder_add_boolean_value(b, l->dnd != 0);
        routes_add_string(b, "forward_to", l->forward_to);
        json_builder_set_member_name(b, "capabilities");
        json_builder_begin_array(b);
        for (guint i = 0; i < G_N_ELEMENTS(capability_words); i++)
            if (l->capabilities & (UINT64_C(1) << i))
                json_builder_add_string_value(b, capability_words[i]);
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

typedef struct line_add {
    JsonArray *items;
    guint level;
} line_add;

static int add_line_cb(const ucd_directory_line *l, void *data)
{
    line_add *a = data;
    json_array_add_element(a->items, routes_line_json(l, a->level));
    return 1;
}

/* ---- users ---- */

JsonNode *routes_user_json(api_call *call, const ucd_directory_user *u, guint level)
{
    api_ctx *ctx = api_call_ctx(call);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "id", u->id);
    routes_add_string(b, "login", u->login);
    routes_add_string(b, "display_name", u->display_name);
    routes_add_string(b, "level", ucd_perm_level_name(level));
    if (level >= UCD_PERM_PUBLIC) {
        routes_add_string(b, "given_name", u->given_name);
        routes_add_string(b, "surname", u->surname);
        routes_add_string(b, "email", u->email);
        routes_add_string(b, "department", u->department);
        routes_add_string(b, "title", u->title);
        routes_add_strings(b, "numbers", u->numbers);
        routes_add_strings(b, "groups", u->groups);
        json_builder_set_member_name(b, "presence");
        json_builder_add_value(b, routes_user_presence(ctx, u->id, level));
    }
    if (level >= UCD_PERM_BUSINESS) {
        JsonArray *lines = json_array_new();
        line_add a = {.items = lines, .level = level};
        for (const char *const *l = u->lines; l && *l; l++)
            routes_find_line(ctx, *l, add_line_cb, &a);
        json_builder_set_member_name(b, "lines");
        JsonNode *node = json_node_new(JSON_NODE_ARRAY);
        json_node_take_array(node, lines);
        json_builder_add_value(b, node);
        node = json_node_new(JSON_NODE_ARRAY);
        json_node_take_array(node, routes_user_legs(call, u->id));
        json_builder_set_member_name(b, "calls");
        json_builder_add_value(b, node);
    }
    if (level >= UCD_PERM_PERSONAL) {
        json_builder_set_member_name(b, "enabled");
        json_builder_add_boolean_value(b, u->enabled != 0);
        json_builder_set_member_name(b, "active_here");
        json_builder_add_boolean_value(b, u->active_here != 0);
        routes_add_string(b, "home_server", u->home_server);
        routes_add_string(b, "backend", u->backend);
        routes_add_strings(b, "e164", u->e164);
    }
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

gboolean routes_read_limit(api_call *call, guint *limit)
{
    const char *text = api_call_query(call, "limit");
    guint64 n = ROUTES_DEFAULT_LIMIT;
    if (text && !g_ascii_string_to_unsigned(text, 10, 1, ROUTES_MAX_LIMIT, &n, NULL)) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "limit: '%s' is not a number from 1 to %d", text, ROUTES_MAX_LIMIT);
        return FALSE;
    }
    *limit = (guint)n;
    return TRUE;
}

void routes_add_call_party(JsonBuilder *b, const char *member, const char *name,
                           const char *company)
{
    json_builder_set_member_name(b, member);
    if (!name && !company) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    routes_add_string(b, "name", name);
    routes_add_string(b, "company", company);
    json_builder_end_object(b);
}

/* ---- presence ---- */

JsonNode *routes_presence_json(const ucd_presence_info *info, guint level)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "user_id", info->user_id);
    routes_add_string(b, "state", ucd_presence_word(info->state));
    if (level >= UCD_PERM_BUSINESS) {
        routes_add_string(b, "note", info->note);
        routes_add_time(b, "until", info->until_ms);
        routes_add_string(b, "manual_state", ucd_presence_word(info->manual_state));
        routes_add_string(b, "line_state", ucd_presence_word(info->line_state));
        routes_add_string(b, "calendar_state", ucd_presence_word(info->calendar_state));
        gboolean has_party =
            info->struct_size >=
            G_STRUCT_OFFSET(ucd_presence_info, party_company) + sizeof info->party_company;
        routes_add_call_party(b, "on_call_with", has_party ? info->party_name : NULL,
                              has_party ? info->party_company : NULL);
    }
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

typedef struct presence_one {
    guint level;
    JsonNode *node;
} presence_one;

static int one_cb(const ucd_presence_info *info, void *data)
{
    presence_one *o = data;
    o->node = routes_presence_json(info, o->level);
    return 1;
}

JsonNode *routes_user_presence(api_ctx *ctx, const char *user_id, guint level)
{
    presence_one o = {.level = level};
    ctx->presence->get(ctx->presence_impl, user_id, one_cb, &o);
    return o.node ? o.node : json_node_new(JSON_NODE_NULL);
}

/* ---- GET ---- */

/* ---- legs ---- */

JsonNode *routes_leg_json(api_call *call, const ucd_call_leg *leg)
{
    const api_principal *p = api_call_principal(call);
    gboolean own = p && p->user_id && leg->user_id && strcmp(p->user_id, leg->user_id) == 0;
    gboolean masked = (leg->flags & UCD_CALL_FLAG_PRIVATE) && !own;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "driver", leg->driver);
    routes_add_string(b, "line", leg->line);
    routes_add_string(b, "user_id", leg->user_id);
    routes_add_string(b, "call_id", leg->call_id);
    routes_add_string(b, "conversation_id", leg->conversation_id);
    routes_add_string(b, "uuid", leg->uuid);
    routes_add_string(b, "state", ucd_call_state_word(leg->state));
    routes_add_string(b, "direction", ucd_call_direction_word(leg->direction));
    json_builder_set_member_name(b, "private");
    json_builder_add_boolean_value(b, (leg->flags & UCD_CALL_FLAG_PRIVATE) != 0);
    routes_add_string(b, "remote_number", masked ? ROUTES_MASKED_NUMBER : leg->remote_number);
    routes_add_string(b, "remote_name", masked ? NULL : leg->remote_name);
    routes_add_time(b, "since", leg->since_ms);
    /* calls 1.1: who the remote party is; null when unknown, withheld, or
     * from an older core. */
    gboolean has_party =
        leg->struct_size >= G_STRUCT_OFFSET(ucd_call_leg, party_user_id) + sizeof(char *);
    json_builder_set_member_name(b, "party");
    if (masked || !has_party || (!leg->party_name && !leg->party_company)) {
        json_builder_add_null_value(b);
    } else {
        json_builder_begin_object(b);
        routes_add_string(b, "name", leg->party_name);
        routes_add_string(b, "company", leg->party_company);
        routes_add_string(b, "source", leg->party_source);
        routes_add_string(b, "user_id", leg->party_user_id);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

typedef struct leg_list {
    api_call *call;
    JsonArray *items;
    gboolean check_level; /* FALSE: the caller may see every leg asked for */
} leg_list;

static int add_leg_cb(const ucd_call_leg *leg, void *data)
{
    leg_list *l = data;
    if (!l->check_level || routes_level(l->call, leg->user_id) >= UCD_PERM_BUSINESS)
        json_array_add_element(l->items, routes_leg_json(l->call, leg));
    return 0;
}

JsonArray *routes_legs(api_call *call, const char *user_id, gboolean check_level)
{
    api_ctx *ctx = api_call_ctx(call);
    leg_list l = {.call = call, .items = json_array_new(), .check_level = check_level};
    ctx->calls->foreach_leg(ctx->calls_impl, user_id, add_leg_cb, &l);
    return l.items;
}

JsonArray *routes_user_legs(api_call *call, const char *user_id)
{
    return routes_legs(call, user_id, FALSE);
}
