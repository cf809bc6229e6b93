/*
 * dav-multistatus.h - a WebDAV 207 Multi-Status body (RFC 4918 section
 * 13) read into what contacts-carddav asks of it: per resource its href,
 * whether it is a collection or an address book, the principal and
 * address-book home it names (RFC 5397, RFC 6352 section 7.1.1), its
 * getcontentlength and its address-data (RFC 6352 section 10.4).
 *
 * libxml2 reads the body with XML_PARSE_NONET and without entity
 * substitution or DTD loading; a body with a DOCTYPE is refused outright,
 * so neither an external entity nor an expansion bomb can do anything. A
 * body that is not well-formed or whose root is not DAV:multistatus is an
 * error: the server said something other than what was asked.
 */
#ifndef UCD_DAV_MULTISTATUS_H
#define UCD_DAV_MULTISTATUS_H

#include <glib.h>

typedef struct dav_resource {
    char *href;            /* as the server wrote it, trimmed */
    int status;            /* the response's own DAV:status, else 200 */
    char *status_text;     /* "404 Not Found", or NULL when 2xx */
    int is_collection;     /* resourcetype has DAV:collection */
    int is_addressbook;    /* resourcetype has CARDDAV:addressbook */
    char *principal;       /* DAV:current-user-principal's href, or NULL */
    char *home;            /* CARDDAV:addressbook-home-set's first href, or NULL */
    gint64 content_length; /* DAV:getcontentlength, -1 when not given */
    char *address_data;    /* CARDDAV:address-data's text, or NULL */
    /* address-data was asked for but its propstat says why not:
     * "404 Not Found"; NULL otherwise. */
    char *address_data_status;
} dav_resource;

/* The resources of the multistatus `body` (`len` bytes), in its order
 * (g_ptr_array_unref: frees them). NULL with `*error` (g_free) when the
 * body is not a multistatus. `what` names the body in errors ("the answer
 * of URL"). */
GPtrArray *dav_multistatus_parse(const char *body, gsize len, const char *what, char **error);

#endif /* UCD_DAV_MULTISTATUS_H */
