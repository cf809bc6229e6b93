/*
 * routes-calls.c - live calls and call control for clients: GET /calls (the
 * legs the caller may see) and POST /calls {action, ...}, every action of
 * the calls service's control(); and the leg object of routes-model.h.
 *
 * Call control is checked in one place, the calls service: the caller's
 * user id goes in as the actor, and the service decides whether that user
 * may act on the line (their own; pickup with TEAM, forward and DND with
 * PERSONAL on another's), whether the line has the capability, and says
 * what is wrong in its message, which the answer carries. An administrator
 * acts as the console's administrator does (ucctl; ucd/calls.h: actor
 * NULL): on any line, the line's user's too, and the call stays the line's
 * (its number, its journal); the log names the administrator, for the
 * audit. That is what the API already grants admins to see (every user at
 * PERSONAL), and what an operator expects of a PBX's admin console: end a
 * stuck call, switch off a forward left behind. An API key has no user: it
 * acts as the system, so this file holds it to the lines of the users the
 * key lists (and, for a pickup, to their ringing calls) before the service
 * is asked. What this file checks itself is the shape
 * of the request: the action word, each member's type, and members the
 * action does not take (a client that sends digits with a dial has a bug
 * it should hear about).
 */
#include <string.h>

#include <ucd/pbx.h>

#include "api-router.h"
#include "api-routes.h"
#include "routes-model.h"
#include "routes-schemas.h"

/* The request's members beside action, line and user. */
enum {
    TAKES_CALL = 1 << 0,
    TAKES_OTHER_CALL = 1 << 1,
    TAKES_NUMBER = 1 << 2,
    TAKES_TARGET = 1 << 3,
    TAKES_DIGITS = 1 << 4,
    TAKES_FORWARD_TYPE = 1 << 5,
    TAKES_ON = 1 << 6,
};

typedef struct call_action {
    const char *word;
    guint action; /* ucd_call_action */
    guint takes;
} call_action;

static const call_action actions[] = {
    {"dial", UCD_CALL_DIAL, TAKES_NUMBER},
    {"answer", UCD_CALL_ANSWER, TAKES_CALL},
    {"hangup", UCD_CALL_HANGUP, TAKES_CALL},
    {"hold", UCD_CALL_HOLD, TAKES_CALL},
    {"retrieve", UCD_CALL_RETRIEVE, TAKES_CALL},
    {"transfer", UCD_CALL_TRANSFER, TAKES_CALL | TAKES_NUMBER},
    {"consult_transfer", UCD_CALL_CONSULT_TRANSFER, TAKES_CALL | TAKES_OTHER_CALL},
    {"deflect", UCD_CALL_DEFLECT, TAKES_CALL | TAKES_NUMBER},
    {"pickup", UCD_CALL_PICKUP, TAKES_TARGET},
    {"dtmf", UCD_CALL_DTMF, TAKES_CALL | TAKES_DIGITS},
    {"forward", UCD_CALL_FORWARD, TAKES_FORWARD_TYPE | TAKES_NUMBER},
    {"dnd", UCD_CALL_DND, TAKES_ON},
};
#define ACTION_WORDS                                                                               \
    "dial, answer, hangup, hold, retrieve, transfer, consult_transfer, deflect, pickup, dtmf, "    \
    "forward, dnd"

/* The members and what each is: the request's string members end up in
 * the service's 128-byte result fields, so longer is refused here. */
typedef struct member_def {
    const char *name;
    guint bit; /* TAKES_*; 0: every action takes it */
} member_def;

static const member_def members[] = {
    {"action", 0},
    {"line", 0},
    {"user", 0},
    {"call_id", TAKES_CALL},
    {"other_call_id", TAKES_OTHER_CALL},
    {"number", TAKES_NUMBER},
    {"target", TAKES_TARGET},
    {"digits", TAKES_DIGITS},
    {"forward_type", TAKES_FORWARD_TYPE},
    {"on", TAKES_ON},
};
static const char *const member_names[] = {"action",        "line",   "user",   "call_id",
                                           "other_call_id", "number", "target", "digits",
                                           "forward_type",  "on",     NULL};
#define STRING_MAX 127

static const char *const forward_types[] = {[UCD_FORWARD_UNCONDITIONAL] = "unconditional",
                                            [UCD_FORWARD_BUSY] = "busy",
                                            [UCD_FORWARD_NO_ANSWER] = "no_answer"};

/* ---- GET /calls ---- */

static void calls_list(api_call *call, gpointer data)
{
    (void)data;
    const char *user = api_call_query(call, "user");
    char id[512];
    guint level = 0;
    if (user) {
        if (!routes_find_user(call, user, id, sizeof id, &level))
            return;
        if (level < UCD_PERM_BUSINESS) {
            api_call_error(call, 403, API_ERR_FORBIDDEN,
                           "the calls of '%s' need the business level (you have %s)", user,
                           ucd_perm_level_name(level));
            return;
        }
    }
    JsonArray *items = routes_legs(call, user ? id : NULL, TRUE);
    api_call_respond_list(call, items, json_array_get_length(items), NULL);
}

/* ---- reading a control request ---- */

static const call_action *find_action(const char *word)
{
    for (guint i = 0; word && i < G_N_ELEMENTS(actions); i++)
        if (strcmp(actions[i].word, word) == 0)
            return &actions[i];
    return NULL;
}

static gboolean is_string(JsonNode *node)
{
    return node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

/* Each member the action takes has the right type; none it does not take
 * is there. FALSE after answering 400. */
static gboolean check_members(api_call *call, JsonObject *body, const call_action *act)
{
    for (guint i = 0; i < G_N_ELEMENTS(members); i++) {
        const member_def *m = &members[i];
        JsonNode *node = json_object_get_member(body, m->name);
        if (node == NULL)
            continue;
        if (m->bit && !(act->takes & m->bit)) {
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "%s: not taken by %s", m->name,
                           act->word);
            return FALSE;
        }
        if (m->bit == TAKES_ON) {
            if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
                api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "on: true or false");
                return FALSE;
            }
            continue;
        }
        /* forward: a null number clears the forward. */
        if (m->bit == TAKES_NUMBER && act->action == UCD_CALL_FORWARD && JSON_NODE_HOLDS_NULL(node))
            continue;
        if (!is_string(node) || *json_node_get_string(node) == '\0' ||
            strlen(json_node_get_string(node)) > STRING_MAX) {
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "%s: a string of 1 to %d bytes%s",
                           m->name, STRING_MAX,
                           act->action == UCD_CALL_FORWARD && m->bit == TAKES_NUMBER
                               ? " (null clears the forward)"
                               : "");
            return FALSE;
        }
    }
    if ((act->takes & TAKES_ON) && !json_object_has_member(body, "on")) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "on: missing; true or false");
        return FALSE;
    }
    return TRUE;
}

static const char *member_string(JsonObject *body, const char *name)
{
    JsonNode *node = json_object_get_member(body, name);
    return is_string(node) ? json_node_get_string(node) : NULL;
}

static gboolean read_forward_type(api_call *call, JsonObject *body, guint32 *type)
{
    const char *word = member_string(body, "forward_type");
    *type = UCD_FORWARD_UNCONDITIONAL;
    for (guint i = 0; word && i < G_N_ELEMENTS(forward_types); i++) {
        if (strcmp(word, forward_types[i]) == 0) {
            *type = i;
            return TRUE;
        }
    }
    if (word == NULL)
        return TRUE;
    api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                   "forward_type: '%s' is not one of unconditional, busy, no_answer", word);
    return FALSE;
}

/* ---- an API key's users ---- */

static int line_owner_cb(const ucd_directory_line *l, void *data)
{
    g_strlcpy(data, l->user_id ? l->user_id : "", 512);
    return 1;
}

static int user_id_cb(const ucd_directory_user *u, void *data)
{
    g_strlcpy(data, u->id, 512);
    return 1;
}

/* Whose is `name`, a line (`as_line`) or else a user: their id into
 * `owner` (512 bytes, "" for a line without a user). FALSE when it is
 * neither. */
static gboolean owner_of(api_ctx *ctx, const char *name, gboolean as_line, gboolean as_user,
                         char *owner)
{
    owner[0] = '\0';
    if (as_line && routes_find_line(ctx, name, line_owner_cb, owner) == UCD_OK)
        return TRUE;
    return as_user && ctx->dir->get_user(ctx->dir_impl, name, user_id_cb, owner) == UCD_OK &&
           owner[0] != '\0';
}

static gboolean key_lists(const api_principal *p, const char *user_id)
{
    for (char **u = p->users; u && *u && *user_id; u++)
        if (strcmp(*u, user_id) == 0)
            return TRUE;
    return FALSE;
}

/* An API key acts on its listed users' lines only; FALSE after answering
 * 403 (or 404 for what names nothing). */
static gboolean key_may(api_call *call, const char *what, const char *name, gboolean as_line,
                        gboolean as_user)
{
    const api_principal *p = api_call_principal(call);
    char owner[512];
    if (!owner_of(api_call_ctx(call), name, as_line, as_user, owner)) {
        api_call_error(call, 404, API_ERR_NOT_FOUND, "%s: no %s '%s'", what,
                       as_line && as_user ? "line or user"
                       : as_line          ? "line"
                                          : "user",
                       name);
        return FALSE;
    }
    if (key_lists(p, owner))
        return TRUE;
    api_call_error(call, 403, API_ERR_FORBIDDEN,
                   "%s: the API key '%s' may control only the lines of the users it lists, and "
                   "'%s' is %s",
                   what, p->key_name ? p->key_name : "", name,
                   owner[0] ? "not one of theirs" : "no user's line");
    return FALSE;
}

static gboolean key_checks(api_call *call, const ucd_call_request *req)
{
    if (req->line == NULL && req->user == NULL) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                       "line or user: an API key names the line or the user to act on");
        return FALSE;
    }
    if (req->line && !key_may(call, "line", req->line, TRUE, FALSE))
        return FALSE;
    if (req->user && !key_may(call, "user", req->user, FALSE, TRUE))
        return FALSE;
    return req->target == NULL || key_may(call, "target", req->target, TRUE, TRUE);
}

/* ---- POST /calls ---- */

static void calls_control(api_call *call, gpointer data)
{
    api_ctx *ctx = data;
    const api_principal *p = api_call_principal(call);
    JsonObject *body = api_call_json_object(call, member_names);
    if (body == NULL)
        return;
    JsonNode *action_node = json_object_get_member(body, "action");
    const call_action *act =
        is_string(action_node) ? find_action(json_node_get_string(action_node)) : NULL;
    if (act == NULL) {
        if (action_node == NULL)
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                           "action: missing; one of " ACTION_WORDS);
        else if (!is_string(action_node))
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                           "action: a string, one of " ACTION_WORDS);
        else
            api_call_error(call, 400, API_ERR_INVALID_ARGUMENT,
                           "action: '%s' is not one of " ACTION_WORDS,
                           json_node_get_string(action_node));
        return;
    }
    ucd_call_request req = {.struct_size = sizeof req, .action = act->action};
    if (!check_members(call, body, act) || !read_forward_type(call, body, &req.forward_type))
        return;
    req.line = member_string(body, "line");
    req.user = member_string(body, "user");
    req.call_id = member_string(body, "call_id");
    req.other_call_id = member_string(body, "other_call_id");
    req.number = member_string(body, "number");
    req.target = member_string(body, "target");
    req.digits = member_string(body, "digits");
    req.on = json_object_has_member(body, "on") && json_object_get_boolean_member(body, "on");
    if (routes_is_key(call)) {
        if (!key_checks(call, &req))
            return;
    } else {
        req.actor = p->role >= UCD_HTTP_ROLE_ADMIN ? NULL : p->user_id;
        if (req.line == NULL && req.user == NULL)
            req.user = p->user_id;
    }

    ucd_call_result res = {.struct_size = sizeof res};
    int rc = ctx->calls->control(ctx->calls_impl, &req, &res);
    if (rc != UCD_OK) {
        api_call_error_ucd(call, rc, res.message[0] ? res.message : NULL);
        return;
    }
    if (!routes_is_key(call) && req.actor == NULL)
        ucd_notice(ctx->host, ctx->self, "admin %s: %s on line %s of %s", p->login, act->word,
                   res.line[0] ? res.line : "(none)", res.driver[0] ? res.driver : "(no driver)");
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    routes_add_string(b, "action", act->word);
    routes_add_string(b, "driver", res.driver[0] ? res.driver : NULL);
    routes_add_string(b, "line", res.line[0] ? res.line : NULL);
    routes_add_string(b, "call_id", res.call_id[0] ? res.call_id : req.call_id);
    json_builder_end_object(b);
    api_call_respond(call, 202, json_builder_get_root(b));
    g_object_unref(b);
}

/* ---- the routes ---- */

#define CONTROL_BODY_SCHEMA                                                                        \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"action\"],"               \
    "\"description\":\"Members an action does not take are refused (400). The line: line "         \
    "(DRIVER/ADDRESS, or an address on one driver only) or user (id or login: their first line "   \
    "with the capability, for answer, hangup ... the line the call is on); neither: the "          \
    "caller's own (an API key must name one).\",\"properties\":{\"action\":{\"enum\":[\"dial\","   \
    "\"answer\",\"hangup\",\"hold\",\"retrieve\",\"transfer\",\"consult_transfer\",\"deflect\","   \
    "\"pickup\",\"dtmf\",\"forward\",\"dnd\"]},\"line\":{\"type\":\"string\"},\"user\":{"          \
    "\"type\":\"string\"},\"call_id\":{\"type\":\"string\",\"description\":\"answer, hangup, "     \
    "hold, retrieve, transfer, deflect, dtmf; consult_transfer: the held call\"},"                 \
    "\"other_call_id\":{\"type\":\"string\",\"description\":\"consult_transfer: the active "       \
    "call\"},\"number\":{\"type\":[\"string\",\"null\"],\"description\":\"dial, transfer, "        \
    "deflect; forward: the destination, null clears\"},\"target\":{\"type\":\"string\","           \
    "\"description\":\"pickup: the line or user whose call rings\"},\"digits\":{\"type\":"         \
    "\"string\",\"description\":\"dtmf\"},\"forward_type\":{\"enum\":[\"unconditional\","          \
    "\"busy\",\"no_answer\"],\"default\":\"unconditional\"},\"on\":{\"type\":\"boolean\","         \
    "\"description\":\"dnd (required)\"}}}"

static const api_route_def calls_routes[] = {
    {"GET", "/calls", UCD_HTTP_ROLE_USER, "calls:read",
     "{\"summary\":\"Live calls the caller may see\",\"description\":\"Every live leg on a line "
     "of a user the caller sees at BUSINESS or more (lines without a user: admins and API keys), "
     "by driver, line and call id.\",\"parameters\":[{\"name\":\"user\",\"in\":\"query\","
     "\"description\":\"only this user's lines (id or login)\",\"schema\":{\"type\":\"string\"}}],"
     "\"responses\":{\"200\":{\"description\":\"the legs\",\"content\":{\"application/json\":{"
     "\"schema\":" LIST_OF(LEG_SCHEMA, NULL_NEXT) "}}},\"403\":{\"description\":\"the caller sees "
                                                  "user below BUSINESS\"},\"404\":{"
                                                  "\"description\":\"no such user\"}}}",
     calls_list},
    {"POST", "/calls", UCD_HTTP_ROLE_USER, "calls:control",
     "{\"summary\":\"Call control\",\"description\":\"One action on a line, checked by the calls "
     "service with the caller as actor: their own lines; pickup with TEAM, forward and dnd with "
     "PERSONAL on another's. An admin acts as ucctl does, on any line (the call stays the "
     "line's; the log names the admin). An API key (calls:control) acts as the system on the "
     "lines of the users it lists only. Accepted means the PBX took it: what follows arrives as "
     "call events "
     "and in GET /calls. Errors carry the service's message.\",\"requestBody\":{\"required\":"
     "true,\"content\":{\"application/json\":{\"schema\":" CONTROL_BODY_SCHEMA "}}},"
     "\"responses\":{\"202\":{\"description\":\"accepted by the PBX\",\"content\":{"
     "\"application/json\":{\"schema\":{\"type\":\"object\",\"properties\":{\"action\":{\"type\":"
     "\"string\"},\"driver\":{\"type\":[\"string\",\"null\"]},\"line\":{\"type\":[\"string\","
     "\"null\"]},\"call_id\":{\"type\":[\"string\",\"null\"],\"description\":\"dial: the new "
     "leg; else the call acted on\"}}}}}},\"400\":{\"description\":\"a wrong action or member, "
     "or the request as the service refused it\"},\"403\":{\"description\":\"the caller may not "
     "act on that line\"},\"404\":{\"description\":\"no such line, user or call\"},\"409\":{"
     "\"description\":\"the driver is busy\"},\"422\":{\"description\":\"the line lacks the "
     "capability\"},\"503\":{\"description\":\"the driver or the PBX is down\"}}}",
     calls_control},
};

gboolean api_routes_calls_register(api_router *r, api_ctx *ctx, GError **error)
{
    return api_router_add(r, calls_routes, G_N_ELEMENTS(calls_routes), ctx, NULL, error);
}
