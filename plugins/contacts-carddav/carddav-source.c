/*
 * carddav-source.c - see the header. Members are fetched in href order,
 * address books too, so two replications of the same server hand the
 * store the same sequence (and tests can compare it exactly).
 */
#include "carddav-source.h"

#include <stdlib.h>
#include <string.h>

#include "dav-client.h"
#include "dav-multistatus.h"
#include "vcard-contact.h"

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
#define NS_ATTRS "xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:carddav\""

static const char propfind_discover[] =
    XML_HEAD "<D:propfind " NS_ATTRS "><D:prop><D:resourcetype/><D:current-user-principal/>"
             "<C:addressbook-home-set/></D:prop></D:propfind>\n";
static const char propfind_home[] =
    XML_HEAD "<D:propfind " NS_ATTRS "><D:prop><C:addressbook-home-set/></D:prop></D:propfind>\n";
static const char propfind_books[] =
    XML_HEAD "<D:propfind " NS_ATTRS "><D:prop><D:resourcetype/></D:prop></D:propfind>\n";
static const char propfind_members[] =
    XML_HEAD "<D:propfind " NS_ATTRS "><D:prop><D:resourcetype/><D:getcontentlength/>"
             "<D:getetag/></D:prop></D:propfind>\n";

typedef struct member {
    char *href; /* as the server wrote it: what a multiget names */
    char *url;  /* resolved: what the sink's messages name */
    gint64 length;
} member;

static void member_free(gpointer data)
{
    member *m = data;
    g_free(m->href);
    g_free(m->url);
    g_free(m);
}

static int by_url(gconstpointer a, gconstpointer b)
{
    return strcmp(((const member *)*(member *const *)a)->url,
                  ((const member *)*(member *const *)b)->url);
}

static int by_string(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two URLs name the same collection, with or without the final '/'. */
static gboolean same_collection(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    while (la > 0 && a[la - 1] == '/')
        la--;
    while (lb > 0 && b[lb - 1] == '/')
        lb--;
    return la == lb && strncmp(a, b, la) == 0;
}

/* PROPFIND Depth 0 on `url`: its one resource, or NULL with `*error`. */
static GPtrArray *propfind(dav_client *c, const char *url, const char *depth, const char *body,
                           char **error)
{
    return dav_client_query(c, "PROPFIND", url, depth, body, error);
}

/* The address books under the home `home` (absolute URLs, sorted). */
static GPtrArray *books_under(dav_client *c, const char *home, char **error)
{
    GPtrArray *found = propfind(c, home, "1", propfind_books, error);
    if (found == NULL)
        return NULL;
    GPtrArray *books = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < found->len; i++) {
        const dav_resource *r = found->pdata[i];
        char *url = r->is_addressbook && r->href ? dav_resolve(home, r->href) : NULL;
        if (url != NULL)
            g_ptr_array_add(books, url);
    }
    g_ptr_array_unref(found);
    if (books->len == 0) {
        *error = g_strdup_printf("no address book at %s (no collection there has resourcetype "
                                 "addressbook)",
                                 home);
        g_ptr_array_unref(books);
        return NULL;
    }
    g_ptr_array_sort(books, by_string);
    return books;
}

static GPtrArray *discover(dav_client *c, const char *url, char **error)
{
    GPtrArray *start = propfind(c, url, "0", propfind_discover, error);
    if (start == NULL)
        return NULL;
    if (start->len == 0) {
        *error = g_strdup_printf("%s: the PROPFIND answer names no resource", url);
        g_ptr_array_unref(start);
        return NULL;
    }
    const dav_resource *r = start->pdata[0];
    if (r->is_addressbook) {
        g_ptr_array_unref(start);
        GPtrArray *books = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(books, g_strdup(url));
        return books;
    }
    char *home = r->home != NULL ? dav_resolve(url, r->home) : NULL;
    if (home == NULL && r->principal != NULL) {
        char *principal = dav_resolve(url, r->principal);
        GPtrArray *p = principal ? propfind(c, principal, "0", propfind_home, error) : NULL;
        if (p != NULL && p->len > 0 && ((dav_resource *)p->pdata[0])->home != NULL)
            home = dav_resolve(principal, ((dav_resource *)p->pdata[0])->home);
        else if (p != NULL) /* a principal without a home set: look under it */
            home = g_strdup(principal);
        if (p != NULL)
            g_ptr_array_unref(p);
        g_free(principal);
    } else if (home == NULL)
        home = g_strdup(url);
    g_ptr_array_unref(start);
    if (home == NULL) {
        if (*error == NULL)
            *error = g_strdup_printf("%s: its current-user-principal is not a URL", url);
        return NULL;
    }
    GPtrArray *books = books_under(c, home, error);
    g_free(home);
    return books;
}

/* The vCards of `book`, in href order. */
static GPtrArray *members_of(dav_client *c, const char *book, char **error)
{
    GPtrArray *found = propfind(c, book, "1", propfind_members, error);
    if (found == NULL)
        return NULL;
    GPtrArray *members = g_ptr_array_new_with_free_func(member_free);
    for (guint i = 0; i < found->len; i++) {
        dav_resource *r = found->pdata[i];
        char *url = r->href != NULL ? dav_resolve(book, r->href) : NULL;
        if (url == NULL || r->is_collection || same_collection(url, book) || r->status >= 300) {
            g_free(url);
            continue;
        }
        member *m = g_new0(member, 1);
        m->href = g_strdup(r->href);
        m->url = url;
        m->length = r->content_length;
        g_ptr_array_add(members, m);
    }
    g_ptr_array_unref(found);
    g_ptr_array_sort(members, by_url);
    return members;
}

typedef struct run {
    const carddav_settings *settings;
    dav_client *client;
    const ucd_contact_sink *sink;
    void *sink_impl;
    gsize max_vcard;
    guint64 done, total;
    char *error;
} run;

/* Hands one answered resource to the sink: UCD_OK, or the sink's error. */
static int deliver(run *r, const char *url, const dav_resource *res)
{
    char *problem = NULL;
    int rc = UCD_OK;
    if (res->status < 200 || res->status > 299)
        problem = g_strdup_printf("the server answered %s",
                                  res->status_text ? res->status_text : "an error");
    else if (res->address_data_status != NULL)
        problem =
            g_strdup_printf("no address-data: the server answered %s", res->address_data_status);
    else if (res->address_data == NULL)
        problem = g_strdup("no address-data in the server's answer");
    else if (strlen(res->address_data) > r->max_vcard)
        problem = g_strdup_printf("%zu bytes, more than the limit of %zu",
                                  strlen(res->address_data), r->max_vcard);
    else {
        vcard_contact vc;
        if (vcard_contact_read(res->address_data, strlen(res->address_data), url, &vc, &problem) ==
            UCD_OK) {
            rc = r->sink->add(r->sink_impl, &vc.contact);
            if (rc == UCD_E_INVALID) /* the store counted it already */
                rc = UCD_OK;
            else if (rc != UCD_OK)
                r->error = g_strdup_printf("the store refused %s (error %d)", url, rc);
        }
        vcard_contact_clear(&vc);
    }
    if (problem != NULL)
        r->sink->skipped(r->sink_impl, url, problem);
    g_free(problem);
    return rc;
}

/* One addressbook-multiget of members[from, from + n) of `book`. An answer
 * that is a 207 but not XML (one card's bytes are not UTF-8, and the whole
 * answer with it) is asked again one card at a time, so only that card is
 * skipped; when no card of the batch can be read that way, the server is
 * broken rather than one card, and the replication fails. */
static int fetch(run *r, const char *book, GPtrArray *members, guint from, guint n)
{
    GString *body = g_string_new(XML_HEAD "<C:addressbook-multiget " NS_ATTRS ">"
                                          "<D:prop><D:getetag/><C:address-data/></D:prop>\n");
    GHashTable *asked = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = from; i < from + n; i++) {
        member *m = members->pdata[i];
        char *escaped = g_markup_escape_text(m->href, -1);
        g_string_append_printf(body, "<D:href>%s</D:href>\n", escaped);
        g_free(escaped);
        g_hash_table_insert(asked, m->url, m);
    }
    g_string_append(body, "</C:addressbook-multiget>\n");
    char *error = NULL;
    GPtrArray *answer = dav_client_query(r->client, "REPORT", book, "1", body->str, &error);
    g_string_free(body, TRUE);
    int rc = UCD_OK;
    if (answer == NULL && dav_client_last_status(r->client) == 207 && n == 1) {
        member *m = members->pdata[from];
        r->sink->skipped(r->sink_impl, m->url, error);
        r->done++;
        rc = UCD_E_INVALID; /* for the caller's count of unreadable cards */
    } else if (answer == NULL && dav_client_last_status(r->client) == 207) {
        guint unreadable = 0;
        for (guint i = from; i < from + n && (rc == UCD_OK || rc == UCD_E_INVALID); i++) {
            rc = fetch(r, book, members, i, 1);
            unreadable += rc == UCD_E_INVALID;
        }
        if (rc == UCD_E_INVALID)
            rc = UCD_OK;
        if (rc == UCD_OK && unreadable == n) {
            r->error = error;
            error = NULL;
            rc = UCD_FAIL;
        }
    } else if (answer == NULL) {
        r->error = error;
        error = NULL;
        rc = UCD_FAIL;
    }
    g_free(error);
    /* The server's answers by URL (an href not asked for is ignored), then
     * handed over in the order asked, which is href order. */
    GHashTable *answered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; answer != NULL && i < answer->len; i++) {
        const dav_resource *res = answer->pdata[i];
        char *url = res->href != NULL ? dav_resolve(book, res->href) : NULL;
        if (url != NULL && g_hash_table_contains(asked, url) &&
            !g_hash_table_contains(answered, url))
            g_hash_table_insert(answered, url, (gpointer)res);
        else
            g_free(url);
    }
    for (guint i = from; answer != NULL && i < from + n && rc == UCD_OK; i++) {
        member *m = members->pdata[i];
        const dav_resource *res = g_hash_table_lookup(answered, m->url);
        if (res != NULL)
            rc = deliver(r, m->url, res);
        else
            r->sink->skipped(r->sink_impl, m->url, "missing from the server's multiget answer");
        r->done++;
    }
    g_hash_table_destroy(answered);
    if (answer != NULL)
        g_ptr_array_unref(answer);
    g_hash_table_destroy(asked);
    return rc;
}

static int replicate_book(run *r, const char *book, GPtrArray *members)
{
    unsigned batch = r->settings->batch != 0 ? r->settings->batch : CARDDAV_DEFAULT_BATCH;
    GPtrArray *wanted = g_ptr_array_new();
    for (guint i = 0; i < members->len; i++) {
        member *m = members->pdata[i];
        if (m->length >= 0 && (guint64)m->length > r->max_vcard) {
            char *problem = g_strdup_printf("%" G_GINT64_FORMAT " bytes, more than the limit of "
                                            "%zu; not fetched",
                                            m->length, r->max_vcard);
            r->sink->skipped(r->sink_impl, m->url, problem);
            g_free(problem);
            r->done++;
        } else
            g_ptr_array_add(wanted, m);
    }
    int rc = UCD_OK;
    for (guint from = 0; from < wanted->len && rc == UCD_OK; from += batch) {
        if (r->sink->cancelled(r->sink_impl)) {
            r->error = g_strdup_printf("%s: cancelled after %" G_GUINT64_FORMAT
                                       " of %" G_GUINT64_FORMAT " vCards",
                                       book, r->done, r->total);
            rc = UCD_E_BUSY;
            break;
        }
        rc = fetch(r, book, wanted, from, MIN(batch, wanted->len - from));
        if (rc == UCD_E_INVALID) /* a batch of one card that was skipped */
            rc = UCD_OK;
        r->sink->progress(r->sink_impl, r->done, r->total);
    }
    g_ptr_array_free(wanted, TRUE);
    return rc;
}

GPtrArray *carddav_discover(const carddav_settings *settings, char **error)
{
    dav_client_settings cs = {.user = settings->user,
                              .password = settings->password,
                              .ca_file = settings->ca_file,
                              .timeout = settings->timeout};
    dav_client *client = dav_client_new(&cs, error);
    if (client == NULL)
        return NULL;
    GPtrArray *books = discover(client, settings->url, error);
    dav_client_free(client);
    return books;
}

int carddav_replicate(const carddav_settings *settings, const ucd_contact_sink *sink,
                      void *sink_impl, char **error)
{
    *error = NULL;
    run r = {.settings = settings,
             .sink = sink,
             .sink_impl = sink_impl,
             .max_vcard =
                 settings->max_vcard != 0 ? settings->max_vcard : CARDDAV_DEFAULT_MAX_VCARD};
    dav_client_settings cs = {.user = settings->user,
                              .password = settings->password,
                              .ca_file = settings->ca_file,
                              .timeout = settings->timeout};
    r.client = dav_client_new(&cs, &r.error);
    GPtrArray *books = r.client != NULL ? discover(r.client, settings->url, &r.error) : NULL;
    /* Every book's listing first: the total for the progress reports. */
    GPtrArray *listings = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; books != NULL && i < books->len && r.error == NULL; i++) {
        GPtrArray *members = members_of(r.client, books->pdata[i], &r.error);
        if (members != NULL) {
            g_ptr_array_add(listings, members);
            r.total += members->len;
        }
    }
    int rc = r.error == NULL ? UCD_OK : UCD_FAIL;
    for (guint i = 0; rc == UCD_OK && i < listings->len; i++)
        rc = replicate_book(&r, books->pdata[i], listings->pdata[i]);
    if (rc == UCD_OK)
        sink->progress(sink_impl, r.done, r.total);
    else if (r.error == NULL)
        r.error = g_strdup_printf("%s: failed (error %d)", settings->url, rc);
    g_ptr_array_unref(listings);
    if (books != NULL)
        g_ptr_array_unref(books);
    dav_client_free(r.client);
    if (rc != UCD_OK) {
        *error = strdup(r.error);
        g_free(r.error);
    }
    return rc;
}
