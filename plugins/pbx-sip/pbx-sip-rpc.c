/*
 * pbx-sip-rpc.c - Kamailio JSON-RPC extras (see pbx-sip.h, README.md).
 *
 * Plain SIP gives a third party no way to end someone else's call. Kamailio's
 * dialog module can (dlg.end_dlg sends BYE both ways), over its JSON-RPC (the
 * jsonrpcs module, here over HTTP: `rpc_url`). The dialog is named there by
 * its hash entry and id, so a hangup first asks for the dialog (dlg.dlg_list) to
 * find the one with the leg's SIP call-id, then ends it. Both requests run
 * asynchronously on the main context; the call's end is then seen like any
 * other, through the dialog subscriptions.
 */
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "pbx-sip.h"

/* Kamailio's dialog state "confirmed" (dlg.dlg_list "state"): end_dlg only ends
 * confirmed dialogs (an early one is left ringing, though the answer is OK). */
#define KAMAILIO_DLG_CONFIRMED 4

struct sip_rpc {
    char *url;
    SoupSession *session;
    GCancellable *cancel; /* cancelled when the driver stops: callbacks then touch nothing */
    guint next_id;
};

/* One hangup under way. */
typedef struct rpc_hangup {
    sip_driver *d;
    char *line;
    char *sip_call_id;
} rpc_hangup;

static void rpc_hangup_free(rpc_hangup *h)
{
    g_free(h->line);
    g_free(h->sip_call_id);
    g_free(h);
}

sip_rpc *sip_rpc_new(const char *url)
{
    sip_rpc *rpc = g_new0(sip_rpc, 1);
    rpc->url = g_strdup(url);
    /* No proxy from the environment: the RPC goes straight to Kamailio. */
    rpc->session = soup_session_new_with_options("timeout", 5, "user-agent", "ucd pbx-sip",
                                                 "proxy-resolver", NULL, NULL);
    rpc->cancel = g_cancellable_new();
    return rpc;
}

void sip_rpc_free(sip_rpc *rpc)
{
    if (rpc == NULL)
        return;
    g_cancellable_cancel(rpc->cancel);
    g_object_unref(rpc->cancel);
    g_object_unref(rpc->session);
    g_free(rpc->url);
    g_free(rpc);
}

gboolean sip_rpc_url_valid(const char *url)
{
    GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    if (uri == NULL)
        return FALSE;
    const char *scheme = g_uri_get_scheme(uri);
    const char *host = g_uri_get_host(uri);
    gboolean ok = (g_strcmp0(scheme, "http") == 0 || g_strcmp0(scheme, "https") == 0) &&
                  host != NULL && *host != '\0';
    g_uri_unref(uri);
    return ok;
}

/* POSTs {"jsonrpc":"2.0","method":METHOD,"params":PARAMS,"id":N}; `params`
 * (an array node, taken) may be NULL. `done` gets the HTTP body. */
static void rpc_call(sip_rpc *rpc, const char *method, JsonNode *params, GAsyncReadyCallback done,
                     gpointer data)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "jsonrpc");
    json_builder_add_string_value(b, "2.0");
    json_builder_set_member_name(b, "method");
    json_builder_add_string_value(b, method);
    if (params != NULL) {
        json_builder_set_member_name(b, "params");
        json_builder_add_value(b, params);
    }
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, ++rpc->next_id);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    char *text = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);

    SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, rpc->url);
    GBytes *body = g_bytes_new_take(text, strlen(text));
    soup_message_set_request_body_from_bytes(msg, "application/json", body);
    g_bytes_unref(body);
    soup_session_send_and_read_async(rpc->session, msg, G_PRIORITY_DEFAULT, rpc->cancel, done,
                                     data);
    g_object_unref(msg);
}

/* The "result" of a JSON-RPC answer (a new reference), or NULL with `error`
 * set: transport error, not JSON, or a JSON-RPC error object. */
static JsonNode *rpc_result(GObject *source, GAsyncResult *result, GError **error)
{
    GBytes *bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, error);
    if (bytes == NULL)
        return NULL;
    JsonParser *parser = json_parser_new();
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    JsonNode *out = NULL;
    if (json_parser_load_from_data(parser, data, (gssize)len, error)) {
        JsonNode *root = json_parser_get_root(parser);
        JsonObject *obj = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
        if (obj != NULL && json_object_has_member(obj, "result")) {
            out = json_node_copy(json_object_get_member(obj, "result"));
        } else {
            JsonObject *err = obj != NULL && json_object_has_member(obj, "error")
                                  ? json_object_get_object_member(obj, "error")
                                  : NULL;
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                        err != NULL
                            ? json_object_get_string_member_with_default(err, "message", "error")
                            : "no result in the answer");
        }
    }
    g_object_unref(parser);
    g_bytes_unref(bytes);
    return out;
}

/* Reports a failed RPC; FALSE when the driver is stopping (then `h` is
 * freed and nothing else may be touched). */
static gboolean rpc_failed(rpc_hangup *h, GError *error, const char *what)
{
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        ucd_warning(h->d->host, h->d->self, "hangup on %s: %s failed: %s", h->line, what,
                    error->message);
    g_error_free(error);
    rpc_hangup_free(h);
    return FALSE;
}

static void on_end_dlg(GObject *source, GAsyncResult *result, gpointer data)
{
    rpc_hangup *h = data;
    GError *error = NULL;
    JsonNode *answer = rpc_result(source, result, &error);
    if (answer == NULL) {
        rpc_failed(h, error, "dlg.end_dlg");
        return;
    }
    ucd_info(h->d->host, h->d->self, "hangup on %s: Kamailio ends the dialog", h->line);
    json_node_unref(answer);
    rpc_hangup_free(h);
}

/* The dialog `sip_call_id` in a dlg.dlg_list answer (one dialog object, an
 * empty one when Kamailio has none; an array of them is accepted too), when
 * it carries the handle dlg.end_dlg needs; else NULL. */
static JsonObject *find_dialog(JsonNode *answer, const char *sip_call_id)
{
    JsonArray *many = JSON_NODE_HOLDS_ARRAY(answer) ? json_node_get_array(answer) : NULL;
    guint count = many != NULL ? json_array_get_length(many) : 1;
    for (guint i = 0; i < count; i++) {
        JsonNode *node = many != NULL ? json_array_get_element(many, i) : answer;
        JsonObject *dialog = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
        if (dialog != NULL &&
            g_strcmp0(json_object_get_string_member_with_default(dialog, "call-id", NULL),
                      sip_call_id) == 0 &&
            json_object_has_member(dialog, "h_entry") && json_object_has_member(dialog, "h_id"))
            return dialog;
    }
    return NULL;
}

static void on_dlg_list(GObject *source, GAsyncResult *result, gpointer data)
{
    rpc_hangup *h = data;
    GError *error = NULL;
    JsonNode *list = rpc_result(source, result, &error);
    if (list == NULL) {
        rpc_failed(h, error, "dlg.dlg_list");
        return;
    }
    JsonObject *dialog = find_dialog(list, h->sip_call_id);
    if (dialog == NULL ||
        json_object_get_int_member_with_default(dialog, "state", 0) != KAMAILIO_DLG_CONFIRMED) {
        ucd_warning(h->d->host, h->d->self, "hangup on %s: Kamailio has no answered dialog %s",
                    h->line, h->sip_call_id);
        json_node_unref(list);
        rpc_hangup_free(h);
        return;
    }
    JsonArray *params = json_array_new();
    json_array_add_int_element(params,
                               json_object_get_int_member_with_default(dialog, "h_entry", 0));
    json_array_add_int_element(params, json_object_get_int_member_with_default(dialog, "h_id", 0));
    JsonNode *node = json_node_init_array(json_node_alloc(), params);
    json_array_unref(params);
    json_node_unref(list);
    rpc_call(h->d->rpc, "dlg.end_dlg", node, on_end_dlg, h);
}

/* Hangs up a connected call through Kamailio's dialog module. Only answered
 * calls: Kamailio's dlg.end_dlg leaves a ringing dialog as it is. */
int sip_hangup(void *impl, const char *address, const char *call_id)
{
    sip_driver *d = impl;
    const sip_line *line =
        address != NULL ? g_hash_table_lookup(d->line_by_address, address) : NULL;
    if (line == NULL || call_id == NULL)
        return UCD_E_NOT_FOUND;
    if (d->rpc_url == NULL)
        return UCD_E_UNSUPPORTED;
    if (d->rpc == NULL || !d->running)
        return UCD_E_UNAVAILABLE; /* stopped */
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, line->legs);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const sip_leg *leg = value;
        if (g_strcmp0(leg->call_id, call_id) != 0)
            continue;
        if (leg->state != UCD_CALL_CONNECTED)
            return UCD_E_UNSUPPORTED; /* not answered yet: nothing Kamailio can end */
        rpc_hangup *h = g_new0(rpc_hangup, 1);
        h->d = d;
        h->line = g_strdup(address);
        h->sip_call_id = g_strdup(key);
        /* Only this dialog (dlg.dlg_list CALL-ID), not every dialog Kamailio has. */
        JsonArray *params = json_array_new();
        json_array_add_string_element(params, key);
        JsonNode *node = json_node_init_array(json_node_alloc(), params);
        json_array_unref(params);
        rpc_call(d->rpc, "dlg.dlg_list", node, on_dlg_list, h);
        return UCD_OK;
    }
    return UCD_E_NOT_FOUND;
}
