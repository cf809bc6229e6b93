/*
 * bench-contacts.c - contacts-store over 1,000,000 generated contacts
 * (docs/PERFORMANCE.md, "contacts-store"): replication time and memory,
 * reverse lookups per second and their latency in-process with mixed raw
 * forms, what a hit's fields would cost from SQLite instead of memory, and
 * search-as-you-type.
 *
 * The plugin runs in the fake host with the core's real number service, so
 * every lookup pays the normalization it pays in ucd. Prints figures; never
 * asserts a time. CONTACTS_BENCH_N sets the number of contacts.
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fake-host.h"
#include "numbers.h"
#include <ucd/contacts.h>

static const char numbers_conf[] = "[location default]\ncountry_code = 49\narea_code = 89\n"
                                   "[location munich]\ncountry_code = 49\narea_code = 89\n"
                                   "outside_line_prefix = 0\n"
                                   "[module pbx-sim:munich]\nlocation = munich\n";

static const char *const syllables[] = {"an", "be", "ca", "do", "el", "fa", "ge", "hi", "ja",
                                        "ka", "lo", "mü", "ne", "or", "pa", "ri", "sa", "te",
                                        "ul", "va", "we", "xe", "zo", "ba", "mi", "ko"};
static const char *const areas[] = {"30", "40", "69", "89", "211", "221", "711", "911"};
static const char *const departments[] = {"Sales",     "Purchasing", "Support", "Accounts",
                                          "Logistics", "Management", "IT",      "Legal"};
#define N_COMPANIES 20000

static unsigned n_contacts = 1000000;

static void word(unsigned seed, int syl, char *out, size_t size, gboolean capital)
{
    out[0] = '\0';
    for (int i = 0; i < syl; i++) {
        g_strlcat(out, syllables[seed % G_N_ELEMENTS(syllables)], size);
        seed = seed / G_N_ELEMENTS(syllables) + seed * 2654435761u;
    }
    if (capital)
        out[0] = g_ascii_toupper(out[0]);
}

/* Contact i's business number: area and 7-digit subscriber, unique per i. */
static void business(unsigned i, const char **area, unsigned *subscriber)
{
    *area = areas[i % G_N_ELEMENTS(areas)];
    *subscriber = 1000000 + (unsigned)(((uint64_t)i * 7919u) % 8999999u);
}

/* The same number as a source stores it, in one of four shapes. */
static void stored_form(unsigned i, char *out, size_t size)
{
    const char *area;
    unsigned sub;
    business(i, &area, &sub);
    switch (i % 4) {
    case 0:
        g_snprintf(out, size, "+49 (%s) %u", area, sub);
        break;
    case 1:
        g_snprintf(out, size, "0%s/%u", area, sub);
        break;
    case 2:
        g_snprintf(out, size, "0049 %s %u", area, sub);
        break;
    default:
        g_snprintf(out, size, "0%s %u", area, sub);
        break;
    }
}

static int gen_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    char given[32], surname[48], company[64], dept[32], email[128], biz[40], mobile[40], board[40],
        id[16];
    for (unsigned i = 0; i < n_contacts; i++) {
        word(i * 31u + 7u, 2, given, sizeof given, TRUE);
        word(i * 131u + 3u, 3, surname, sizeof surname, TRUE);
        unsigned c = i % N_COMPANIES;
        word(c * 977u + 11u, 3, company, sizeof company, TRUE);
        g_strlcat(company, c % 3 == 0 ? " GmbH" : c % 3 == 1 ? " AG" : " KG", sizeof company);
        g_strlcpy(dept, departments[i % G_N_ELEMENTS(departments)], sizeof dept);
        char *display = g_strdup_printf("%s %s", given, surname);
        g_snprintf(email, sizeof email, "%s.%s@example.com", given, surname);
        g_snprintf(id, sizeof id, "%u", i);
        stored_form(i, biz, sizeof biz);
        ucd_contact_number numbers[3];
        uint32_t n = 0;
        numbers[n++] = (ucd_contact_number){sizeof numbers[0], UCD_CONTACT_NUMBER_BUSINESS, biz};
        if (i % 2 == 0) {
            g_snprintf(mobile, sizeof mobile, "+49 15%u %07u", 1 + i % 9, i);
            numbers[n++] =
                (ucd_contact_number){sizeof numbers[0], UCD_CONTACT_NUMBER_MOBILE, mobile};
        }
        if (i < N_COMPANIES) { /* the company's switchboard */
            g_snprintf(board, sizeof board, "+49 %s %u-0", areas[c % G_N_ELEMENTS(areas)],
                       20000 + c);
            numbers[n++] = (ucd_contact_number){sizeof numbers[0], UCD_CONTACT_NUMBER_OTHER, board};
        }
        ucd_contact contact = {.struct_size = sizeof contact,
                               .source_id = id,
                               .display_name = display,
                               .given_name = given,
                               .surname = surname,
                               .company = company,
                               .department = dept,
                               .email = email,
                               .n_numbers = n,
                               .numbers = numbers};
        int rc = sink->add(sink_impl, &contact);
        g_free(display);
        if (rc != UCD_OK)
            return rc;
        if (i % 100000 == 0)
            sink->progress(sink_impl, i, n_contacts);
    }
    return UCD_OK;
}

static void gen_info(void *impl, ucd_contact_source_info *out)
{
    *out = (ucd_contact_source_info){sizeof *out, 100, 0, 50, 1};
}

static const ucd_contact_source_v1 gen_iface = {sizeof gen_iface, gen_info, gen_replicate};

/* ---- measuring ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread: on a shared machine, lookups per CPU
 * second say what the code costs; lookups per wall second what it got. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    char *status = NULL;
    long kb = -1;
    if (g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
        const char *p = strstr(status, "VmRSS:");
        if (p != NULL)
            kb = strtol(p + 6, NULL, 10);
    }
    g_free(status);
    return kb;
}

static void print_load(const char *when)
{
    char *load = NULL;
    g_file_get_contents("/proc/loadavg", &load, NULL, NULL);
    printf("load average %s: %s", when, load ? load : "?\n");
    g_free(load);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *what, uint64_t *ns, size_t n, double unit, const char *uname)
{
    qsort(ns, n, sizeof *ns, cmp_u64);
    printf("%s: p50 %.2f %s, p99 %.2f %s, p99.9 %.2f %s, max %.2f %s (%zu samples)\n", what,
           ns[n / 2] / unit, uname, ns[n * 99 / 100] / unit, uname, ns[n * 999 / 1000] / unit,
           uname, ns[n - 1] / unit, uname, n);
}

/* A lookup query: a raw form and the driver it comes from. */
typedef struct query {
    char raw[40];
    const char *context;
} query;

#define N_QUERIES 200000

static query *make_queries(void)
{
    query *q = g_new0(query, N_QUERIES);
    GRand *rand = g_rand_new_with_seed(42);
    for (unsigned k = 0; k < N_QUERIES; k++) {
        unsigned i = (unsigned)g_rand_int_range(rand, 0, (gint32)n_contacts);
        const char *area;
        unsigned sub;
        business(i, &area, &sub);
        if (k % 10 == 8) /* a miss: a number nobody has (8 digits) */
            sub = 10000000 + k;
        switch (k % 5) {
        case 0:
            g_snprintf(q[k].raw, sizeof q[k].raw, "0%s%u", area, sub);
            break;
        case 1:
            g_snprintf(q[k].raw, sizeof q[k].raw, "+49 %s %u", area, sub);
            break;
        case 2:
            g_snprintf(q[k].raw, sizeof q[k].raw, "0049%s%u", area, sub);
            break;
        case 3: /* through a PBX with outside line 0 */
            g_snprintf(q[k].raw, sizeof q[k].raw, "00%s%u", area, sub);
            q[k].context = "pbx-sim:munich";
            break;
        default: /* an extension behind a switchboard */
            g_snprintf(q[k].raw, sizeof q[k].raw, "+49%s%u%u", areas[(i % N_COMPANIES) % 8],
                       20000 + i % N_COMPANIES, 10 + k % 89);
        }
    }
    g_rand_free(rand);
    return q;
}

typedef struct counter_ctx {
    uint64_t hits, bytes;
} counter_ctx;

static int on_hit(const ucd_contact_hit *hit, void *data)
{
    counter_ctx *c = data;
    c->hits++;
    c->bytes += strlen(hit->contact->display_name) + (hit->contact->company ? 1 : 0);
    return 1; /* caller identification wants the best hit */
}

typedef struct thread_ctx {
    const ucd_contacts_v1 *contacts;
    void *impl;
    const query *queries;
    uint64_t n, found;
    double seconds, cpu;
} thread_ctx;

static gpointer lookup_thread(gpointer data)
{
    thread_ctx *t = data;
    counter_ctx c = {0};
    double start = now_s(), cpu = thread_cpu_s();
    for (uint64_t k = 0; k < t->n; k++) {
        const query *q = &t->queries[k % N_QUERIES];
        t->found += t->contacts->lookup(t->impl, q->context, q->raw, NULL, on_hit, &c) == UCD_OK;
    }
    t->seconds = now_s() - start;
    t->cpu = thread_cpu_s() - cpu;
    return NULL;
}

static void bench_lookups(const ucd_contacts_v1 *contacts, void *impl, core_numbers *numbers)
{
    query *q = make_queries();
    /* Throughput, one thread and two. */
    for (int threads = 1; threads <= 2; threads++) {
        thread_ctx t[2];
        GThread *th[2];
        for (int i = 0; i < threads; i++) {
            t[i] = (thread_ctx){contacts, impl, q, 2000000, 0, 0, 0};
            th[i] = g_thread_new("lookup", lookup_thread, &t[i]);
        }
        uint64_t total = 0, found = 0;
        double longest = 0, cpu = 0;
        for (int i = 0; i < threads; i++) {
            g_thread_join(th[i]);
            total += t[i].n;
            found += t[i].found;
            longest = MAX(longest, t[i].seconds);
            cpu += t[i].cpu;
        }
        printf("reverse lookup, %d thread(s): %.0f lookups/s of wall time, %.0f per CPU second "
               "(%" G_GUINT64_FORMAT " lookups, %.1f %% found)\n",
               threads, total / longest, total / cpu, total, 100.0 * found / total);
    }
    /* The number service alone, for what normalization costs of it. */
    double start = now_s(), cpu = thread_cpu_s();
    ucd_number_info info = {.struct_size = sizeof info};
    for (unsigned k = 0; k < 2000000; k++)
        core_numbers_normalize(numbers, q[k % N_QUERIES].context, q[k % N_QUERIES].raw, &info);
    printf("of which normalization alone: %.0f numbers/s of wall time, %.0f per CPU second\n",
           2000000 / (now_s() - start), 2000000 / (thread_cpu_s() - cpu));
    /* Latency of each lookup. */
    size_t n = 500000;
    uint64_t *ns = g_new(uint64_t, n);
    counter_ctx c = {0};
    for (size_t k = 0; k < n; k++) {
        const query *qq = &q[k % N_QUERIES];
        uint64_t t0 = now_ns();
        contacts->lookup(impl, qq->context, qq->raw, NULL, on_hit, &c);
        ns[k] = now_ns() - t0;
    }
    print_latency("reverse lookup latency", ns, n, 1000.0, "us");
    g_free(ns);
    g_free(q);
}

/* What a hit's fields would cost from the database instead of memory: one
 * prepared SELECT by id per hit. */
static void bench_sql_fields(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT source_id, display_name, given_name, surname, company, "
                           "department, email, address, crm_link FROM contacts WHERE id = ?1",
                           -1, &stmt, NULL) != SQLITE_OK) {
        printf("fields by SELECT: cannot open %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    int64_t max_id = 0;
    sqlite3_stmt *m = NULL;
    sqlite3_prepare_v2(db, "SELECT max(id) FROM contacts", -1, &m, NULL);
    if (sqlite3_step(m) == SQLITE_ROW)
        max_id = sqlite3_column_int64(m, 0);
    sqlite3_finalize(m);
    size_t n = 200000;
    uint64_t *ns = g_new(uint64_t, n);
    GRand *rand = g_rand_new_with_seed(7);
    uint64_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t id = max_id - g_rand_int_range(rand, 0, (gint32)n_contacts);
        uint64_t t0 = now_ns();
        sqlite3_bind_int64(stmt, 1, id);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            for (int col = 0; col < 9; col++)
                bytes += (uint64_t)sqlite3_column_bytes(stmt, col);
        sqlite3_reset(stmt);
        ns[k] = now_ns() - t0;
    }
    print_latency("a hit's fields by prepared SELECT (not used; for comparison)", ns, n, 1000.0,
                  "us");
    g_rand_free(rand);
    g_free(ns);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static int count_hit(const ucd_contact_hit *hit, void *data)
{
    (*(unsigned *)data)++;
    return 0;
}

/* Search as you type: a person types "surname given" of a contact, one
 * character at a time, and each prefix is searched (20 hits). */
static void bench_search(const ucd_contacts_v1 *contacts, void *impl)
{
    GPtrArray *samples = g_ptr_array_new();
    GRand *rand = g_rand_new_with_seed(3);
    for (int s = 0; s < 100; s++) {
        unsigned i = (unsigned)g_rand_int_range(rand, 0, (gint32)n_contacts);
        char given[32], surname[48];
        word(i * 31u + 7u, 2, given, sizeof given, TRUE);
        word(i * 131u + 3u, 3, surname, sizeof surname, TRUE);
        char *typed = g_strdup_printf("%s %s", surname, given);
        glong len = g_utf8_strlen(typed, -1);
        for (glong c = 1; c <= len; c++) {
            char *prefix = g_utf8_substring(typed, 0, c);
            if (prefix[strlen(prefix) - 1] != ' ')
                g_ptr_array_add(samples, prefix);
            else
                g_free(prefix);
        }
        g_free(typed);
    }
    g_rand_free(rand);
    uint64_t *ns = g_new(uint64_t, samples->len);
    unsigned hits = 0;
    for (guint k = 0; k < samples->len; k++) {
        uint64_t t0 = now_ns();
        contacts->search(impl, g_ptr_array_index(samples, k), NULL, 20, count_hit, &hits);
        ns[k] = now_ns() - t0;
    }
    /* The slowest few, to see which kind of query they are, and each once
     * more (a slow one by chance comes back fast). */
    uint64_t *seen = g_memdup2(ns, samples->len * sizeof *ns);
    for (int worst = 0; worst < 5; worst++) {
        guint at = 0;
        for (guint k = 1; k < samples->len; k++)
            if (seen[k] > seen[at])
                at = k;
        uint64_t t0 = now_ns();
        unsigned again = 0;
        contacts->search(impl, g_ptr_array_index(samples, at), NULL, 20, count_hit, &again);
        printf("  slow: '%s' %.2f ms, again %.2f ms\n",
               (const char *)g_ptr_array_index(samples, at), seen[at] / 1e6, (now_ns() - t0) / 1e6);
        seen[at] = 0;
    }
    g_free(seen);
    print_latency("search as you type (20 hits)", ns, samples->len, 1e6, "ms");
    printf("  (%u searches of 1 to %d characters, %u hits)\n", samples->len, 25, hits);
    g_free(ns);
    for (guint k = 0; k < samples->len; k++)
        g_free(g_ptr_array_index(samples, k));
    g_ptr_array_unref(samples);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONTACTS-STORE.so\n", argv[0]);
        return 2;
    }
    const char *n_env = g_getenv("CONTACTS_BENCH_N");
    if (n_env != NULL)
        n_contacts = (unsigned)g_ascii_strtoull(n_env, NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_load("at start");

    char *dir = g_dir_make_tmp("bench-contacts-XXXXXX", NULL);
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

    void *handle = NULL;
    const ucd_plugin_descriptor *d = fake_load_plugin(argv[1], "contacts-store", &handle);
    fake_module *m = fake_module_new(d, "contacts-store");
    fake_module_set_state_dir(m, dir);
    long rss0 = rss_kb();
    double t0 = now_s();
    fake_module_start(m); /* replicates at start, on this thread in the fake host */
    double took = now_s() - t0;
    long rss1 = rss_kb();
    void *impl = NULL;
    const ucd_contacts_v1 *contacts =
        fake_module_service(m, UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, &impl);
    char *db = g_build_filename(dir, "contacts.sqlite", NULL);
    GStatBuf st;
    g_stat(db, &st);
    printf("replication of %u generated contacts: %.1f s (normalize, write, index, swap); "
           "RSS +%ld MiB; database %.0f MiB\n",
           n_contacts, took, (rss1 - rss0) / 1024, st.st_size / 1048576.0);
    if (!fake_module_log_has(m, UCD_LOG_NOTICE, "generation 1 in use")) {
        fprintf(stderr, "the replication failed, see the log (--verbose)\n");
        return 1;
    }
    for (guint i = 0; i < m->log_lines->len; i++)
        if (strstr(g_ptr_array_index(m->log_lines, i), "in use") != NULL)
            printf("  the store: %s\n", (const char *)g_ptr_array_index(m->log_lines, i));
    print_load("after replication");
    bench_lookups(contacts, impl, numbers);
    print_load("after lookups");
    bench_sql_fields(db);
    bench_search(contacts, impl);
    print_load("at the end");

    fake_module_stop(m);
    fake_module_free(m);
    fake_withdraw_services();
    core_numbers_free(numbers);
    core_config_free(cfg);
    g_ptr_array_unref(errors);
    const char *leftovers[] = {"contacts.sqlite", "contacts.sqlite-wal", "contacts.sqlite-shm",
                               "ucd.conf"};
    for (size_t i = 0; i < G_N_ELEMENTS(leftovers); i++) {
        char *p = g_build_filename(dir, leftovers[i], NULL);
        g_remove(p);
        g_free(p);
    }
    g_rmdir(dir);
    g_free(db);
    g_free(conf);
    g_free(dir);
    return 0;
}
