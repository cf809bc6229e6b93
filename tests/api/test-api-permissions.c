/*
 * test-api-permissions.c - every route of the client API, as a caller of
 * each kind, against the real ucd: nothing leaks.
 *
 * The routes come from GET /openapi.json, not from a list kept here: each
 * operation the document names must have a row in the table below (a route
 * without one fails the test, so a new route cannot skip the check), and the
 * row's role and API-key scope must be the ones the document states. The
 * row gives the status each caller must get:
 *   SELF      bob, the subject of the secrets below
 *   PUBLIC    dave, who sees bob at public (the default)
 *   BUSINESS  carol, sales like bob (business among itself)
 *   TEAM      dave again after an admin rule raised him to team on bob
 *   PERSONAL  dave after one raised him to personal
 *   ADMIN     alice (file:admins)
 *   KEY       an API key with every scope, listing bob for call control
 *   KEYNO     an API key with analytics:read only
 *   ANON      no token
 * and every answer (and every event of the stream) is searched for what
 * that caller may not see of bob:
 *   the withheld number of bob's live call: bob only (admins and keys
 *     neither: a live private number is masked for all but the line's user)
 *   the withheld numbers of bob's finished calls (one before the walk,
 *     one refused at each stream check), and the masked form journal-sqlite
 *     stores of them: bob and admins (the journal's rule; keys never)
 *   bob's presence note: business and above
 *   structurally, in any object about bob or his line 202: lines and calls
 *     need business; DND, forward, enabled, backend, E.164 need personal; a
 *     presence's note, until and parts need business
 * Bodies of routes only an admin may call (the support bundle holds the
 * daemon's log) are not searched for the admin.
 */
#include "routes-check.h"

#define LIVE_NUMBER  "+4930555000111"
#define ENDED_NUMBER "+4930555000222"
#define EVENT_NUMBER "+4930555000333"
#define NOTE         "note-7f3a-secret"
/* What journal-sqlite keeps of those private numbers (private_numbers =
 * mask, its default): still the caller's number to all but bob and admins */
#define STORED_NUMBER "493055500xxxx"

typedef enum viewer_kind {
    V_SELF,
    V_PUBLIC,
    V_BUSINESS,
    V_TEAM,
    V_PERSONAL,
    V_ADMIN,
    V_KEY,
    V_KEYNO,
    V_ANON,
    V_COUNT
} viewer_kind;

static const char *const viewer_names[] = {"self (bob)",  "public (dave)",   "business (carol)",
                                           "team (dave)", "personal (dave)", "admin (alice)",
                                           "key (all)",   "key (no scope)",  "anonymous"};

/* What each caller may see of bob (permissions.h levels; 0: nothing). */
static const int viewer_level[] = {4, 1, 2, 3, 4, 4, 4, 0, 0};

enum {
    FRESH_TOKEN = 1 << 0,      /* the route ends the session: a new login for it */
    ADMIN_RAW = 1 << 1,        /* an admin's raw data: no search of the admin's answer */
    RESTORE_PRESENCE = 1 << 2, /* the route may change bob's presence: set it back */
};

typedef struct route_row {
    const char *method;
    const char *path;    /* as the OpenAPI document names it */
    const char *role;    /* x-ucd-role */
    const char *scope;   /* x-ucd-scope, NULL: none */
    const char *request; /* the path to request ({driver} {uuid} {day_before} {day_after}
                            replaced) */
    const char *body;
    guint status[V_COUNT];
    guint flags;
} route_row;

/* SELF PUBLIC BUSINESS TEAM PERSONAL ADMIN KEY KEYNO ANON */
#define ALL_USERS(s)                                                                               \
    {                                                                                              \
        s, s, s, s, s, s, 403, 403, 401                                                            \
    }
#define USERS_AND_KEY(s)                                                                           \
    {                                                                                              \
        s, s, s, s, s, s, s, 403, 401                                                              \
    }
#define ANYONE(s)                                                                                  \
    {                                                                                              \
        s, s, s, s, s, s, s, s, s                                                                  \
    }
#define ADMIN_ONLY(s)                                                                              \
    {                                                                                              \
        403, 403, 403, 403, 403, s, 403, 403, 401                                                  \
    }

static const route_row routes[] = {
    {"GET", "/health", "anyone", NULL, "/health", NULL, ANYONE(200), 0},
    {"GET", "/openapi.json", "anyone", NULL, "/openapi.json", NULL, ANYONE(200), 0},
    {"POST", "/auth/login", "anyone", NULL, "/auth/login",
     "{\"login\":\"carol\",\"password\":\"pw-carol\"}", ANYONE(200), 0},
    {"POST", "/auth/refresh", "anyone", NULL, "/auth/refresh",
     "{\"refresh_token\":\"ucdr_not-a-token\"}", ANYONE(401), 0},
    {"POST", "/auth/logout", "user", NULL, "/auth/logout", NULL, ALL_USERS(204), FRESH_TOKEN},
    {"GET", "/auth/sessions", "user", NULL, "/auth/sessions", NULL, ALL_USERS(200), 0},
    {"DELETE", "/auth/sessions/{id}", "user", NULL, "/auth/sessions/no-such-session", NULL,
     ALL_USERS(404), 0},
    {"GET", "/me", "user", NULL, "/me", NULL, ALL_USERS(200), 0},
    {"GET", "/users", "user", "directory:read", "/users", NULL, USERS_AND_KEY(200), 0},
    {"GET", "/users/{id}", "user", "directory:read", "/users/bob", NULL, USERS_AND_KEY(200), 0},
    {"GET", "/groups", "user", "directory:read", "/groups", NULL, USERS_AND_KEY(200), 0},
    {"GET", "/groups/{id}", "user", "directory:read", "/groups/file:sales", NULL,
     USERS_AND_KEY(200), 0},
    {"GET", "/groups/{id}/members", "user", "directory:read", "/groups/file:sales/members", NULL,
     USERS_AND_KEY(200), 0},
    {"GET", "/lines", "user", "directory:read", "/lines", NULL, USERS_AND_KEY(200), 0},
    {"GET",
     "/lines/{driver}/{address}",
     "user",
     "directory:read",
     "/lines/{driver}/202",
     NULL,
     {200, 404, 200, 200, 200, 200, 200, 403, 401},
     0},
    {"GET", "/presence", "user", "presence:read", "/presence", NULL, USERS_AND_KEY(200), 0},
    {"GET", "/presence/{user}", "user", "presence:read", "/presence/bob", NULL, USERS_AND_KEY(200),
     0},
    {"PUT",
     "/presence/{user}",
     "user",
     "presence:write",
     "/presence/bob",
     "{\"state\":\"busy\",\"note\":\"" NOTE "\"}",
     {200, 403, 403, 403, 200, 403, 200, 403, 401},
     RESTORE_PRESENCE},
    {"DELETE",
     "/presence/{user}",
     "user",
     "presence:write",
     "/presence/bob",
     NULL,
     {200, 403, 403, 403, 200, 403, 200, 403, 401},
     RESTORE_PRESENCE},
    {"GET", "/calls", "user", "calls:read", "/calls", NULL, USERS_AND_KEY(200), 0},
    {"POST",
     "/calls",
     "user",
     "calls:control",
     "/calls",
     "{\"action\":\"dnd\",\"user\":\"bob\",\"on\":false}",
     {202, 403, 403, 403, 202, 202, 202, 403, 401},
     0},
    {"GET", "/journal", "user", "journal:read", "/journal", NULL, USERS_AND_KEY(200), 0},
    {"GET",
     "/journal/{uuid}",
     "user",
     "journal:read",
     "/journal/{uuid}",
     NULL,
     {200, 404, 404, 404, 404, 200, 200, 403, 401},
     0},
    {"GET", "/journal.csv", "user", "journal:read", "/journal.csv", NULL, USERS_AND_KEY(200), 0},
    {"GET",
     "/analytics/kpis",
     "leader",
     "analytics:read",
     "/analytics/kpis?from={day_before}&to={day_after}",
     NULL,
     {200, 403, 403, 403, 403, 200, 200, 200, 401},
     0},
    {"GET", "/admin/modules", "admin", NULL, "/admin/modules", NULL, ADMIN_ONLY(200), ADMIN_RAW},
    {"GET", "/admin/counters", "admin", NULL, "/admin/counters", NULL, ADMIN_ONLY(200), ADMIN_RAW},
    {"GET", "/admin/log/levels", "admin", NULL, "/admin/log/levels", NULL, ADMIN_ONLY(200),
     ADMIN_RAW},
    {"PUT", "/admin/log/levels", "admin", NULL, "/admin/log/levels",
     "{\"module\":\"pbx-sim\",\"level\":\"info\"}", ADMIN_ONLY(200), ADMIN_RAW},
    {"POST", "/admin/reload", "admin", NULL, "/admin/reload", NULL, ADMIN_ONLY(200), ADMIN_RAW},
    {"GET", "/admin/bundle", "admin", NULL, "/admin/bundle", NULL, ADMIN_ONLY(200), ADMIN_RAW},
    /* the WebSocket: 101 is the upgrade, tried with a real client */
    {"GET", "/events", "user", "events:read", "/events", NULL, USERS_AND_KEY(101), 0},
};

/* ---- the world: bob's secrets, the callers ---- */

typedef struct walk {
    api_env *e;
    char *token[V_COUNT]; /* NULL for ANON */
    char *driver;
    char *sim;
    char *ended_uuid; /* bob's finished private conversation */
    char *live_call;  /* bob's leg of his live private call */
    /* A period around the test's calls: a day either side of now. (An
     * export of years takes minutes under valgrind.) */
    char *day_before, *day_after;
} walk;

static const route_row *row_of(const char *method, const char *path)
{
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++)
        if (g_ascii_strcasecmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

static char *replace(const char *text, const char *from, const char *to)
{
    char **parts = g_strsplit(text, from, -1);
    char *joined = g_strjoinv(to, parts);
    g_strfreev(parts);
    return joined;
}

/* bob's presence with the note, set as the system. */
static void set_note(walk *w)
{
    json_node_free(req_ok(w->e, "PUT", "/presence/bob", w->token[V_KEY],
                          "{\"state\":\"busy\",\"note\":\"" NOTE "\"}", 200));
}

/* A private call from `from` to bob's line, answered by bob: his leg. */
static char *private_call(walk *w, const char *from)
{
    json_node_free(ctl(w->e, w->sim, "call", from, "202", "--private", NULL));
    char *leg = NULL;
    for (int i = 0; i < 500 && !leg; i++) {
        JsonNode *list = req_ok(w->e, "GET", "/calls?user=bob", w->token[V_SELF], NULL, 200);
        JsonObject *o = item_by(items_of(list), "state", "offering");
        leg = o ? g_strdup(str(o, "call_id")) : NULL;
        json_node_free(list);
        if (!leg)
            g_usleep(20000);
    }
    g_assert_nonnull(leg);
    char *body = g_strdup_printf("{\"action\":\"answer\",\"call_id\":\"%s\"}", leg);
    json_node_free(req_ok(w->e, "POST", "/calls", w->token[V_SELF], body, 202));
    g_free(body);
    return leg;
}

static void walk_start(walk *w)
{
    w->e = api_env_start(ADMIN_CONFIG "\n[module analytics-export]\n");
    g_assert_true(harness_wait_state(api_env_harness(w->e), "analytics-export", "running"));
    w->token[V_SELF] = api_login(w->e, "bob", "pw-bob");
    w->token[V_PUBLIC] = api_login(w->e, "dave", "pw-dave");
    w->token[V_BUSINESS] = api_login(w->e, "carol", "pw-carol");
    w->token[V_TEAM] = g_strdup(w->token[V_PUBLIC]);
    w->token[V_PERSONAL] = g_strdup(w->token[V_PUBLIC]);
    w->token[V_ADMIN] = api_login(w->e, "alice", "pw-alice");
    w->token[V_KEY] = make_key(w->e, "all",
                               "directory:read,presence:read,presence:write,calls:read,"
                               "calls:control,journal:read,analytics:read,events:read",
                               "bob");
    w->token[V_KEYNO] = make_key(w->e, "none", "analytics:read", NULL);

    JsonNode *me = req_ok(w->e, "GET", "/me", w->token[V_SELF], NULL, 200);
    JsonArray *lines = json_object_get_array_member(obj(me), "lines");
    w->driver = g_strdup(str(json_array_get_object_element(lines, 0), "driver"));
    json_node_free(me);
    const char *colon = strchr(w->driver, ':');
    w->sim = colon ? g_strconcat("sim-", colon + 1, NULL) : g_strdup("sim");

    /* bob's finished private call, in the journal */
    char *leg = private_call(w, ENDED_NUMBER);
    char *body = g_strdup_printf("{\"action\":\"hangup\",\"call_id\":\"%s\"}", leg);
    json_node_free(req_ok(w->e, "POST", "/calls", w->token[V_SELF], body, 202));
    g_free(body);
    g_free(leg);
    for (int i = 0; i < 500 && !w->ended_uuid; i++) {
        JsonNode *list = req_ok(w->e, "GET", "/journal", w->token[V_ADMIN], NULL, 200);
        JsonArray *items = items_of(list);
        if (json_array_get_length(items) > 0)
            w->ended_uuid = g_strdup(str(json_array_get_object_element(items, 0), "uuid"));
        json_node_free(list);
        if (!w->ended_uuid)
            g_usleep(20000);
    }
    g_assert_nonnull(w->ended_uuid);
    /* his live one, and his note */
    w->live_call = private_call(w, LIVE_NUMBER);
    set_note(w);
    GDateTime *now = g_date_time_new_now_utc();
    GDateTime *before = g_date_time_add_days(now, -1), *after = g_date_time_add_days(now, 1);
    w->day_before = g_date_time_format(before, "%Y-%m-%dT%H:%M:%SZ");
    w->day_after = g_date_time_format(after, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(after);
    g_date_time_unref(before);
    g_date_time_unref(now);
}

static void walk_stop(walk *w)
{
    for (guint v = 0; v < V_COUNT; v++)
        g_free(w->token[v]);
    g_free(w->driver);
    g_free(w->sim);
    g_free(w->ended_uuid);
    g_free(w->live_call);
    g_free(w->day_before);
    g_free(w->day_after);
    api_env_stop(w->e);
}

/* ---- what a caller may not see ---- */

static const char *const BUSINESS_USER_MEMBERS[] = {"lines", "calls", NULL};
static const char *const PERSONAL_MEMBERS[] = {"enabled",    "active_here",  "home_server",
                                               "backend",    "e164",         "dnd",
                                               "forward_to", "capabilities", NULL};
static const char *const BUSINESS_PRESENCE_MEMBERS[] = {
    "note",       "until",          "until_ms",     "manual_state",
    "line_state", "calendar_state", "on_call_with", NULL};

static void fail_leak(const char *where, viewer_kind v, const char *what, JsonNode *node)
{
    char *text = node ? json_to_string(node, FALSE) : g_strdup("");
    g_error("%s as %s: %s in %.2000s", where, viewer_names[v], what, text);
}

static void refuse_members(const char *where, viewer_kind v, JsonObject *o,
                           const char *const *names, const char *why, JsonNode *node)
{
    for (const char *const *n = names; *n; n++)
        if (json_object_has_member(o, *n)) {
            char *what = g_strdup_printf("'%s' (%s)", *n, why);
            fail_leak(where, v, what, node);
        }
}

/* Every object about bob or his line, anywhere in `node`. */
static void check_node(const char *where, viewer_kind v, JsonNode *node, JsonNode *root)
{
    int level = viewer_level[v];
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(a); i++)
            check_node(where, v, json_array_get_element(a, i), root);
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return;
    JsonObject *o = json_node_get_object(node);
    gboolean about_bob =
        g_strcmp0(str(o, "id"), "file:bob") == 0 || g_strcmp0(str(o, "user_id"), "file:bob") == 0;
    gboolean bobs_line =
        g_strcmp0(str(o, "line"), "202") == 0 || g_strcmp0(str(o, "address"), "202") == 0;
    if (about_bob && json_object_has_member(o, "login")) { /* a user object */
        if (level < 2)
            refuse_members(where, v, o, BUSINESS_USER_MEMBERS, "business", root);
        if (level < 4)
            refuse_members(where, v, o, PERSONAL_MEMBERS, "personal", root);
    }
    if (about_bob && json_object_has_member(o, "state") && level < 2) /* presence */
        refuse_members(where, v, o, BUSINESS_PRESENCE_MEMBERS, "business", root);
    if ((bobs_line || about_bob) && json_object_has_member(o, "call_id") && level < 2)
        fail_leak(where, v, "a call of bob's line (business)", root);
    if (bobs_line && json_object_has_member(o, "driver") && !json_object_has_member(o, "call_id")) {
        if (level < 2)
            fail_leak(where, v, "bob's line (business)", root);
        if (level < 4)
            refuse_members(where, v, o, PERSONAL_MEMBERS, "personal", root);
    }
    JsonObjectIter it;
    const char *name;
    JsonNode *member;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &name, &member))
        check_node(where, v, member, root);
}

/* The answer `node` (JSON, or text as a string node) to `v`. */
static void check_answer(const char *where, viewer_kind v, JsonNode *node)
{
    if (node == NULL)
        return;
    char *text = JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING
                     ? g_strdup(json_node_get_string(node))
                     : json_to_string(node, FALSE);
    /* numbers without their + (a CSV or an E.164 form may drop it) */
    if (v != V_SELF && strstr(text, LIVE_NUMBER + 1))
        fail_leak(where, v, "the live private number", node);
    if (v != V_SELF && v != V_ADMIN && strstr(text, ENDED_NUMBER + 1))
        fail_leak(where, v, "the finished call's private number", node);
    if (v != V_SELF && v != V_ADMIN && strstr(text, EVENT_NUMBER + 1))
        fail_leak(where, v, "the refused call's private number", node);
    if (v != V_SELF && v != V_ADMIN && strstr(text, STORED_NUMBER))
        fail_leak(where, v, "a private number as the journal keeps it", node);
    if (viewer_level[v] < 2 && strstr(text, NOTE))
        fail_leak(where, v, "bob's presence note", node);
    g_free(text);
    check_node(where, v, node, node);
}

/* ---- the walk ---- */

/* The event stream as `v`: the upgrade, and what bob's changes bring. */
static guint walk_events(walk *w, viewer_kind v)
{
    GError *error = NULL;
    SoupWebsocketConnection *ws = api_ws_connect(w->e, w->token[v], &error);
    if (ws == NULL) {
        /* the refusal's status, from the same request without the upgrade */
        g_clear_error(&error);
        guint status = 0;
        JsonNode *node = api_req(w->e, "GET", "/events", w->token[v], NULL, &status);
        check_answer("GET /events", v, node);
        if (node)
            json_node_free(node);
        return status;
    }
    soup_websocket_connection_send_text(ws, "{\"op\":\"subscribe\",\"kinds\":[\"*\"]}");
    JsonNode *m = api_ws_next(ws, 5);
    g_assert_cmpstr(api_str(m, "op"), ==, "subscribed");
    json_node_free(m);
    /* bob's presence changes (the note twice), a call of his line ends */
    json_node_free(req_ok(w->e, "PUT", "/presence/bob", w->token[V_KEY],
                          "{\"state\":\"away\",\"note\":\"" NOTE "\"}", 200));
    set_note(w);
    json_node_free(ctl(w->e, w->sim, "call", EVENT_NUMBER, "202", "--private", NULL));
    /* the check must have something to check: bob's own presence events
     * (with the note for him), his calls for him too */
    guint presence = 0, calls = 0, notes = 0;
    while ((m = api_ws_next(ws, 1)) != NULL) {
        check_answer("GET /events", v, m);
        JsonObject *data = JSON_NODE_HOLDS_OBJECT(m) && json_object_has_member(obj(m), "data")
                               ? json_object_get_object_member(obj(m), "data")
                               : NULL;
        if (g_strcmp0(api_str(m, "kind"), "presence") == 0 &&
            g_strcmp0(str(data, "user_id"), "file:bob") == 0) {
            presence++;
            notes += g_strcmp0(str(data, "note"), NOTE) == 0;
        }
        calls +=
            g_strcmp0(api_str(m, "kind"), "call") == 0 && g_strcmp0(str(data, "line"), "202") == 0;
        json_node_free(m);
    }
    if (viewer_level[v] >= 1)
        g_assert_cmpuint(presence, >, 0);
    if (viewer_level[v] >= 2)
        g_assert_cmpuint(notes, >, 0);
    if (v == V_SELF)
        g_assert_cmpuint(calls, >, 0);
    soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref(ws);
    return 101;
}

static guint walk_route(walk *w, const route_row *row, viewer_kind v)
{
    if (strcmp(row->path, "/events") == 0)
        return walk_events(w, v);
    char *a = replace(row->request, "{driver}", w->driver);
    char *b = replace(a, "{uuid}", w->ended_uuid);
    char *c = replace(b, "{day_before}", w->day_before);
    char *path = replace(c, "{day_after}", w->day_after);
    g_free(a);
    g_free(b);
    g_free(c);
    char *token = g_strdup(w->token[v]);
    if ((row->flags & FRESH_TOKEN) && v <= V_ADMIN) {
        static const char *const logins[] = {"bob", "dave", "carol", "dave", "dave", "alice"};
        char *password = g_strconcat("pw-", logins[v], NULL);
        g_free(token);
        token = api_login(w->e, logins[v], password);
        g_free(password);
    }
    guint status = 0;
    JsonNode *node = api_req(w->e, row->method, path, token, row->body, &status);
    char *where = g_strdup_printf("%s %s", row->method, path);
    if (!(row->flags & ADMIN_RAW) || v != V_ADMIN)
        check_answer(where, v, node);
    if (node)
        json_node_free(node);
    if (row->flags & RESTORE_PRESENCE)
        set_note(w);
    g_free(where);
    g_free(token);
    g_free(path);
    return status;
}

/* Every operation of the OpenAPI document as `v`. */
static void walk_all(walk *w, JsonObject *paths, viewer_kind v)
{
    GList *names = json_object_get_members(paths);
    for (GList *p = names; p; p = p->next) {
        JsonObject *item = json_object_get_object_member(paths, p->data);
        GList *methods = json_object_get_members(item);
        for (GList *m = methods; m; m = m->next) {
            const char *method = m->data;
            if (strcmp(method, "parameters") == 0)
                continue;
            const route_row *row = row_of(method, p->data);
            guint status = walk_route(w, row, v);
            if (status != row->status[v])
                g_error("%s %s as %s: %u, the table says %u", row->method, row->path,
                        viewer_names[v], status, row->status[v]);
        }
        g_list_free(methods);
    }
    g_list_free(names);
}

/* Each operation has its row, with the role and scope it states, and
 * documents itself (summary, responses). */
static void check_document(JsonObject *paths)
{
    guint operations = 0;
    GList *names = json_object_get_members(paths);
    for (GList *p = names; p; p = p->next) {
        JsonObject *item = json_object_get_object_member(paths, p->data);
        GList *methods = json_object_get_members(item);
        for (GList *m = methods; m; m = m->next) {
            if (strcmp(m->data, "parameters") == 0)
                continue;
            const route_row *row = row_of(m->data, p->data);
            if (row == NULL)
                g_error("%s %s is in the OpenAPI document but not in this test's table: add "
                        "its row (who may call it, who gets what)",
                        (const char *)m->data, (const char *)p->data);
            JsonObject *op = json_object_get_object_member(item, m->data);
            g_assert_cmpstr(str(op, "x-ucd-role"), ==, row->role);
            g_assert_cmpstr(str(op, "x-ucd-scope"), ==, row->scope);
            if (!str(op, "summary") || !json_object_has_member(op, "responses"))
                g_error("%s %s documents no summary or responses", row->method, row->path);
            operations++;
        }
        g_list_free(methods);
    }
    g_list_free(names);
    g_test_message("%u operations in the OpenAPI document, %zu rows in the table", operations,
                   G_N_ELEMENTS(routes));
}

static void test_every_route(void)
{
    walk w = {0};
    walk_start(&w);
    JsonNode *doc = req_ok(w.e, "GET", "/openapi.json", NULL, NULL, 200);
    JsonObject *paths = json_object_get_object_member(obj(doc), "paths");
    check_document(paths);

    static const viewer_kind first[] = {V_SELF, V_PUBLIC, V_BUSINESS, V_ADMIN,
                                        V_KEY,  V_KEYNO,  V_ANON};
    for (guint i = 0; i < G_N_ELEMENTS(first); i++)
        walk_all(&w, paths, first[i]);
    /* dave raised to team, then to personal, on bob */
    json_node_free(ctl(w.e, "permissions", "grant", "file:bob", "file:dave", "team", NULL));
    walk_all(&w, paths, V_TEAM);
    json_node_free(ctl(w.e, "permissions", "grant", "file:bob", "file:dave", "personal", NULL));
    walk_all(&w, paths, V_PERSONAL);

    /* the checks can fail: bob's own answers hold every secret */
    JsonNode *own = req_ok(w.e, "GET", "/calls", w.token[V_SELF], NULL, 200);
    char *text = json_to_string(own, FALSE);
    g_assert_nonnull(strstr(text, LIVE_NUMBER));
    g_free(text);
    json_node_free(own);
    char *path = g_strdup_printf("/journal/%s", w.ended_uuid);
    own = req_ok(w.e, "GET", path, w.token[V_SELF], NULL, 200);
    text = json_to_string(own, FALSE);
    if (!strstr(text, STORED_NUMBER))
        g_error("bob does not see his caller's number: %s", text);
    g_free(text);
    json_node_free(own);
    g_free(path);
    own = req_ok(w.e, "GET", "/presence/bob", w.token[V_BUSINESS], NULL, 200);
    g_assert_cmpstr(str(obj(own), "note"), ==, NOTE);
    json_node_free(own);

    json_node_free(doc);
    walk_stop(&w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/permissions/every-route", test_every_route);
    return g_test_run();
}
