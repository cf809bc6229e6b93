/*
 * bench-api-rest.c - REST under load, side by side with its limit: C
 * clients (default 100) on loopback, each with one keep-alive HTTP/1.1
 * connection and one request in flight, ask ucd's api-http for
 *   GET /api/v1/presence           (50 users, as an admin: all of them)
 *   GET /api/v1/journal?limit=50   (a page of 50 conversations)
 * and, with another set of connections, a real nginx (tests/peers/nginx.sh,
 * one worker process: ucd's HTTP runs on one main loop) for static files
 * holding exactly the bytes ucd answered. The two servers take turns in
 * rounds (S counted rounds each, default 5, after one of warm-up; a round
 * counts one second after its first 0.3 s, and every answer in flight
 * arrives before the other's round), so a change of the shared machine's
 * load falls on both alike. A third server takes its turn too: libsoup
 * alone (bench-soup-static.c: the same bytes from memory, nothing else),
 * the ceiling of any server on libsoup's one main loop. Printed per
 * request: requests/s, p50 and p99 latency for each, ucd's rate as a share
 * of nginx's (target >= 0.5), libsoup's alone as a share of nginx's and
 * ucd's of libsoup's, and the load average. Never asserts a time.
 *
 * The clients are raw sockets on one thread with epoll (no HTTP library in
 * the measured path), on the same two cores as the server, so both sides
 * pay for them alike.
 *
 *   bench-api-rest [CLIENTS] [SECONDS] [ONLY]   (100 5; ONLY: presence or
 *                                               journal, for a profile of one)
 *
 * Needs meson's environment (UCD_BIN, UCD_TEST_PLUGIN_PATH,
 * UCD_NGINX_SCRIPT, UCD_SOUP_STATIC_BIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bench-api-util.h"
#include "harness.h"

#define USERS 50
#define FIRST 201
/* "bench-pw", made with ucd-passwd -i 1000 (one login: cost is no matter). */
#define PASSWORD "bench-pw"
#define HASH                                                                                       \
    "pbkdf2-sha256$1000$7yeJ9SlcwacWc2QFfgu2tQ==$uZPnemK+T/Z5zPEVm8moLHGrBerxt9BLdrqA0K8y8Rs="

/* ---- the daemon and its data ------------------------------------------------ */

/* USERS users on lines FIRST.., the first an admin; pbx-sim without traffic
 * of its own (the journal is filled by a burst); journal-sqlite. */
static harness *start_ucd(int port)
{
    harness *h = harness_new(NULL);
    char *lines = NULL;
    char *users = bench_write_users(h->dir, FIRST, USERS, HASH, "file:admins", &lines);
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[module pbx-sim]\nlines = %s\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module journal-sqlite]\n"
                                 "[module api-http]\nhttps_listen =\n"
                                 "http_listen = 127.0.0.1:%d\nadmin_group = file:admins\n",
                                 lines, users, port);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "api-http", "running"));
    g_free(body);
    g_free(users);
    g_free(lines);
    return h;
}

/* Runs generated calls to their end until the journal answers a full page
 * (the store writes in batches, a moment after the calls end). */
static void fill_journal(harness *h, SoupSession *session, int port, const char *token)
{
    const char *burst[] = {"sim", "burst", "400", NULL};
    json_node_free(harness_ok(h, burst));
    char *url = g_strdup_printf("http://127.0.0.1:%d/api/v1/journal?limit=50", port);
    for (int round = 0; round < 300; round++) {
        GBytes *resp = bench_fetch(session, "GET", url, token, NULL);
        JsonNode *root = NULL;
        guint items = json_array_get_length(
            json_object_get_array_member(bench_parse_object(resp, &root), "items"));
        json_node_unref(root);
        g_bytes_unref(resp);
        if (items >= 50) {
            g_free(url);
            return;
        }
        g_usleep(100 * 1000);
    }
    g_error("the journal holds fewer than 50 conversations 30 s after a burst of 400 calls");
}

/* ---- the clients: raw sockets, epoll ---------------------------------------- */

/* The start of each round that is not counted (load_round). */
#define ROUND_WARM_US (300 * 1000)

typedef struct conn {
    int fd;
    GByteArray *in;
    gint64 sent_us; /* when the request in flight went out; 0: none */
} conn;

typedef struct load {
    struct sockaddr_in to;
    char *request;
    gsize request_length;
    gsize body_length; /* what every answer must carry */
    conn *conns;
    int count;
    int epoll;
    gboolean measuring;
    gboolean sending;
    long answered;     /* while measuring */
    gint64 elapsed_us; /* measured, over all rounds */
    long wrong;        /* answers not 200 or of another length, ever */
    GArray *latency_us;
} load;

typedef struct result {
    double per_second;
    double p50_ms;
    double p99_ms;
    long wrong;
} result;

/* The length of the complete response at the start of `data`, 0 when more
 * is needed, -1 when it is no HTTP response. Content-Length or chunked. */
static gssize response_length(const guint8 *data, gsize length, guint *status, gsize *body)
{
    const char *text = (const char *)data;
    const char *end = g_strstr_len(text, (gssize)length, "\r\n\r\n");
    if (end == NULL)
        return length > 65536 ? -1 : 0;
    gsize head = (gsize)(end - text) + 4;
    if (length < 12 || strncmp(text, "HTTP/1.1 ", 9) != 0)
        return -1;
    *status = (guint)atoi(text + 9);
    char *headers = g_ascii_strdown(text, (gssize)head);
    const char *cl = strstr(headers, "\r\ncontent-length:");
    gboolean chunked = strstr(headers, "\r\ntransfer-encoding: chunked") != NULL;
    gsize content = cl != NULL ? (gsize)g_ascii_strtoull(cl + 17, NULL, 10) : 0;
    g_free(headers);
    if (!chunked) {
        *body = content;
        return length >= head + content ? (gssize)(head + content) : 0;
    }
    gsize at = head;
    *body = 0;
    for (;;) {
        const char *line_end = g_strstr_len(text + at, (gssize)(length - at), "\r\n");
        if (line_end == NULL)
            return 0;
        gsize size = (gsize)g_ascii_strtoull(text + at, NULL, 16);
        at = (gsize)(line_end - text) + 2;
        if (length < at + size + 2)
            return 0;
        at += size + 2;
        *body += size;
        if (size == 0)
            return (gssize)at;
    }
}

static void send_request(load *l, conn *c)
{
    gsize done = 0;
    while (done < l->request_length) {
        ssize_t n = send(c->fd, l->request + done, l->request_length - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            g_error("send: %s", g_strerror(errno));
        done += (gsize)n;
    }
    c->sent_us = g_get_monotonic_time();
}

static void on_readable(load *l, conn *c)
{
    guint8 buffer[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            g_error("the server closed a keep-alive connection (%s)",
                    n < 0 ? g_strerror(errno) : "end of stream");
        g_byte_array_append(c->in, buffer, (guint)n);
    }
    for (;;) {
        guint status = 0;
        gsize body = 0;
        gssize whole = response_length(c->in->data, c->in->len, &status, &body);
        if (whole < 0)
            g_error("not an HTTP/1.1 response: %.*s", (int)MIN(c->in->len, 200), c->in->data);
        if (whole == 0)
            return;
        gint64 now = g_get_monotonic_time();
        if (status != 200 || body != l->body_length)
            l->wrong++;
        if (l->measuring) {
            gint64 took = now - c->sent_us;
            g_array_append_val(l->latency_us, took);
            l->answered++;
        }
        g_byte_array_remove_range(c->in, 0, (guint)whole);
        c->sent_us = 0;
        if (l->sending)
            send_request(l, c);
    }
}

static void poll_for(load *l, gint64 until_us)
{
    struct epoll_event events[256];
    while (g_get_monotonic_time() < until_us) {
        int n = epoll_wait(l->epoll, events, G_N_ELEMENTS(events), 20);
        for (int i = 0; i < n; i++)
            on_readable(l, &l->conns[events[i].data.u32]);
    }
}

/* CLIENTS connections to `address:port`, each asking for `path` when its
 * load runs a round. */
static void load_open(load *l, const char *address, int port, const char *path, const char *token,
                      gsize body_length, int clients)
{
    *l = (load){.count = clients,
                .body_length = body_length,
                .epoll = epoll_create1(EPOLL_CLOEXEC),
                .conns = g_new0(conn, clients),
                .latency_us = g_array_new(FALSE, FALSE, sizeof(gint64))};
    l->to.sin_family = AF_INET;
    l->to.sin_port = htons((guint16)port);
    g_assert_cmpint(inet_pton(AF_INET, address, &l->to.sin_addr), ==, 1);
    l->request = g_strdup_printf("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                                 "Accept: application/json\r\n\r\n",
                                 path, address, port, token);
    l->request_length = strlen(l->request);
    for (int i = 0; i < clients; i++) {
        conn *c = &l->conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&l->to, sizeof l->to) != 0)
            g_error("connect %s:%d: %s", address, port, g_strerror(errno));
        c->in = g_byte_array_new();
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (guint32)i};
        g_assert_cmpint(epoll_ctl(l->epoll, EPOLL_CTL_ADD, c->fd, &ev), ==, 0);
    }
}

/* Every client asks again and again: for ROUND_WARM_US not counted (the
 * requests of a round start all at once, their answers need a moment to
 * come back at the server's steady pace; a slow server's first answers
 * would otherwise fall mostly outside a short round), then for `us`
 * microseconds counted when `measure`; then the answers in flight arrive
 * before the round ends, so no server works during the other's round. */
static void load_round(load *l, gint64 us, gboolean measure)
{
    l->sending = TRUE;
    for (int i = 0; i < l->count; i++)
        send_request(l, &l->conns[i]);
    poll_for(l, g_get_monotonic_time() + ROUND_WARM_US);
    l->measuring = measure;
    gint64 start = g_get_monotonic_time();
    poll_for(l, start + us);
    if (measure)
        l->elapsed_us += g_get_monotonic_time() - start;
    l->sending = FALSE;
    l->measuring = FALSE;
    gint64 drain_end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    for (;;) {
        gboolean busy = FALSE;
        for (int i = 0; i < l->count; i++)
            busy |= l->conns[i].sent_us != 0;
        if (!busy)
            break;
        if (g_get_monotonic_time() > drain_end)
            g_error("answers still missing 5 s after a round");
        poll_for(l, g_get_monotonic_time() + 20 * 1000);
    }
}

static result load_close(load *l)
{
    bench_sort_us(l->latency_us);
    result r = {.per_second = l->elapsed_us > 0 ? l->answered / (l->elapsed_us / 1e6) : 0,
                .p50_ms = bench_percentile_ms(l->latency_us, 0.50),
                .p99_ms = bench_percentile_ms(l->latency_us, 0.99),
                .wrong = l->wrong};
    for (int i = 0; i < l->count; i++) {
        close(l->conns[i].fd);
        g_byte_array_unref(l->conns[i].in);
    }
    close(l->epoll);
    g_free(l->conns);
    g_free(l->request);
    g_array_unref(l->latency_us);
    return r;
}

/* ---- main ------------------------------------------------------------------- */

static void compare(const char *what, const char *api_path, const char *static_name, int port,
                    harness_peer *nginx, SoupSession *session, const char *token, int clients,
                    int seconds)
{
    char *url = g_strdup_printf("http://127.0.0.1:%d%s", port, api_path);
    GBytes *body = bench_fetch(session, "GET", url, token, NULL);
    gsize length = g_bytes_get_size(body);
    char *file = g_build_filename(harness_peer_get(nginx, "NGINX_STATIC_DIR"), static_name, NULL);
    g_assert_true(g_file_set_contents(file, g_bytes_get_data(body, NULL), (gssize)length, NULL));
    g_assert_cmpint(g_chmod(file, 0644), ==, 0);

    const char *static_url = harness_peer_get(nginx, "NGINX_STATIC_URL");
    int static_port = atoi(strrchr(static_url, ':') + 1);
    char *static_path = g_strdup_printf("/%s", static_name);
    int soup_port;
    GSubprocess *soup = bench_start_soup_static(file, &soup_port);
    load ucd_load, ngx_load, soup_load;
    load_open(&ucd_load, "127.0.0.1", port, api_path, token, length, clients);
    load_open(&ngx_load, harness_peer_get(nginx, "NGINX_ADDR"), static_port, static_path, token,
              length, clients);
    load_open(&soup_load, "127.0.0.1", soup_port, static_path, token, length, clients);
    /* Rounds of a second, taken in turn: a change of the machine's load
     * (other jobs on the shared cores) falls on every server alike. */
    load_round(&ucd_load, G_USEC_PER_SEC, FALSE);
    load_round(&ngx_load, G_USEC_PER_SEC, FALSE);
    load_round(&soup_load, G_USEC_PER_SEC, FALSE);
    for (int round = 0; round < seconds; round++) {
        load_round(&ucd_load, G_USEC_PER_SEC, TRUE);
        load_round(&ngx_load, G_USEC_PER_SEC, TRUE);
        load_round(&soup_load, G_USEC_PER_SEC, TRUE);
    }
    result ucd = load_close(&ucd_load);
    result ngx = load_close(&ngx_load);
    result lib = load_close(&soup_load);
    g_subprocess_force_exit(soup);
    g_subprocess_wait(soup, NULL, NULL);
    g_object_unref(soup);
    char *loadavg = bench_load_text();
    printf("bench-api-rest: %-28s %6zu B | ucd %8.0f req/s p50 %6.2f ms p99 %6.2f ms | "
           "nginx %8.0f req/s p50 %6.2f ms p99 %6.2f ms | ucd/nginx %.2f (target >= 0.5)%s | "
           "load %.14s\n",
           what, length, ucd.per_second, ucd.p50_ms, ucd.p99_ms, ngx.per_second, ngx.p50_ms,
           ngx.p99_ms, ngx.per_second > 0 ? ucd.per_second / ngx.per_second : 0.0,
           ucd.wrong + ngx.wrong > 0 ? " WRONG ANSWERS" : "", loadavg);
    printf("bench-api-rest: %-28s %6zu B | libsoup alone %8.0f req/s p50 %6.2f ms p99 %6.2f ms | "
           "libsoup/nginx %.2f | ucd/libsoup %.2f\n",
           what, length, lib.per_second, lib.p50_ms, lib.p99_ms,
           ngx.per_second > 0 ? lib.per_second / ngx.per_second : 0.0,
           lib.per_second > 0 ? ucd.per_second / lib.per_second : 0.0);
    g_free(loadavg);
    if (ucd.wrong + ngx.wrong + lib.wrong > 0)
        g_error("%ld answers from ucd, %ld from nginx and %ld from libsoup alone were not 200 "
                "with %zu bytes",
                ucd.wrong, ngx.wrong, lib.wrong, length);
    g_free(static_path);
    g_free(file);
    g_bytes_unref(body);
    g_free(url);
}

int main(int argc, char **argv)
{
    int clients = argc > 1 ? atoi(argv[1]) : 100;
    int seconds = argc > 2 ? atoi(argv[2]) : 5;
    const char *only = argc > 3 ? argv[3] : NULL;
    if (clients < 1 || clients > 10000 || seconds < 1 ||
        (only && strcmp(only, "presence") != 0 && strcmp(only, "journal") != 0)) {
        fprintf(stderr, "usage: bench-api-rest [CLIENTS 1..10000] [SECONDS] [presence|journal]\n");
        return 2;
    }
    int port = bench_free_port();
    harness *h = start_ucd(port);
    char *upstream = g_strdup_printf("127.0.0.1:%d", port);
    const char *nginx_args[] = {upstream, NULL};
    harness_peer *nginx =
        harness_peer_start(harness_env("UCD_NGINX_SCRIPT"), "NGINX_DIR", nginx_args);
    if (nginx == NULL) {
        fprintf(stderr, "bench-api-rest: no nginx (./dev deps installs it)\n");
        harness_stop(h);
        harness_free(h);
        return 77;
    }
    SoupSession *session = soup_session_new();
    char *token = bench_login(session, port, FIRST, PASSWORD);
    if (only == NULL || strcmp(only, "journal") == 0)
        fill_journal(h, session, port, token);
    printf("bench-api-rest: %d clients, one keep-alive connection and one request in flight "
           "each; ucd and nginx in turns of 1 s, %d measured each after 1 s of warm-up; nginx: "
           "1 worker, static files of ucd's answers\n",
           clients, seconds);
    if (only == NULL || strcmp(only, "presence") == 0)
        compare("GET /presence", "/api/v1/presence", "presence.json", port, nginx, session, token,
                clients, seconds);
    if (only == NULL || strcmp(only, "journal") == 0)
        compare("GET /journal?limit=50", "/api/v1/journal?limit=50", "journal.json", port, nginx,
                session, token, clients, seconds);
    g_object_unref(session);
    g_free(token);
    harness_peer_stop(nginx);
    g_free(upstream);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    return 0;
}
