/*
 * phonebook-routes.c - Yealink's and Snom's XML phonebooks in the client
 * API (phonebook-routes.h).
 *
 * Both run on a worker: a search reads the store's database, and a listing
 * without words scans every contact in memory. The numbers are put in the
 * form the phone dials while there, through the numbers service.
 */
#include <stddef.h>
#include <string.h>

#include "phonebook-routes.h"
#include "phonebook-xml.h"

#define PHONEBOOK_LIMIT_DEFAULT 1000
#define PHONEBOOK_LIMIT_MAX     5000

typedef struct phonebook_route {
    store *st;
    const ucd_http_v1 *http;
    phonebook_format format;
    phonebook_sources_fn sources;
    void *sources_data;
} phonebook_route;

/* One route per format; outlives the routes, for answers still on a
 * worker when they go. */
struct phonebook_routes {
    phonebook_route route[2];
};

typedef struct phonebook_job {
    phonebook_route *route;
    ucd_http_call *call;
    char *query; /* NULL: a listing */
    char *context;
    char **sources;
    uint32_t limit;
    int rc;
    GBytes *body;
    phonebook_xml *book;
} phonebook_job;

/* The form `raw` is dialled in from `context`: the numbers service's
 * dialable form, else E.164, else the number as the source has it. */
static void dial_form(store *st, const char *context, const char *raw, char *out, size_t size)
{
    ucd_number_info info = {.struct_size = sizeof info};
    int rc = UCD_OK;
    store_normalize(st, context, raw, &info, &rc);
    const char *best = context && info.dialable[0] ? info.dialable : info.e164[0] ? info.e164 : raw;
    g_strlcpy(out, best, size);
}

static int add_entry(const ucd_contact_hit *hit, void *data)
{
    phonebook_job *j = data;
    const ucd_contact *c = hit->contact;
    char forms[8][48];
    const char *numbers[8];
    guint n = 0;
    for (uint32_t i = 0; i < c->n_numbers && n < G_N_ELEMENTS(forms); i++) {
        if (!c->numbers[i].raw || c->numbers[i].kind == UCD_CONTACT_NUMBER_FAX)
            continue; /* a phone does not dial a fax */
        dial_form(j->route->st, j->context, c->numbers[i].raw, forms[n], sizeof forms[n]);
        numbers[n] = forms[n];
        n++;
    }
    const char *name = c->display_name ? c->display_name : c->company;
    phonebook_xml_add(j->book, name, numbers, n);
    return 0;
}

static void phonebook_work(void *data)
{
    phonebook_job *j = data;
    j->book = phonebook_xml_new(j->route->format, "Directory");
    if (j->query)
        j->rc = store_search(j->route->st, j->query, (const char *const *)j->sources, j->limit,
                             add_entry, j);
    else
        j->rc = store_list(j->route->st, (const char *const *)j->sources, j->limit, add_entry, j);
    j->body = phonebook_xml_finish(j->book);
}

static void phonebook_done(void *data)
{
    phonebook_job *j = data;
    const ucd_http_v1 *http = j->route->http;
    if (j->rc == UCD_OK) {
        gsize length = 0;
        const void *bytes = j->body ? g_bytes_get_data(j->body, &length) : NULL;
        http->respond_file(j->call, "application/xml; charset=utf-8", bytes, length, NULL);
    } else if (j->rc == UCD_E_INVALID) {
        http->respond_error(j->call, 400, "invalid_argument", "q: no word to search for");
    } else {
        http->respond_error(j->call, 503, "unavailable",
                            "the contact store cannot answer now (see the daemon's log)");
    }
    if (j->body)
        g_bytes_unref(j->body);
    g_free(j->query);
    g_free(j->context);
    g_strfreev(j->sources);
    g_free(j);
}

static void get_phonebook(ucd_http_call *call, void *data)
{
    phonebook_route *route = data;
    const ucd_http_v1 *http = route->http;
    const char *q = http->query_param(call, "q");
    const char *limit_text = http->query_param(call, "limit");
    guint64 limit = PHONEBOOK_LIMIT_DEFAULT;
    if (limit_text &&
        !g_ascii_string_to_unsigned(limit_text, 10, 1, PHONEBOOK_LIMIT_MAX, &limit, NULL)) {
        http->respond_error(
            call, 400, "invalid_argument",
            "limit: a number from 1 to " G_STRINGIFY(PHONEBOOK_LIMIT_MAX) " is needed");
        return;
    }
    phonebook_job *j = g_new0(phonebook_job, 1);
    j->route = route;
    j->call = call;
    /* Phones put what the user typed where the URL says (Yealink's
     * #SEARCH): nothing typed yet is a listing, not an error. */
    j->query = store_has_word(q) ? g_strdup(q) : NULL;
    j->context = g_strdup(http->query_param(call, "context"));
    j->sources = route->sources(call, route->sources_data);
    j->limit = (uint32_t)limit;
    http->defer(call);
    if (route->st->host->work_submit(route->st->self, phonebook_work, phonebook_done, j) !=
        UCD_OK) {
        j->rc = UCD_E_BUSY;
        phonebook_done(j);
    }
}

#define PHONEBOOK_PARAMETERS                                                                       \
    "\"parameters\":[{\"name\":\"q\",\"in\":\"query\",\"description\":\"words to search for, as "  \
    "GET /contacts; empty or absent: the first contacts in name order\",\"schema\":{\"type\":"     \
    "\"string\"}},{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","          \
    "\"minimum\":1,\"maximum\":5000,\"default\":1000}},{\"name\":\"context\",\"in\":\"query\","    \
    "\"description\":\"the PBX driver module whose phones fetch the book: numbers are written as " \
    "dialled there (outside-line prefix included); absent: E.164\",\"schema\":{\"type\":"          \
    "\"string\"}},{\"name\":\"token\",\"in\":\"query\",\"description\":\"an access token or API "  \
    "key, for phones that cannot send Authorization\",\"schema\":{\"type\":\"string\"}}]"

static const char yealink_openapi[] =
    "{\"summary\":\"The contact directory as Yealink's remote phone book\",\"description\":\"A "
    "YealinkIPPhoneDirectory: one DirectoryEntry (Name, a Telephone per number, faxes left out) "
    "per contact the caller's directory profile shows. Set the phone's remote phone book URL to "
    "this route with q=#SEARCH and the token.\"," PHONEBOOK_PARAMETERS
    ",\"responses\":{\"200\":{\"description\":\"the phonebook\",\"content\":{\"application/"
    "xml\":{\"schema\":{\"type\":\"string\"}}}}}}";

static const char snom_openapi[] =
    "{\"summary\":\"The contact directory as a Snom XML directory\",\"description\":\"A "
    "SnomIPPhoneDirectory of the XML minibrowser: Title, then one DirectoryEntry (Name, a "
    "Telephone per number, faxes left out) per contact the caller's directory profile "
    "shows.\"," PHONEBOOK_PARAMETERS
    ",\"responses\":{\"200\":{\"description\":\"the phonebook\",\"content\":{\"application/"
    "xml\":{\"schema\":{\"type\":\"string\"}}}}}}";

phonebook_routes *phonebook_routes_new(store *st, phonebook_sources_fn sources, void *data)
{
    phonebook_routes *pr = g_new0(phonebook_routes, 1);
    for (int f = 0; f < 2; f++)
        pr->route[f] = (phonebook_route){st, NULL, (phonebook_format)f, sources, data};
    return pr;
}

void phonebook_routes_free(phonebook_routes *pr)
{
    g_free(pr);
}

int phonebook_routes_add(phonebook_routes *pr, const ucd_http_v1 *http, void *http_impl)
{
    if (http->struct_size < offsetof(ucd_http_v1, respond_file) + sizeof http->respond_file)
        return UCD_E_UNSUPPORTED;
    static const char *const paths[] = {"/phonebook/yealink", "/phonebook/snom"};
    const char *const openapi[] = {yealink_openapi, snom_openapi};
    int result = UCD_OK;
    for (int f = 0; f < 2; f++) {
        pr->route[f].http = http;
        ucd_http_route route = {.struct_size = sizeof route,
                                .role = UCD_HTTP_ROLE_USER,
                                .method = "GET",
                                .path = paths[f],
                                .scope = "contacts:read",
                                .openapi = openapi[f],
                                .handler = get_phonebook,
                                .user_data = &pr->route[f]};
        int rc = http->route_add(http_impl, pr->route[f].st->self, &route);
        if (rc != UCD_OK)
            result = rc;
    }
    return result;
}
