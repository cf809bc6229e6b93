/*
 * dav-multistatus.c - see the header. The tree is walked by namespace and
 * local name, never by prefix: servers choose their own prefixes
 * (Radicale writes DAV: as the default namespace and CardDAV as "CR").
 */
#include "dav-multistatus.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define NS_DAV     "DAV:"
#define NS_CARDDAV "urn:ietf:params:xml:ns:carddav"

static gboolean is(const xmlNode *node, const char *ns, const char *name)
{
    return node->type == XML_ELEMENT_NODE && node->ns != NULL &&
           strcmp((const char *)node->ns->href, ns) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

static const xmlNode *child(const xmlNode *node, const char *ns, const char *name)
{
    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (is(c, ns, name))
            return c;
    return NULL;
}

/* The node's text (CDATA included), trimmed, or NULL (g_free). */
static char *text_of(const xmlNode *node)
{
    if (node == NULL)
        return NULL;
    xmlChar *content = xmlNodeGetContent(node);
    char *text = g_strstrip(g_strdup((const char *)content));
    xmlFree(content);
    return text;
}

/* "HTTP/1.1 404 Not Found" -> 404 and "404 Not Found"; 0 when unreadable. */
static int status_code(const xmlNode *status, char **text)
{
    char *line = text_of(status);
    int code = 0;
    *text = NULL;
    const char *space = line != NULL ? strchr(line, ' ') : NULL;
    if (space != NULL) {
        code = atoi(space + 1);
        *text = g_strdup(space + 1);
    }
    g_free(line);
    return code;
}

static void resource_free(gpointer data)
{
    dav_resource *r = data;
    g_free(r->href);
    g_free(r->status_text);
    g_free(r->principal);
    g_free(r->home);
    g_free(r->address_data);
    g_free(r->address_data_status);
    g_free(r);
}

static void read_prop(dav_resource *r, const xmlNode *prop)
{
    for (const xmlNode *p = prop->children; p != NULL; p = p->next) {
        if (is(p, NS_DAV, "resourcetype")) {
            r->is_collection = child(p, NS_DAV, "collection") != NULL;
            r->is_addressbook = child(p, NS_CARDDAV, "addressbook") != NULL;
        } else if (is(p, NS_DAV, "current-user-principal") && r->principal == NULL)
            r->principal = text_of(child(p, NS_DAV, "href"));
        else if (is(p, NS_CARDDAV, "addressbook-home-set") && r->home == NULL)
            r->home = text_of(child(p, NS_DAV, "href"));
        else if (is(p, NS_DAV, "getcontentlength")) {
            char *text = text_of(p);
            r->content_length = text[0] != '\0' ? g_ascii_strtoll(text, NULL, 10) : -1;
            g_free(text);
        } else if (is(p, NS_CARDDAV, "address-data") && r->address_data == NULL) {
            xmlChar *content = xmlNodeGetContent(p);
            r->address_data = g_strdup((const char *)content);
            xmlFree(content);
        }
    }
}

static dav_resource *read_response(const xmlNode *response)
{
    dav_resource *r = g_new0(dav_resource, 1);
    r->content_length = -1;
    r->status = 200;
    r->href = text_of(child(response, NS_DAV, "href"));
    const xmlNode *status = child(response, NS_DAV, "status");
    if (status != NULL) {
        char *text = NULL;
        r->status = status_code(status, &text);
        if (r->status < 200 || r->status > 299)
            r->status_text = text;
        else
            g_free(text);
    }
    for (const xmlNode *ps = response->children; ps != NULL; ps = ps->next) {
        if (!is(ps, NS_DAV, "propstat"))
            continue;
        const xmlNode *prop = child(ps, NS_DAV, "prop");
        char *text = NULL;
        int code = status_code(child(ps, NS_DAV, "status"), &text);
        if (prop != NULL && code >= 200 && code <= 299)
            read_prop(r, prop);
        else if (prop != NULL && child(prop, NS_CARDDAV, "address-data") != NULL &&
                 r->address_data_status == NULL)
            r->address_data_status = g_strdup(text != NULL ? text : "no status");
        g_free(text);
    }
    return r;
}

GPtrArray *dav_multistatus_parse(const char *body, gsize len, const char *what, char **error)
{
    *error = NULL;
    if (len > G_MAXINT) {
        *error = g_strdup_printf("%s is too large to read (%zu bytes)", what, (size_t)len);
        return NULL;
    }
    xmlDoc *doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        if (e != NULL && e->message != NULL) {
            char *message = g_strstrip(g_strdup(e->message));
            *error = g_strdup_printf("%s is not XML: %s (line %d)", what, message, e->line);
            g_free(message);
        } else
            *error = g_strdup_printf("%s is not XML", what);
        return NULL;
    }
    GPtrArray *resources = NULL;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (doc->intSubset != NULL)
        *error = g_strdup_printf("%s has a DOCTYPE, which a WebDAV answer never has", what);
    else if (root == NULL || !is(root, NS_DAV, "multistatus"))
        *error = g_strdup_printf("%s is not a WebDAV multistatus (its root is <%s>)", what,
                                 root != NULL ? (const char *)root->name : "nothing");
    else {
        resources = g_ptr_array_new_with_free_func(resource_free);
        for (const xmlNode *c = root->children; c != NULL; c = c->next)
            if (is(c, NS_DAV, "response"))
                g_ptr_array_add(resources, read_response(c));
    }
    xmlFreeDoc(doc);
    return resources;
}
