/*
 * psip-test.c - the dialog-info parser and the line state (suite pbx-sip).
 *
 * The documents are shaped like those Kamailio's pua_dialoginfo and
 * presence_dialoginfo send (tests/peers recipe sip-kamailio-blf.sh): a caller
 * goes "Trying" (capitalised) -> early -> confirmed -> terminated, a callee
 * early -> confirmed -> terminated, an idle line holds one dummy terminated
 * dialog without call-id, and ended dialogs linger beside new ones.
 */
#include "sip-line.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>

#define ENTITY "sip:alice@127.0.0.1"

/* One <dialog> element as pua_dialoginfo writes it (remote may be NULL). */
static char *dialog_xml(const char *call_id, const char *direction, const char *state,
                        const char *remote)
{
    g_autofree char *remote_xml =
        remote != NULL ? g_strdup_printf("<remote><identity display=\"Peer\">%s</identity>"
                                         "<target uri=\"%s\"/></remote>",
                                         remote, remote)
                       : g_strdup("");
    return g_strdup_printf("<dialog id=\"%s\" call-id=\"%s\" local-tag=\"lt-%s\" "
                           "remote-tag=\"rt-%s\" direction=\"%s\">\n"
                           "  <state>%s</state>\n"
                           "  <local><identity display=\"Alice\">" ENTITY "</identity>"
                           "<target uri=\"sip:alice@127.0.0.1:5061\"/></local>%s\n"
                           "</dialog>\n",
                           call_id, call_id, call_id, call_id, direction, state, remote_xml);
}

/* presence_dialoginfo's idle body (force_dummy_dialog): no call-id. */
#define DUMMY_DIALOG                                                                               \
    "<dialog id=\"615293b33c62dec073e05d9421e9f48b\" direction=\"recipient\">"                     \
    "<state>terminated</state></dialog>\n"

static char *doc_xml(guint64 version, const char *state, const char *dialogs)
{
    return g_strdup_printf("<?xml version=\"1.0\"?>\n"
                           "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
                           "version=\"%" G_GUINT64_FORMAT "\" state=\"%s\" entity=\"" ENTITY
                           "\">\n%s</dialog-info>\n",
                           version, state, dialogs);
}

static psip_doc *parse_ok(const char *text)
{
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(text, strlen(text), &error);
    g_assert_no_error(error);
    g_assert_nonnull(doc);
    return doc;
}

static void assert_refused(const char *text, gsize len, int code)
{
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(text, len, &error);
    g_assert_null(doc);
    g_assert_error(error, PSIP_DIALOGINFO_ERROR, code);
    g_error_free(error);
}

/* Parses and applies one document; the changes it made replace `changes`. */
static psip_line_result apply_xml(psip_line *line, const char *text, GPtrArray *changes)
{
    g_autoptr(psip_doc) doc = parse_ok(text);
    g_ptr_array_set_size(changes, 0);
    return psip_line_apply(line, doc, changes);
}

static psip_line_result apply_one(psip_line *line, guint64 version, const char *state,
                                  const char *dialogs, GPtrArray *changes)
{
    g_autofree char *text = doc_xml(version, state, dialogs);
    return apply_xml(line, text, changes);
}

static void assert_change(GPtrArray *changes, guint index, const char *key, psip_dialog_state from,
                          psip_dialog_state to)
{
    g_assert_cmpuint(index, <, changes->len);
    const psip_line_change *change = g_ptr_array_index(changes, index);
    g_assert_cmpstr(change->key, ==, key);
    g_assert_cmpstr(psip_dialog_state_name(change->from), ==, psip_dialog_state_name(from));
    g_assert_cmpstr(psip_dialog_state_name(change->to), ==, psip_dialog_state_name(to));
}

/* ---- the parser ---- */

static void test_parse_kamailio_caller(void)
{
    g_autofree char *dialog = dialog_xml("c1@ua", "initiator", "Trying", "sip:bob@127.0.0.1");
    g_autofree char *text = doc_xml(3, "full", dialog);
    g_autoptr(psip_doc) doc = parse_ok(text);
    g_assert_cmpuint(doc->version, ==, 3);
    g_assert_cmpint(doc->state, ==, PSIP_DOC_FULL);
    g_assert_cmpstr(doc->entity, ==, ENTITY);
    g_assert_cmpuint(doc->dialogs->len, ==, 1);
    const psip_dialog *d = g_ptr_array_index(doc->dialogs, 0);
    g_assert_cmpstr(d->id, ==, "c1@ua");
    g_assert_cmpstr(d->call_id, ==, "c1@ua");
    g_assert_cmpstr(d->local_tag, ==, "lt-c1@ua");
    g_assert_cmpstr(d->remote_tag, ==, "rt-c1@ua");
    g_assert_cmpint(d->direction, ==, PSIP_DIRECTION_INITIATOR);
    g_assert_cmpint(d->state, ==, PSIP_DIALOG_TRYING);
    g_assert_cmpstr(d->state_text, ==, "Trying");
    g_assert_cmpstr(d->local.identity, ==, ENTITY);
    g_assert_cmpstr(d->local.identity_display, ==, "Alice");
    g_assert_cmpstr(d->local.target, ==, "sip:alice@127.0.0.1:5061");
    g_assert_cmpstr(d->remote.identity, ==, "sip:bob@127.0.0.1");
    g_assert_cmpstr(d->remote.identity_display, ==, "Peer");
    g_assert_cmpstr(d->remote.target, ==, "sip:bob@127.0.0.1");
    g_assert_null(d->event);
    g_assert_cmpint(d->code, ==, 0);
}

static void test_parse_states_any_case(void)
{
    const char *texts[] = {"trying", "PROCEEDING", "Early", "confirmed", "Terminated"};
    const psip_dialog_state states[] = {PSIP_DIALOG_TRYING, PSIP_DIALOG_PROCEEDING,
                                        PSIP_DIALOG_EARLY, PSIP_DIALOG_CONFIRMED,
                                        PSIP_DIALOG_TERMINATED};
    for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_assert_cmpint(psip_dialog_state_from_text(texts[i]), ==, states[i]);
    }
    g_assert_cmpint(psip_dialog_state_from_text("ringing"), ==, PSIP_DIALOG_UNKNOWN);
    g_assert_cmpint(psip_dialog_state_from_text(""), ==, PSIP_DIALOG_UNKNOWN);
    g_assert_cmpint(psip_dialog_state_from_text(NULL), ==, PSIP_DIALOG_UNKNOWN);
}

static void test_parse_terminated_event_and_code(void)
{
    g_autofree char *text =
        doc_xml(7, "partial",
                "<dialog id=\"x\" call-id=\"c9\" direction=\"recipient\">"
                "<state event=\"rejected\" code=\"486\">terminated</state></dialog>"
                "<dialog id=\"y\"><state event=\"timeout\" code=\"not-a-code\"> terminated </state>"
                "</dialog>");
    g_autoptr(psip_doc) doc = parse_ok(text);
    g_assert_cmpint(doc->state, ==, PSIP_DOC_PARTIAL);
    g_assert_cmpuint(doc->dialogs->len, ==, 2);
    const psip_dialog *rejected = g_ptr_array_index(doc->dialogs, 0);
    g_assert_cmpint(rejected->state, ==, PSIP_DIALOG_TERMINATED);
    g_assert_cmpstr(rejected->event, ==, "rejected");
    g_assert_cmpint(rejected->code, ==, 486);
    g_assert_cmpint(rejected->direction, ==, PSIP_DIRECTION_RECIPIENT);
    const psip_dialog *timeout = g_ptr_array_index(doc->dialogs, 1);
    g_assert_cmpint(timeout->state, ==, PSIP_DIALOG_TERMINATED);
    g_assert_cmpstr(timeout->event, ==, "timeout");
    g_assert_cmpint(timeout->code, ==, 0); /* a bad code is dropped, not the document */
    g_assert_null(timeout->call_id);
    g_assert_cmpint(timeout->direction, ==, PSIP_DIRECTION_UNSPECIFIED);
}

static void test_parse_dummy_and_empty(void)
{
    g_autofree char *text = doc_xml(0, "full", DUMMY_DIALOG);
    g_autoptr(psip_doc) doc = parse_ok(text);
    g_assert_cmpuint(doc->dialogs->len, ==, 1);
    const psip_dialog *d = g_ptr_array_index(doc->dialogs, 0);
    g_assert_null(d->call_id);
    g_assert_cmpint(d->state, ==, PSIP_DIALOG_TERMINATED);
    g_assert_null(d->remote.identity);

    g_autofree char *empty = doc_xml(1, "full", "");
    g_autoptr(psip_doc) none = parse_ok(empty);
    g_assert_cmpuint(none->dialogs->len, ==, 0);
}

static void test_parse_unknown_state(void)
{
    g_autofree char *text = doc_xml(
        2, "full", "<dialog id=\"a\"><state>ringing</state></dialog><dialog id=\"b\"></dialog>");
    g_autoptr(psip_doc) doc = parse_ok(text);
    const psip_dialog *ringing = g_ptr_array_index(doc->dialogs, 0);
    g_assert_cmpint(ringing->state, ==, PSIP_DIALOG_UNKNOWN);
    g_assert_cmpstr(ringing->state_text, ==, "ringing");
    const psip_dialog *stateless = g_ptr_array_index(doc->dialogs, 1);
    g_assert_cmpint(stateless->state, ==, PSIP_DIALOG_UNKNOWN);
    g_assert_null(stateless->state_text);
}

static void test_parse_ignores_foreign_elements(void)
{
    g_autofree char *text =
        doc_xml(4, "full",
                "<x:extra xmlns:x=\"urn:example\"><dialog id=\"hidden\"/></x:extra>"
                "<dialog xmlns=\"urn:example\" id=\"other-ns\"/>"
                "<!-- a comment --><dialog id=\"real\"><state><![CDATA[early]]></state></dialog>");
    g_autoptr(psip_doc) doc = parse_ok(text);
    g_assert_cmpuint(doc->dialogs->len, ==, 1);
    const psip_dialog *d = g_ptr_array_index(doc->dialogs, 0);
    g_assert_cmpstr(d->id, ==, "real");
    g_assert_cmpint(d->state, ==, PSIP_DIALOG_EARLY);
}

static void test_parse_malformed(void)
{
    const char *bodies[] = {
        "garbage",
        "<dialog-info",
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
        "entity=\"sip:a@b\"><dialog id=\"1\"></dialog-info>",
        "<a></b>",
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
        "entity=\"&undeclared;\"/>",
        "\xff\xfe\x00garbage",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
        assert_refused(bodies[i], strlen(bodies[i]), PSIP_DIALOGINFO_ERROR_MALFORMED);
    }
    assert_refused("", 0, PSIP_DIALOGINFO_ERROR_MALFORMED);
    /* NUL bytes inside the body */
    assert_refused("<a>\0</a>", 8, PSIP_DIALOGINFO_ERROR_MALFORMED);
}

/* Every cut of a real document short of its closing tag is refused. */
static void test_parse_truncated(void)
{
    g_autofree char *dialog = dialog_xml("c1@ua", "initiator", "confirmed", "sip:bob@127.0.0.1");
    g_autofree char *text = doc_xml(5, "full", dialog);
    gsize complete = strstr(text, "</dialog-info>") + strlen("</dialog-info>") - text;
    for (gsize len = 0; len < complete; len++) {
        GError *error = NULL;
        psip_doc *doc = psip_dialoginfo_parse(text, len, &error);
        if (doc != NULL) {
            g_error("a document cut at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " parsed", len,
                    complete);
        }
        g_assert_nonnull(error);
        g_error_free(error);
    }
    psip_doc_free(parse_ok(text));
}

static void test_parse_oversized(void)
{
    g_autofree char *dialog = dialog_xml("c1@ua", "initiator", "early", "sip:bob@127.0.0.1");
    g_autofree char *text = doc_xml(1, "full", dialog);
    gsize len = strlen(text);
    g_autofree char *padded = g_malloc(PSIP_DIALOGINFO_MAX_BYTES + 1);
    memcpy(padded, text, len);
    memset(padded + len, ' ', PSIP_DIALOGINFO_MAX_BYTES + 1 - len);
    /* The document padded with trailing blanks to exactly the limit parses... */
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(padded, PSIP_DIALOGINFO_MAX_BYTES, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(doc->dialogs->len, ==, 1);
    psip_doc_free(doc);
    /* ...one byte more is refused before any parsing, */
    assert_refused(padded, PSIP_DIALOGINFO_MAX_BYTES + 1, PSIP_DIALOGINFO_ERROR_TOO_LARGE);
    /* and so is a megabyte. */
    g_autofree char *huge = g_malloc0(1024 * 1024);
    assert_refused(huge, 1024 * 1024, PSIP_DIALOGINFO_ERROR_TOO_LARGE);
}

static void test_parse_too_many_dialogs(void)
{
    GString *dialogs = g_string_new(NULL);
    for (int i = 0; i <= PSIP_DIALOGINFO_MAX_DIALOGS; i++) {
        g_string_append_printf(dialogs, "<dialog id=\"d%d\"/>", i);
    }
    g_autofree char *text = doc_xml(1, "full", dialogs->str);
    assert_refused(text, strlen(text), PSIP_DIALOGINFO_ERROR_TOO_MANY);
    g_string_free(dialogs, TRUE);
}

/* Counts external entity loads: the parser must never ask for one. */
static int external_loads;
static xmlExternalEntityLoader default_loader;

static xmlParserInputPtr counting_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    external_loads++;
    return default_loader(url, id, ctxt);
}

static void assert_doctype_refused(const char *text, gsize len, const char *secret)
{
    GError *error = NULL;
    psip_doc *doc = psip_dialoginfo_parse(text, len, &error);
    g_assert_cmpint(external_loads, ==, 0);
    g_assert_null(doc);
    g_assert_error(error, PSIP_DIALOGINFO_ERROR, PSIP_DIALOGINFO_ERROR_DOCTYPE);
    g_assert_null(strstr(error->message, secret));
    g_error_free(error);
}

/* A file:// entity naming a real file with a secret in it: the document is
 * refused, libxml2's entity loader is never called, the secret appears nowhere.
 * Also a parameter entity, an entity bomb, and the same in UTF-16 (a byte scan
 * for "<!DOCTYPE" would miss that one; the parser-level refusal does not). */
static void test_parse_external_entity_not_read(void)
{
    const char *secret = "TOP-SECRET-0123456789";
    g_autofree char *path = NULL;
    GError *error = NULL;
    int fd = g_file_open_tmp("psip-secret-XXXXXX", &path, &error);
    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(path, secret, -1, &error));
    close(fd);
    g_autofree char *uri = g_filename_to_uri(path, NULL, &error);
    g_assert_no_error(error);

    default_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(counting_loader);
    external_loads = 0;

    g_autofree char *general = g_strdup_printf(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE dialog-info [<!ENTITY secret SYSTEM \"%s\">]>\n"
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" "
        "state=\"full\" entity=\"sip:a@b\"><dialog id=\"d\"><state>early</state>"
        "<remote><identity>&secret;</identity></remote></dialog></dialog-info>",
        uri);
    g_autofree char *parameter =
        g_strdup_printf("<!DOCTYPE dialog-info [<!ENTITY %% ext SYSTEM \"%s\"> %%ext;]>"
                        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" "
                        "state=\"full\" entity=\"sip:a@b\"/>",
                        uri);
    g_autofree char *external_dtd =
        g_strdup_printf("<!DOCTYPE dialog-info SYSTEM \"%s\"><dialog-info "
                        "xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" "
                        "state=\"full\" entity=\"sip:a@b\"/>",
                        uri);
    const char *bomb =
        "<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
        "entity=\"&d;\"/>";
    assert_doctype_refused(general, strlen(general), secret);
    assert_doctype_refused(parameter, strlen(parameter), secret);
    assert_doctype_refused(external_dtd, strlen(external_dtd), secret);
    assert_doctype_refused(bomb, strlen(bomb), secret);

    /* UTF-16LE with a byte-order mark, and without the XML declaration. */
    const char *general_body = strstr(general, "<!DOCTYPE");
    gsize utf16_len = 0;
    g_autofree char *utf16 =
        g_convert(general_body, -1, "UTF-16LE", "UTF-8", NULL, &utf16_len, &error);
    g_assert_no_error(error);
    g_autofree char *with_bom = g_malloc(utf16_len + 2);
    with_bom[0] = (char)0xff;
    with_bom[1] = (char)0xfe;
    memcpy(with_bom + 2, utf16, utf16_len);
    assert_doctype_refused(with_bom, utf16_len + 2, secret);

    g_assert_cmpint(external_loads, ==, 0);
    xmlSetExternalEntityLoader(default_loader);
    g_unlink(path);
}

static void test_parse_wrong_root(void)
{
    const char *bodies[] = {
        "<dialog-info version=\"1\" state=\"full\" entity=\"sip:a@b\"/>",
        "<dialog-info xmlns=\"urn:example\" version=\"1\" state=\"full\" entity=\"sip:a@b\"/>",
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>",
        "<di:dialog-info xmlns:di=\"urn:ietf:params:xml:ns:dialog-info-typo\" version=\"1\" "
        "state=\"full\" entity=\"sip:a@b\"/>",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
        assert_refused(bodies[i], strlen(bodies[i]), PSIP_DIALOGINFO_ERROR_WRONG_ROOT);
    }
    /* A prefixed root in the right namespace is the same document. */
    const char *prefixed = "<di:dialog-info xmlns:di=\"urn:ietf:params:xml:ns:dialog-info\" "
                           "version=\"2\" state=\"full\" entity=\"sip:a@b\"><di:dialog id=\"z\">"
                           "<di:state>confirmed</di:state></di:dialog></di:dialog-info>";
    g_autoptr(psip_doc) doc = parse_ok(prefixed);
    g_assert_cmpuint(doc->dialogs->len, ==, 1);
}

#define ROOT_OPEN "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "

static void test_parse_missing_attributes(void)
{
    const char *bodies[] = {
        ROOT_OPEN "state=\"full\" entity=\"sip:a@b\"/>",
        ROOT_OPEN "version=\"1\" entity=\"sip:a@b\"/>",
        ROOT_OPEN "version=\"1\" state=\"full\"/>",
        ROOT_OPEN "version=\"1\" state=\"everything\" entity=\"sip:a@b\"/>",
        ROOT_OPEN "version=\"1\" state=\"full\" entity=\"sip:a@b\"><dialog call-id=\"c\">"
                  "<state>early</state></dialog></dialog-info>",
        ROOT_OPEN "version=\"1\" state=\"full\" entity=\"sip:a@b\"><dialog id=\"\"/></dialog-info>",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
        assert_refused(bodies[i], strlen(bodies[i]), PSIP_DIALOGINFO_ERROR_INVALID);
    }
}

static void test_parse_bad_version(void)
{
    const char *versions[] = {"abc", "-1", "1.5", "", " 1", "0x10", "99999999999999999999999"};
    for (guint i = 0; i < G_N_ELEMENTS(versions); i++) {
        g_autofree char *text = g_strdup_printf(
            ROOT_OPEN "version=\"%s\" state=\"full\" entity=\"sip:a@b\"/>", versions[i]);
        assert_refused(text, strlen(text), PSIP_DIALOGINFO_ERROR_INVALID);
    }
    g_autoptr(psip_doc) doc =
        parse_ok(ROOT_OPEN "version=\"18446744073709551615\" state=\"full\" entity=\"x\"/>");
    g_assert_cmpuint(doc->version, ==, G_MAXUINT64);
}

/* ---- the line ---- */

#define BOB "sip:bob@127.0.0.1"

/* What pua_dialoginfo publishes for a caller, one document per state, each
 * full (presence_dialoginfo aggregates), with the dummy while idle. */
static void test_line_caller_sequence(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_assert_cmpint(apply_one(line, 0, "full", DUMMY_DIALOG, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_false(psip_line_needs_resync(line));

    const char *steps[] = {"Trying", "early", "confirmed", "terminated"};
    const psip_dialog_state states[] = {PSIP_DIALOG_TRYING, PSIP_DIALOG_EARLY,
                                        PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED};
    psip_dialog_state previous = PSIP_DIALOG_NONE;
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        /* the first Trying has no remote side yet */
        g_autofree char *dialog =
            dialog_xml("call-1@alice", "initiator", steps[i], i == 0 ? NULL : BOB);
        g_assert_cmpint(apply_one(line, i + 1, "full", dialog, changes), ==, PSIP_LINE_APPLIED);
        g_assert_cmpuint(changes->len, ==, 1);
        assert_change(changes, 0, "call-1@alice", previous, states[i]);
        const psip_line_change *change = g_ptr_array_index(changes, 0);
        g_assert_cmpint(change->direction, ==, PSIP_DIRECTION_INITIATOR);
        g_assert_cmpint(change->reason, ==, PSIP_CHANGE_REPORTED);
        g_assert_cmpstr(change->remote_identity, ==, i == 0 ? NULL : BOB);
        previous = states[i];
    }
    g_assert_cmpuint(psip_line_live_count(line), ==, 0);

    /* The ended call lingers beside the dummy, then goes: nothing to report. */
    g_autofree char *lingering = dialog_xml("call-1@alice", "initiator", "terminated", BOB);
    g_autofree char *both = g_strconcat(DUMMY_DIALOG, lingering, NULL);
    apply_one(line, 5, "full", both, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    apply_one(line, 6, "full", DUMMY_DIALOG, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "call-1@alice"), ==, PSIP_DIALOG_NONE);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_callee_sequence(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    const char *steps[] = {"early", "confirmed", "terminated"};
    psip_dialog_state previous = PSIP_DIALOG_NONE;
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        g_autofree char *dialog = dialog_xml("in-7@bob", "recipient", steps[i], BOB);
        apply_one(line, 10 + i, "full", dialog, changes);
        g_assert_cmpuint(changes->len, ==, 1);
        const psip_line_change *change = g_ptr_array_index(changes, 0);
        assert_change(changes, 0, "in-7@bob", previous, psip_dialog_state_from_text(steps[i]));
        g_assert_cmpint(change->direction, ==, PSIP_DIRECTION_RECIPIENT);
        g_assert_cmpstr(change->remote_identity, ==, BOB);
        g_assert_cmpstr(change->remote_display, ==, "Peer");
        previous = change->to;
    }
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* Several dialogs in one document, in any order: picked by call-id. */
static void test_line_lingering_dialogs(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *a_live = dialog_xml("A", "initiator", "confirmed", BOB);
    apply_one(line, 1, "full", a_live, changes);
    assert_change(changes, 0, "A", PSIP_DIALOG_NONE, PSIP_DIALOG_CONFIRMED);

    g_autofree char *a_ended = dialog_xml("A", "initiator", "terminated", BOB);
    g_autofree char *b_early = dialog_xml("B", "recipient", "early", "sip:carol@127.0.0.1");
    g_autofree char *doc2 = g_strconcat(b_early, a_ended, NULL);
    apply_one(line, 2, "full", doc2, changes);
    g_assert_cmpuint(changes->len, ==, 2);
    assert_change(changes, 0, "B", PSIP_DIALOG_NONE, PSIP_DIALOG_EARLY);
    assert_change(changes, 1, "A", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);

    /* the other order, B now answered, A still lingering: only B changes */
    g_autofree char *b_confirmed = dialog_xml("B", "recipient", "confirmed", NULL);
    g_autofree char *doc3 = g_strconcat(a_ended, b_confirmed, NULL);
    apply_one(line, 3, "full", doc3, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "B", PSIP_DIALOG_EARLY, PSIP_DIALOG_CONFIRMED);
    /* B's remote identity is remembered though this document left it out */
    g_assert_cmpstr(((psip_line_change *)g_ptr_array_index(changes, 0))->remote_identity, ==,
                    "sip:carol@127.0.0.1");
    g_assert_cmpuint(psip_line_live_count(line), ==, 1);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_duplicate_and_out_of_order(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *early = dialog_xml("C", "recipient", "early", BOB);
    g_autofree char *confirmed = dialog_xml("C", "recipient", "confirmed", BOB);
    apply_one(line, 4, "full", early, changes);
    apply_one(line, 5, "full", confirmed, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    /* the same document again, then an older one: both ignored */
    g_assert_cmpint(apply_one(line, 5, "full", confirmed, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(apply_one(line, 4, "full", early, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpint(apply_one(line, 3, "partial", "", changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "C"), ==, PSIP_DIALOG_CONFIRMED);
    g_assert_false(psip_line_needs_resync(line));
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_partial_and_gap(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *d1 = dialog_xml("D1", "initiator", "confirmed", BOB);
    g_autofree char *d2 = dialog_xml("D2", "recipient", "early", BOB);
    apply_one(line, 1, "full", d1, changes);
    /* a partial on top keeps D1 and adds D2 */
    apply_one(line, 2, "partial", d2, changes);
    g_assert_false(psip_line_needs_resync(line));
    g_assert_cmpuint(psip_line_live_count(line), ==, 2);
    /* version 3 went missing: 4 applies but asks for a resync */
    g_autofree char *d2_up = dialog_xml("D2", "recipient", "confirmed", BOB);
    g_assert_cmpint(apply_one(line, 4, "partial", d2_up, changes), ==, PSIP_LINE_APPLIED);
    g_assert_true(psip_line_needs_resync(line));
    assert_change(changes, 0, "D2", PSIP_DIALOG_EARLY, PSIP_DIALOG_CONFIRMED);
    /* the full document that follows the refresh: D1 gone, resync done */
    apply_one(line, 5, "full", d2_up, changes);
    g_assert_false(psip_line_needs_resync(line));
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "D1", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_cmpint(((psip_line_change *)g_ptr_array_index(changes, 0))->reason, ==,
                    PSIP_CHANGE_VANISHED);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_partial_first(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *d = dialog_xml("P", "initiator", "early", BOB);
    g_assert_cmpint(apply_one(line, 1, "partial", d, changes), ==, PSIP_LINE_APPLIED);
    g_assert_true(psip_line_needs_resync(line));
    g_assert_cmpuint(changes->len, ==, 1);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_unknown_state_keeps_dialog(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *confirmed = dialog_xml("U", "recipient", "confirmed", BOB);
    g_autofree char *odd = dialog_xml("U", "recipient", "on-hold-maybe", BOB);
    g_autofree char *odd_new = dialog_xml("V", "recipient", "whatever", BOB);
    g_autofree char *both = g_strconcat(odd, odd_new, NULL);
    apply_one(line, 1, "full", confirmed, changes);
    apply_one(line, 2, "full", both, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "U"), ==, PSIP_DIALOG_CONFIRMED);
    g_assert_cmpint(psip_line_dialog_state(line, "V"), ==, PSIP_DIALOG_NONE);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* confirmed -> early is old news (states only move forward): ignored; the
 * dialog still ends, and early -> early or trying -> early still apply. */
static void test_line_no_backwards_state(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *trying = dialog_xml("B", "initiator", "Trying", BOB);
    g_autofree char *early = dialog_xml("B", "initiator", "early", BOB);
    g_autofree char *confirmed = dialog_xml("B", "initiator", "confirmed", BOB);
    g_autofree char *terminated = dialog_xml("B", "initiator", "terminated", BOB);
    apply_one(line, 1, "full", trying, changes);
    apply_one(line, 2, "full", early, changes);
    assert_change(changes, 0, "B", PSIP_DIALOG_TRYING, PSIP_DIALOG_EARLY);
    apply_one(line, 3, "full", confirmed, changes);
    apply_one(line, 4, "full", early, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    apply_one(line, 5, "full", trying, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "B"), ==, PSIP_DIALOG_CONFIRMED);
    apply_one(line, 6, "full", terminated, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "B", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* Two dialogs of one line end together (the driver's click-to-dial leg and
 * the call it made): Kamailio's workers can number a document built before
 * the call ended after one built after it. An answered call's end is final,
 * so the higher-numbered old news neither revives the call nor, once the
 * ended call was forgotten, brings it back as a new one. */
static void test_line_terminated_is_final(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *call_up = dialog_xml("C", "recipient", "confirmed", BOB);
    g_autofree char *call_down = dialog_xml("C", "recipient", "terminated", BOB);
    g_autofree char *dial_up = dialog_xml("D", "recipient", "confirmed", BOB);
    g_autofree char *dial_down = dialog_xml("D", "recipient", "terminated", BOB);
    g_autofree char *both_up = g_strconcat(call_up, dial_up, NULL);
    g_autofree char *call_ended = g_strconcat(call_down, dial_up, NULL);
    g_autofree char *stale = g_strconcat(call_up, dial_down, NULL);
    apply_one(line, 1, "full", both_up, changes);
    g_assert_cmpuint(changes->len, ==, 2);
    apply_one(line, 2, "full", call_ended, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "C", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_cmpint(apply_one(line, 3, "full", stale, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "D", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_cmpint(psip_line_dialog_state(line, "C"), ==, PSIP_DIALOG_TERMINATED);
    g_assert_cmpuint(psip_line_live_count(line), ==, 0);
    /* both forgotten after an idle document; old news of C still changes nothing */
    apply_one(line, 4, "full", DUMMY_DIALOG, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "C"), ==, PSIP_DIALOG_NONE);
    apply_one(line, 5, "full", stale, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpuint(psip_line_live_count(line), ==, 0);
    /* a call that vanished from a full document is as ended */
    g_autofree char *other = dialog_xml("E", "initiator", "confirmed", BOB);
    apply_one(line, 6, "full", other, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    apply_one(line, 7, "full", DUMMY_DIALOG, changes);
    assert_change(changes, 0, "E", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    apply_one(line, 8, "full", other, changes);
    g_assert_cmpuint(changes->len, ==, 0);
    /* a call that ended unanswered is not over for good: another branch of
     * it may still answer under the same call-id */
    g_autofree char *f_early = dialog_xml("F", "initiator", "early", BOB);
    g_autofree char *f_down = dialog_xml("F", "initiator", "terminated", BOB);
    g_autofree char *f_up = dialog_xml("F", "initiator", "confirmed", BOB);
    apply_one(line, 9, "full", f_early, changes);
    apply_one(line, 10, "full", f_down, changes);
    assert_change(changes, 0, "F", PSIP_DIALOG_EARLY, PSIP_DIALOG_TERMINATED);
    apply_one(line, 11, "full", f_up, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "F", PSIP_DIALOG_TERMINATED, PSIP_DIALOG_CONFIRMED);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* Kamailio sends documents over UDP from several workers: a document can
 * arrive after one numbered above it, and still be the newer news for a
 * call (seen in sip-link under valgrind: the call's end came in version 2
 * after version 3 still showing it confirmed). The late one moves calls
 * forward only: it revives none, starts none and ends none by leaving it
 * out, and Asterisk's hint dialogs (no call-id) ignore it. */
static void test_line_late_document_moves_forward(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *c_early = dialog_xml("C", "initiator", "early", BOB);
    g_autofree char *c_up = dialog_xml("C", "initiator", "confirmed", BOB);
    g_autofree char *c_down = dialog_xml("C", "initiator", "terminated", BOB);
    g_autofree char *g_up = dialog_xml("G", "recipient", "confirmed", BOB);
    apply_one(line, 1, "full", c_early, changes);
    /* version 3 (early, built first) before version 2 (confirmed) */
    g_assert_cmpint(apply_one(line, 3, "full", c_early, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(apply_one(line, 2, "full", c_up, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "C", PSIP_DIALOG_EARLY, PSIP_DIALOG_CONFIRMED);
    g_assert_cmpstr(((psip_line_change *)g_ptr_array_index(changes, 0))->remote_identity, ==, BOB);
    /* the end, late behind a document still showing the call up */
    apply_one(line, 5, "full", c_up, changes);
    g_assert_cmpint(apply_one(line, 4, "full", c_down, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "C", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_cmpuint(psip_line_live_count(line), ==, 0);
    /* late news going backwards changes nothing */
    g_assert_cmpint(apply_one(line, 4, "full", c_up, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 0);
    /* a late document starts no call, and ends none by leaving it out */
    g_assert_cmpint(apply_one(line, 4, "full", g_up, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpint(psip_line_dialog_state(line, "G"), ==, PSIP_DIALOG_NONE);
    apply_one(line, 6, "full", g_up, changes);
    g_assert_cmpint(apply_one(line, 5, "full", DUMMY_DIALOG, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "G"), ==, PSIP_DIALOG_CONFIRMED);
    /* hint dialogs (no call-id) take nothing from a late document */
    const char *hint_up = "<dialog id=\"201\" direction=\"recipient\"><state>confirmed</state>"
                          "</dialog>\n";
    const char *hint_down = "<dialog id=\"201\" direction=\"recipient\"><state>terminated"
                            "</state></dialog>\n";
    g_autofree char *with_hint = g_strconcat(g_up, hint_up, NULL);
    g_autofree char *hint_ended = g_strconcat(g_up, hint_down, NULL);
    apply_one(line, 8, "full", with_hint, changes);
    g_assert_cmpint(psip_line_dialog_state(line, "201"), ==, PSIP_DIALOG_CONFIRMED);
    g_assert_cmpint(apply_one(line, 7, "full", hint_ended, changes), ==, PSIP_LINE_STALE);
    g_assert_cmpuint(changes->len, ==, 0);
    g_assert_cmpint(psip_line_dialog_state(line, "201"), ==, PSIP_DIALOG_CONFIRMED);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

static void test_line_new_subscription_and_link_lost(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *live = dialog_xml("L", "initiator", "confirmed", BOB);
    apply_one(line, 40, "full", live, changes);
    /* a new subscription numbers from 0 again: not stale */
    psip_line_new_subscription(line);
    g_assert_cmpint(apply_one(line, 0, "full", live, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 0);
    g_ptr_array_set_size(changes, 0);
    psip_line_end_all(line, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "L", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_cmpint(((psip_line_change *)g_ptr_array_index(changes, 0))->reason, ==,
                    PSIP_CHANGE_LINK_LOST);
    g_assert_cmpuint(psip_line_live_count(line), ==, 0);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* A forked call: two dialogs share a call-id; the furthest live one counts. */
static void test_line_forked_call(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    const char *forks = "<dialog id=\"f1\" call-id=\"F\" direction=\"initiator\">"
                        "<state>confirmed</state></dialog>"
                        "<dialog id=\"f2\" call-id=\"F\" direction=\"initiator\">"
                        "<state>terminated</state></dialog>"
                        "<dialog id=\"f3\" call-id=\"F\" direction=\"initiator\">"
                        "<state>early</state></dialog>";
    apply_one(line, 1, "full", forks, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    assert_change(changes, 0, "F", PSIP_DIALOG_NONE, PSIP_DIALOG_CONFIRMED);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* Partial documents adding dialogs without end: the line stays bounded. */
static void test_line_flood_is_bounded(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *start = doc_xml(0, "full", "");
    apply_xml(line, start, changes);
    guint64 version = 1;
    for (int batch = 0; batch < 2 * PSIP_LINE_MAX_DIALOGS / 200; batch++) {
        GString *dialogs = g_string_new(NULL);
        for (int i = 0; i < 200; i++) {
            g_string_append_printf(dialogs, "<dialog id=\"f%d-%d\"><state>early</state></dialog>",
                                   batch, i);
        }
        apply_one(line, version++, "partial", dialogs->str, changes);
        g_string_free(dialogs, TRUE);
    }
    g_assert_cmpuint(psip_line_live_count(line), ==, PSIP_LINE_MAX_DIALOGS);
    g_assert_true(psip_line_needs_resync(line));
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* ---- why a dialog ended (psip_line_change_end_cause) ---- */

/* The end cause of a dialog on a fresh line that went `before` (a state, in
 * `direction`), then terminated with `attrs` on its <state> (e.g.
 * "event=\"rejected\" code=\"603\""); also checks that the change carries the
 * event and code. */
static psip_end_cause end_cause(const char *direction, const char *before, const char *attrs)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *live = g_strdup_printf("<dialog id=\"d\" call-id=\"c\" direction=\"%s\">"
                                            "<state>%s</state></dialog>",
                                            direction, before);
    g_autofree char *ended = g_strdup_printf("<dialog id=\"d\" call-id=\"c\" direction=\"%s\">"
                                             "<state %s>terminated</state></dialog>",
                                             direction, attrs);
    g_assert_cmpint(apply_one(line, 1, "full", live, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpint(psip_line_change_end_cause(g_ptr_array_index(changes, 0)), ==, PSIP_END_NONE);
    g_assert_cmpint(apply_one(line, 2, "full", ended, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 1);
    const psip_line_change *change = g_ptr_array_index(changes, 0);
    g_assert_cmpint(change->to, ==, PSIP_DIALOG_TERMINATED);
    if (strstr(attrs, "event=") != NULL)
        g_assert_nonnull(change->event);
    if (strstr(attrs, "code=") != NULL)
        g_assert_cmpint(change->code, >, 0);
    psip_end_cause cause = psip_line_change_end_cause(change);
    g_ptr_array_unref(changes);
    psip_line_free(line);
    return cause;
}

static void test_end_cause_codes(void)
{
    g_assert_cmpint(end_cause("initiator", "early", "event=\"rejected\" code=\"486\""), ==,
                    PSIP_END_BUSY);
    g_assert_cmpint(end_cause("initiator", "early", "code=\"600\""), ==, PSIP_END_BUSY);
    g_assert_cmpint(end_cause("recipient", "early", "event=\"rejected\" code=\"603\""), ==,
                    PSIP_END_REJECTED);
    g_assert_cmpint(end_cause("initiator", "early", "code=\"480\""), ==, PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("initiator", "Trying", "code=\"408\""), ==, PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("recipient", "early", "event=\"cancelled\" code=\"487\""), ==,
                    PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("initiator", "early", "code=\"404\""), ==, PSIP_END_FAILED);
    g_assert_cmpint(end_cause("initiator", "early", "event=\"error\" code=\"500\""), ==,
                    PSIP_END_FAILED);
    g_assert_cmpint(end_cause("recipient", "confirmed", "event=\"remote-bye\" code=\"200\""), ==,
                    PSIP_END_NORMAL);
}

static void test_end_cause_events(void)
{
    g_assert_cmpint(end_cause("recipient", "early", "event=\"rejected\""), ==, PSIP_END_REJECTED);
    g_assert_cmpint(end_cause("initiator", "early", "event=\"cancelled\""), ==, PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("initiator", "early", "event=\"timeout\""), ==, PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("initiator", "early", "event=\"error\""), ==, PSIP_END_FAILED);
    g_assert_cmpint(end_cause("recipient", "early", "event=\"replaced\""), ==, PSIP_END_PICKED_UP);
    g_assert_cmpint(end_cause("recipient", "confirmed", "event=\"replaced\""), ==,
                    PSIP_END_TRANSFERRED);
    g_assert_cmpint(end_cause("initiator", "confirmed", "event=\"local-bye\""), ==,
                    PSIP_END_NORMAL);
    g_assert_cmpint(end_cause("recipient", "confirmed", "event=\"remote-bye\""), ==,
                    PSIP_END_NORMAL);
}

/* Nothing said: a callee that never answered missed the call; a caller that
 * gave up, or any answered call, ended normally (Kamailio sends no event). */
static void test_end_cause_unsaid(void)
{
    g_assert_cmpint(end_cause("recipient", "early", ""), ==, PSIP_END_NO_ANSWER);
    g_assert_cmpint(end_cause("recipient", "confirmed", ""), ==, PSIP_END_NORMAL);
    g_assert_cmpint(end_cause("initiator", "early", ""), ==, PSIP_END_NORMAL);
    g_assert_cmpint(end_cause("initiator", "confirmed", "event=\"no-such-event\""), ==,
                    PSIP_END_NORMAL);
}

/* A dialog a full document no longer lists, and the link lost. */
static void test_end_cause_vanished_and_link_lost(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *a = dialog_xml("a", "recipient", "early", NULL);
    g_autofree char *b = dialog_xml("b", "initiator", "confirmed", NULL);
    g_autofree char *both = g_strconcat(a, b, NULL);
    apply_one(line, 1, "full", both, changes);
    apply_one(line, 2, "full", b, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    g_assert_cmpint(psip_line_change_end_cause(g_ptr_array_index(changes, 0)), ==, PSIP_END_NORMAL);
    g_ptr_array_set_size(changes, 0);
    psip_line_end_all(line, changes);
    g_assert_cmpuint(changes->len, ==, 1);
    g_assert_cmpint(psip_line_change_end_cause(g_ptr_array_index(changes, 0)), ==,
                    PSIP_END_LINK_LOST);
    g_ptr_array_unref(changes);
    psip_line_free(line);
}

/* ---- Asterisk's hints (constructed from res_pjsip_dialog_info_body_generator.c
 * as pjlib prints it, not recorded: no Asterisk here) ---- */

#define AST_PROLOG "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define AST_ROOT(version)                                                                          \
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"" version                 \
    "\" state=\"full\" entity=\"sip:202@pbx.example.org\">\n"

/* Extension 202 ringing (Asterisk 18.4 and later add the identities). */
static const char AST_202_EARLY[] =
    AST_PROLOG AST_ROOT("1") " <dialog id=\"202\" direction=\"recipient\">\n"
                             "  <remote>\n"
                             "   <identity display=\"Alice\">sip:201@pbx.example.org</identity>\n"
                             "   <target uri=\"sip:201@pbx.example.org\" />\n"
                             "  </remote>\n"
                             "  <local>\n"
                             "   <identity>sip:202@pbx.example.org</identity>\n"
                             "   <target uri=\"sip:202@pbx.example.org\" />\n"
                             "  </local>\n"
                             "  <state>early</state>\n"
                             " </dialog>\n"
                             "</dialog-info>\n";

static char *ast_bare(const char *version, const char *state)
{
    return g_strdup_printf(AST_PROLOG "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
                                      "version=\"%s\" state=\"full\" "
                                      "entity=\"sip:202@pbx.example.org\">\n"
                                      " <dialog id=\"202\">\n  <state>%s</state>\n </dialog>\n"
                                      "</dialog-info>\n",
                           version, state);
}

/* The driver tells a hint from a call by the missing call-id (pbx-sip.c):
 * the parser and the line must hand that through, keyed by the dialog id,
 * one dialog for every call the extension has. */
static void test_line_asterisk_hint(void)
{
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    g_autofree char *idle = ast_bare("0", "terminated");
    g_autofree char *busy = ast_bare("2", "confirmed");
    g_autofree char *idle_again = ast_bare("3", "terminated");

    g_assert_cmpint(apply_xml(line, idle, changes), ==, PSIP_LINE_APPLIED);
    g_assert_cmpuint(changes->len, ==, 0); /* first seen ended: nothing to tell */
    g_autoptr(psip_doc) early = parse_ok(AST_202_EARLY);
    const psip_dialog *d = g_ptr_array_index(early->dialogs, 0);
    g_assert_null(d->call_id);
    g_assert_null(d->local_tag);
    g_assert_null(d->remote_tag);
    g_assert_cmpstr(d->remote.identity, ==, "sip:201@pbx.example.org");
    g_assert_cmpint(apply_xml(line, AST_202_EARLY, changes), ==, PSIP_LINE_APPLIED);
    assert_change(changes, 0, "202", PSIP_DIALOG_TERMINATED, PSIP_DIALOG_EARLY);
    const psip_line_change *c = g_ptr_array_index(changes, 0);
    g_assert_null(c->call_id);
    g_assert_cmpint(c->direction, ==, PSIP_DIRECTION_RECIPIENT);
    g_assert_cmpint(apply_xml(line, busy, changes), ==, PSIP_LINE_APPLIED);
    assert_change(changes, 0, "202", PSIP_DIALOG_EARLY, PSIP_DIALOG_CONFIRMED);
    g_assert_cmpint(apply_xml(line, idle_again, changes), ==, PSIP_LINE_APPLIED);
    assert_change(changes, 0, "202", PSIP_DIALOG_CONFIRMED, PSIP_DIALOG_TERMINATED);
    g_assert_null(((const psip_line_change *)g_ptr_array_index(changes, 0))->call_id);

    g_ptr_array_unref(changes);
    psip_line_free(line);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/psip/parse/kamailio-caller", test_parse_kamailio_caller);
    g_test_add_func("/psip/parse/states-any-case", test_parse_states_any_case);
    g_test_add_func("/psip/parse/terminated-event-code", test_parse_terminated_event_and_code);
    g_test_add_func("/psip/parse/dummy-and-empty", test_parse_dummy_and_empty);
    g_test_add_func("/psip/parse/unknown-state", test_parse_unknown_state);
    g_test_add_func("/psip/parse/foreign-elements", test_parse_ignores_foreign_elements);
    g_test_add_func("/psip/parse/malformed", test_parse_malformed);
    g_test_add_func("/psip/parse/truncated", test_parse_truncated);
    g_test_add_func("/psip/parse/oversized", test_parse_oversized);
    g_test_add_func("/psip/parse/too-many-dialogs", test_parse_too_many_dialogs);
    g_test_add_func("/psip/parse/external-entity-not-read", test_parse_external_entity_not_read);
    g_test_add_func("/psip/parse/wrong-root", test_parse_wrong_root);
    g_test_add_func("/psip/parse/missing-attributes", test_parse_missing_attributes);
    g_test_add_func("/psip/parse/bad-version", test_parse_bad_version);
    g_test_add_func("/psip/line/caller", test_line_caller_sequence);
    g_test_add_func("/psip/line/callee", test_line_callee_sequence);
    g_test_add_func("/psip/line/lingering", test_line_lingering_dialogs);
    g_test_add_func("/psip/line/duplicate-out-of-order", test_line_duplicate_and_out_of_order);
    g_test_add_func("/psip/line/partial-gap", test_line_partial_and_gap);
    g_test_add_func("/psip/line/partial-first", test_line_partial_first);
    g_test_add_func("/psip/line/unknown-state", test_line_unknown_state_keeps_dialog);
    g_test_add_func("/psip/line/no-backwards-state", test_line_no_backwards_state);
    g_test_add_func("/psip/line/terminated-is-final", test_line_terminated_is_final);
    g_test_add_func("/psip/line/late-document-moves-forward",
                    test_line_late_document_moves_forward);
    g_test_add_func("/psip/line/new-subscription-link-lost",
                    test_line_new_subscription_and_link_lost);
    g_test_add_func("/psip/line/forked", test_line_forked_call);
    g_test_add_func("/psip/line/flood-bounded", test_line_flood_is_bounded);
    g_test_add_func("/psip/line/asterisk-hint", test_line_asterisk_hint);
    g_test_add_func("/psip/end-cause/codes", test_end_cause_codes);
    g_test_add_func("/psip/end-cause/events", test_end_cause_events);
    g_test_add_func("/psip/end-cause/unsaid", test_end_cause_unsaid);
    g_test_add_func("/psip/end-cause/vanished-link-lost", test_end_cause_vanished_and_link_lost);
    return g_test_run();
}
