/*
 * test-contacts-e2e.c - the contact store in the real ucd, driven with the
 * real ucctl as an administrator would: `directory sources`, `replicate`,
 * `lookup` and `search`, with the contacts-fixture source (a file of lines
 * the test rewrites) and, when it is built, the real contacts-csv.
 *
 * What it shows: a replication at start, lookups of every raw form (with a
 * PBX driver's outside line), a switchboard prefix, search; a source whose
 * file vanished and one that shrank keep their last good copy, and say so
 * in `directory sources`, in the reply and in the log; after a restart the
 * copy serves lookups from the store's file before any replication.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "harness.h"

#define SOURCE "contacts-fixture:crm"

static const char *const CONTACTS = "# id|name|company|numbers\n"
                                    "c1|Anna Müller|Müller GmbH|089 1234567:1,+49 171 5550001:2\n"
                                    "c2|Bernd Schmidt|Schmidt & Co|+49 (30) 9876543:1\n"
                                    "c3|Acme Switchboard|Acme|+49 89 123456-0:1\n"
                                    "c4|Carla Rossi||0039 06 5551234:2\n"
                                    "broken line without fields\n"
                                    "c2|Bernd Again|Twice GmbH|030 1111111:1\n";

/* Waits for `needle` in ucd's log; prints the log when it never comes. */
static void wait_log(harness *h, const char *needle)
{
    if (!harness_wait_log(h, needle)) {
        char *log = harness_log(h);
        g_error("never logged: '%s'; the log:\n%s", needle, log);
    }
}

static void write_file(const char *path, const char *text)
{
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* `ucctl ARGS...` must succeed and print `needle`. */
#define UCCTL_HAS(h, needle, ...)                                                                  \
    do {                                                                                           \
        int st_ = -1;                                                                              \
        char *o_ = harness_ucctl((h), &st_, __VA_ARGS__, NULL);                                    \
        if (st_ != 0 || strstr(o_, (needle)) == NULL)                                              \
            g_error("ucctl %s: status %d, expected '%s' in:\n%s", #__VA_ARGS__, st_, (needle),     \
                    o_);                                                                           \
        g_free(o_);                                                                                \
    } while (0)

/* `ucctl ARGS...` must fail and print `needle`. */
#define UCCTL_FAILS(h, needle, ...)                                                                \
    do {                                                                                           \
        int st_ = -1;                                                                              \
        char *o_ = harness_ucctl((h), &st_, __VA_ARGS__, NULL);                                    \
        if (st_ == 0 || strstr(o_, (needle)) == NULL)                                              \
            g_error("ucctl %s: status %d, expected a failure with '%s' in:\n%s", #__VA_ARGS__,     \
                    st_, (needle), o_);                                                            \
        g_free(o_);                                                                                \
    } while (0)

static char *config(const char *file)
{
    return g_strdup_printf("[location default]\n"
                           "country_code = 49\n"
                           "area_code = 89\n"
                           "[location office]\n"
                           "country_code = 49\n"
                           "area_code = 89\n"
                           "outside_line_prefix = 0\n"
                           "[module pbx-sim:office]\n"
                           "location = office\n"
                           "lines = 201\n"
                           "[module " SOURCE "]\n"
                           "file = %s\n"
                           "switchboard = true\n"
                           "replicate_every = 0s\n"
                           "[module contacts-store]\n",
                           file);
}

static void test_fixture_source(void)
{
    harness *h = harness_new(NULL);
    char *file = g_build_filename(h->dir, "crm.txt", NULL);
    write_file(file, CONTACTS);
    char *body = config(file);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    wait_log(h, "source " SOURCE ": generation 1 in use: 4 contacts, 5 "
                "numbers (0 not understood), 2 skipped");
    wait_log(h, "crm.txt line 6: 1 fields, expected 4 (skipped)");
    /* a source id twice: the first contact stays, the second is named */
    wait_log(h, "contact c2 appears again (Bernd Again): the first one kept, this one left out");
    UCCTL_FAILS(h, "no contact has", "directory", "lookup", "030 1111111");
    UCCTL_HAS(h, "Bernd Schmidt", "directory", "lookup", "030 9876543");

    UCCTL_HAS(h, SOURCE, "directory", "sources");
    UCCTL_HAS(h, "ok", "directory", "sources");
    /* Every raw form, the last through the PBX with its outside line. */
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "0891234567");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "+49 89 1234567");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "0049891234567");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "00891234567", "--context",
              "pbx-sim:office");
    UCCTL_HAS(h, "exact 089 1234567 (business)", "directory", "lookup", "1234567");
    UCCTL_HAS(h, "prefix +49 89 123456-0 (business)", "directory", "lookup", "089 123456-77");
    UCCTL_FAILS(h, "no contact has +49897654321", "directory", "lookup", "0897654321");
    UCCTL_FAILS(h, "'hello' is not a phone number", "directory", "lookup", "hello");
    UCCTL_HAS(h, "Anna Müller", "directory", "search", "mül", "gmb");
    UCCTL_HAS(h, "Bernd Schmidt", "directory", "search", "030", "98");
    UCCTL_FAILS(h, "no running contact source 'contacts-fixture:other' (running: " SOURCE ")",
                "directory", "replicate", "contacts-fixture:other");
    UCCTL_FAILS(h, "usage: directory sources | replicate NAME", "directory", "what");

    /* The file vanishes: the last good copy stays, and everyone is told. */
    g_assert_cmpint(g_remove(file), ==, 0);
    UCCTL_HAS(h, "the last good copy stays (generation 1, 4 contacts)", "directory", "replicate",
              SOURCE);
    UCCTL_HAS(h, "crm.txt", "directory", "sources");
    UCCTL_HAS(h, "failed: Failed to open file", "directory", "sources");
    wait_log(h, "source " SOURCE ": replication failed: Failed to open");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "0891234567");

    /* It comes back with one contact of four: refused (min_ratio 50 %). */
    write_file(file, "c9|Lonely One||089 999999:1\n");
    UCCTL_HAS(h, "refused: 1 contacts is below min_ratio 50 % of the last good copy", "directory",
              "replicate", SOURCE);
    UCCTL_FAILS(h, "no contact has", "directory", "lookup", "089 999999");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "0891234567");

    /* A renamed contact, with --progress: the new copy is swapped in. */
    char *renamed = g_strdup(CONTACTS);
    memcpy(strstr(renamed, "Anna Müller"), "Anja", 4);
    write_file(file, renamed);
    UCCTL_HAS(h, "generation", "directory", "replicate", SOURCE, "--progress");
    UCCTL_HAS(h, "of 8 (100 %)", "directory", "replicate", SOURCE, "--progress");
    UCCTL_HAS(h, "Anja Müller", "directory", "lookup", "+49 89 1234567");
    UCCTL_HAS(h, "Anja Müller", "directory", "search", "anja");
    g_assert_cmpint(harness_stop(h), ==, 0);

    /* Restarted with the file gone and no replication at start: the copy
     * in the store's file answers. */
    g_remove(file);
    char *again = g_strconcat(body, "replicate_at_start = false\n", NULL);
    harness_write_config(h, again);
    g_assert_true(harness_start(h));
    wait_log(h, "source " SOURCE ": generation 3 loaded: 4 contacts");
    UCCTL_HAS(h, "Anja Müller", "directory", "lookup", "0891234567");
    UCCTL_HAS(h, "none since start (copy from the store)", "directory", "sources");
    g_assert_cmpint(harness_stop(h), ==, 0);

    g_free(again);
    g_free(renamed);
    g_free(body);
    g_free(file);
    harness_free(h);
}

/* A source still reading when ucd stops: the replication is cancelled, ucd
 * stops cleanly, and the next start answers from the last good copy. */
static void test_stop_during_replication(void)
{
    harness *h = harness_new(NULL);
    char *file = g_build_filename(h->dir, "crm.txt", NULL);
    write_file(file, CONTACTS);
    char *base = config(file);
    char *slow = g_strconcat(base, "", NULL);
    /* 300 ms after each of the file's 8 lines: about 2.4 s a replication. */
    char *at = strstr(slow, "replicate_every = 0s\n");
    g_assert_nonnull(at);
    char *body = g_strdup_printf("%.*sdelay = 300ms\n%s", (int)(at - slow), slow, at);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    wait_log(h, "source " SOURCE ": generation 1 in use: 4 contacts");

    char *renamed = g_strdup(CONTACTS);
    memcpy(strstr(renamed, "Anna Müller"), "Anja", 4);
    write_file(file, renamed);
    const char *argv[] = {
        harness_env("UCCTL_BIN"), "directory", "replicate", SOURCE, "--progress", NULL};
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                              G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_subprocess_launcher_setenv(launcher, "UCD_SOCKET", h->sock, TRUE);
    GError *err = NULL;
    GSubprocess *replicate = g_subprocess_launcher_spawnv(launcher, argv, &err);
    g_assert_no_error(err);
    wait_log(h, " of 8 (25 %), 1 contacts"); /* two lines read, one a contact */
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_subprocess_wait(replicate, NULL, NULL);
    wait_log(h, "source " SOURCE ": replication failed: stopped halfway: the store is stopping; "
                "the last good copy stays (generation 1, 4 contacts)");

    char *again = g_strconcat(body, "replicate_at_start = false\n", NULL);
    harness_write_config(h, again);
    g_assert_true(harness_start(h));
    wait_log(h, "source " SOURCE ": generation 1 loaded: 4 contacts");
    UCCTL_HAS(h, "Anna Müller", "directory", "lookup", "0891234567");
    g_assert_cmpint(harness_stop(h), ==, 0);

    g_object_unref(replicate);
    g_object_unref(launcher);
    g_free(again);
    g_free(renamed);
    g_free(body);
    g_free(slow);
    g_free(base);
    g_free(file);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-store/e2e/fixture-source", test_fixture_source);
    g_test_add_func("/contacts-store/e2e/stop-during-replication", test_stop_during_replication);
    return g_test_run();
}
