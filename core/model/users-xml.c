/*
 * users-xml.c - SDK user and group records to a users-file XML document,
 * with libxml2's xmlTextWriter (which does the escaping).
 *
 * What the schema (plugins/users-file/users.xsd) demands and a writer could
 * get wrong is checked here before anything is written, so the result always
 * validates: required fields present, text that XML 1.0 can carry, values
 * within the schema's lengths, elements in the schema's order.
 */
#include <string.h>

#include <libxml/xmlwriter.h>

#include "users-xml.h"

#define USERS_XML_NAMESPACE "urn:ucd:users:1"

/* The schema's maxLength of each simple type. */
#define MAX_ID     256
#define MAX_TEXT   1024
#define MAX_PHONE  64
#define MAX_DRIVER 128

typedef struct writer {
    xmlTextWriter *out;
    const char *kind; /* "user" or "group", for error messages */
    const char *id;
    char *error; /* the first problem; later writes are skipped */
} writer;

static void fail(writer *w, const char *field, const char *reason)
{
    if (w->error == NULL)
        w->error = g_strdup_printf("%s \"%s\": %s: %s", w->kind, w->id != NULL ? w->id : "(no id)",
                                   field, reason);
}

/* XML 1.0 Char: tab, newline, carriage return, and everything from U+0020
 * except U+FFFE and U+FFFF (GLib's validator already refuses surrogates). */
static gboolean is_xml_char(gunichar c)
{
    if (c < 0x20)
        return c == 0x9 || c == 0xA || c == 0xD;
    return c != 0xFFFE && c != 0xFFFF;
}

static gboolean is_blank(const char *text)
{
    for (; *text != '\0'; text++) {
        if (!g_ascii_isspace(*text))
            return FALSE;
    }
    return TRUE;
}

/* Checks a value against what its schema type allows. */
static gboolean check_text(writer *w, const char *field, const char *text, glong max_chars)
{
    if (!g_utf8_validate(text, -1, NULL)) {
        fail(w, field, "not UTF-8 text");
        return FALSE;
    }
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        if (!is_xml_char(g_utf8_get_char(p))) {
            fail(w, field, "holds a control character XML cannot carry");
            return FALSE;
        }
    }
    if (max_chars > 0 && g_utf8_strlen(text, -1) > max_chars) {
        fail(w, field, "too long for the users schema");
        return FALSE;
    }
    return TRUE;
}

static void start(writer *w, const char *name)
{
    if (w->error == NULL && xmlTextWriterStartElement(w->out, BAD_CAST name) < 0)
        fail(w, name, "cannot write");
}

static void end(writer *w)
{
    if (w->error == NULL && xmlTextWriterEndElement(w->out) < 0)
        fail(w, "element", "cannot write");
}

static void attribute(writer *w, const char *name, const char *value)
{
    if (w->error == NULL && xmlTextWriterWriteAttribute(w->out, BAD_CAST name, BAD_CAST value) < 0)
        fail(w, name, "cannot write");
}

static void text(writer *w, const char *value)
{
    if (w->error == NULL && xmlTextWriterWriteString(w->out, BAD_CAST value) < 0)
        fail(w, "text", "cannot write");
}

/* <name>value</name> when value is set; `required` makes a missing one an error. */
static void element(writer *w, const char *name, const char *value, glong max_chars,
                    gboolean required)
{
    if (value == NULL || is_blank(value)) {
        if (required)
            fail(w, name, "missing");
        return;
    }
    if (!check_text(w, name, value, max_chars))
        return;
    start(w, name);
    text(w, value);
    end(w);
}

static void element_list(writer *w, const char *name, const char *const *values, glong max_chars)
{
    for (; values != NULL && *values != NULL; values++)
        element(w, name, *values, max_chars, FALSE);
}

/* "pbx-sim:office/201" -> driver="pbx-sim:office", "201". Anything that does
 * not split into a valid driver and an address is written whole, as a bare
 * address: the plugin reads either form back to the same string. */
static void line_element(writer *w, const char *line)
{
    if (line == NULL || is_blank(line) || !check_text(w, "line", line, MAX_TEXT))
        return;
    const char *slash = strchr(line, '/');
    gboolean split =
        slash != NULL && slash > line && slash - line <= MAX_DRIVER && !is_blank(slash + 1);
    for (const char *p = line; split && p < slash; p++)
        split = !g_ascii_isspace(*p);
    start(w, "line");
    if (split) {
        char *driver = g_strndup(line, (gsize)(slash - line));
        attribute(w, "driver", driver);
        g_free(driver);
        text(w, slash + 1);
    } else {
        text(w, line);
    }
    end(w);
}

static void write_group(writer *w, const ucd_group *group)
{
    w->kind = "group";
    w->id = group->id;
    if (group->id == NULL || is_blank(group->id) || !check_text(w, "id", group->id, MAX_ID)) {
        fail(w, "id", "missing or invalid");
        return;
    }
    start(w, "group");
    attribute(w, "id", group->id);
    element(w, "name", group->name, MAX_TEXT, FALSE);
    element(w, "description", group->description, 0, FALSE);
    element_list(w, "leader", group->leaders, MAX_ID);
    end(w);
}

static void write_user(writer *w, const ucd_user *user)
{
    w->kind = "user";
    w->id = user->id;
    if (user->id == NULL || is_blank(user->id) || !check_text(w, "id", user->id, MAX_ID)) {
        fail(w, "id", "missing or invalid");
        return;
    }
    start(w, "user");
    attribute(w, "id", user->id);
    if (!user->enabled)
        attribute(w, "enabled", "false");
    /* The schema's order. */
    element(w, "login", user->login, MAX_ID, TRUE);
    element(w, "displayName", user->display_name, MAX_TEXT, FALSE);
    element(w, "givenName", user->given_name, MAX_TEXT, FALSE);
    element(w, "surname", user->surname, MAX_TEXT, FALSE);
    element(w, "email", user->email, MAX_TEXT, FALSE);
    element(w, "department", user->department, MAX_TEXT, FALSE);
    element(w, "title", user->title, MAX_TEXT, FALSE);
    element(w, "homeServer", user->home_server, MAX_TEXT, FALSE);
    element_list(w, "phone", user->numbers, MAX_PHONE);
    element_list(w, "memberOf", user->groups, MAX_ID);
    for (const char *const *line = user->lines; line != NULL && *line != NULL; line++)
        line_element(w, *line);
    end(w);
}

static void write_document(writer *w, const ucd_user *const *users, size_t n_users,
                           const ucd_group *const *groups, size_t n_groups)
{
    if (xmlTextWriterSetIndent(w->out, 1) < 0 ||
        xmlTextWriterSetIndentString(w->out, BAD_CAST "  ") < 0 ||
        xmlTextWriterStartDocument(w->out, "1.0", "UTF-8", NULL) < 0 ||
        xmlTextWriterStartElementNS(w->out, NULL, BAD_CAST "users", BAD_CAST USERS_XML_NAMESPACE) <
            0) {
        w->error = g_strdup("cannot start the document");
        return;
    }
    for (size_t i = 0; i < n_groups && w->error == NULL; i++)
        write_group(w, groups[i]);
    for (size_t i = 0; i < n_users && w->error == NULL; i++)
        write_user(w, users[i]);
    if (w->error == NULL && xmlTextWriterEndDocument(w->out) < 0)
        w->error = g_strdup("cannot finish the document");
}

gboolean core_users_xml_write(const ucd_user *const *users, size_t n_users,
                              const ucd_group *const *groups, size_t n_groups, char **xml_out,
                              char **error)
{
    *xml_out = NULL;
    xmlBuffer *buffer = xmlBufferCreate();
    xmlTextWriter *out = buffer != NULL ? xmlNewTextWriterMemory(buffer, 0) : NULL;
    if (out == NULL) {
        if (buffer != NULL)
            xmlBufferFree(buffer);
        *error = g_strdup("out of memory");
        return FALSE;
    }
    writer w = {.out = out};
    write_document(&w, users, n_users, groups, n_groups);
    xmlFreeTextWriter(out); /* flushes into the buffer */
    if (w.error != NULL) {
        *error = w.error;
        xmlBufferFree(buffer);
        return FALSE;
    }
    *xml_out = g_strdup((const char *)xmlBufferContent(buffer));
    xmlBufferFree(buffer);
    return TRUE;
}
