/*
 * test-ldap-export-e2e.c - contacts-ldap-export in the real ucd, with
 * contacts-csv and contacts-store, against the real slapd that
 * tests/peers/with-peer.sh started, checked with the real ldapsearch:
 *
 * - a CSV's contacts appear below the base, each number in E.164, national
 *   and dialable form (outside line 0), and `(telephoneNumber=...)` finds
 *   a contact by every form a phone may send, also by forms that are not
 *   stored literally (0891234567, 089-1234567): slapd's
 *   telephoneNumberMatch at work; a near miss finds nothing;
 * - while the store holds no copy, the subtree is left alone;
 * - a source id with DN specials (K,7+8) is escaped in the DN;
 * - an entry of ours that the store does not know is deleted, while an
 *   entry outside the base (looking like ours) and a non-uid entry inside
 *   it stay as they were;
 * - after the CSV changes and the store replicates, the exporter's next
 *   round (polling the store's generation) removes the contact that left
 *   and modifies the one that changed;
 * - slapd stopped: the sync fails naming the server, `directory-export
 *   status` says so; slapd started again: the next round converges alone;
 * - a second instance has its own command, and names a base that does not
 *   exist.
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "harness.h"

#define SOURCE "contacts-csv:crm"

static const char *env(const char *name)
{
    const char *value = g_getenv(name);
    if (value == NULL)
        g_error("%s not set: run me through tests/peers/with-peer.sh slapd", name);
    return value;
}

static char *base_dn(void)
{
    return g_strdup_printf("ou=contacts,%s", env("LDAP_BASE"));
}

/* Runs an ldap-utils program; its stdout. Fails the test on an exit != 0
 * unless `may_fail`. */
static char *run_tool(gboolean may_fail, const char *const *argv, const char *input)
{
    GError *error = NULL;
    GSubprocess *proc =
        g_subprocess_newv(argv,
                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE,
                          &error);
    g_assert_no_error(error);
    char *out = NULL, *err = NULL;
    g_subprocess_communicate_utf8(proc, input, NULL, &out, &err, &error);
    g_assert_no_error(error);
    if (!may_fail && g_subprocess_get_exit_status(proc) != 0)
        g_error("%s failed (%d): %s%s", argv[0], g_subprocess_get_exit_status(proc), out, err);
    g_free(err);
    g_object_unref(proc);
    return out;
}

static void ldap_add(const char *ldif)
{
    const char *const argv[] = {"ldapadd", "-x",
                                "-H",      env("LDAP_URI"),
                                "-D",      env("LDAP_ADMIN_DN"),
                                "-w",      env("LDAP_ADMIN_PW"),
                                NULL};
    g_free(run_tool(FALSE, argv, ldif));
}

/* ldapsearch -LLL below `base` (NULL: the exporter's) for `filter`,
 * returning the attributes `attrs` (one, or NULL for all). */
static char *search(const char *base, const char *filter, const char *attr)
{
    char *ours = base_dn();
    const char *const argv[] = {"ldapsearch",
                                "-x",
                                "-LLL",
                                "-o",
                                "ldif-wrap=no",
                                "-H",
                                env("LDAP_URI"),
                                "-D",
                                env("LDAP_ADMIN_DN"),
                                "-w",
                                env("LDAP_ADMIN_PW"),
                                "-b",
                                base != NULL ? base : ours,
                                filter,
                                attr,
                                NULL};
    char *out = run_tool(FALSE, argv, NULL);
    g_free(ours);
    return out;
}

/* `filter` below the exporter's base finds exactly the entry `uid`. */
static void finds(const char *filter, const char *uid)
{
    char *out = search(NULL, filter, "uid");
    char *line = g_strdup_printf("uid: %s\n", uid);
    int entries = 0;
    for (const char *p = out; (p = strstr(p, "dn:")) != NULL; p += 3)
        entries++;
    if (strstr(out, line) == NULL || entries != 1)
        g_error("(%s) should find exactly %s; ldapsearch printed:\n%s", filter, uid, out);
    g_free(line);
    g_free(out);
}

static void finds_nothing(const char *filter)
{
    char *out = search(NULL, filter, "uid");
    if (strstr(out, "dn:") != NULL)
        g_error("(%s) should find nothing; ldapsearch printed:\n%s", filter, out);
    g_free(out);
}

static void wait_log(harness *h, const char *needle)
{
    if (!harness_wait_log(h, needle))
        g_error("not in ucd's log: '%s'; the log:\n%s", needle, harness_log(h));
}

/* `ucctl ARGS` succeeds and prints `needle`; its output. */
static char *ucctl_has(harness *h, const char *needle, const char *a1, const char *a2,
                       const char *a3)
{
    int status = -1;
    char *out = harness_ucctl(h, &status, a1, a2, a3, NULL);
    if (status != 0 || strstr(out, needle) == NULL)
        g_error("ucctl %s %s: status %d, expected '%s' in:\n%s", a1, a2 ? a2 : "", status, needle,
                out);
    return out;
}

static const char CSV_V1[] =
    "Kundennr;Name;Firma;Abteilung;Telefon;Mobil;Fax;Mail;Adresse\n"
    "1;Jutta M\xC3\xBCller;M\xC3\xBCller GmbH;Sales;089 1234567;"
    "0171 2345678;089 1234568;jutta@example.com;\"Hauptstr. 1\n80331 M\xC3\xBCnchen $ Hof\"\n"
    "2;Otto Normal;;;+49 30 9876543;;;;\n"
    "K,7+8;Anna Komma;;;+1 212 555 0100;;;;\n";
/* Otto left, Jutta moved to Purchasing. */
static const char CSV_V2[] =
    "Kundennr;Name;Firma;Abteilung;Telefon;Mobil;Fax;Mail;Adresse\n"
    "1;Jutta M\xC3\xBCller;M\xC3\xBCller GmbH;Purchasing;089 1234567;"
    "0171 2345678;089 1234568;jutta@example.com;\"Hauptstr. 1\n80331 M\xC3\xBCnchen $ Hof\"\n"
    "K,7+8;Anna Komma;;;+1 212 555 0100;;;;\n";
/* Carla joins while slapd is down. */
static const char CSV_V3[] =
    "Kundennr;Name;Firma;Abteilung;Telefon;Mobil;Fax;Mail;Adresse\n"
    "1;Jutta M\xC3\xBCller;M\xC3\xBCller GmbH;Purchasing;089 1234567;"
    "0171 2345678;089 1234568;jutta@example.com;\"Hauptstr. 1\n80331 M\xC3\xBCnchen $ Hof\"\n"
    "K,7+8;Anna Komma;;;+1 212 555 0100;;;;\n"
    "9;Carla Neu;;;0821 554433;;;;\n";

static void seed_directory(void)
{
    char *ldif = g_strdup_printf(
        "dn: ou=contacts,%1$s\nobjectClass: organizationalUnit\nou: contacts\n\n"
        /* not ours (no uid RDN) though inside the base */
        "dn: ou=keep,ou=contacts,%1$s\nobjectClass: organizationalUnit\nou: keep\n\n"
        /* ours, but the store has no such contact */
        "dn: uid=" SOURCE "-stale,ou=contacts,%1$s\nobjectClass: inetOrgPerson\n"
        "uid: " SOURCE "-stale\ncn: Stale\nsn: Stale\ntelephoneNumber: +49891234567\n\n"
        /* outside the base, looking like ours */
        "dn: uid=" SOURCE "-2,ou=Users,%1$s\nobjectClass: inetOrgPerson\n"
        "uid: " SOURCE "-2\ncn: Outside\nsn: Outside\ntelephoneNumber: 0000\n\n",
        env("LDAP_BASE"));
    ldap_add(ldif);
    g_free(ldif);
}

static char *config_body(const char *csv, const char *password_file)
{
    char *base = base_dn();
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[location office]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "outside_line_prefix = 0\n"
                                 "[module " SOURCE "]\n"
                                 "file = %s\n"
                                 "delimiter = ;\n"
                                 "map_source_id = Kundennr\n"
                                 "map_display_name = Name\n"
                                 "map_company = Firma\n"
                                 "map_department = Abteilung\n"
                                 "map_business = Telefon\n"
                                 "map_mobile = Mobil\n"
                                 "map_fax = Fax\n"
                                 "map_email = Mail\n"
                                 "map_address = Adresse\n"
                                 "crm_link = https://crm.example/k/{Kundennr}\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-store]\n"
                                 "replicate_at_start = false\n"
                                 "[module contacts-ldap-export]\n"
                                 "location = office\n"
                                 "uris = %s\n"
                                 "ca_file = %s\n"
                                 "bind_dn = %s\n"
                                 "password_file = %s\n"
                                 "base = %s\n"
                                 "sync_every = 1s\n"
                                 "timeout = 3s\n"
                                 /* a second export, to a base nobody created */
                                 "[module contacts-ldap-export:nobase]\n"
                                 "uris = %s\n"
                                 "bind_dn = %s\n"
                                 "password_file = %s\n"
                                 "base = ou=missing,%s\n"
                                 "sync_every = 1h\n",
                                 csv, env("LDAPS_URI"), env("LDAP_CACERT"), env("LDAP_ADMIN_DN"),
                                 password_file, base, env("LDAP_URI"), env("LDAP_ADMIN_DN"),
                                 password_file, env("LDAP_BASE"));
    g_free(base);
    return body;
}

static void write_file(const char *path, const char *text)
{
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void slapd_stop(void)
{
    char *pid_file = g_build_filename(env("LDAP_DIR"), "slapd.pid", NULL);
    char *text = NULL;
    g_assert_true(g_file_get_contents(pid_file, &text, NULL, NULL));
    GPid pid = (GPid)g_ascii_strtoll(text, NULL, 10);
    g_assert_cmpint(pid, >, 1);
    g_assert_cmpint(kill(pid, SIGTERM), ==, 0);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
        g_usleep(50000);
    g_assert_cmpint(kill(pid, 0), !=, 0);
    g_free(text);
    g_free(pid_file);
}

static void slapd_start(void)
{
    char *conf = g_build_filename(env("LDAP_DIR"), "slapd.conf", NULL);
    char *urls = g_strdup_printf("%s/ %s/", env("LDAP_URI"), env("LDAPS_URI"));
    const char *slapd =
        g_file_test("/usr/sbin/slapd", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/sbin/slapd" : "slapd";
    const char *const argv[] = {slapd, "-f", conf, "-h", urls, NULL};
    g_free(run_tool(FALSE, argv, NULL));
    g_free(urls);
    g_free(conf);
}

static void test_export(void)
{
    seed_directory();
    char *outside_before = search(env("LDAP_BASE"), "(uid=" SOURCE "-2)", "*");

    harness *h = harness_new(NULL);
    char *csv = g_build_filename(h->dir, "crm.csv", NULL);
    char *password_file = g_build_filename(h->dir, "ldap.secret", NULL);
    write_file(csv, CSV_V1);
    write_file(password_file, env("LDAP_ADMIN_PW"));
    char *body = config_body(csv, password_file);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));

    /* The store holds no copy yet: the subtree is left alone, not emptied. */
    g_free(ucctl_has(h, "waiting: the store holds no copy", "directory-export", "sync", NULL));
    finds("(uid=" SOURCE "-stale)", SOURCE "-stale");
    g_free(ucctl_has(h, "ok", "directory", "replicate", SOURCE));
    wait_log(h, "source " SOURCE ": generation 1 in use: 3 contacts");

    /* An explicit sync compares everything whatever the rounds did. */
    g_free(ucctl_has(h, "result", "directory-export", "sync", NULL));
    char *status = ucctl_has(h, "entries", "directory-export", "status", NULL);
    if (strstr(status, SOURCE "=1") == NULL ||
        !g_regex_match_simple("entries:\\s+3\\b", status, 0, 0))
        g_error("status after the first sync:\n%s", status);
    g_free(status);
    char *log = harness_log(h);
    if (strstr(log, "1 deleted") == NULL || strstr(log, "3 added") == NULL)
        g_error("the first sync should add 3 and delete the stale entry; the log:\n%s", log);
    g_free(log);

    /* Every form, and forms only the matching rule equates. */
    finds("(telephoneNumber=+49891234567)", SOURCE "-1");
    finds("(telephoneNumber=089 1234567)", SOURCE "-1");
    finds("(telephoneNumber=0891234567)", SOURCE "-1");
    finds("(telephoneNumber=089-123 45 67)", SOURCE "-1");
    finds("(telephoneNumber=00891234567)", SOURCE "-1"); /* dialable: outside line 0 */
    finds("(mobile=+491712345678)", SOURCE "-1");
    finds("(mobile=01712345678)", SOURCE "-1");
    finds("(telephoneNumber=+49309876543)", SOURCE "-2");
    finds("(telephoneNumber=030 987 65-43)", SOURCE "-2");
    finds("(telephoneNumber=+12125550100)", SOURCE "-K,7+8");
    finds("(telephoneNumber=00012125550100)", SOURCE "-K,7+8"); /* outside line 0, 00, 1 ... */
    finds_nothing("(telephoneNumber=+4989123456)");
    finds_nothing("(telephoneNumber=+498912345678)");
    /* Stored once per form as the rule sees it: 0891234567 is not a value. */
    char *values = search(NULL, "(uid=" SOURCE "-1)", "telephoneNumber");
    g_assert_nonnull(strstr(values, "telephoneNumber: +49891234567\n"));
    g_assert_nonnull(strstr(values, "telephoneNumber: 089 1234567\n"));
    g_assert_nonnull(strstr(values, "telephoneNumber: 00891234567\n"));
    g_assert_null(strstr(values, "telephoneNumber: 0891234567\n"));
    g_free(values);
    char *entry = search(NULL, "(uid=" SOURCE "-1)", "*");
    g_assert_nonnull(strstr(entry, "ou: Sales\n"));
    g_assert_nonnull(strstr(entry, "mail: jutta@example.com\n"));
    g_assert_nonnull(strstr(entry, "facsimileTelephoneNumber: +49891234568\n"));
    g_assert_nonnull(strstr(entry, "objectClass: inetOrgPerson\n"));
    g_free(entry);
    /* the address's line break and '$' as RFC 4517 wants them */
    char *postal = search(NULL, "(uid=" SOURCE "-1)", "postalAddress");
    const char *b64 = strstr(postal, "postalAddress:: ");
    g_assert_nonnull(b64);
    char *encoded = g_strndup(b64 + 16, strcspn(b64 + 16, "\n"));
    gsize len = 0;
    guchar *decoded = g_base64_decode(encoded, &len);
    char *value = g_strndup((const char *)decoded, len);
    g_assert_cmpstr(value, ==, "Hauptstr. 1$80331 M\xC3\xBCnchen \\24 Hof");
    g_free(value);
    g_free(decoded);
    g_free(encoded);
    g_free(postal);
    char *link = search(NULL, "(labeledURI=https://crm.example/k/1)", "uid");
    g_assert_nonnull(strstr(link, "uid: " SOURCE "-1\n"));
    g_free(link);
    /* What slapd gives back is what the exporter wrote, every attribute:
     * another full comparison changes nothing. */
    g_free(ucctl_has(h, "ok: 0 added, 0 modified, 0 deleted, 3 unchanged", "directory-export",
                     "sync", NULL));
    char *escaped = search(NULL, "(uid=" SOURCE "-K,7+8)", "dn");
    /* slapd answers with its own (hex) form of the escapes we sent */
    if (strstr(escaped, "dn: uid=" SOURCE "-K\\2C7\\2B8,ou=contacts,") == NULL &&
        strstr(escaped, "dn: uid=" SOURCE "-K\\,7\\+8,ou=contacts,") == NULL)
        g_error("the DN of K,7+8:\n%s", escaped);
    g_free(escaped);
    finds_nothing("(uid=" SOURCE "-stale)");
    char *keep = search(NULL, "(ou=keep)", "dn");
    g_assert_nonnull(strstr(keep, "dn: ou=keep,ou=contacts,"));
    g_free(keep);

    /* Otto leaves, Jutta changes department: the store replicates, and the
     * exporter's next round sees the new generation by itself. */
    write_file(csv, CSV_V2);
    g_free(ucctl_has(h, "ok", "directory", "replicate", SOURCE));
    wait_log(h, "(store " SOURCE "=2): ok: 0 added, 1 modified, 1 deleted, 1 unchanged");
    finds_nothing("(telephoneNumber=+49309876543)");
    finds("(ou=Purchasing)", SOURCE "-1");
    finds_nothing("(ou=Sales)");

    /* Outside the base: as it was, byte for byte (modifyTimestamp too). */
    char *outside_after = search(env("LDAP_BASE"), "(uid=" SOURCE "-2)", "*");
    g_assert_cmpstr(outside_before, ==, outside_after);
    g_assert_nonnull(strstr(outside_after, "cn: Outside"));
    g_free(outside_after);

    /* slapd goes away: the sync fails and says where; the store moves on. */
    slapd_stop();
    char *failed = ucctl_has(h, "failed: ", "directory-export", "sync", NULL);
    if (strstr(failed, env("LDAPS_URI")) == NULL || strstr(failed, "cannot reach") == NULL)
        g_error("a sync with slapd down should name the server:\n%s", failed);
    g_free(failed);
    write_file(csv, CSV_V3);
    g_free(ucctl_has(h, "ok", "directory", "replicate", SOURCE));
    char *down = ucctl_has(h, "failed", "directory-export", "status", NULL);
    g_free(down);
    wait_log(h, "export to ou=contacts,dc=example,dc=test failed: ");
    wait_log(h, "retried every 1 s");

    /* slapd is back: a round converges without anyone asking. */
    slapd_start();
    wait_log(h, "export to ou=contacts,dc=example,dc=test works again");
    wait_log(h, "(store " SOURCE "=3): ok: 1 added, 0 modified, 0 deleted, 2 unchanged");
    finds("(telephoneNumber=0821 554433)", SOURCE "-9");
    finds("(telephoneNumber=+49821554433)", SOURCE "-9");
    status = ucctl_has(h, "ok: 1 added", "directory-export", "status", NULL);
    g_free(status);

    /* The second instance has a command of its own, and a base that does
     * not exist is named. */
    g_free(ucctl_has(h,
                     "failed: search of \"ou=missing,dc=example,dc=test\" failed after 0 entries: "
                     "No such object",
                     "directory-export-nobase", "sync", NULL));
    g_free(ucctl_has(h, "ou=missing", "directory-export-nobase", "status", NULL));

    /* The password is in no log line. */
    log = harness_log(h);
    g_assert_null(strstr(log, env("LDAP_ADMIN_PW")));
    g_free(log);
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(outside_before);
    g_free(body);
    g_free(password_file);
    g_free(csv);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-ldap-export/e2e", test_export);
    return g_test_run();
}
