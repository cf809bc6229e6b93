/*
 * bench-api-lookup.c - "who is calling?" through the client API: one
 * client asks GET /api/v1/contacts/lookup?number=RAW of ucd holding
 * 1,000,000 contacts (contacts-csv -> contacts-store, replicated at start),
 * one request at a time on one keep-alive connection, the raw number in a
 * mix of forms (+49 30 ..., 0049..., 030..., the mobile). Every answer is
 * checked to name the right contact. Beside it, in the same run, the same
 * client against libsoup alone (bench-soup-static) answering one such
 * answer from memory: the round trip any server on libsoup costs, with no
 * lookup at all. Printed: p50, p99, p99.9 and max for each, and the load
 * average (target: p99 < 1 ms through the API). Never asserts a time.
 *
 * The client is a plain socket (write the request, read to the end of the
 * answer by its Content-Length): no HTTP library in the measured path.
 *
 *   bench-api-lookup [CONTACTS] [REQUESTS]   (1000000 20000)
 *
 * Needs meson's environment (UCD_BIN, UCD_TEST_PLUGIN_PATH,
 * UCD_SOUP_STATIC_BIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bench-api-util.h"
#include "harness.h"

#define FIRST    201
#define PASSWORD "bench-pw"
/* "bench-pw", made with ucd-passwd -i 1000 (one login: cost is no matter). */
#define HASH                                                                                       \
    "pbkdf2-sha256$1000$7yeJ9SlcwacWc2QFfgu2tQ==$uZPnemK+T/Z5zPEVm8moLHGrBerxt9BLdrqA0K8y8Rs="

/* Contact i: "Person i", business +49 30 1iiiiiii, mobile +49 171 2iiiiiii. */
static char *write_contacts(const char *dir, guint count)
{
    char *path = g_build_filename(dir, "contacts.csv", NULL);
    FILE *f = fopen(path, "w");
    g_assert_nonnull(f);
    fputs("Id;Name;Firma;Telefon;Mobil\n", f);
    for (guint i = 0; i < count; i++)
        fprintf(f, "%u;Person %u;Firma %u;+49 30 1%07u;+49 171 2%07u\n", i, i, i % 1000, i, i);
    g_assert_cmpint(fclose(f), ==, 0);
    return path;
}

static harness *start_ucd(int port, const char *csv)
{
    harness *h = harness_new(NULL);
    char *lines = NULL;
    char *users = bench_write_users(h->dir, FIRST, 1, HASH, NULL, &lines);
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[location default]\ncountry_code = 49\narea_code = 89\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module contacts-store]\n"
                                 "[module contacts-csv:crm]\nfile = %s\ndelimiter = ;\n"
                                 "map_source_id = Id\nmap_display_name = Name\n"
                                 "map_company = Firma\nmap_business = Telefon\n"
                                 "map_mobile = Mobil\nreplicate_every = 0s\n"
                                 "[module api-http]\nhttps_listen =\n"
                                 "http_listen = 127.0.0.1:%d\n",
                                 users, csv, port);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "api-http", "running"));
    g_free(body);
    g_free(users);
    g_free(lines);
    return h;
}

/* The raw form of request `n` for contact `i`, URL-encoded. */
static void raw_form(guint n, guint i, char *out, size_t size)
{
    switch (n % 4) {
    case 0:
        g_snprintf(out, size, "%%2B49%%2030%%201%07u", i); /* "+49 30 1..." */
        break;
    case 1:
        g_snprintf(out, size, "0049301%07u", i);
        break;
    case 2:
        g_snprintf(out, size, "0301%07u", i); /* national, from Munich */
        break;
    default:
        g_snprintf(out, size, "%%2B491712%07u", i); /* the mobile */
        break;
    }
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends `request` and reads one whole answer into `answer`: its status. */
static int round_trip(int fd, const char *request, GString *answer)
{
    size_t len = strlen(request);
    for (size_t sent = 0; sent < len;) {
        ssize_t n = write(fd, request + sent, len - sent);
        g_assert_cmpint(n, >, 0);
        sent += (size_t)n;
    }
    g_string_truncate(answer, 0);
    char buf[16384];
    for (;;) {
        const char *end = strstr(answer->str, "\r\n\r\n");
        if (end) {
            const char *cl = g_strstr_len(answer->str, end - answer->str, "Content-Length: ");
            if (cl == NULL)
                cl = g_strstr_len(answer->str, end - answer->str, "content-length: ");
            g_assert_nonnull(cl);
            size_t body = strtoul(cl + 16, NULL, 10);
            if (answer->len >= (size_t)(end + 4 - answer->str) + body)
                break;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(n, >, 0);
        g_string_append_len(answer, buf, n);
    }
    return atoi(answer->str + 9); /* "HTTP/1.1 200 ..." */
}

typedef struct result {
    GArray *us; /* sorted latencies */
    guint wrong;
} result;

/* `requests` lookups (after `requests / 10` not counted), contact chosen by
 * a fixed sequence; `check` TRUE: the answer must name the contact. */
static result run(int port, const char *token, guint contacts, guint requests, gboolean check)
{
    int fd = connect_to(port);
    GString *answer = g_string_sized_new(4096);
    result r = {g_array_sized_new(FALSE, FALSE, sizeof(gint64), requests), 0};
    guint32 seed = 12345;
    guint warm = requests / 10;
    for (guint n = 0; n < warm + requests; n++) {
        seed = seed * 1664525u + 1013904223u;
        guint i = seed % contacts;
        char raw[64], request[1024], name[32];
        raw_form(n, i, raw, sizeof raw);
        g_snprintf(request, sizeof request,
                   "GET /api/v1/contacts/lookup?number=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer %s\r\n\r\n",
                   raw, token);
        gint64 t0 = g_get_monotonic_time();
        int status = round_trip(fd, request, answer);
        gint64 dt = g_get_monotonic_time() - t0;
        g_snprintf(name, sizeof name, "\"Person %u\"", i);
        if (status != 200 || (check && strstr(answer->str, name) == NULL))
            r.wrong++;
        if (n >= warm)
            g_array_append_val(r.us, dt);
    }
    close(fd);
    g_string_free(answer, TRUE);
    bench_sort_us(r.us);
    return r;
}

static void print_row(const char *what, result *r)
{
    GArray *us = r->us;
    printf("| %s | %u | %.3f | %.3f | %.3f | %.3f | %u |\n", what, us->len,
           bench_percentile_ms(us, 0.50), bench_percentile_ms(us, 0.99),
           bench_percentile_ms(us, 0.999), bench_percentile_ms(us, 1.0), r->wrong);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    guint contacts = argc > 1 ? (guint)atoi(argv[1]) : 1000000;
    guint requests = argc > 2 ? (guint)atoi(argv[2]) : 20000;
    int port = bench_free_port();
    char *dir = g_dir_make_tmp("ucd-bench-lookup-XXXXXX", NULL);
    char *csv = write_contacts(dir, contacts);
    gint64 t0 = g_get_monotonic_time();
    harness *h = start_ucd(port, csv);
    SoupSession *session = soup_session_new();
    char *token = bench_login(session, port, FIRST, PASSWORD);

    /* replicated when the last contact's mobile is found */
    char *last = g_strdup_printf("http://127.0.0.1:%d/api/v1/contacts/lookup?number="
                                 "%%2B491712%07u",
                                 port, contacts - 1);
    char *want = g_strdup_printf("\"Person %u\"", contacts - 1);
    GBytes *sample = NULL;
    for (int i = 0; i < 6000 && sample == NULL; i++) {
        GBytes *b = bench_fetch(session, "GET", last, token, NULL);
        if (strstr(g_bytes_get_data(b, NULL), want))
            sample = b;
        else {
            g_bytes_unref(b);
            g_usleep(100 * 1000);
        }
    }
    if (sample == NULL)
        g_error("the store never held contact %u", contacts - 1);
    double replicated_s = (double)(g_get_monotonic_time() - t0) / 1e6;

    char *sample_file = g_build_filename(dir, "answer.json", NULL);
    g_assert_true(g_file_set_contents(sample_file, g_bytes_get_data(sample, NULL),
                                      (gssize)g_bytes_get_size(sample), NULL));
    int soup_port = 0;
    GSubprocess *soup = bench_start_soup_static(sample_file, &soup_port);

    char *load_before = bench_load_text();
    result ucd = run(port, token, contacts, requests, TRUE);
    result alone = run(soup_port, token, contacts, requests, FALSE);
    char *load_after = bench_load_text();

    printf("\n%u contacts (replicated and answering %.1f s after ucd started), %u lookups "
           "each, one at a time on one keep-alive connection; load %s before, %s after\n\n",
           contacts, replicated_s, requests, load_before, load_after);
    printf("| server | lookups | p50 ms | p99 ms | p99.9 ms | max ms | wrong answers |\n"
           "|---|---|---|---|---|---|---|\n");
    print_row("ucd: GET /api/v1/contacts/lookup", &ucd);
    print_row("libsoup alone, the same answer from memory", &alone);
    printf("\nucd's p99 minus libsoup's: %.3f ms (target: ucd's p99 < 1 ms)\n",
           bench_percentile_ms(ucd.us, 0.99) - bench_percentile_ms(alone.us, 0.99));
    g_assert_cmpuint(ucd.wrong, ==, 0);

    g_subprocess_force_exit(soup);
    g_subprocess_wait(soup, NULL, NULL);
    g_object_unref(soup);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    g_object_unref(session);
    g_array_unref(ucd.us);
    g_array_unref(alone.us);
    g_bytes_unref(sample);
    g_remove(sample_file);
    g_remove(csv);
    g_rmdir(dir);
    g_free(sample_file);
    g_free(load_before);
    g_free(load_after);
    g_free(last);
    g_free(want);
    g_free(token);
    g_free(csv);
    g_free(dir);
    return 0;
}
