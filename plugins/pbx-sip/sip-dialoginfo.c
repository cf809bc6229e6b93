/*
 * sip-dialoginfo.c - application/dialog-info+xml (RFC 4235) into C structures.
 *
 * libxml2 builds the tree; this file only walks it. Security matters more than
 * leniency here (the body is whatever a network peer sent), see the header.
 */
#include "sip-dialoginfo.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

G_DEFINE_QUARK(psip - dialoginfo - error - quark, psip_dialoginfo_error)

/* Why the parser was stopped by one of our SAX hooks (ctxt->_private). */
typedef struct parse_guard {
    gboolean saw_doctype;
} parse_guard;

/* libxml2 wants xmlInitParser() once before parsers run on several threads. */
static void ensure_libxml_initialized(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        xmlInitParser();
        g_once_init_leave(&once, 1);
    }
}

/* Called by libxml2 on "<!DOCTYPE name ...", before any internal subset is
 * read: stopping here means no entity declaration is ever seen, whatever the
 * document's encoding, so no entity can be expanded or fetched. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_guard *guard = ctxt->_private;
    guard->saw_doctype = TRUE;
    xmlStopParser(ctxt);
}

/* Never reached while refuse_doctype works; kept so that an entity can never
 * be resolved through the context's handler even if it did not. */
static xmlParserInputPtr refuse_entity_resolution(void *ctx, const xmlChar *public_id,
                                                  const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_guard *guard = ctxt->_private;
    guard->saw_doctype = TRUE;
    xmlStopParser(ctxt);
    return NULL;
}

/* The parse options: network off, libxml2's own messages off (errors come
 * back through GError). Deliberately absent: XML_PARSE_NOENT (substitute
 * entities), XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR, XML_PARSE_HUGE. */
#define PSIP_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* Parses per parser context before it is replaced: a context keeps a
 * dictionary of the names it has seen, which must not grow without end on
 * whatever names peers send. */
#define PSIP_PARSES_PER_CONTEXT 1024

/* Each thread reuses one parser context: creating one per document costs more
 * (in allocations) than parsing a NOTIFY body. */
typedef struct thread_parser {
    xmlParserCtxtPtr ctxt;
    parse_guard guard;
    guint parses;
} thread_parser;

static void thread_parser_free(gpointer data)
{
    thread_parser *parser = data;
    xmlFreeParserCtxt(parser->ctxt);
    g_free(parser);
}

static GPrivate thread_parser_key = G_PRIVATE_INIT(thread_parser_free);

static xmlParserCtxtPtr new_guarded_context(parse_guard *guard)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt != NULL) {
        ctxt->_private = guard;
        ctxt->sax->internalSubset = refuse_doctype;
        ctxt->sax->resolveEntity = refuse_entity_resolution;
    }
    return ctxt;
}

/* The calling thread's context, made or renewed as needed; NULL when out of memory. */
static thread_parser *thread_parser_get(void)
{
    thread_parser *parser = g_private_get(&thread_parser_key);
    if (parser == NULL) {
        parser = g_new0(thread_parser, 1);
        g_private_set(&thread_parser_key, parser);
    }
    if (parser->ctxt == NULL || parser->parses >= PSIP_PARSES_PER_CONTEXT) {
        xmlFreeParserCtxt(parser->ctxt);
        parser->ctxt = new_guarded_context(&parser->guard);
        parser->parses = 0;
    }
    return parser->ctxt != NULL ? parser : NULL;
}

static void set_malformed_error(xmlParserCtxtPtr ctxt, GError **error)
{
    const xmlError *xerr = xmlCtxtGetLastError(ctxt);
    g_autofree char *detail =
        g_strdup(xerr != NULL && xerr->message != NULL ? xerr->message : "no document");
    g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_MALFORMED,
                "not well-formed XML: %s", g_strchomp(detail));
}

static xmlDocPtr read_xml(const char *body, gsize len, GError **error)
{
    thread_parser *parser = thread_parser_get();
    if (parser == NULL) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_MALFORMED,
                    "cannot create an XML parser");
        return NULL;
    }
    parser->parses++;
    parser->guard.saw_doctype = FALSE;
    xmlParserCtxtPtr ctxt = parser->ctxt;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL, PSIP_XML_OPTIONS);
    if (parser->guard.saw_doctype ||
        (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_DOCTYPE,
                    "a DOCTYPE is not allowed in dialog-info");
        xmlFreeDoc(doc);
        return NULL;
    }
    if (doc == NULL || !ctxt->wellFormed) {
        set_malformed_error(ctxt, error);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static gboolean is_element(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns != NULL &&
           strcmp((const char *)node->ns->href, PSIP_DIALOGINFO_NS) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

static const xmlNode *first_child(const xmlNode *parent, const char *name)
{
    for (const xmlNode *child = parent->children; child != NULL; child = child->next) {
        if (is_element(child, name)) {
            return child;
        }
    }
    return NULL;
}

/* Takes a libxml2 string into GLib's allocator (callers free with g_free). */
static char *take_xml_string(xmlChar *value)
{
    if (value == NULL) {
        return NULL;
    }
    char *copy = g_strdup((const char *)value);
    xmlFree(value);
    return copy;
}

static char *attribute(const xmlNode *node, const char *name)
{
    return take_xml_string(xmlGetNoNsProp(node, (const xmlChar *)name));
}

/* The element's text, trimmed; NULL when the element is absent. */
static char *trimmed_text(const xmlNode *node)
{
    if (node == NULL) {
        return NULL;
    }
    char *text = take_xml_string(xmlNodeGetContent(node));
    return text != NULL ? g_strstrip(text) : NULL;
}

static psip_direction direction_from_text(const char *text)
{
    if (text != NULL && g_ascii_strcasecmp(text, "initiator") == 0) {
        return PSIP_DIRECTION_INITIATOR;
    }
    if (text != NULL && g_ascii_strcasecmp(text, "recipient") == 0) {
        return PSIP_DIRECTION_RECIPIENT;
    }
    return PSIP_DIRECTION_UNSPECIFIED;
}

/* A SIP response code, or 0 when absent or not one (the code is informative
 * only, so a bad one does not cost the whole document). */
static int response_code(const char *text)
{
    guint64 code = 0;
    if (text == NULL || !g_ascii_string_to_unsigned(text, 10, 100, 699, &code, NULL)) {
        return 0;
    }
    return (int)code;
}

static void read_party(const xmlNode *node, psip_party *party)
{
    if (node == NULL) {
        return;
    }
    const xmlNode *identity = first_child(node, "identity");
    if (identity != NULL) {
        party->identity = trimmed_text(identity);
        party->identity_display = attribute(identity, "display");
    }
    const xmlNode *target = first_child(node, "target");
    if (target != NULL) {
        party->target = attribute(target, "uri");
    }
}

static void read_state(const xmlNode *node, psip_dialog *dialog)
{
    const xmlNode *state = first_child(node, "state");
    dialog->state_text = trimmed_text(state);
    dialog->state = psip_dialog_state_from_text(dialog->state_text);
    if (state != NULL) {
        dialog->event = attribute(state, "event");
        char *code = attribute(state, "code");
        dialog->code = response_code(code);
        g_free(code);
    }
}

static void party_clear(psip_party *party)
{
    g_free(party->identity);
    g_free(party->identity_display);
    g_free(party->target);
}

static void dialog_free(gpointer data)
{
    psip_dialog *dialog = data;
    g_free(dialog->id);
    g_free(dialog->call_id);
    g_free(dialog->local_tag);
    g_free(dialog->remote_tag);
    g_free(dialog->state_text);
    g_free(dialog->event);
    party_clear(&dialog->local);
    party_clear(&dialog->remote);
    g_free(dialog);
}

static psip_dialog *read_dialog(const xmlNode *node, GError **error)
{
    psip_dialog *dialog = g_new0(psip_dialog, 1);
    dialog->id = attribute(node, "id");
    if (dialog->id == NULL || dialog->id[0] == '\0') {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_INVALID,
                    "a <dialog> has no id");
        dialog_free(dialog);
        return NULL;
    }
    dialog->call_id = attribute(node, "call-id");
    dialog->local_tag = attribute(node, "local-tag");
    dialog->remote_tag = attribute(node, "remote-tag");
    char *direction = attribute(node, "direction");
    dialog->direction = direction_from_text(direction);
    g_free(direction);
    read_state(node, dialog);
    read_party(first_child(node, "local"), &dialog->local);
    read_party(first_child(node, "remote"), &dialog->remote);
    return dialog;
}

/* The root's version, state and entity (all three required by RFC 4235). */
static gboolean read_root_attributes(const xmlNode *root, psip_doc *doc, GError **error)
{
    g_autofree char *version = attribute(root, "version");
    g_autofree char *state = attribute(root, "state");
    doc->entity = attribute(root, "entity");
    if (version == NULL || state == NULL || doc->entity == NULL) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_INVALID,
                    "dialog-info lacks version, state or entity");
        return FALSE;
    }
    if (!g_ascii_string_to_unsigned(version, 10, 0, G_MAXUINT64, &doc->version, NULL)) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_INVALID,
                    "dialog-info version is not a non-negative integer");
        return FALSE;
    }
    if (strcmp(state, "full") == 0) {
        doc->state = PSIP_DOC_FULL;
    } else if (strcmp(state, "partial") == 0) {
        doc->state = PSIP_DOC_PARTIAL;
    } else {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_INVALID,
                    "dialog-info state is neither full nor partial");
        return FALSE;
    }
    return TRUE;
}

static gboolean read_dialogs(const xmlNode *root, psip_doc *doc, GError **error)
{
    for (const xmlNode *child = root->children; child != NULL; child = child->next) {
        if (!is_element(child, "dialog")) {
            continue;
        }
        if (doc->dialogs->len >= PSIP_DIALOGINFO_MAX_DIALOGS) {
            g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_TOO_MANY,
                        "more than %d dialogs in one document", PSIP_DIALOGINFO_MAX_DIALOGS);
            return FALSE;
        }
        psip_dialog *dialog = read_dialog(child, error);
        if (dialog == NULL) {
            return FALSE;
        }
        g_ptr_array_add(doc->dialogs, dialog);
    }
    return TRUE;
}

static psip_doc *doc_from_tree(xmlDocPtr xml, GError **error)
{
    const xmlNode *root = xmlDocGetRootElement(xml);
    if (root == NULL || !is_element(root, "dialog-info")) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_WRONG_ROOT,
                    "the root is not <dialog-info xmlns=\"%s\">", PSIP_DIALOGINFO_NS);
        return NULL;
    }
    psip_doc *doc = g_new0(psip_doc, 1);
    doc->dialogs = g_ptr_array_new_with_free_func(dialog_free);
    if (!read_root_attributes(root, doc, error) || !read_dialogs(root, doc, error)) {
        psip_doc_free(doc);
        return NULL;
    }
    return doc;
}

psip_doc *psip_dialoginfo_parse(const char *body, gsize len, GError **error)
{
    g_return_val_if_fail(body != NULL || len == 0, NULL);
    if (len > PSIP_DIALOGINFO_MAX_BYTES) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_TOO_LARGE,
                    "dialog-info body of %" G_GSIZE_FORMAT " bytes (limit %d)", len,
                    PSIP_DIALOGINFO_MAX_BYTES);
        return NULL;
    }
    if (len == 0) {
        g_set_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_MALFORMED,
                    "empty dialog-info body");
        return NULL;
    }
    ensure_libxml_initialized();
    xmlDocPtr xml = read_xml(body, len, error);
    if (xml == NULL) {
        return NULL;
    }
    psip_doc *doc = doc_from_tree(xml, error);
    xmlFreeDoc(xml);
    return doc;
}

void psip_doc_free(psip_doc *doc)
{
    if (doc == NULL) {
        return;
    }
    g_free(doc->entity);
    if (doc->dialogs != NULL) {
        g_ptr_array_unref(doc->dialogs);
    }
    g_free(doc);
}

static const char *const state_names[] = {
    [PSIP_DIALOG_NONE] = "none",
    [PSIP_DIALOG_UNKNOWN] = "unknown",
    [PSIP_DIALOG_TRYING] = "trying",
    [PSIP_DIALOG_PROCEEDING] = "proceeding",
    [PSIP_DIALOG_EARLY] = "early",
    [PSIP_DIALOG_CONFIRMED] = "confirmed",
    [PSIP_DIALOG_TERMINATED] = "terminated",
};

psip_dialog_state psip_dialog_state_from_text(const char *text)
{
    if (text == NULL) {
        return PSIP_DIALOG_UNKNOWN;
    }
    for (int s = PSIP_DIALOG_TRYING; s <= PSIP_DIALOG_TERMINATED; s++) {
        if (g_ascii_strcasecmp(text, state_names[s]) == 0) {
            return (psip_dialog_state)s;
        }
    }
    return PSIP_DIALOG_UNKNOWN;
}

const char *psip_dialog_state_name(psip_dialog_state state)
{
    if ((unsigned)state >= G_N_ELEMENTS(state_names)) {
        return "unknown";
    }
    return state_names[state];
}

const char *psip_direction_name(psip_direction direction)
{
    switch (direction) {
    case PSIP_DIRECTION_INITIATOR:
        return "initiator";
    case PSIP_DIRECTION_RECIPIENT:
        return "recipient";
    default:
        return "unspecified";
    }
}
