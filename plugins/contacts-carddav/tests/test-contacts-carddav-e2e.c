/*
 * test-contacts-carddav-e2e.c - contacts-carddav in the real ucd with the
 * real contacts-store, driven with the real ucctl, against a real Radicale
 * (tests/peers/radicale.sh): alice's two address books, found from the
 * server's root URL, are replicated at start; `ucctl directory lookup`
 * names the caller for another raw form of the number; then Radicale is
 * stopped, `ucctl directory replicate` fails naming the URL, and the last
 * good copy keeps answering.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "dav-client.h"
#include "harness.h"

#define SOURCE "contacts-carddav:crm"

static void put(dav_client *c, const char *method, const char *url, const char *body)
{
    GBytes *answer = NULL;
    char *error = NULL;
    unsigned status =
        dav_client_send(c, method, url, NULL, "text/vcard", body, strlen(body), &answer, &error);
    if (status != 201)
        g_error("%s %s: %u %s", method, url, status, error ? error : "");
    g_bytes_unref(answer);
}

/* Two address books, by a PUT of each whole collection (Radicale makes
 * an address book of a PUT of vCards to a new collection URL). */
static void upload(const char *base)
{
    dav_client_settings alice = {.user = "alice", .password = "secret", .timeout = 60};
    char *error = NULL;
    dav_client *c = dav_client_new(&alice, &error);
    char *crm = g_strconcat(base, "/alice/crm/", NULL),
         *team = g_strconcat(base, "/alice/team/", NULL);
    put(c, "PUT", crm,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nN:Müller;Jörg;;;\r\nFN:Jörg Müller\r\n"
        "ORG:Müller & Söhne GmbH\r\nTEL;TYPE=work,voice:+49 89 1234567\r\n"
        "TEL;TYPE=cell:0171 2345678\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c2\r\nFN:Ana Lima\r\n"
        "TEL;VALUE=uri;TYPE=\"work,voice\":tel:+1-555-555-5555\r\nEND:VCARD\r\n");
    put(c, "PUT", team,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:t1\r\nFN:Wolfgang Werner\r\n"
        "TEL;TYPE=work:+49 30 2000\r\nEND:VCARD\r\n");
    dav_client_free(c);
    g_free(crm);
    g_free(team);
}

static void wait_log(harness *h, const char *needle)
{
    if (harness_wait_log(h, needle))
        return;
    char *log = harness_log(h);
    g_error("not in ucd's log: '%s'; the log:\n%s", needle, log);
}

static void ucctl_expect(harness *h, gboolean expect_ok, const char *needle, const char *a1,
                         const char *a2, const char *a3)
{
    int status = -1;
    char *out = harness_ucctl(h, &status, a1, a2, a3, NULL);
    if ((status == 0) != expect_ok || strstr(out, needle) == NULL)
        g_error("ucctl %s %s %s: status %d, expected %s with '%s' in:\n%s", a1, a2, a3, status,
                expect_ok ? "success" : "a failure", needle, out);
    g_free(out);
}

static void test_radicale(void)
{
    harness_peer *radicale =
        harness_peer_start(harness_env("UCD_RADICALE_SCRIPT"), "RADICALE_DIR", NULL);
    if (radicale == NULL)
        return;
    const char *base = harness_peer_get(radicale, "RADICALE_URL");
    upload(base);

    harness *h = harness_new(NULL);
    char *pw = g_build_filename(h->dir, "carddav.pw", NULL);
    g_assert_true(g_file_set_contents(pw, "secret\n", -1, NULL));
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[module " SOURCE "]\n"
                                 "url = %s/\n"
                                 "user = alice\n"
                                 "password_file = %s\n"
                                 "timeout = 5s\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-store]\n",
                                 base, pw);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    wait_log(h, "source " SOURCE ": generation 1 in use: 3 contacts");

    /* Other raw forms of the numbers than the vCards have. */
    ucctl_expect(h, TRUE, "J\xC3\xB6rg M\xC3\xBCller", "directory", "lookup", "0891234567");
    ucctl_expect(h, TRUE, "J\xC3\xB6rg M\xC3\xBCller", "directory", "lookup", "+491712345678");
    ucctl_expect(h, TRUE, "Ana Lima", "directory", "lookup", "0015555555555");
    ucctl_expect(h, TRUE, "Wolfgang Werner", "directory", "lookup", "030 2000");
    ucctl_expect(h, TRUE, "generation: 2", "directory", "replicate", SOURCE);

    /* The server goes away: the replication fails by name, the copy stays. */
    char *down = g_strdup_printf("cannot reach %s/: ", base);
    harness_peer_stop(radicale);
    ucctl_expect(h, TRUE, down, "directory", "replicate", SOURCE);
    ucctl_expect(h, TRUE, "the last good copy stays (generation 2, 3 contacts)", "directory",
                 "replicate", SOURCE);
    g_free(down);
    ucctl_expect(h, TRUE, "Wolfgang Werner", "directory", "lookup", "030 2000");

    char *log = harness_log(h);
    g_assert_null(strstr(log, "secret"));
    g_free(log);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    g_free(body);
    g_free(pw);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-carddav/e2e/radicale", test_radicale);
    return g_test_run();
}
