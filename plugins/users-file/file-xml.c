/*
 * file-xml.c - safe reading, validation, editing and atomic saving of
 * users-file documents with libxml2.
 *
 * The parser options are the heart of the safety story: XML_PARSE_NONET (no
 * network, ever), and neither XML_PARSE_NOENT (entity substitution) nor
 * XML_PARSE_DTDLOAD (loading external DTDs). On top of that the SAX hook for
 * a DOCTYPE stops the parser at once: a users file has no DTD, and refusing
 * the DOCTYPE before its internal subset is read means no entity is ever
 * declared, so neither an external entity (file or URL disclosure) nor a
 * nested-entity expansion bomb can do anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "file-xml.h"

/* More errors than this from one load are counted, not listed: an admin fixes
 * the first few and tries again, and a log flooded by a runaway file helps
 * nobody. */
#define UF_MAX_LISTED_ERRORS 20

struct uf_reader {
    xmlSchema *schema;
};

/* Where libxml2's error callbacks put what they report. */
typedef struct uf_collector {
    GPtrArray *errors;
    const char *path;
    unsigned listed;
    unsigned dropped;
} uf_collector;

void uf_error_add(GPtrArray *errors, const char *label, long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        g_ptr_array_add(errors, g_strdup_printf("%s:%ld: %s", label, line, message));
    else
        g_ptr_array_add(errors, g_strdup_printf("%s: %s", label, message));
    g_free(message);
}

gboolean uf_node_is(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE && node->ns != NULL &&
           xmlStrEqual(node->ns->href, BAD_CAST UF_NAMESPACE) &&
           xmlStrEqual(node->name, BAD_CAST name);
}

/* Whitespace around values comes from indentation; the schema's xs:token
 * ignores it, so the records do too. */
char *uf_node_text(const xmlNode *node)
{
    xmlChar *content = xmlNodeGetContent(node);
    char *text = g_strstrip(g_strdup(content != NULL ? (const char *)content : ""));
    xmlFree(content);
    return text;
}

char *uf_node_attr(const xmlNode *node, const char *name)
{
    xmlChar *value = xmlGetNoNsProp(node, BAD_CAST name);
    if (value == NULL)
        return NULL;
    char *text = g_strstrip(g_strdup((const char *)value));
    xmlFree(value);
    return text;
}

static void collect(uf_collector *collector, long line, const char *message)
{
    if (collector->listed >= UF_MAX_LISTED_ERRORS) {
        collector->dropped++;
        return;
    }
    char *text = g_strstrip(g_strdup(message != NULL ? message : "unknown XML error"));
    uf_error_add(collector->errors, collector->path, line, "%s", text);
    g_free(text);
    collector->listed++;
}

static void collect_finish(uf_collector *collector)
{
    if (collector->dropped > 0)
        uf_error_add(collector->errors, collector->path, 0, "%u more errors not listed",
                     collector->dropped);
}

/* libxml2's structured error callback. Warnings (a relative namespace URI and
 * the like) do not make a file unusable, so only errors count. */
static void collect_xml_error(uf_collector *collector, const xmlError *error)
{
    if (error->level < XML_ERR_ERROR)
        return;
    collect(collector, error->line, error->message);
}

/* The parser passes its context's userData, which is the context itself. */
static void on_parser_error(void *data, xmlError *error)
{
    xmlParserCtxt *ctxt = data;
    collect_xml_error(ctxt->_private, error);
}

static void on_schema_error(void *data, xmlError *error)
{
    collect_xml_error(data, error);
}

/* The SAX hook for "<!DOCTYPE": runs before the internal subset is parsed,
 * so stopping here means no entity declaration is ever seen. */
static void refuse_doctype(void *data, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    xmlParserCtxt *ctxt = data;
    collect(ctxt->_private, ctxt->input != NULL ? ctxt->input->line : 0,
            "a DOCTYPE is not allowed in a users file (no DTDs, no entities)");
    xmlStopParser(ctxt);
}

uf_reader *uf_reader_new(char **error)
{
    xmlInitParser();
    xmlSchemaParserCtxt *pctxt =
        xmlSchemaNewMemParserCtxt(uf_schema_text, (int)strlen(uf_schema_text));
    xmlSchema *schema = pctxt != NULL ? xmlSchemaParse(pctxt) : NULL;
    xmlSchemaFreeParserCtxt(pctxt);
    if (schema == NULL) {
        *error = g_strdup("the compiled-in users.xsd does not parse (a build problem)");
        return NULL;
    }
    uf_reader *reader = g_new0(uf_reader, 1);
    reader->schema = schema;
    return reader;
}

void uf_reader_free(uf_reader *reader)
{
    if (reader == NULL)
        return;
    xmlSchemaFree(reader->schema);
    g_free(reader);
}

/* Reads at most `max_size` bytes of a regular file. The size is checked on
 * the open descriptor and again while reading, so a file that grows between
 * the two cannot slip past the limit. */
static char *read_bounded(const char *path, gint64 max_size, gsize *length, GPtrArray *errors)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        uf_error_add(errors, path, 0, "cannot open: %s", g_strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        uf_error_add(errors, path, 0, "not a regular file");
        close(fd);
        return NULL;
    }
    if (st.st_size > max_size) {
        uf_error_add(errors, path, 0,
                     "file is %lld bytes, more than max_size (%" G_GINT64_FORMAT ")",
                     (long long)st.st_size, max_size);
        close(fd);
        return NULL;
    }
    GByteArray *data = g_byte_array_sized_new((guint)st.st_size + 1);
    guint8 chunk[65536];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got < 0)
                uf_error_add(errors, path, 0, "cannot read: %s", g_strerror(errno));
            break;
        }
        g_byte_array_append(data, chunk, (guint)got);
        if ((gint64)data->len > max_size) {
            uf_error_add(errors, path, 0, "file grew beyond max_size (%" G_GINT64_FORMAT ")",
                         max_size);
            break;
        }
    }
    close(fd);
    *length = data->len;
    return (char *)g_byte_array_free(data, FALSE);
}

/* The bytes must be UTF-8 before libxml2 sees them: the records handed to
 * the core are UTF-8 by contract, and a declared legacy encoding would
 * otherwise be converted silently. */
static gboolean check_utf8(const char *path, const char *data, gsize length, GPtrArray *errors)
{
    const char *bad = NULL;
    if (g_utf8_validate_len(data, length, &bad))
        return TRUE;
    long line = 1;
    for (const char *p = data; p < bad; p++)
        line += *p == '\n';
    uf_error_add(errors, path, line,
                 "not UTF-8 text (byte 0x%02x at offset %ld); users files must be UTF-8",
                 (unsigned)(guint8)*bad, (long)(bad - data));
    return FALSE;
}

static xmlDoc *parse_safely(const char *path, const char *data, gsize length, GPtrArray *errors)
{
    uf_collector collector = {errors, path, 0, 0};
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        uf_error_add(errors, path, 0, "out of memory");
        return NULL;
    }
    ctxt->_private = &collector;
    ctxt->sax->serror = on_parser_error;
    ctxt->sax->internalSubset = refuse_doctype;
    /* NONET: no network. No NOENT, no DTDLOAD, no DTDATTR: see the file comment.
     * BIG_LINES: line numbers past 65535 stay right in error messages. */
    int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int)length, path, NULL, options);
    guint reported = errors->len;
    if (doc == NULL && reported == 0)
        uf_error_add(errors, path, 0, "not a well-formed XML document");
    xmlFreeParserCtxt(ctxt);
    collect_finish(&collector);
    /* A stopped parser (the DOCTYPE hook) may still hand back a document. */
    if (doc != NULL && errors->len > 0) {
        xmlFreeDoc(doc);
        return NULL;
    }
    if (doc != NULL && doc->encoding != NULL &&
        g_ascii_strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
        uf_error_add(errors, path, 1, "encoding \"%s\" is not allowed; users files are UTF-8",
                     (const char *)doc->encoding);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

gboolean uf_reader_validate(uf_reader *reader, xmlDoc *doc, const char *label, GPtrArray *errors)
{
    uf_collector collector = {errors, label, 0, 0};
    xmlSchemaValidCtxt *vctxt = xmlSchemaNewValidCtxt(reader->schema);
    if (vctxt == NULL) {
        uf_error_add(errors, label, 0, "out of memory");
        return FALSE;
    }
    guint before = errors->len;
    xmlSchemaSetValidStructuredErrors(vctxt, on_schema_error, &collector);
    int result = xmlSchemaValidateDoc(vctxt, doc);
    xmlSchemaFreeValidCtxt(vctxt);
    collect_finish(&collector);
    if (result != 0 && errors->len == before)
        uf_error_add(errors, label, 0, "does not match the users schema (users.xsd)");
    return result == 0;
}

xmlDoc *uf_reader_load(uf_reader *reader, const char *path, gint64 max_size, GPtrArray *errors,
                       char **digest_out)
{
    gsize length = 0;
    char *data = read_bounded(path, max_size, &length, errors);
    if (digest_out != NULL)
        *digest_out = NULL;
    if (data == NULL)
        return NULL;
    if (digest_out != NULL)
        *digest_out = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, length);

    xmlDoc *doc = NULL;
    if (errors->len == 0 && check_utf8(path, data, length, errors))
        doc = parse_safely(path, data, length, errors);
    g_free(data);
    if (doc != NULL && !uf_reader_validate(reader, doc, path, errors)) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    return doc;
}

/* ---- editing ---------------------------------------------------------------- */

static xmlNode *find_by_id(xmlNode *root, const char *kind, const char *id)
{
    for (xmlNode *node = root->children; node != NULL; node = node->next) {
        if (!uf_node_is(node, kind))
            continue;
        char *node_id = uf_node_attr(node, "id");
        gboolean match = node_id != NULL && strcmp(node_id, id) == 0;
        g_free(node_id);
        if (match)
            return node;
    }
    return NULL;
}

static xmlNode *first_of_kind(xmlNode *root, const char *kind)
{
    for (xmlNode *node = root->children; node != NULL; node = node->next) {
        if (uf_node_is(node, kind))
            return node;
    }
    return NULL;
}

static xmlNode *last_of_kind(xmlNode *root, const char *kind)
{
    for (xmlNode *node = root->last; node != NULL; node = node->prev) {
        if (uf_node_is(node, kind))
            return node;
    }
    return NULL;
}

static xmlNode *indent_text(xmlDoc *doc, const char *indent)
{
    return xmlNewDocText(doc, BAD_CAST indent);
}

/* Puts `node` after `anchor` on a line of its own. */
static void insert_after(xmlNode *anchor, xmlNode *node, const char *indent)
{
    xmlNode *text = xmlAddNextSibling(anchor, indent_text(anchor->doc, indent));
    xmlAddNextSibling(text, node);
}

/* Puts `node` before `anchor` on a line of its own. */
static void insert_before(xmlNode *anchor, xmlNode *node, const char *indent)
{
    xmlAddPrevSibling(anchor, node);
    xmlAddPrevSibling(anchor, indent_text(anchor->doc, indent));
}

/* Appends `node` as the last element of `parent`, before the whitespace that
 * indents the closing tag. */
static void append_element(xmlNode *parent, xmlNode *node, const char *indent)
{
    xmlNode *last = parent->last;
    if (last != NULL && last->type == XML_TEXT_NODE && xmlIsBlankNode(last)) {
        xmlAddPrevSibling(last, indent_text(parent->doc, indent));
        xmlAddPrevSibling(last, node);
    } else {
        xmlAddChild(parent, indent_text(parent->doc, indent));
        xmlAddChild(parent, node);
        xmlAddChild(parent, indent_text(parent->doc, "\n"));
    }
}

/* A copy of `node` for `target`, its namespace mapped onto the declaration in
 * scope at `parent` (so copies do not each carry an xmlns attribute). */
static xmlNode *clone_into(xmlDoc *target, xmlNode *parent, xmlNode *node)
{
    xmlNode *clone = NULL;
    if (xmlDOMWrapCloneNode(NULL, node->doc, node, &clone, target, parent, 1, 0) != 0 ||
        clone == NULL)
        clone = xmlDocCopyNode(node, target, 1);
    return clone;
}

static void merge_group(xmlNode *root, xmlNode *group, uf_merge_counts *counts)
{
    char *id = uf_node_attr(group, "id");
    xmlNode *clone = clone_into(root->doc, root, group);
    xmlNode *existing = find_by_id(root, "group", id);
    if (existing != NULL) {
        xmlReplaceNode(existing, clone);
        xmlFreeNode(existing);
        counts->groups_updated++;
    } else {
        xmlNode *last = last_of_kind(root, "group");
        xmlNode *first_user = first_of_kind(root, "user");
        if (last != NULL)
            insert_after(last, clone, "\n  ");
        else if (first_user != NULL)
            insert_before(first_user, clone, "\n  ");
        else
            append_element(root, clone, "\n  ");
        counts->groups_added++;
    }
    g_free(id);
}

static void merge_user(xmlNode *root, xmlNode *user, uf_merge_counts *counts)
{
    char *id = uf_node_attr(user, "id");
    xmlNode *clone = clone_into(root->doc, root, user);
    xmlNode *existing = find_by_id(root, "user", id);
    if (existing != NULL) {
        xmlReplaceNode(existing, clone);
        xmlFreeNode(existing);
        counts->users_updated++;
    } else {
        xmlNode *last = last_of_kind(root, "user");
        if (last != NULL)
            insert_after(last, clone, "\n\n  ");
        else
            append_element(root, clone, "\n  ");
        counts->users_added++;
    }
    g_free(id);
}

void uf_doc_merge(xmlDoc *target, xmlDoc *incoming, uf_merge_counts *counts)
{
    xmlNode *root = xmlDocGetRootElement(target);
    xmlNode *source = xmlDocGetRootElement(incoming);
    memset(counts, 0, sizeof(*counts));
    for (xmlNode *node = source->children; node != NULL; node = node->next) {
        if (uf_node_is(node, "group"))
            merge_group(root, node, counts);
        else if (uf_node_is(node, "user"))
            merge_user(root, node, counts);
    }
}

/* The schema's order of a user's children puts homeServer before these. */
static xmlNode *home_server_anchor(xmlNode *user)
{
    for (xmlNode *child = user->children; child != NULL; child = child->next) {
        if (uf_node_is(child, "phone") || uf_node_is(child, "memberOf") ||
            uf_node_is(child, "line"))
            return child;
    }
    return NULL;
}

static void remove_with_indent(xmlNode *node)
{
    xmlNode *before = node->prev;
    if (before != NULL && before->type == XML_TEXT_NODE && xmlIsBlankNode(before)) {
        xmlUnlinkNode(before);
        xmlFreeNode(before);
    }
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

gboolean uf_doc_set_home_server(xmlDoc *doc, const char *user_id, const char *server)
{
    xmlNode *user = find_by_id(xmlDocGetRootElement(doc), "user", user_id);
    if (user == NULL)
        return FALSE;
    xmlNode *current = NULL;
    for (xmlNode *child = user->children; child != NULL; child = child->next) {
        if (uf_node_is(child, "homeServer"))
            current = child;
    }
    if (current != NULL)
        remove_with_indent(current);
    if (server == NULL || *server == '\0')
        return TRUE;

    xmlNode *element = xmlNewDocNode(doc, user->ns, BAD_CAST "homeServer", NULL);
    xmlAddChild(element, xmlNewDocText(doc, BAD_CAST server));
    xmlNode *anchor = home_server_anchor(user);
    if (anchor != NULL)
        insert_before(anchor, element, "\n    ");
    else
        append_element(user, element, "\n    ");
    return TRUE;
}

/* ---- atomic save ------------------------------------------------------------ */

static gboolean write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t put = write(fd, data, length);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return FALSE;
        data += put;
        length -= (size_t)put;
    }
    return TRUE;
}

/* The rename is durable only once the directory entry is on disk. */
static void sync_directory(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The new file gets the old one's mode and, where allowed, its owner, so an
 * admin's chmod/chown survives an import. */
static void copy_permissions(int fd, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (fchown(fd, st.st_uid, st.st_gid) != 0) {
        /* not root: the file stays ours, which is fine */
    }
    fchmod(fd, st.st_mode & 07777);
}

gboolean uf_doc_save_atomic(xmlDoc *doc, const char *path, char **error)
{
    xmlChar *text = NULL;
    int length = 0;
    xmlDocDumpMemoryEnc(doc, &text, &length, "UTF-8");
    if (text == NULL) {
        *error = g_strdup_printf("%s: cannot serialize the document", path);
        return FALSE;
    }
    char *dir = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    /* A hidden name in the same directory: rename() is atomic only within one
     * file system, and the watcher ignores names other than the file's. */
    char *temp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    gboolean ok = FALSE;
    int fd = g_mkstemp_full(temp, O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        *error = g_strdup_printf("%s: cannot create a temporary file: %s", temp, g_strerror(errno));
    } else {
        copy_permissions(fd, path);
        gboolean written = write_all(fd, (const char *)text, (size_t)length) && fsync(fd) == 0;
        int saved_errno = errno;
        if (close(fd) != 0 && written) {
            written = FALSE;
            saved_errno = errno;
        }
        if (written && rename(temp, path) == 0) {
            sync_directory(dir);
            ok = TRUE;
        } else {
            if (written)
                saved_errno = errno;
            *error = g_strdup_printf("%s: cannot write: %s", path, g_strerror(saved_errno));
            g_unlink(temp);
        }
    }
    xmlFree(text);
    g_free(temp);
    g_free(base);
    g_free(dir);
    return ok;
}
