/*
 * api-call.c - one REST request while its handler runs (api-call.h).
 *
 * A call holds references: the router's while the handler runs, and one
 * more from api_call_defer() until the answer. So a handler may defer and
 * answer at once, or answer long after it returned; the call is freed when
 * the last reference goes. A client that leaves meanwhile ("finished" before
 * the answer) marks the call gone: the answer is then dropped silently.
 */
#include "api-call-internal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api-address.h"

struct api_call {
    gint refs;
    api_ctx *ctx;
    SoupServerMessage *msg;
    const api_route_def *def;
    gpointer data;
    GHashTable *params; /* path parameters, decoded */
    GHashTable *query;  /* query parameters, decoded; parsed on first use */
    gboolean query_read;
    api_principal principal;
    gboolean has_principal;
    char *address;
    JsonParser *parser; /* keeps api_call_json_object's object */
    gboolean deferred, answered, gone, paused, running;
    gulong finished_id;
};

static void on_finished(SoupServerMessage *msg, gpointer data)
{
    (void)msg;
    api_call *call = data;
    call->gone = TRUE;
}

api_call *api_call_new(api_ctx *ctx, SoupServerMessage *msg, const api_route_def *def,
                       gpointer data, GHashTable *params)
{
    api_call *call = g_new0(api_call, 1);
    call->refs = 1;
    call->ctx = ctx;
    call->msg = g_object_ref(msg);
    call->def = def;
    call->data = data;
    call->params = params;
    return call;
}

void api_call_unref(api_call *call)
{
    if (--call->refs > 0)
        return;
    if (call->finished_id)
        g_signal_handler_disconnect(call->msg, call->finished_id);
    g_object_unref(call->msg);
    if (call->params)
        g_hash_table_unref(call->params);
    if (call->query)
        g_hash_table_unref(call->query);
    if (call->has_principal)
        api_principal_clear(&call->principal);
    g_free(call->address);
    if (call->parser)
        g_object_unref(call->parser);
    g_free(call);
}

void api_call_take_principal(api_call *call, api_principal *principal)
{
    if (call->has_principal)
        api_principal_clear(&call->principal);
    call->principal = *principal;
    memset(principal, 0, sizeof *principal);
    call->has_principal = TRUE;
}

const api_route_def *api_call_route(api_call *call)
{
    return call->def;
}

void api_call_run(api_call *call)
{
    call->running = TRUE;
    call->def->handler(call, call->data);
    call->running = FALSE;
    if (!call->answered && !call->deferred) {
        ucd_error(call->ctx->host, call->ctx->self, "%s %s: the handler gave no answer",
                  call->def->method, call->def->path);
        api_call_error(call, SOUP_STATUS_INTERNAL_SERVER_ERROR, API_ERR_INTERNAL,
                       "the server gave no answer to this request");
    } else if (!call->answered && !call->gone) {
        soup_server_message_pause(call->msg);
        call->paused = TRUE;
    }
    api_call_unref(call);
}

/* ---- reading the request ---- */

const api_principal *api_call_principal(api_call *call)
{
    return call->has_principal ? &call->principal : NULL;
}

api_ctx *api_call_ctx(api_call *call)
{
    return call->ctx;
}

const char *api_call_param(api_call *call, const char *name)
{
    return call->params ? g_hash_table_lookup(call->params, name) : NULL;
}

const char *api_call_query(api_call *call, const char *name)
{
    if (!call->query_read) {
        call->query_read = TRUE;
        const char *q = g_uri_get_query(soup_server_message_get_uri(call->msg));
        /* The router refused a query that does not decode, so NULL here
         * means "no query". */
        if (q && *q)
            call->query = g_uri_parse_params(q, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
    }
    return call->query ? g_hash_table_lookup(call->query, name) : NULL;
}

const char *api_call_path(api_call *call)
{
    return g_uri_get_path(soup_server_message_get_uri(call->msg));
}

const char *api_call_query_string(api_call *call)
{
    return g_uri_get_query(soup_server_message_get_uri(call->msg));
}

const char *api_call_header(api_call *call, const char *name)
{
    return soup_message_headers_get_one(soup_server_message_get_request_headers(call->msg), name);
}

const char *api_call_method(api_call *call)
{
    return soup_server_message_get_method(call->msg);
}

const char *api_call_address(api_call *call)
{
    if (call->address == NULL) {
        if (call->ctx->server)
            call->address = api_client_address(&call->ctx->config, call->msg);
        if (call->address == NULL)
            call->address = g_strdup(soup_server_message_get_remote_host(call->msg));
        if (call->address == NULL)
            call->address = g_strdup("unknown");
    }
    return call->address;
}

GBytes *api_call_body(api_call *call)
{
    SoupMessageBody *body = soup_server_message_get_request_body(call->msg);
    return soup_message_body_flatten(body);
}

const char *api_call_body_data(api_call *call, gsize *length)
{
    SoupMessageBody *body = soup_server_message_get_request_body(call->msg);
    GBytes *flat = soup_message_body_flatten(body); /* fills body->data */
    g_bytes_unref(flat);
    *length = (gsize)body->length;
    return body->length > 0 ? body->data : NULL;
}

/* What a JSON value is, in the words of the error messages. */
static const char *json_kind(JsonNode *node)
{
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return "null";
    if (JSON_NODE_HOLDS_OBJECT(node))
        return "an object";
    if (JSON_NODE_HOLDS_ARRAY(node))
        return "an array";
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return "a string";
    case G_TYPE_BOOLEAN:
        return "true or false";
    case G_TYPE_INT64:
        return "an integer";
    default:
        return "a number";
    }
}

static char *allowed_list(const char *const *allowed)
{
    GString *s = g_string_new(NULL);
    for (gsize i = 0; allowed[i]; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", allowed[i]);
    return g_string_free(s, FALSE);
}

JsonObject *api_call_json_object(api_call *call, const char *const *allowed)
{
    if (call->parser) {
        JsonNode *root = json_parser_get_root(call->parser);
        return root ? json_node_get_object(root) : NULL;
    }
    GBytes *body = api_call_body(call);
    gsize length = 0;
    const char *data = g_bytes_get_data(body, &length);
    if (length == 0) {
        g_bytes_unref(body);
        api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_INVALID_JSON,
                       "this request needs a JSON object as its body");
        return NULL;
    }
    JsonParser *parser = json_parser_new_immutable();
    GError *error = NULL;
    gboolean parsed = json_parser_load_from_data(parser, data, (gssize)length, &error);
    g_bytes_unref(body);
    if (!parsed) {
        api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_INVALID_JSON,
                       "the body is not valid JSON: %s", error->message);
        g_error_free(error);
        g_object_unref(parser);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_INVALID_JSON,
                       "the body must be a JSON object, not %s", json_kind(root));
        g_object_unref(parser);
        return NULL;
    }
    JsonObject *object = json_node_get_object(root);
    if (allowed) {
        GList *members = json_object_get_members(object);
        for (GList *m = members; m; m = m->next) {
            if (g_strv_contains(allowed, m->data))
                continue;
            char *list = allowed_list(allowed);
            api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_UNKNOWN_FIELD,
                           "unknown field \"%s\" (this request takes: %s)", (char *)m->data,
                           list[0] ? list : "no fields");
            g_free(list);
            g_list_free(members);
            g_object_unref(parser);
            return NULL;
        }
        g_list_free(members);
    }
    call->parser = parser;
    return object;
}

/* The member when present and not null; else NULL, after answering 400 when
 * it was required. */
static JsonNode *member(api_call *call, JsonObject *object, const char *name, gboolean required,
                        const char *type)
{
    JsonNode *node = object ? json_object_get_member(object, name) : NULL;
    if (node && !JSON_NODE_HOLDS_NULL(node))
        return node;
    if (required)
        api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_INVALID_ARGUMENT,
                       "field \"%s\" is missing: it needs %s", name, type);
    return NULL;
}

static gboolean wrong_type(api_call *call, const char *name, const char *type, JsonNode *node)
{
    api_call_error(call, SOUP_STATUS_BAD_REQUEST, API_ERR_INVALID_ARGUMENT,
                   "field \"%s\" must be %s, not %s", name, type, json_kind(node));
    return FALSE;
}

gboolean api_json_string(api_call *call, JsonObject *object, const char *name, gboolean required,
                         const char **out)
{
    JsonNode *node = member(call, object, name, required, "a string");
    if (node == NULL)
        return !required;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return wrong_type(call, name, "a string", node);
    *out = json_node_get_string(node);
    return TRUE;
}

gboolean api_json_int(api_call *call, JsonObject *object, const char *name, gboolean required,
                      gint64 *out)
{
    JsonNode *node = member(call, object, name, required, "an integer");
    if (node == NULL)
        return !required;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return wrong_type(call, name, "an integer", node);
    *out = json_node_get_int(node);
    return TRUE;
}

gboolean api_json_bool(api_call *call, JsonObject *object, const char *name, gboolean required,
                       gboolean *out)
{
    JsonNode *node = member(call, object, name, required, "true or false");
    if (node == NULL)
        return !required;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return wrong_type(call, name, "true or false", node);
    *out = json_node_get_boolean(node);
    return TRUE;
}

/* ---- answering ---- */

void api_call_defer(api_call *call)
{
    if (call->deferred || call->answered)
        return;
    call->deferred = TRUE;
    call->refs++;
    /* Only a deferred call can outlive its client: one answered while its
     * handler runs needs no watch (a signal connection per request). */
    call->finished_id = g_signal_connect(call->msg, "finished", G_CALLBACK(on_finished), call);
}

gboolean api_call_answered(api_call *call)
{
    return call->answered || call->gone;
}

void api_call_set_header(api_call *call, const char *name, const char *value)
{
    soup_message_headers_replace(soup_server_message_get_response_headers(call->msg), name, value);
}

void api_message_common_headers(SoupServerMessage *msg)
{
    SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    if (soup_message_headers_get_one(h, "Cache-Control") == NULL)
        soup_message_headers_replace(h, "Cache-Control", "no-store");
}

static void set_body(SoupServerMessage *msg, guint status, const char *type, char *text,
                     gsize length)
{
    soup_server_message_set_status(msg, status, NULL);
    if (text)
        soup_server_message_set_response(msg, type, SOUP_MEMORY_TAKE, text, length);
    api_message_common_headers(msg);
}

/* Marks the call answered; FALSE when it was already (a second answer is a
 * handler's bug: logged, dropped) or the client is gone. */
static gboolean begin_answer(api_call *call)
{
    if (call->answered) {
        ucd_error(call->ctx->host, call->ctx->self, "%s %s: answered twice", call->def->method,
                  call->def->path);
        return FALSE;
    }
    call->answered = TRUE;
    return !call->gone;
}

/* Sends what begin_answer allowed and drops the deferral's reference. */
static void end_answer(api_call *call)
{
    if (call->paused && !call->gone)
        soup_server_message_unpause(call->msg);
    call->paused = FALSE;
    if (call->deferred) {
        call->deferred = FALSE;
        api_call_unref(call);
    }
}

static void drop_answer(api_call *call)
{
    if (!call->answered)
        call->answered = TRUE;
    end_answer(call);
}

void api_call_respond(api_call *call, guint status, JsonNode *node)
{
    if (!begin_answer(call)) {
        if (node)
            json_node_unref(node);
        drop_answer(call);
        return;
    }
    char *text = NULL;
    gsize length = 0;
    if (node) {
        text = json_to_string(node, FALSE);
        length = strlen(text);
        json_node_unref(node);
    }
    set_body(call->msg, status ? status : SOUP_STATUS_OK, "application/json", text, length);
    end_answer(call);
}

void api_call_respond_text(api_call *call, guint status, const char *json)
{
    if (!begin_answer(call)) {
        drop_answer(call);
        return;
    }
    set_body(call->msg, status ? status : SOUP_STATUS_OK, "application/json",
             json ? g_strdup(json) : NULL, json ? strlen(json) : 0);
    end_answer(call);
}

/* SHA-256 through OpenSSL, not GChecksum: its SHA instructions make it
 * about ten times faster on a 50 KB journal page (docs/PERFORMANCE.md). */
char *api_etag_of(const char *data, gsize length)
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data, length, sum, &size, EVP_sha256(), NULL) != 1 || size < 16)
        g_error("api-http: OpenSSL has no SHA-256");
    char hex[33];
    if (OPENSSL_buf2hexstr_ex(hex, sizeof hex, NULL, sum, 16, '\0') != 1)
        g_error("api-http: OpenSSL could not write a hex string");
    return g_strdup_printf("\"%s\"", hex);
}

/* RFC 9110 13.1.2: "*" or a list of tags, weak ones compared weakly. */
static gboolean none_match(const char *header, const char *tag)
{
    if (header == NULL)
        return FALSE;
    gboolean hit = FALSE;
    char **parts = g_strsplit(header, ",", -1);
    for (char **p = parts; *p && !hit; p++) {
        const char *t = g_strstrip(*p);
        if (g_str_has_prefix(t, "W/"))
            t += 2;
        hit = strcmp(t, "*") == 0 || strcmp(t, tag) == 0;
    }
    g_strfreev(parts);
    return hit;
}

void api_call_respond_bytes(api_call *call, GBytes *body, const char *etag)
{
    if (!begin_answer(call)) {
        drop_answer(call);
        return;
    }
    SoupMessageHeaders *h = soup_server_message_get_response_headers(call->msg);
    soup_message_headers_replace(h, "ETag", etag);
    /* Private data a cache must check with the server every time. */
    soup_message_headers_replace(h, "Cache-Control", "private, no-cache");
    if (none_match(api_call_header(call, "If-None-Match"), etag)) {
        set_body(call->msg, SOUP_STATUS_NOT_MODIFIED, NULL, NULL, 0);
    } else {
        /* The body's bytes are shared, not copied: a kept answer goes out
         * as it is. */
        soup_server_message_set_status(call->msg, SOUP_STATUS_OK, NULL);
        soup_message_headers_set_content_type(h, "application/json", NULL);
        soup_message_body_append_bytes(soup_server_message_get_response_body(call->msg), body);
        api_message_common_headers(call->msg);
    }
    end_answer(call);
}

void api_call_respond_etag(api_call *call, JsonNode *node)
{
    if (api_call_answered(call)) {
        json_node_unref(node);
        api_call_respond_bytes(call, NULL, NULL); /* logs a second answer, drops */
        return;
    }
    char *text = json_to_string(node, FALSE);
    json_node_unref(node);
    gsize length = strlen(text);
    GBytes *body = g_bytes_new_take(text, length);
    char *tag = api_etag_of(text, length);
    api_call_respond_bytes(call, body, tag);
    g_free(tag);
    g_bytes_unref(body);
}

void api_call_respond_list(api_call *call, JsonArray *items, gint64 total, const char *next)
{
    JsonObject *o = json_object_new();
    json_object_set_array_member(o, "items", items);
    json_object_set_int_member(o, "total", total);
    if (next)
        json_object_set_string_member(o, "next", next);
    else
        json_object_set_null_member(o, "next");
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    api_call_respond_etag(call, node);
}

JsonNode *api_error_node(const char *code, const char *message)
{
    JsonObject *e = json_object_new();
    json_object_set_string_member(e, "code", code);
    json_object_set_string_member(e, "message", message);
    JsonObject *o = json_object_new();
    json_object_set_object_member(o, "error", e);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

void api_message_error(SoupServerMessage *msg, guint status, const char *code, const char *message)
{
    JsonNode *node = api_error_node(code, message);
    char *text = json_to_string(node, FALSE);
    json_node_unref(node);
    if (status == SOUP_STATUS_UNAUTHORIZED)
        soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                     "WWW-Authenticate", "Bearer realm=\"ucd\"");
    set_body(msg, status, "application/json", text, strlen(text));
}

void api_call_error(api_call *call, guint status, const char *code, const char *fmt, ...)
{
    if (!begin_answer(call)) {
        drop_answer(call);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    api_message_error(call->msg, status, code, message);
    g_free(message);
    end_answer(call);
}

void api_call_error_ucd(api_call *call, int result, const char *message)
{
    guint status;
    const char *code;
    switch (result) {
    case UCD_E_NOT_FOUND:
        status = SOUP_STATUS_NOT_FOUND, code = API_ERR_NOT_FOUND;
        break;
    case UCD_E_INVALID:
        status = SOUP_STATUS_BAD_REQUEST, code = API_ERR_INVALID_ARGUMENT;
        break;
    case UCD_E_DENIED:
        status = SOUP_STATUS_FORBIDDEN, code = API_ERR_FORBIDDEN;
        break;
    case UCD_E_UNSUPPORTED:
        status = SOUP_STATUS_UNPROCESSABLE_ENTITY, code = API_ERR_UNSUPPORTED;
        break;
    case UCD_E_UNAVAILABLE:
        status = SOUP_STATUS_SERVICE_UNAVAILABLE, code = API_ERR_UNAVAILABLE;
        break;
    case UCD_E_BUSY:
        status = SOUP_STATUS_CONFLICT, code = API_ERR_CONFLICT;
        break;
    default:
        status = SOUP_STATUS_INTERNAL_SERVER_ERROR, code = API_ERR_INTERNAL;
        break;
    }
    api_call_error(call, status, code, "%s", message && *message ? message : ucd_strerror(result));
}

/* A file name safe inside a quoted Content-Disposition parameter. */
static char *safe_filename(const char *name)
{
    char *s = g_strdup(name);
    for (char *p = s; *p; p++)
        if (*p == '"' || *p == '\\' || *p == '/' || (guchar)*p < 0x20 || (guchar)*p >= 0x7f)
            *p = '_';
    return s;
}

void api_call_respond_file(api_call *call, const char *content_type, GBytes *bytes,
                           const char *filename)
{
    if (!begin_answer(call)) {
        g_bytes_unref(bytes);
        drop_answer(call);
        return;
    }
    if (filename) {
        char *safe = safe_filename(filename);
        char *value = g_strdup_printf("attachment; filename=\"%s\"", safe);
        api_call_set_header(call, "Content-Disposition", value);
        g_free(value);
        g_free(safe);
    }
    soup_server_message_set_status(call->msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_set_content_type(soup_server_message_get_response_headers(call->msg),
                                          content_type, NULL);
    soup_message_body_append_bytes(soup_server_message_get_response_body(call->msg), bytes);
    g_bytes_unref(bytes);
    api_message_common_headers(call->msg);
    end_answer(call);
}

/* ---- permission levels ---- */

guint api_call_level(api_call *call, const char *subject)
{
    const api_principal *p = api_call_principal(call);
    if (p == NULL || subject == NULL)
        return UCD_PERM_BLOCKED;
    if (p->user_id == NULL) /* an API key */
        return p->users && g_strv_contains((const char *const *)p->users, subject)
                   ? UCD_PERM_PERSONAL
                   : UCD_PERM_PUBLIC;
    if (strcmp(p->user_id, subject) == 0 || (p->login && strcmp(p->login, subject) == 0) ||
        p->role >= UCD_HTTP_ROLE_ADMIN)
        return UCD_PERM_PERSONAL;
    api_ctx *ctx = call->ctx;
    uint32_t level = UCD_PERM_BLOCKED;
    if (ctx->perms == NULL ||
        ctx->perms->level(ctx->perms_impl, p->user_id, subject, &level) != UCD_OK)
        return UCD_PERM_BLOCKED;
    return level;
}

void api_principal_clear(api_principal *p)
{
    g_free(p->user_id);
    g_free(p->login);
    g_free(p->key_name);
    g_strfreev(p->scopes);
    g_strfreev(p->users);
    g_free(p->session_id);
    g_free(p->address);
    memset(p, 0, sizeof *p);
}
