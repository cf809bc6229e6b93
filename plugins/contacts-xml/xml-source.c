/*
 * xml-source.c - see the header. The SAX callbacks keep one contact at a
 * time in `parse`; a contact's first problem is kept and the contact is
 * handed to sink->skipped when it closes, so one bad field never loses the
 * line the contact started on. A problem that makes the rest of the file
 * untrustworthy stops the parser (xmlStopParser) and becomes the
 * replication's error.
 */
#include "xml-source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "contact-link.h"

#define CHUNK          (64 * 1024)
#define MAX_FIELD      (64 * 1024)
#define MAX_NUMBERS    256
#define PROGRESS_BYTES (1024 * 1024)

/* The fields of the shape, in the order of the template names. */
enum {
    F_ID,
    F_DISPLAY_NAME,
    F_GIVEN_NAME,
    F_SURNAME,
    F_COMPANY,
    F_DEPARTMENT,
    F_EMAIL,
    F_ADDRESS,
    F_CRM_LINK,
    F_COUNT,
    F_NUMBER = F_COUNT, /* the element being read is a <number> */
    F_NONE,
};

static const char *const field_names[F_COUNT] = {
    "id",         "display_name", "given_name", "surname",  "company",
    "department", "email",        "address",    "crm_link",
};

static const char *const kind_names[] = {"other", "business", "mobile", "home", "fax"};

typedef struct parse {
    const xml_source_settings *settings;
    const ucd_contact_sink *sink;
    void *sink_impl;
    char *name; /* the file's base name, for "FILE line N" */
    xmlParserCtxt *ctxt;
    contact_link *link;
    size_t *link_fields; /* the field of each template name */

    int depth; /* elements open */
    int root_seen;
    /* Set once: what ends the replication with an error. */
    int stop_rc;
    char *stop_error;

    /* The contact being read. */
    int in_contact;
    uint64_t line, ordinal;
    char *problem;
    GString *fields[F_COUNT];
    int have[F_COUNT];
    int current;           /* F_*: the field whose text is being read */
    uint32_t current_kind; /* for F_NUMBER */
    GString *text;
    GString *attr;         /* an attribute's value */
    GPtrArray *number_raw; /* char * */
    GArray *number_kind;   /* uint32_t */
} parse;

static uint64_t line_now(parse *p)
{
    return p->ctxt != NULL ? (uint64_t)xmlSAX2GetLineNumber(p->ctxt) : 0;
}

/* Ends the replication with `rc` and a message naming the file; the first
 * reason wins. */
static void stop(parse *p, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void stop(parse *p, int rc, const char *fmt, ...)
{
    if (p->stop_error == NULL) {
        va_list ap;
        va_start(ap, fmt);
        p->stop_error = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        p->stop_rc = rc;
    }
    if (p->ctxt != NULL)
        xmlStopParser(p->ctxt);
}

static void contact_problem(parse *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void contact_problem(parse *p, const char *fmt, ...)
{
    if (p->problem != NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    p->problem = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static void skip(parse *p, uint64_t line, const char *problem)
{
    char where[256];
    g_snprintf(where, sizeof(where), "%s line %" G_GUINT64_FORMAT, p->name, line);
    p->sink->skipped(p->sink_impl, where, problem);
}

static void contact_reset(parse *p)
{
    p->in_contact = 0;
    g_clear_pointer(&p->problem, g_free);
    for (int f = 0; f < F_COUNT; f++) {
        g_string_truncate(p->fields[f], 0);
        p->have[f] = 0;
    }
    g_ptr_array_set_size(p->number_raw, 0);
    g_array_set_size(p->number_kind, 0);
    p->current = F_NONE;
}

static const char *field_value(const parse *p, size_t f)
{
    return p->have[f] && p->fields[f]->len > 0 ? p->fields[f]->str : NULL;
}

static const char *link_value(size_t i, size_t *length, void *data)
{
    const parse *p = data;
    const char *v = field_value(p, p->link_fields[i]);
    *length = v != NULL ? strlen(v) : 0;
    return v;
}

static void contact_finish(parse *p)
{
    p->ordinal++;
    if (p->problem != NULL) {
        skip(p, p->line, p->problem);
        contact_reset(p);
        return;
    }
    ucd_contact c = {.struct_size = sizeof(c)};
    char ordinal[32];
    g_snprintf(ordinal, sizeof(ordinal), "%" G_GUINT64_FORMAT, p->ordinal);
    c.source_id = p->have[F_ID] ? field_value(p, F_ID) : ordinal;
    if (c.source_id == NULL) {
        skip(p, p->line, "has an empty id attribute");
        contact_reset(p);
        return;
    }
    c.display_name = field_value(p, F_DISPLAY_NAME);
    c.given_name = field_value(p, F_GIVEN_NAME);
    c.surname = field_value(p, F_SURNAME);
    c.company = field_value(p, F_COMPANY);
    c.department = field_value(p, F_DEPARTMENT);
    c.email = field_value(p, F_EMAIL);
    c.address = field_value(p, F_ADDRESS);
    c.crm_link = field_value(p, F_CRM_LINK);
    if (c.crm_link == NULL && p->link != NULL)
        c.crm_link = contact_link_fill(p->link, link_value, p);
    ucd_contact_number *numbers = g_newa(ucd_contact_number, p->number_raw->len + 1);
    for (guint i = 0; i < p->number_raw->len; i++) {
        const char *raw = g_ptr_array_index(p->number_raw, i);
        if (raw[0] == '\0')
            continue;
        numbers[c.n_numbers].struct_size = sizeof(ucd_contact_number);
        numbers[c.n_numbers].kind = g_array_index(p->number_kind, uint32_t, i);
        numbers[c.n_numbers].raw = raw;
        c.n_numbers++;
    }
    c.numbers = numbers;
    int rc = p->sink->add(p->sink_impl, &c);
    if (rc != UCD_OK && rc != UCD_E_INVALID) /* INVALID: counted by the store */
        stop(p, rc, "%s line %" G_GUINT64_FORMAT ": the store cannot take more: %s",
             p->settings->path, p->line, ucd_strerror(rc));
    contact_reset(p);
}

/* The value of attribute `name` (no namespace), in `into`; NULL when the
 * element has none. Without entity substitution (XML_PARSE_NOENT, left off
 * on purpose) libxml2 hands "&amp;" in an attribute over as "&#38;", and
 * only that: it is turned back into "&" here. */
static const char *attribute(const xmlChar **attributes, int n, const char *name, GString *into)
{
    /* SAX2: five pointers an attribute: localname, prefix, URI, value, end. */
    for (int i = 0; i < n; i++) {
        const xmlChar **a = attributes + i * 5;
        if (a[1] != NULL || strcmp((const char *)a[0], name) != 0)
            continue;
        g_string_truncate(into, 0);
        const char *v = (const char *)a[3], *end = (const char *)a[4];
        while (v < end) {
            if (end - v >= 5 && memcmp(v, "&#38;", 5) == 0) {
                g_string_append_c(into, '&');
                v += 5;
            } else {
                g_string_append_c(into, *v++);
            }
        }
        return into->str;
    }
    return NULL;
}

static int find_field(const char *name)
{
    for (int f = F_DISPLAY_NAME; f < F_COUNT; f++) {
        if (strcmp(field_names[f], name) == 0)
            return f;
    }
    return strcmp(name, "number") == 0 ? F_NUMBER : F_NONE;
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    (void)prefix;
    (void)uri;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    parse *p = ((xmlParserCtxt *)ctx)->_private;
    const char *name = (const char *)localname;
    int level = p->depth++;
    if (level == 0) {
        p->root_seen = 1;
        if (strcmp(name, "contacts") != 0)
            stop(p, UCD_E_INVALID,
                 "%s line %" G_GUINT64_FORMAT ": the root element is <%s>, not <contacts>",
                 p->settings->path, line_now(p), name);
        return;
    }
    if (level == 1) {
        contact_reset(p);
        p->in_contact = 1;
        p->line = line_now(p);
        if (strcmp(name, "contact") != 0) {
            contact_problem(p, "is an unknown element <%s> (expected <contact>)", name);
            return;
        }
        const char *id = attribute(attributes, nb_attributes, "id", p->attr);
        if (id != NULL) {
            p->have[F_ID] = 1;
            g_string_assign(p->fields[F_ID], id);
            g_strstrip(p->fields[F_ID]->str);
            p->fields[F_ID]->len = strlen(p->fields[F_ID]->str);
        }
        return;
    }
    if (level == 2) {
        int f = find_field(name);
        p->current = F_NONE;
        g_string_truncate(p->text, 0);
        if (f == F_NONE) {
            contact_problem(p, "has an unknown element <%s>", name);
        } else if (f == F_NUMBER) {
            const char *kind = attribute(attributes, nb_attributes, "kind", p->attr);
            uint32_t k = 0;
            while (kind != NULL && k < G_N_ELEMENTS(kind_names) && strcmp(kind, kind_names[k]) != 0)
                k++;
            if (kind != NULL && k == G_N_ELEMENTS(kind_names))
                contact_problem(p,
                                "has a <number> of kind \"%s\" (business, mobile, home, fax or "
                                "other)",
                                kind);
            else if (p->number_raw->len >= MAX_NUMBERS)
                contact_problem(p, "has more than %d numbers", MAX_NUMBERS);
            p->current = F_NUMBER;
            p->current_kind = kind == NULL ? UCD_CONTACT_NUMBER_OTHER : k;
        } else if (p->have[f]) {
            contact_problem(p, "has <%s> twice", name);
        } else {
            p->current = f;
        }
        return;
    }
    contact_problem(p, "has an element <%s> inside a field", name);
    p->current = F_NONE;
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname;
    (void)prefix;
    (void)uri;
    parse *p = ((xmlParserCtxt *)ctx)->_private;
    int level = --p->depth;
    if (level == 2 && p->current != F_NONE) {
        g_strstrip(p->text->str);
        p->text->len = strlen(p->text->str);
        if (p->current == F_NUMBER) {
            g_ptr_array_add(p->number_raw, g_strdup(p->text->str));
            g_array_append_val(p->number_kind, p->current_kind);
        } else {
            g_string_assign(p->fields[p->current], p->text->str);
            p->have[p->current] = 1;
        }
        p->current = F_NONE;
    } else if (level == 1 && p->in_contact) {
        contact_finish(p);
    }
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
    parse *p = ((xmlParserCtxt *)ctx)->_private;
    if (p->depth != 3 || p->current == F_NONE)
        return;
    if (p->text->len + (size_t)len > MAX_FIELD) {
        contact_problem(p, "has a field longer than %d bytes", MAX_FIELD);
        p->current = F_NONE;
        return;
    }
    g_string_append_len(p->text, (const char *)text, len);
}

/* "<!DOCTYPE": stopped before its internal subset is read, so no entity is
 * ever declared (no external entity, no expansion bomb). */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    parse *p = ((xmlParserCtxt *)ctx)->_private;
    stop(p, UCD_E_INVALID,
         "%s line %" G_GUINT64_FORMAT ": a DOCTYPE is not allowed (no DTDs, no "
         "entities)",
         p->settings->path, line_now(p));
}

/* libxml2 hands a push parser's errors to sax->serror with the context
 * (its userData) as `data`. */
static void on_error(void *data, xmlError *error)
{
    parse *p = data != NULL ? ((xmlParserCtxt *)data)->_private : NULL;
    if (p == NULL || error == NULL || error->level < XML_ERR_ERROR ||
        error->code == XML_ERR_USER_STOP)
        return;
    char *message = g_strdup(error->message != NULL ? error->message : "not well-formed");
    g_strchomp(message);
    stop(p, UCD_E_INVALID, "%s line %d: not well-formed XML: %s", p->settings->path, error->line,
         message);
    g_free(message);
}

static char *malloc_copy(const char *text)
{
    return strdup(text);
}

static int field_of_name(const char *name)
{
    for (int f = 0; f < F_COUNT; f++) {
        if (f != F_CRM_LINK && strcmp(field_names[f], name) == 0)
            return f;
    }
    return -1;
}

char *xml_source_check_link(const char *crm_link)
{
    if (crm_link == NULL || crm_link[0] == '\0')
        return NULL;
    const char *why = NULL;
    contact_link *link = contact_link_parse(crm_link, &why);
    if (link == NULL)
        return g_strdup(why);
    char *error = NULL;
    for (size_t i = 0; error == NULL && i < contact_link_names(link); i++) {
        if (field_of_name(contact_link_name(link, i)) < 0)
            error = g_strdup_printf("names {%s}, which is no field of a contact (id, "
                                    "display_name, given_name, surname, company, department, "
                                    "email, address)",
                                    contact_link_name(link, i));
    }
    contact_link_free(link);
    return error;
}

static void parse_free(parse *p)
{
    for (int f = 0; f < F_COUNT; f++)
        g_string_free(p->fields[f], TRUE);
    g_string_free(p->text, TRUE);
    g_string_free(p->attr, TRUE);
    g_ptr_array_free(p->number_raw, TRUE);
    g_array_free(p->number_kind, TRUE);
    g_free(p->problem);
    g_free(p->stop_error);
    g_free(p->name);
    g_free(p->link_fields);
    if (p->link != NULL)
        contact_link_free(p->link);
    if (p->ctxt != NULL)
        xmlFreeParserCtxt(p->ctxt);
}

/* Feeds the file to the parser; a failure is left in p->stop_error. */
static void feed(parse *p, int fd, uint64_t total)
{
    char *buf = g_malloc(CHUNK);
    uint64_t done = 0, reported = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            stop(p, UCD_FAIL, "%s: cannot read: %s", p->settings->path, g_strerror(errno));
            break;
        }
        if (n == 0 && done == 0) {
            stop(p, UCD_E_INVALID, "%s is empty: no <contacts> element", p->settings->path);
            break;
        }
        done += (uint64_t)n;
        if (p->ctxt == NULL) {
            /* The first bytes tell the parser the encoding. */
            /* Only these callbacks: no SAX2 defaults, so no document
             * tree is built and no entity is looked up beyond XML's five. */
            xmlSAXHandler sax;
            memset(&sax, 0, sizeof(sax));
            sax.initialized = XML_SAX2_MAGIC;
            sax.startElementNs = on_start;
            sax.endElementNs = on_end;
            sax.characters = on_text;
            sax.cdataBlock = on_text;
            sax.ignorableWhitespace = on_text;
            sax.internalSubset = on_doctype;
            sax.serror = on_error;
            p->ctxt = xmlCreatePushParserCtxt(&sax, NULL, buf, (int)n, p->settings->path);
            if (p->ctxt == NULL) {
                stop(p, UCD_FAIL, "%s: cannot make an XML parser", p->settings->path);
                break;
            }
            p->ctxt->_private = p;
            /* NONET: no network. No NOENT (entity substitution), no
             * DTDLOAD; BIG_LINES: line numbers past 65535 stay right. */
            xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
            if (n > 0)
                xmlParseChunk(p->ctxt, NULL, 0, 0);
        } else {
            xmlParseChunk(p->ctxt, buf, (int)n, n == 0);
        }
        if (p->stop_error != NULL)
            break;
        if (n == 0) {
            break;
        }
        if (p->sink->cancelled(p->sink_impl)) {
            stop(p, UCD_E_BUSY, "%s: stopped at line %" G_GUINT64_FORMAT ": cancelled",
                 p->settings->path, line_now(p));
            break;
        }
        if (done - reported >= PROGRESS_BYTES) {
            p->sink->progress(p->sink_impl, done, total);
            reported = done;
        }
    }
    if (p->stop_error == NULL && p->ctxt != NULL && !p->ctxt->wellFormed)
        stop(p, UCD_E_INVALID, "%s line %" G_GUINT64_FORMAT ": not well-formed XML",
             p->settings->path, line_now(p));
    if (p->stop_error == NULL && p->depth != 0)
        stop(p, UCD_E_INVALID, "%s line %" G_GUINT64_FORMAT ": the file ends inside an element",
             p->settings->path, line_now(p));
    if (p->stop_error == NULL)
        p->sink->progress(p->sink_impl, done, total > done ? total : done);
    g_free(buf);
}

int xml_source_replicate(const xml_source_settings *s, const ucd_contact_sink *sink,
                         void *sink_impl, char **error)
{
    *error = NULL;
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char *text = g_strdup_printf("%s: cannot open: %s", s->path, g_strerror(errno));
        int rc = errno == ENOENT ? UCD_E_NOT_FOUND : UCD_FAIL;
        *error = malloc_copy(text);
        g_free(text);
        return rc;
    }
    struct stat st;
    uint64_t total = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;

    parse p = {.settings = s, .sink = sink, .sink_impl = sink_impl, .current = F_NONE};
    p.name = g_path_get_basename(s->path);
    for (int f = 0; f < F_COUNT; f++)
        p.fields[f] = g_string_new(NULL);
    p.text = g_string_new(NULL);
    p.attr = g_string_new(NULL);
    p.number_raw = g_ptr_array_new_with_free_func(g_free);
    p.number_kind = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (s->crm_link != NULL && s->crm_link[0] != '\0') {
        const char *why = NULL;
        p.link = contact_link_parse(s->crm_link, &why);
        if (p.link != NULL) {
            p.link_fields = g_new0(size_t, contact_link_names(p.link) + 1);
            for (size_t i = 0; i < contact_link_names(p.link); i++) {
                int f = field_of_name(contact_link_name(p.link, i));
                p.link_fields[i] = f < 0 ? F_ID : (size_t)f; /* checked at init */
            }
        }
    }
    feed(&p, fd, total);
    close(fd);
    int rc = UCD_OK;
    if (p.stop_error != NULL) {
        rc = p.stop_rc;
        *error = malloc_copy(p.stop_error);
    }
    parse_free(&p);
    return rc;
}
