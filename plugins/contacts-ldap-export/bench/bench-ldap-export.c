/*
 * bench-ldap-export.c - slapd's indexed telephoneNumber lookup side by side
 * with ucd's in-process lookup, over the same contacts in the same run
 * (docs/PERFORMANCE.md, "contacts-ldap-export").
 *
 * 1. contacts-store (in the fake host, with the core's real number service)
 *    replicates N generated contacts from a generated source;
 * 2. the exporter's own code (store-snapshot.h, export-entry.h) reads the
 *    store's file and writes the entries it would send, as LDIF;
 * 3. slapadd loads them into a fresh mdb database with an equality index
 *    on telephoneNumber, and slapd serves it on ldapi:// (a Unix socket:
 *    the best case a phone's LDAP lookup could have);
 * 4. the same queries (each contact's business number as E.164, national
 *    with and without space, and dialled with the outside line; one in ten
 *    a number nobody has) go to slapd, one synchronous search at a time on
 *    one connection, and to the store's lookup() on one thread.
 * Prints lookups/s and latency percentiles of both, and the load average.
 * Never asserts a time. LDAP_EXPORT_BENCH_N sets N (default 1,000,000),
 * LDAP_EXPORT_BENCH_QUERIES the lookups (default 100,000),
 * LDAP_EXPORT_BENCH_FIRST the entries of the first export (default 20,000).
 */
#include <glib/gstdio.h>
#include <ldap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "contact-bench.h"
#include "export-entry.h"
#include "fake-host.h"
#include "ldap-client.h"
#include "ldap-sync.h"
#include "numbers.h"
#include "store-snapshot.h"
#include <ucd/contacts.h>

#define BASE   "ou=contacts,dc=bench,dc=test"
#define SUFFIX "dc=bench,dc=test"
/* An empty subtree for a first export through the exporter's writes. */
#define FIRST_BASE "ou=first,dc=bench,dc=test"
static unsigned first_count = 20000; /* LDAP_EXPORT_BENCH_FIRST */
#define EXPORTER "contacts-ldap-export"
#define PBX      "pbx-sim:munich"

static const char numbers_conf[] = "[location default]\ncountry_code = 49\narea_code = 89\n"
                                   "[location munich]\ncountry_code = 49\narea_code = 89\n"
                                   "outside_line_prefix = 0\n"
                                   "[module " PBX "]\nlocation = munich\n"
                                   "[module " EXPORTER "]\nlocation = munich\n";

static const char *const areas[] = {"30", "40", "69", "89", "211", "221", "711", "911"};
static unsigned n_contacts = 1000000;
static unsigned n_queries = 100000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_load(const char *when)
{
    char *load = bench_loadavg();
    printf("load average %s: %s\n", when, load);
    g_free(load);
}

/* Contact i's business number: an area and a 7-digit subscriber, unique. */
static void business(unsigned i, const char **area, unsigned *sub)
{
    *area = areas[i % G_N_ELEMENTS(areas)];
    *sub = 1000000 + (unsigned)(((uint64_t)i * 7919u) % 8999999u);
}

/* ---- the source ---- */

static int gen_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    (void)impl;
    (void)error;
    char id[16], name[48], company[48], biz[40], mobile[40];
    for (unsigned i = 0; i < n_contacts; i++) {
        const char *area;
        unsigned sub;
        business(i, &area, &sub);
        g_snprintf(id, sizeof id, "%u", i);
        g_snprintf(name, sizeof name, "Kontakt %u M\xC3\xBCller", i);
        g_snprintf(company, sizeof company, "Firma %u GmbH", i % 20000);
        /* the shapes sources write numbers in */
        if (i % 2 == 0)
            g_snprintf(biz, sizeof biz, "+49 (%s) %u", area, sub);
        else
            g_snprintf(biz, sizeof biz, "0%s/%u", area, sub);
        g_snprintf(mobile, sizeof mobile, "+49 17%u %07u", i % 10, i);
        ucd_contact_number numbers[] = {
            {sizeof(ucd_contact_number), UCD_CONTACT_NUMBER_BUSINESS, biz},
            {sizeof(ucd_contact_number), UCD_CONTACT_NUMBER_MOBILE, mobile},
        };
        ucd_contact c = {.struct_size = sizeof c,
                         .n_numbers = 2,
                         .source_id = id,
                         .display_name = name,
                         .company = company,
                         .department = "Sales",
                         .numbers = numbers};
        sink->add(sink_impl, &c);
    }
    return UCD_OK;
}

static void gen_info(void *impl, ucd_contact_source_info *out)
{
    (void)impl;
    out->priority = 100;
    out->replicate_every = 0;
    out->min_ratio = 0;
    out->switchboard = 0;
}

static const ucd_contact_source_v1 gen_iface = {sizeof gen_iface, gen_info, gen_replicate};

/* ---- LDIF ---- */

static gboolean ldif_safe(const char *v)
{
    if (*v == ' ' || *v == ':' || *v == '<' || (*v != '\0' && v[strlen(v) - 1] == ' '))
        return FALSE;
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
        if (*p >= 0x80 || *p == '\n' || *p == '\r')
            return FALSE;
    return TRUE;
}

static void ldif_line(FILE *out, const char *attr, const char *value)
{
    if (ldif_safe(value)) {
        fprintf(out, "%s: %s\n", attr, value);
    } else {
        char *b64 = g_base64_encode((const guchar *)value, strlen(value));
        fprintf(out, "%s:: %s\n", attr, b64);
        g_free(b64);
    }
}

typedef struct ldif_run {
    FILE *out;
    export_numbers numbers;
    guint64 entries, values;
} ldif_run;

static gboolean write_entry(const snapshot_contact *contact, void *data)
{
    ldif_run *run = data;
    export_entry *e = export_entry_new(contact, &run->numbers);
    char *dn = export_entry_dn(e, BASE);
    ldif_line(run->out, "dn", dn);
    fputs("objectClass: inetOrgPerson\n", run->out);
    ldif_line(run->out, "uid", e->uid);
    for (int a = 0; a < EXPORT_ATTR_COUNT; a++)
        for (guint i = 0; i < export_entry_count(e, a); i++) {
            ldif_line(run->out, export_attr_names[a], export_entry_value(e, a, i));
            run->values++;
        }
    fputc('\n', run->out);
    run->entries++;
    g_free(dn);
    export_entry_free(e);
    return TRUE;
}

/* ---- slapd ---- */

static const char *sbin(const char *tool)
{
    static char path[64];
    g_snprintf(path, sizeof path, "/usr/sbin/%s", tool);
    return g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) ? path : tool;
}

static void run_or_die(const char *const *argv)
{
    GError *error = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "%s: %s\n", argv[0], error->message);
        exit(1);
    }
}

static char *write_slapd_conf(const char *dir)
{
    char *conf = g_build_filename(dir, "slapd.conf", NULL);
    char *text = g_strdup_printf("include /etc/ldap/schema/core.schema\n"
                                 "include /etc/ldap/schema/cosine.schema\n"
                                 "include /etc/ldap/schema/inetorgperson.schema\n"
                                 "pidfile %s/slapd.pid\n"
                                 "modulepath /usr/lib/ldap\n"
                                 "moduleload back_mdb\n"
                                 "access to * by * read\n"
                                 "database mdb\n"
                                 "suffix \"" SUFFIX "\"\n"
                                 "rootdn \"cn=admin," SUFFIX "\"\n"
                                 "rootpw secret\n"
                                 "directory %s/db\n"
                                 "maxsize 17179869184\n"
                                 "dbnosync\n"
                                 "index objectClass,uid eq\n"
                                 "index telephoneNumber eq\n",
                                 dir, dir);
    g_file_set_contents(conf, text, -1, NULL);
    g_free(text);
    return conf;
}

/* ---- the lookups ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_figures(const char *what, double *us, unsigned n, double seconds, unsigned found)
{
    qsort(us, n, sizeof *us, cmp_double);
    printf("%s: %.0f lookups/s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us "
           "(%u lookups, %u found)\n",
           what, n / seconds, us[n / 2], us[(size_t)n * 99 / 100], us[(size_t)n * 999 / 1000],
           us[n - 1], n, found);
}

/* Query k: a contact's business number in one of four forms; every tenth
 * a number nobody has. */
static void make_query(unsigned k, GRand *rand, char *out, size_t size)
{
    unsigned i = (unsigned)g_rand_int_range(rand, 0, (gint32)n_contacts);
    const char *area;
    unsigned sub;
    business(i, &area, &sub);
    if (k % 10 == 9)
        sub = 10000000 + k; /* 8 digits: nobody's */
    switch (k % 4) {
    case 0:
        g_snprintf(out, size, "+49%s%u", area, sub);
        break;
    case 1:
        g_snprintf(out, size, "0%s %u", area, sub);
        break;
    case 2:
        g_snprintf(out, size, "0%s%u", area, sub);
        break;
    default: /* as the PBX shows it: outside line 0 first */
        g_snprintf(out, size, "00%s%u", area, sub);
        break;
    }
}

static int on_hit(const ucd_contact_hit *hit, void *data)
{
    *(size_t *)data += strlen(hit->contact->display_name);
    return 1;
}

static void bench_ucd(const ucd_contacts_v1 *contacts, void *impl, char **queries, const char *what)
{
    double *us = g_new(double, n_queries);
    size_t bytes = 0;
    unsigned found = 0;
    double start = now_s();
    for (unsigned k = 0; k < n_queries; k++) {
        double t0 = now_s();
        found += contacts->lookup(impl, PBX, queries[k], NULL, on_hit, &bytes) == UCD_OK;
        us[k] = (now_s() - t0) * 1e6;
    }
    print_figures(what, us, n_queries, now_s() - start, found);
    g_free(us);
}

static void bench_slapd(const char *uri, char **queries)
{
    LDAP *ld = NULL;
    if (ldap_initialize(&ld, uri) != LDAP_SUCCESS) {
        fprintf(stderr, "ldap_initialize %s failed\n", uri);
        exit(1);
    }
    int version = LDAP_VERSION3;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    struct berval none = {0, NULL};
    int rc = ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &none, NULL, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        fprintf(stderr, "bind: %s\n", ldap_err2string(rc));
        exit(1);
    }
    char *attrs[] = {"cn", NULL};
    double *us = g_new(double, n_queries);
    unsigned found = 0;
    double start = now_s();
    for (unsigned k = 0; k < n_queries; k++) {
        double t0 = now_s();
        char *value = ul_ldap_escape_filter_value(queries[k]);
        char *filter = g_strdup_printf("(telephoneNumber=%s)", value);
        LDAPMessage *res = NULL;
        rc = ldap_search_ext_s(ld, BASE, LDAP_SCOPE_ONELEVEL, filter, attrs, 0, NULL, NULL, NULL, 2,
                               &res);
        if (rc == LDAP_SUCCESS && ldap_count_entries(ld, res) > 0) {
            struct berval **cn = ldap_get_values_len(ld, ldap_first_entry(ld, res), "cn");
            found += cn != NULL;
            ldap_value_free_len(cn);
        } else if (rc != LDAP_SUCCESS) {
            fprintf(stderr, "search %s: %s\n", filter, ldap_err2string(rc));
            exit(1);
        }
        ldap_msgfree(res);
        g_free(filter);
        g_free(value);
        us[k] = (now_s() - t0) * 1e6;
    }
    print_figures("slapd (telephoneNumber=...) over ldapi://, one connection", us, n_queries,
                  now_s() - start, found);
    g_free(us);
    ldap_unbind_ext_s(ld, NULL, NULL);
}

static gboolean add_wanted(const snapshot_contact *contact, void *data)
{
    void **args = data;
    export_entry *entry = export_entry_new(contact, args[1]);
    g_hash_table_insert(args[0], (gpointer)entry->uid, entry);
    return TRUE;
}

/* What the exporter's round costs when slapd already holds every entry:
 * the store read into wanted entries (time, memory), then the comparison
 * (one paged search, no write). Also proves the LDIF above is what the
 * exporter writes: every entry must come out unchanged. */
static void bench_sync(const char *db, const char *uri, export_numbers *numbers)
{
    long rss0 = bench_proc_kib("self", "VmRSS");
    double t0 = now_s();
    GHashTable *wanted =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)export_entry_free);
    void *args[] = {wanted, numbers};
    char *error = NULL;
    store_snapshot *snap = store_snapshot_open(db, NULL, &error);
    if (snap == NULL || !store_snapshot_foreach(snap, NULL, add_wanted, args, &error)) {
        fprintf(stderr, "reading the store: %s\n", error);
        exit(1);
    }
    store_snapshot_close(snap);
    double read = now_s() - t0;
    long rss1 = bench_proc_kib("self", "VmRSS");
    char *uris[] = {(char *)uri, NULL};
    ul_server_config server = {.uris = uris,
                               .tls_verify = TRUE,
                               .bind_dn = "cn=admin," SUFFIX,
                               .bind_password = "secret",
                               .timeout_s = 120,
                               .page_size = 1000};
    LDAP *ld = ul_ldap_connect(&server, &error, NULL, NULL);
    if (ld == NULL) {
        fprintf(stderr, "connect: %s\n", error);
        exit(1);
    }
    ldap_sync_stats stats = {0};
    gint cancel = 0;
    t0 = now_s();
    gboolean ok = ldap_sync_run(ld, &server, BASE, wanted, &cancel, &stats, &error);
    printf("the exporter's round with nothing to change: reading the store into %u entries "
           "%.1f s (+%ld MiB RSS), comparing with slapd %.1f s: %s, %" G_GUINT64_FORMAT
           " unchanged, %" G_GUINT64_FORMAT " added, %" G_GUINT64_FORMAT
           " modified, %" G_GUINT64_FORMAT " deleted\n",
           g_hash_table_size(wanted), read, (rss1 - rss0) / 1024, now_s() - t0, ok ? "ok" : error,
           stats.unchanged, stats.added, stats.modified, stats.deleted);
    ldap_sync_stats_clear(&stats);

    /* A first export: the first `first_count` entries into an empty subtree,
     * one synchronous add after the other, as the exporter writes. */
    GHashTable *first = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, wanted);
    while (g_hash_table_size(first) < first_count && g_hash_table_iter_next(&iter, &key, &value))
        g_hash_table_insert(first, key, value);
    t0 = now_s();
    ok = ldap_sync_run(ld, &server, FIRST_BASE, first, &cancel, &stats, &error);
    double took = now_s() - t0;
    printf("a first export through the exporter's writes: %" G_GUINT64_FORMAT " added in %.1f s "
           "(%.0f adds/s): %s\n",
           stats.added, took, stats.added / took, ok ? "ok" : error);
    ldap_sync_stats_clear(&stats);
    g_hash_table_unref(first);
    ul_ldap_close(ld);
    g_free(error);
    g_hash_table_unref(wanted);
}

static void remove_tree(const char *dir)
{
    const char *const argv[] = {"rm", "-rf", dir, NULL};
    run_or_die(argv);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONTACTS-STORE.so\n", argv[0]);
        return 2;
    }
    const char *n_env = g_getenv("LDAP_EXPORT_BENCH_N");
    if (n_env != NULL)
        n_contacts = (unsigned)g_ascii_strtoull(n_env, NULL, 10);
    const char *q_env = g_getenv("LDAP_EXPORT_BENCH_QUERIES");
    if (q_env != NULL)
        n_queries = (unsigned)g_ascii_strtoull(q_env, NULL, 10);
    const char *f_env = g_getenv("LDAP_EXPORT_BENCH_FIRST");
    if (f_env != NULL)
        first_count = (unsigned)g_ascii_strtoull(f_env, NULL, 10);
    if (n_contacts < 1 || n_queries < 10) {
        fprintf(stderr, "LDAP_EXPORT_BENCH_N >= 1 and LDAP_EXPORT_BENCH_QUERIES >= 10\n");
        return 2;
    }
    if (!g_file_test(sbin("slapadd"), G_FILE_TEST_IS_EXECUTABLE)) {
        fprintf(stderr, "slapd and slapadd are needed (apt-get install slapd)\n");
        return g_strcmp0(g_getenv("CI"), "true") == 0 ? 1 : 77;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_load("at start");
    printf("%u contacts, %u lookups (mixed forms, one in ten a miss)\n", n_contacts, n_queries);

    char *dir = g_dir_make_tmp("bench-ldx-XXXXXX", NULL);
    char *conf = g_build_filename(dir, "ucd.conf", NULL);
    g_file_set_contents(conf, numbers_conf, -1, NULL);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    core_config *cfg = core_config_load(conf, NULL, errors);
    core_numbers *numbers = core_numbers_new(cfg, errors);
    if (numbers == NULL) {
        fprintf(stderr, "numbers: %s\n", (char *)g_ptr_array_index(errors, 0));
        return 1;
    }
    fake_provide_service("core", UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, core_numbers_iface(),
                         numbers);
    fake_provide_service("contacts-gen:bench", UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                         &gen_iface, NULL);

    /* 1. the store */
    void *handle = NULL;
    const ucd_plugin_descriptor *d = fake_load_plugin(argv[1], "contacts-store", &handle);
    fake_module *m = fake_module_new(d, "contacts-store");
    fake_module_set_state_dir(m, dir);
    double t0 = now_s();
    fake_module_start(m);
    printf("contacts-store replicated %u contacts in %.1f s\n", n_contacts, now_s() - t0);
    if (!fake_module_log_has(m, UCD_LOG_NOTICE, "generation 1 in use")) {
        fprintf(stderr, "the replication failed\n");
        return 1;
    }
    void *impl = NULL;
    const ucd_contacts_v1 *contacts =
        fake_module_service(m, UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, &impl);

    /* 2. the exporter's entries, as LDIF */
    char *db = g_build_filename(dir, "contacts.sqlite", NULL);
    char *ldif = g_build_filename(dir, "contacts.ldif", NULL);
    FILE *out = fopen(ldif, "w");
    fputs("dn: " SUFFIX "\nobjectClass: dcObject\nobjectClass: organization\no: Bench\n"
          "dc: bench\n\ndn: " BASE "\nobjectClass: organizationalUnit\nou: contacts\n\n"
          "dn: " FIRST_BASE "\nobjectClass: organizationalUnit\nou: first\n\n",
          out);
    ldif_run run = {out, {core_numbers_iface(), numbers, EXPORTER}, 0, 0};
    char *error = NULL;
    t0 = now_s();
    store_snapshot *snap = store_snapshot_open(db, NULL, &error);
    if (snap == NULL || !store_snapshot_foreach(snap, NULL, write_entry, &run, &error)) {
        fprintf(stderr, "reading the store: %s\n", error);
        return 1;
    }
    store_snapshot_close(snap);
    fclose(out);
    printf("the exporter's entries from the store's file: %" G_GUINT64_FORMAT
           " entries, %" G_GUINT64_FORMAT " values, %.1f s\n",
           run.entries, run.values, now_s() - t0);

    /* 3. slapadd, slapd */
    char *slapd_conf = write_slapd_conf(dir);
    char *db_dir = g_build_filename(dir, "db", NULL);
    g_mkdir(db_dir, 0700);
    print_load("before slapadd");
    t0 = now_s();
    const char *const slapadd[] = {sbin("slapadd"), "-q", "-f", slapd_conf, "-l", ldif, NULL};
    run_or_die(slapadd);
    printf("slapadd -q (mdb, eq index on telephoneNumber): %.1f s\n", now_s() - t0);
    g_remove(ldif);
    char *socket = g_build_filename(dir, "ldapi", NULL);
    char *escaped = g_uri_escape_string(socket, NULL, FALSE);
    char *uri = g_strdup_printf("ldapi://%s", escaped);
    const char *const slapd[] = {sbin("slapd"), "-f", slapd_conf, "-h", uri, NULL};
    run_or_die(slapd);
    LDAP *probe = NULL;
    gboolean up = FALSE;
    for (int i = 0; i < 200 && !up; i++) {
        struct berval none = {0, NULL};
        if (ldap_initialize(&probe, uri) == LDAP_SUCCESS) {
            int version = LDAP_VERSION3;
            ldap_set_option(probe, LDAP_OPT_PROTOCOL_VERSION, &version);
            up = ldap_sasl_bind_s(probe, NULL, LDAP_SASL_SIMPLE, &none, NULL, NULL, NULL) ==
                 LDAP_SUCCESS;
            ldap_unbind_ext_s(probe, NULL, NULL);
        }
        if (!up)
            g_usleep(50000);
    }

    /* 4. the same queries to both */
    char **queries = g_new0(char *, n_queries + 1);
    GRand *rand = g_rand_new_with_seed(42);
    for (unsigned k = 0; k < n_queries; k++) {
        queries[k] = g_malloc(40);
        make_query(k, rand, queries[k], 40);
    }
    g_rand_free(rand);
    print_load("before the lookups");
    if (up)
        bench_slapd(uri, queries);
    else
        fprintf(stderr, "slapd did not answer on %s\n", uri);
    bench_ucd(contacts, impl, queries, "ucd lookup() in-process, one thread");
    /* Each query above found its contact's lines cold (a different contact
     * each time, after slapd's searches); the same queries again, warm. */
    bench_ucd(contacts, impl, queries, "ucd lookup(), the same queries again");
    print_load("after the lookups");
    if (up && g_getenv("LDAP_EXPORT_BENCH_NO_SYNC") == NULL)
        bench_sync(db, uri, &run.numbers);
    print_load("at the end");

    char *pid_file = g_build_filename(dir, "slapd.pid", NULL);
    char *pid = NULL;
    if (g_file_get_contents(pid_file, &pid, NULL, NULL)) {
        GPid p = (GPid)g_ascii_strtoll(pid, NULL, 10);
        kill(p, SIGTERM);
        for (int i = 0; i < 200 && kill(p, 0) == 0; i++)
            g_usleep(50000);
    }
    fake_module_stop(m);
    fake_module_free(m);
    fake_withdraw_services();
    core_numbers_free(numbers);
    core_config_free(cfg);
    g_ptr_array_unref(errors);
    remove_tree(dir);
    g_strfreev(queries);
    g_free(pid);
    g_free(pid_file);
    g_free(uri);
    g_free(escaped);
    g_free(socket);
    g_free(db_dir);
    g_free(slapd_conf);
    g_free(ldif);
    g_free(db);
    g_free(conf);
    g_free(dir);
    return up ? 0 : 1;
}
