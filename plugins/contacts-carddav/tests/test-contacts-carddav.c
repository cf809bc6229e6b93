/*
 * test-contacts-carddav.c - contacts-carddav against a real Radicale
 * (tests/peers/radicale.sh, started here through the test harness), with
 * plugins/common's recording sink in place of the store (no daemon).
 *
 * The vCards are uploaded with real PUTs through libsoup (dav-client.h):
 * vCard 3.0 with a folded line and both TYPE list forms, vCard 4.0 with
 * quoted TYPE lists and tel: URIs, an Outlook-style card, a 10 MB card, a
 * second address book, and 2,000 cards in bob's book (one PUT of the
 * whole collection, which Radicale takes). Then every contact and every
 * skipped card is compared exactly. Bad input: a wrong password, a wrong
 * URL, no server, a server that never answers; a fake server (a thread
 * here) answers what Radicale never would: a card without FN or N, a card
 * whose bytes are not UTF-8, vCard 2.1 quoted-printable, 404s inside the
 * multistatus, a card left out, a body that is not XML.
 *
 * argv[1]: tests/peers/radicale.sh; argv[2]: contacts-carddav.so.
 */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "carddav-source.h"
#include "contact-sink-recorder.h"
#include "dav-client.h"
#include "fake-host.h"
#include "harness.h"

#define BIG_BOOK 2000

static const char *script, *plugin_path;
static harness_peer *radicale;
static gboolean radicale_missing;

/* ---- uploads ----------------------------------------------------------------------- */

static void send_ok(dav_client *c, const char *method, const char *url, const char *type,
                    const char *body, gsize len)
{
    GBytes *answer = NULL;
    char *error = NULL;
    unsigned status = dav_client_send(c, method, url, NULL, type, body, len, &answer, &error);
    if (status != 201 && status != 204)
        g_error("%s %s: %u %s", method, url, status, error ? error : "");
    g_bytes_unref(answer);
}

static void make_book(dav_client *c, const char *url)
{
    static const char mkcol[] =
        "<?xml version=\"1.0\"?><D:mkcol xmlns:D=\"DAV:\" "
        "xmlns:C=\"urn:ietf:params:xml:ns:carddav\"><D:set><D:prop><D:resourcetype>"
        "<D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>";
    send_ok(c, "MKCOL", url, "application/xml", mkcol, strlen(mkcol));
}

static void put_card(dav_client *c, const char *book, const char *name, const char *card)
{
    char *url = g_strconcat(book, name, NULL);
    send_ok(c, "PUT", url, "text/vcard", card, strlen(card));
    g_free(url);
}

static char *url_of(const char *path)
{
    return g_strconcat(harness_peer_get(radicale, "RADICALE_URL"), path, NULL);
}

/* Alice's two address books, bob's 2,000 contacts. */
static void upload(void)
{
    dav_client_settings alice = {.user = "alice", .password = "secret", .timeout = 120};
    char *error = NULL;
    dav_client *c = dav_client_new(&alice, &error);
    g_assert_nonnull(c);
    char *contacts = url_of("/alice/contacts/"), *work = url_of("/alice/work/");
    make_book(c, contacts);
    make_book(c, work);
    put_card(c, contacts, "c1.vcf",
             "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nN:Müller;Jörg;;Dr.;\r\n"
             "FN:Dr. Jörg Mül\r\n ler\r\nORG:Müller & Söhne\\, GmbH;Vertrieb\r\n"
             "TEL;TYPE=work,voice:+49 89 1234567\r\nTEL;TYPE=CELL:0171 2345678\r\n"
             "TEL;TYPE=WORK,FAX:089 1234568\r\nTEL;TYPE=HOME;TYPE=pref:089 999\r\n"
             "EMAIL;TYPE=INTERNET:jm@example.com\r\n"
             "ADR;TYPE=WORK:;;Hauptstr. 1;München;;80331;Germany\r\n"
             "NOTE:a note\\, with a line\\nend\r\nEND:VCARD\r\n");
    put_card(c, contacts, "v4.vcf",
             "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
             "FN:Ana Lima\r\nN:Lima;Ana;;;\r\nORG:Example Ltd.;Sales\r\n"
             "TEL;VALUE=uri;TYPE=cell:tel:+1-555-555-0001\r\n"
             "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-555-555-5555;ext=5555\r\n"
             "EMAIL:ana@example.com\r\nEND:VCARD\r\n");
    /* Outlook's export: upper case TYPEs, repeated TYPE, and vCard 2.1's
     * bare types, which Radicale's vobject drops on the way in. */
    put_card(c, contacts, "win.vcf",
             "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:win-1\r\nN:Gates;Bill;;;\r\nFN:Bill Gates\r\n"
             "TEL;TYPE=WORK;TYPE=VOICE:+49 (89) 1234-567\r\nTEL;HOME;VOICE:+49 (89) 765\r\n"
             "END:VCARD\r\n");
    /* 10 MB, a photo as phones export it (base64, folded): skipped for its
     * size, before it is fetched. */
    gsize raw_len = 7800 * 1024;
    guchar *raw = g_malloc(raw_len);
    for (gsize i = 0; i < raw_len; i++)
        raw[i] = (guchar)(i * 2654435761u >> 13);
    char *photo = g_base64_encode(raw, raw_len);
    g_free(raw);
    GString *big = g_string_new("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big Photo\r\n"
                                "PHOTO;ENCODING=b;TYPE=JPEG:");
    for (gsize at = 0, len = strlen(photo); at < len; at += 74) {
        g_string_append_len(big, photo + at, MIN(74, len - at));
        g_string_append(big, "\r\n ");
    }
    g_string_truncate(big, big->len - 1);
    g_string_append(big, "END:VCARD\r\n");
    g_free(photo);
    g_assert_cmpuint(big->len, >, 10 * 1000 * 1000);
    put_card(c, contacts, "big.vcf", big->str);
    g_string_free(big, TRUE);
    put_card(c, work, "w1.vcf",
             "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:w1\r\nFN:Wolfgang Werner\r\n"
             "TEL;TYPE=work:+49 30 2000\r\nEND:VCARD\r\n");
    dav_client_free(c);

    dav_client_settings bob = {.user = "bob", .password = "secret", .timeout = 120};
    c = dav_client_new(&bob, &error);
    /* One PUT of the whole collection: Radicale makes it an address book
     * (one PUT a card takes 100-140 ms each on the shared machine). */
    GString *all = g_string_new(NULL);
    for (int i = 1; i <= BIG_BOOK; i++)
        g_string_append_printf(all,
                               "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b%04d\r\nFN:Bulk %04d\r\n"
                               "TEL;TYPE=work:+1 555 %07d\r\nEND:VCARD\r\n",
                               i, i, i);
    char *bulk = url_of("/bob/bulk/");
    gint64 start = g_get_monotonic_time();
    send_ok(c, "PUT", bulk, "text/vcard", all->str, all->len);
    g_test_message("%d cards in one PUT: %.1f s", BIG_BOOK, (g_get_monotonic_time() - start) / 1e6);
    g_string_free(all, TRUE);
    dav_client_free(c);
    g_free(bulk);
    g_free(contacts);
    g_free(work);
}

/* The running Radicale with the uploads, or NULL after g_test_skip. */
static gboolean have_radicale(void)
{
    if (radicale == NULL && !radicale_missing) {
        radicale = harness_peer_start(script, "RADICALE_DIR", NULL);
        radicale_missing = radicale == NULL;
        if (radicale != NULL) {
            gint64 start = g_get_monotonic_time();
            upload();
            g_test_message("uploads in %.1f s", (g_get_monotonic_time() - start) / 1e6);
        }
    }
    if (radicale == NULL)
        g_test_skip("no radicale");
    return radicale != NULL;
}

/* ---- runs -------------------------------------------------------------------------- */

static int run(const carddav_settings *s, contact_sink_recorder *rec, char **error)
{
    contact_sink_recorder_init(rec);
    char *e = NULL;
    int rc = carddav_replicate(s, &contact_sink_recorder_iface, rec, &e);
    g_assert_true((rc == UCD_OK) == (e == NULL));
    if (e != NULL)
        g_assert_null(strstr(e, "secret"));
    *error = e;
    return rc;
}

static void assert_fails(const carddav_settings *s, const char *expected)
{
    contact_sink_recorder rec;
    char *error = NULL;
    g_assert_cmpint(run(s, &rec, &error), !=, UCD_OK);
    if (strstr(error, expected) == NULL)
        g_error("expected '%s' in: %s", expected, error);
    g_assert_cmpuint(rec.contacts->len, ==, 0);
    free(error);
    contact_sink_recorder_clear(&rec);
}

static const char *const alice_contacts[] = {
    "c1|Dr. Jörg Müller|Jörg|Müller|Müller & Söhne, GmbH|Vertrieb|jm@example.com|"
    "Hauptstr. 1, München, 80331, Germany|-|home:089 999,business:+49 89 1234567,"
    "mobile:0171 2345678,fax:089 1234568",
    "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1|Ana Lima|Ana|Lima|Example Ltd.|Sales|"
    "ana@example.com|-|-|business:+1-555-555-5555,mobile:+1-555-555-0001",
    "win-1|Bill Gates|Bill|Gates|-|-|-|-|-|business:+49 (89) 1234-567,other:+49 (89) 765", NULL};

static void test_book(void)
{
    if (!have_radicale())
        return;
    char *url = url_of("/alice/contacts/");
    carddav_settings s = {.url = url, .user = "alice", .password = "secret"};
    contact_sink_recorder rec;
    char *error = NULL;
    gint64 start = g_get_monotonic_time();
    g_assert_cmpint(run(&s, &rec, &error), ==, UCD_OK);
    g_test_message("replicated in %.1f s", (g_get_monotonic_time() - start) / 1e6);
    contact_sink_recorder_assert_lines(rec.contacts, alice_contacts);
    g_assert_cmpuint(rec.skipped->len, ==, 1);
    char *big = g_strconcat(url, "big.vcf: ", NULL);
    const char *line = rec.skipped->pdata[0];
    if (!g_str_has_prefix(line, big) ||
        !g_str_has_suffix(line, "bytes, more than the limit of 1048576; not fetched"))
        g_error("unexpected: %s", line);
    /* the last progress report: all four cards */
    guint64 *p = (guint64 *)(void *)rec.progress->data;
    g_assert_cmpuint(p[rec.progress->len - 2], ==, 4);
    g_assert_cmpuint(p[rec.progress->len - 1], ==, 4);
    contact_sink_recorder_clear(&rec);
    g_free(big);
    g_free(url);
}

/* From the server's root (current-user-principal) and from the principal
 * (Radicale's addressbook-home-set): both of alice's books, not bob's. */
static void test_discovery(void)
{
    if (!have_radicale())
        return;
    char *contacts = url_of("/alice/contacts/"), *work = url_of("/alice/work/");
    const char *starts[] = {"/", "/alice/", "/alice"};
    for (guint i = 0; i < G_N_ELEMENTS(starts); i++) {
        char *url = url_of(starts[i]);
        carddav_settings s = {.url = url, .user = "alice", .password = "secret"};
        char *error = NULL;
        GPtrArray *books = carddav_discover(&s, &error);
        if (books == NULL)
            g_error("%s: %s", url, error);
        g_assert_cmpuint(books->len, ==, 2);
        g_assert_cmpstr(books->pdata[0], ==, contacts);
        g_assert_cmpstr(books->pdata[1], ==, work);
        g_ptr_array_unref(books);

        contact_sink_recorder rec;
        g_assert_cmpint(run(&s, &rec, &error), ==, UCD_OK);
        g_assert_cmpuint(rec.contacts->len, ==, 4);
        g_assert_cmpstr(rec.contacts->pdata[3], ==,
                        "w1|Wolfgang Werner|-|-|-|-|-|-|-|business:+49 30 2000");
        contact_sink_recorder_clear(&rec);
        g_free(url);
    }
    g_free(contacts);
    g_free(work);
}

/* 2,000 contacts in multigets of 100: every one, in order, a progress
 * report per batch. */
static void test_many(void)
{
    if (!have_radicale())
        return;
    char *url = url_of("/bob/");
    carddav_settings s = {.url = url, .user = "bob", .password = "secret"};
    contact_sink_recorder rec;
    char *error = NULL;
    gint64 start = g_get_monotonic_time();
    g_assert_cmpint(run(&s, &rec, &error), ==, UCD_OK);
    /* for the README's figure, never asserted */
    g_test_message("%d contacts in %.2f s", BIG_BOOK, (g_get_monotonic_time() - start) / 1e6);
    g_assert_cmpuint(rec.contacts->len, ==, BIG_BOOK);
    g_assert_cmpuint(rec.skipped->len, ==, 0);
    for (guint i = 0; i < rec.contacts->len; i++) {
        char *expected = g_strdup_printf("b%04u|Bulk %04u|-|-|-|-|-|-|-|business:+1 555 %07u",
                                         i + 1, i + 1, i + 1);
        g_assert_cmpstr(rec.contacts->pdata[i], ==, expected);
        g_free(expected);
    }
    g_assert_cmpuint(rec.progress->len, ==, 2 * (BIG_BOOK / CARDDAV_DEFAULT_BATCH + 1));
    guint64 *p = (guint64 *)(void *)rec.progress->data;
    g_assert_cmpuint(p[0], ==, CARDDAV_DEFAULT_BATCH);
    g_assert_cmpuint(p[1], ==, BIG_BOOK);
    contact_sink_recorder_clear(&rec);

    /* The store stops it midway: cancelled after the first batch. */
    contact_sink_recorder_init(&rec);
    rec.cancel_after = 1;
    g_assert_cmpint(carddav_replicate(&s, &contact_sink_recorder_iface, &rec, &error), ==,
                    UCD_E_BUSY);
    g_assert_nonnull(strstr(error, "cancelled after 100 of 2000 vCards"));
    free(error);
    contact_sink_recorder_clear(&rec);
    g_free(url);
}

static void test_bad_password(void)
{
    if (!have_radicale())
        return;
    char *url = url_of("/alice/contacts/");
    carddav_settings s = {.url = url, .user = "alice", .password = "wrong"};
    char *expected = g_strdup_printf("authentication failed for alice at %s", url);
    assert_fails(&s, expected);
    g_free(expected);
    /* bob may not read alice's book (owner_only) */
    s.user = "bob";
    s.password = "secret";
    expected = g_strdup_printf("%s: PROPFIND answered 403 Forbidden", url);
    assert_fails(&s, expected);
    g_free(expected);
    g_free(url);
}

static void test_not_found(void)
{
    if (!have_radicale())
        return;
    char *url = url_of("/alice/nope/");
    carddav_settings s = {.url = url, .user = "alice", .password = "secret"};
    char *expected = g_strdup_printf("%s: PROPFIND answered 404 Not Found", url);
    assert_fails(&s, expected);
    g_free(expected);
    g_free(url);
}

/* HTTPS: trusted through ca_file; refused with the system's CAs, which do
 * not know the test CA. */
static void test_tls(void)
{
    const char *const args[] = {"tls", NULL};
    harness_peer *peer = harness_peer_start(script, "RADICALE_DIR", args);
    if (peer == NULL)
        return;
    const char *ca = harness_peer_get(peer, "RADICALE_CACERT");
    char *book = g_strconcat(harness_peer_get(peer, "RADICALE_URL"), "/alice/tls/", NULL);
    dav_client_settings alice = {.user = "alice", .password = "secret", .ca_file = ca};
    char *error = NULL;
    dav_client *c = dav_client_new(&alice, &error);
    g_assert_nonnull(c);
    make_book(c, book);
    put_card(c, book, "t.vcf",
             "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:t\r\nFN:Tess Ls\r\nTEL:+49 89 443\r\n"
             "END:VCARD\r\n");
    dav_client_free(c);

    carddav_settings s = {.url = book, .user = "alice", .password = "secret", .ca_file = ca};
    contact_sink_recorder rec;
    g_assert_cmpint(run(&s, &rec, &error), ==, UCD_OK);
    const char *const tess[] = {"t|Tess Ls|-|-|-|-|-|-|-|other:+49 89 443", NULL};
    contact_sink_recorder_assert_lines(rec.contacts, tess);
    contact_sink_recorder_clear(&rec);

    s.ca_file = NULL;
    char *expected = g_strdup_printf("%s: TLS failed: ", book);
    assert_fails(&s, expected);
    g_free(expected);
    s.ca_file = "/nonexistent/ca.pem";
    assert_fails(&s, "ca_file /nonexistent/ca.pem: ");
    g_free(book);
    harness_peer_stop(peer);
}

/* ---- no server, a silent one ------------------------------------------------------- */

static GSocketListener *listen_on(guint16 *port)
{
    GSocketListener *l = g_socket_listener_new();
    GError *e = NULL;
    *port = g_socket_listener_add_any_inet_port(l, NULL, &e);
    g_assert_no_error(e);
    return l;
}

static void test_down(void)
{
    guint16 port = 0;
    GSocketListener *l = listen_on(&port);
    g_socket_listener_close(l); /* nothing listens there now */
    g_object_unref(l);
    char *url = g_strdup_printf("http://127.0.0.1:%u/dav/", port);
    carddav_settings s = {.url = url, .user = "alice", .password = "secret"};
    char *expected = g_strdup_printf("cannot reach %s: ", url);
    assert_fails(&s, expected);
    g_free(expected);
    g_free(url);
}

/* A server that takes the connection and never answers. */
static void test_stall(void)
{
    guint16 port = 0;
    GSocketListener *l = listen_on(&port); /* the kernel accepts; nobody reads */
    char *url = g_strdup_printf("http://127.0.0.1:%u/dav/", port);
    carddav_settings s = {.url = url, .timeout = 1};
    char *expected = g_strdup_printf("%s: no answer within 1 s (timeout)", url);
    assert_fails(&s, expected);
    g_free(expected);
    g_free(url);
    g_socket_listener_close(l);
    g_object_unref(l);
}

/* ---- a fake server for what Radicale never answers ---------------------------------- */

#define MS_HEAD                                                                                    \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><multistatus xmlns=\"DAV:\" "                       \
    "xmlns:C=\"urn:ietf:params:xml:ns:carddav\">"
#define OK_PROPSTAT_END "</prop><status>HTTP/1.1 200 OK</status></propstat></response>"

typedef struct fake_server {
    GSocketListener *listener;
    GThread *thread;
    guint16 port;
    gboolean garbage;  /* the listing PROPFIND gets a 207 that is not XML */
    gboolean redirect; /* every request gets a 301 */
    guint requests;
} fake_server;

/* A card's multistatus response, by the href's name. */
static void answer_card(GString *out, const char *href)
{
    const char *card = NULL;
    if (g_str_has_suffix(href, "/ok.vcf"))
        card = "BEGIN:VCARD\nVERSION:3.0\nUID:ok\nFN:Otto Kay\nTEL;TYPE=work:+49 89 1\n"
               "END:VCARD\n";
    else if (g_str_has_suffix(href, "/nofn.vcf"))
        card = "BEGIN:VCARD\nVERSION:3.0\nUID:nofn\nORG:No Name Inc.\nTEL:+49 89 2\nEND:VCARD\n";
    else if (g_str_has_suffix(href, "/latin1.vcf"))
        card = "BEGIN:VCARD\nVERSION:3.0\nUID:latin1\nFN:J\xf6rg\nEND:VCARD\n";
    else if (g_str_has_suffix(href, "/qp.vcf"))
        card = "BEGIN:VCARD\nVERSION:2.1\nN:Alt;Otto\nFN;ENCODING=QUOTED-PRINTABLE:Otto=20Alt\n"
               "END:VCARD\n";
    else if (g_str_has_suffix(href, "/gone.vcf")) {
        g_string_append_printf(out,
                               "<response><href>%s</href><status>HTTP/1.1 404 Not Found</status>"
                               "</response>",
                               href);
        return;
    } else if (g_str_has_suffix(href, "/denied.vcf")) {
        g_string_append_printf(out,
                               "<response><href>%s</href><propstat><prop><C:address-data/></prop>"
                               "<status>HTTP/1.1 404 Not Found</status></propstat></response>",
                               href);
        return;
    } else
        return; /* left out: missing.vcf */
    g_string_append_printf(out,
                           "<response><href>%s</href><propstat><prop><C:address-data>%s"
                           "</C:address-data>" OK_PROPSTAT_END,
                           href, card);
}

static char *fake_answer(fake_server *f, const char *request, const char *body)
{
    GString *out = g_string_new(MS_HEAD);
    if (g_str_has_prefix(request, "PROPFIND") && strstr(request, "Depth: 0") != NULL)
        g_string_append(out, "<response><href>/dav/</href><propstat><prop><resourcetype>"
                             "<collection/><C:addressbook/></resourcetype>" OK_PROPSTAT_END);
    else if (g_str_has_prefix(request, "PROPFIND") && f->garbage) {
        g_string_assign(out, "<html><body>Oops<br></body></html");
    } else if (g_str_has_prefix(request, "PROPFIND")) {
        const char *names[] = {"denied", "gone", "latin1", "missing", "nofn", "ok", "qp"};
        for (guint i = 0; i < G_N_ELEMENTS(names); i++)
            g_string_append_printf(out,
                                   "<response><href>/dav/%s.vcf</href><propstat><prop>"
                                   "<resourcetype/>" OK_PROPSTAT_END,
                                   names[i]);
    } else { /* REPORT: a response for each href asked for */
        for (const char *h = strstr(body, "<D:href>"); h != NULL; h = strstr(h + 1, "<D:href>")) {
            const char *start = h + strlen("<D:href>"), *end = strstr(start, "</D:href>");
            char *href = g_strndup(start, end - start);
            answer_card(out, href);
            g_free(href);
        }
    }
    if (g_str_has_prefix(out->str, MS_HEAD))
        g_string_append(out, "</multistatus>");
    return g_string_free(out, FALSE);
}

static gpointer fake_serve(gpointer data)
{
    fake_server *f = data;
    for (;;) {
        GSocketConnection *conn = g_socket_listener_accept(f->listener, NULL, NULL, NULL);
        if (conn == NULL)
            return NULL;
        GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
        GString *request = g_string_new(NULL);
        char buf[4096];
        gssize n;
        const char *end = NULL;
        while (end == NULL && (n = g_input_stream_read(in, buf, sizeof buf, NULL, NULL)) > 0) {
            g_string_append_len(request, buf, n);
            end = strstr(request->str, "\r\n\r\n");
        }
        if (end == NULL) { /* the test's end: an empty connection */
            g_string_free(request, TRUE);
            g_object_unref(conn);
            return NULL;
        }
        /* offsets, not pointers: the string moves as it grows */
        gsize head = (end - request->str) + 4;
        const char *length = strstr(request->str, "Content-Length: ");
        gsize want = head + (length ? strtoul(length + 16, NULL, 10) : 0);
        while (request->len < want &&
               (n = g_input_stream_read(in, buf, sizeof buf, NULL, NULL)) > 0)
            g_string_append_len(request, buf, n);
        f->requests++;
        char *body = fake_answer(f, request->str, request->str + head);
        char *reply =
            f->redirect ? g_strdup("HTTP/1.1 301 Moved Permanently\r\n"
                                   "Location: https://elsewhere.example/dav/\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n")
                        : g_strdup_printf("HTTP/1.1 207 Multi-Status\r\nContent-Type: text/xml\r\n"
                                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                          strlen(body), body);
        g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), reply,
                                  strlen(reply), NULL, NULL, NULL);
        g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        g_object_unref(conn);
        g_free(reply);
        g_free(body);
        g_string_free(request, TRUE);
    }
}

static void fake_start(fake_server *f)
{
    f->listener = listen_on(&f->port);
    f->thread = g_thread_new("fake-carddav", fake_serve, f);
}

static void fake_stop(fake_server *f)
{
    /* an empty connection ends the thread's loop */
    GSocketClient *client = g_socket_client_new();
    GSocketConnection *conn =
        g_socket_client_connect_to_host(client, "127.0.0.1", f->port, NULL, NULL);
    g_assert_nonnull(conn);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    g_object_unref(conn);
    g_object_unref(client);
    g_thread_join(f->thread);
    g_socket_listener_close(f->listener);
    g_object_unref(f->listener);
}

static void test_bad_cards(void)
{
    fake_server f = {0};
    fake_start(&f);
    char *url = g_strdup_printf("http://127.0.0.1:%u/dav/", f.port);
    carddav_settings s = {.url = url, .timeout = 10};
    contact_sink_recorder rec;
    char *error = NULL;
    int rc = run(&s, &rec, &error);
    if (rc != UCD_OK)
        g_error("%s", error);
    const char *const contacts[] = {"ok|Otto Kay|-|-|-|-|-|-|-|business:+49 89 1", NULL};
    contact_sink_recorder_assert_lines(rec.contacts, contacts);
    char *p = g_strdup_printf("http://127.0.0.1:%u/dav/", f.port);
    char *skipped[8];
    skipped[0] =
        g_strdup_printf("%sdenied.vcf: no address-data: the server answered 404 Not Found", p);
    skipped[1] = g_strdup_printf("%sgone.vcf: the server answered 404 Not Found", p);
    skipped[2] = g_strdup_printf("%snofn.vcf: neither FN nor N names the contact", p);
    skipped[3] = g_strdup_printf("%sqp.vcf: FN is vCard 2.1 QUOTED-PRINTABLE, which is not "
                                 "supported (export the card as vCard 3.0 or 4.0)",
                                 p);
    skipped[4] = g_strdup_printf("%smissing.vcf: missing from the server's multiget answer", p);
    /* latin1's bytes make the batch's answer unreadable: asked for alone */
    skipped[5] = g_strdup_printf("%slatin1.vcf: the answer of %s to REPORT is not XML: Input is "
                                 "not proper UTF-8, indicate encoding !",
                                 p, url);
    skipped[6] = NULL;
    g_assert_cmpuint(rec.skipped->len, ==, 6);
    for (guint i = 0; i < 6; i++)
        if (contact_sink_recorder_find(rec.skipped, skipped[i]) == NULL) {
            for (guint j = 0; j < rec.skipped->len; j++)
                g_printerr("skipped: %s\n", (char *)rec.skipped->pdata[j]);
            g_error("not skipped: %s", skipped[i]);
        }
    for (guint i = 0; i < 6; i++)
        g_free(skipped[i]);
    contact_sink_recorder_clear(&rec);

    /* A listing that is not XML fails the replication. */
    f.garbage = TRUE;
    char *expected = g_strdup_printf("the answer of %s to PROPFIND is not XML: ", url);
    assert_fails(&s, expected);
    g_free(expected);

    /* A redirect is not followed (the credentials stay with this server). */
    f.redirect = TRUE;
    expected = g_strdup_printf("%s redirects (301) to https://elsewhere.example/dav/; set url to "
                               "where it points",
                               url);
    assert_fails(&s, expected);
    g_free(expected);
    fake_stop(&f);
    g_free(p);
    g_free(url);
}

/* ---- the plugin on the fake host ---------------------------------------------------- */

static void test_plugin(void)
{
    if (!have_radicale())
        return;
    void *handle = NULL;
    const ucd_plugin_descriptor *d = fake_load_plugin(plugin_path, "contacts-carddav", &handle);
    char *url = url_of("/alice/work/");
    char *dir = g_dir_make_tmp("carddav-XXXXXX", NULL);
    char *pw = g_build_filename(dir, "password", NULL);
    g_assert_true(g_file_set_contents(pw, "secret\n", -1, NULL));

    /* password_file, a replication through the service, no password in the log */
    fake_module *m = fake_module_new(d, "contacts-carddav:work");
    const char *const pairs[] = {"url", url,        "user", "alice", "password_file",
                                 pw,    "priority", "20",   NULL};
    fake_module_set_pairs(m, pairs);
    fake_module_start(m);
    void *impl = NULL;
    const ucd_contact_source_v1 *iface =
        fake_module_service(m, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, &impl);
    g_assert_nonnull(iface);
    ucd_contact_source_info info = {.struct_size = sizeof info};
    iface->info(impl, &info);
    g_assert_cmpint(info.priority, ==, 20);
    contact_sink_recorder rec;
    contact_sink_recorder_init(&rec);
    char *error = NULL;
    g_assert_cmpint(contact_sink_recorder_run(&rec, iface, impl, &error), ==, UCD_OK);
    const char *const work[] = {"w1|Wolfgang Werner|-|-|-|-|-|-|-|business:+49 30 2000", NULL};
    contact_sink_recorder_assert_lines(rec.contacts, work);
    contact_sink_recorder_clear(&rec);
    g_assert_true(fake_module_log_has(m, UCD_LOG_WARNING, "clear text"));
    fake_module_stop(m);
    for (guint i = 0; i < m->log_lines->len; i++)
        g_assert_null(strstr(m->log_lines->pdata[i], "secret"));
    fake_module_free(m);

    /* configuration errors, each naming its key */
    struct {
        const char *pairs[9];
        const char *key;
    } bad[] = {
        {{"url", "ftp://example/", NULL}, "url"},
        {{"url", url, "password", "x", NULL}, "user"},
        {{"url", url, "user", "a", "password", "x", "password_file", pw}, "password_file"},
        {{"url", url, "user", "a", "password_file", "/nonexistent/pw", NULL}, "password_file"},
        {{"url", url, "timeout", "0s", NULL}, "timeout"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        m = fake_module_new(d, "contacts-carddav:bad");
        fake_module_set_pairs(m, bad[i].pairs);
        g_assert_cmpint(fake_module_init(m), !=, UCD_OK);
        g_assert_cmpstr(m->config_error_key, ==, bad[i].key);
        fake_module_free(m);
    }
    g_unlink(pw);
    g_rmdir(dir);
    g_free(pw);
    g_free(dir);
    g_free(url);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: %s RADICALE_SH CONTACTS_CARDDAV_SO", argv[0]);
    script = argv[1];
    plugin_path = argv[2];
    g_test_add_func("/contacts-carddav/radicale/book", test_book);
    g_test_add_func("/contacts-carddav/radicale/discovery", test_discovery);
    g_test_add_func("/contacts-carddav/radicale/2000", test_many);
    g_test_add_func("/contacts-carddav/radicale/bad-password", test_bad_password);
    g_test_add_func("/contacts-carddav/radicale/not-found", test_not_found);
    g_test_add_func("/contacts-carddav/radicale/plugin", test_plugin);
    g_test_add_func("/contacts-carddav/radicale/tls", test_tls);
    g_test_add_func("/contacts-carddav/bad/down", test_down);
    g_test_add_func("/contacts-carddav/bad/stall", test_stall);
    g_test_add_func("/contacts-carddav/bad/cards", test_bad_cards);
    int rc = g_test_run();
    harness_peer_stop(radicale);
    return rc;
}
