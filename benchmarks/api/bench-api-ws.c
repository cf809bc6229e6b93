/*
 * bench-api-ws.c - the WebSocket event stream under many clients: N clients
 * (default 10,000) on loopback, each logged in as one of 50 users and
 * subscribed to presence, which shows them the presence of all 50 users
 * (permissions: default public). pbx-sim's generator makes calls on the
 * 50 users' lines, so presence changes; the core publishes each change on
 * the bus, which stamps it (time_ms), and every client that receives it
 * notes the receive time. Printed:
 *   - the fan-out latency bus -> socket read, p50/p99/max over every
 *     (event, client) pair; the client side is one thread with epoll on
 *     the same two cores, so its own queueing is included;
 *   - events received per client, min and max: a starved client would show
 *     a lower minimum (every client sees the same events);
 *   - ucd's resident memory before and after connecting the N idle clients,
 *     divided by N;
 *   - clients the server dropped as too slow;
 *   - the floor of this machine for the same fan-out (the reference, as
 *     nginx is for the REST benchmark): after ucd stopped, a plain sender
 *     (a thread with blocking accept and one send() per client per event;
 *     no main loop, no WebSocket library) gets the same number of new
 *     loopback connections, read by the same epoll reader, and sends the
 *     very messages ucd sent (their text as the first client received
 *     them) at the same moments relative to each other, each stamped with
 *     the time its fan-out starts. Its p50/p99 is what the kernel alone
 *     allows here; ucd cannot do better on the same cores.
 * Never asserts a time. Raises its open-files limit to the hard limit (ucd
 * inherits it) and says what it got; fewer clients when that is too low.
 *
 *   bench-api-ws [CLIENTS] [SECONDS] [CALLS_PER_HOUR] [UCD_CLIENTS]
 *   (10000 30 3600 CLIENTS): UCD_CLIENTS < CLIENTS gives ucd fewer clients
 *   than the reference (which replays what ucd sent to its clients), to
 *   see the floor at CLIENTS without the minutes of connecting them to ucd.
 *
 * Needs meson's environment (UCD_BIN, UCD_TEST_PLUGIN_PATH, UCD_PASSWD_BIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include <libsoup/soup.h>

#include "bench-api-util.h"
#include "harness.h"

#define USERS     50
#define FIRST     201
#define PASSWORD  "bench-pw"
#define HANDSHAKE "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

/* ---- the daemon ---------------------------------------------------------- */

/* A cheap hash of PASSWORD (1,000 rounds: 50 logins must not take a
 * minute), made by the real ucd-passwd. */
static char *password_hash(void)
{
    const char *bin = g_getenv("UCD_PASSWD_BIN");
    g_assert_nonnull(bin);
    GError *error = NULL;
    GSubprocess *p =
        g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                         bin, "--iterations", "1000", NULL);
    g_assert_no_error(error);
    char *out = NULL;
    g_assert_true(g_subprocess_communicate_utf8(p, PASSWORD "\n", NULL, &out, NULL, &error));
    g_assert_no_error(error);
    g_object_unref(p);
    return g_strstrip(out);
}

static harness *start_ucd(int port, double calls_per_hour)
{
    harness *h = harness_new(NULL);
    char *hash = password_hash();
    char *lines = NULL;
    char *users = bench_write_users(h->dir, FIRST, USERS, hash, NULL, &lines);
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[module pbx-sim:office]\nlines = %s\n"
                                 "calls_per_hour = %.0f\nweight_outbound = 0.2\n"
                                 "weight_inbound = 0.6\nring_time_min = 1s\n"
                                 "ring_time_max = 4s\ntalk_time_min = 2s\ntalk_time_max = 20s\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module api-http]\nhttps_listen =\n"
                                 "http_listen = 127.0.0.1:%d\n"
                                 "max_connections_per_address = 100000\n",
                                 lines, calls_per_hour, users, port);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "api-http", "running"));
    g_free(body);
    g_free(users);
    g_free(lines);
    g_free(hash);
    return h;
}

static long rss_kib(harness *h)
{
    char *path = g_strdup_printf("/proc/%s/status", g_subprocess_get_identifier(h->proc));
    char *text = NULL;
    long kib = -1;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        const char *at = strstr(text, "VmRSS:");
        if (at)
            kib = atol(at + 6);
    }
    g_free(text);
    g_free(path);
    return kib;
}

/* The CPU seconds (user + system) ucd has used so far. */
static double cpu_s(harness *h)
{
    char *path = g_strdup_printf("/proc/%s/stat", g_subprocess_get_identifier(h->proc));
    char *text = NULL;
    double s = -1;
    /* Fields 14 and 15 (utime, stime) come after the name's closing paren. */
    const char *at = g_file_get_contents(path, &text, NULL, NULL) ? strrchr(text, ')') : NULL;
    unsigned long utime = 0, stime = 0;
    if (at &&
        sscanf(at + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    g_free(text);
    g_free(path);
    return s;
}

static long counter(harness *h, const char *name)
{
    const char *argv[] = {"counters", NULL};
    JsonNode *r = harness_ok(h, argv);
    const char *v = harness_cell(r, name, "value");
    long n = v ? atol(v) : -1;
    json_node_free(r);
    return n;
}

/* ---- the clients: raw sockets, epoll ------------------------------------- */

typedef enum { C_CONNECTING, C_UPGRADING, C_SUBSCRIBING, C_LIVE, C_CLOSED } client_state;

typedef struct client {
    int fd;
    client_state state;
    GByteArray *in;
    long events;
    guint close_code;
} client;

typedef struct bench {
    client *clients;
    int count;
    int epoll;
    int subscribed;
    int closed;
    int refused; /* closed or reset before they subscribed */
    gboolean measuring;
    gboolean reference; /* the clients of the reference: no upgrade, no subscribe */
    GArray *latency_us; /* gint64 */
    GHashTable *sent;   /* seq -> ucd_message: what ucd sent, for the reference */
} bench;

/* One event as ucd sent it: the bus's stamp and the message's text. */
typedef struct ucd_message {
    gint64 time_ms;
    char *text;
    gsize len;
} ucd_message;

static void ucd_message_free(gpointer data)
{
    ucd_message *m = data;
    g_free(m->text);
    g_free(m);
}

/* FALSE when the server closed or reset the connection. */
static gboolean send_all(int fd, const void *data, gsize len)
{
    const char *p = data;
    while (len > 0) {
        gssize n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            g_usleep(100);
            continue;
        }
        if (n <= 0)
            return FALSE;
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static gboolean send_text(int fd, const char *text)
{
    guint8 frame[256];
    gsize n = strlen(text);
    g_assert_cmpuint(n, <, 126);
    const guint8 mask[4] = {7, 1, 2, 9};
    frame[0] = 0x81;
    frame[1] = 0x80 | (guint8)n;
    memcpy(frame + 2, mask, 4);
    for (gsize i = 0; i < n; i++)
        frame[6 + i] = (guint8)text[i] ^ mask[i % 4];
    return send_all(fd, frame, 6 + n);
}

/* Opens a client; each block of 200 comes from its own 127.0.0.x, as the
 * server counts connections per address. */
static void client_open(bench *b, int i, int port)
{
    client *c = &b->clients[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    g_assert_cmpint(c->fd, >=, 0);
    struct sockaddr_in local = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(0x7f000002u + (guint32)(i / 200))};
    g_assert_cmpint(bind(c->fd, (struct sockaddr *)&local, sizeof local), ==, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
    g_assert_true(rc == 0 || errno == EINPROGRESS);
    c->state = C_CONNECTING;
    c->in = g_byte_array_new();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (guint32)i};
    g_assert_cmpint(epoll_ctl(b->epoll, EPOLL_CTL_ADD, c->fd, &ev), ==, 0);
}

static gint64 json_int_after(const char *text, gsize len, const char *key)
{
    const char *at = g_strstr_len(text, (gssize)len, key);
    return at ? g_ascii_strtoll(at + strlen(key), NULL, 10) : -1;
}

/* One complete text message from the server. */
static void on_message(bench *b, client *c, const char *text, gsize len, gint64 now_us)
{
    if (c->state == C_SUBSCRIBING && g_strstr_len(text, (gssize)len, "\"op\":\"subscribed\"")) {
        c->state = C_LIVE;
        b->subscribed++;
        return;
    }
    if (!g_strstr_len(text, (gssize)len, "\"kind\":\"presence\""))
        return;
    if (!b->measuring)
        return;
    c->events++;
    gint64 t = json_int_after(text, len, "\"time_ms\":");
    if (t > 0) {
        gint64 lat = now_us - t * 1000;
        g_array_append_val(b->latency_us, lat);
    }
    gint64 seq = json_int_after(text, len, "\"seq\":");
    if (b->sent && t > 0 && seq > 0 && !g_hash_table_contains(b->sent, GSIZE_TO_POINTER(seq))) {
        ucd_message *m = g_new0(ucd_message, 1);
        m->time_ms = t;
        m->text = g_strndup(text, len);
        m->len = len;
        g_hash_table_insert(b->sent, GSIZE_TO_POINTER(seq), m);
    }
}

static void parse_frames(bench *b, client *c, gint64 now_us)
{
    gsize at = 0;
    GByteArray *in = c->in;
    while (in->len - at >= 2) {
        guint8 op = in->data[at] & 0x0f;
        guint64 len = in->data[at + 1] & 0x7f;
        gsize head = 2;
        if (len == 126) {
            if (in->len - at < 4)
                break;
            len = ((guint64)in->data[at + 2] << 8) | in->data[at + 3];
            head = 4;
        } else if (len == 127) {
            if (in->len - at < 10)
                break;
            len = 0;
            for (int k = 0; k < 8; k++)
                len = (len << 8) | in->data[at + 2 + k];
            head = 10;
        }
        if (in->len - at < head + len)
            break;
        const char *payload = (const char *)in->data + at + head;
        if (op == 0x1)
            on_message(b, c, payload, len, now_us);
        else if (op == 0x8 && len >= 2)
            c->close_code = ((guint)(guint8)payload[0] << 8) | (guint8)payload[1];
        at += head + len;
    }
    g_byte_array_remove_range(in, 0, (guint)at);
}

static void client_close(bench *b, client *c)
{
    if (c->state == C_CLOSED)
        return;
    epoll_ctl(b->epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_CLOSED;
    b->closed++;
}

static void on_ready(bench *b, int i, guint32 events, int port, char **tokens)
{
    client *c = &b->clients[i];
    if (c->state == C_CONNECTING && (events & EPOLLOUT) && b->reference) {
        c->state = C_SUBSCRIBING; /* the reference says "subscribed" unasked */
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (guint32)i};
        epoll_ctl(b->epoll, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    if (c->state == C_CONNECTING && (events & EPOLLOUT)) {
        char *req = g_strdup_printf("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                    "Upgrade: websocket\r\nConnection: Upgrade\r\n" HANDSHAKE
                                    "Authorization: Bearer %s\r\n\r\n",
                                    port, tokens[i % USERS]);
        gboolean sent = send_all(c->fd, req, strlen(req));
        g_free(req);
        if (!sent) {
            b->refused++;
            client_close(b, c);
            return;
        }
        c->state = C_UPGRADING;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (guint32)i};
        epoll_ctl(b->epoll, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    guint8 buf[65536];
    gint64 now_us = g_get_real_time();
    for (;;) {
        gssize n = read(c->fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            if (c->state != C_LIVE)
                b->refused++;
            client_close(b, c);
            return;
        }
        if (n < 0)
            break;
        g_byte_array_append(c->in, buf, (guint)n);
    }
    if (c->state == C_UPGRADING) {
        const char *end = g_strstr_len((const char *)c->in->data, c->in->len, "\r\n\r\n");
        if (end == NULL)
            return;
        if (strncmp((const char *)c->in->data, "HTTP/1.1 101", 12) != 0)
            g_error("client %d: the upgrade failed: %.*s", i, (int)c->in->len,
                    (const char *)c->in->data);
        g_byte_array_remove_range(c->in, 0, (guint)(end + 4 - (const char *)c->in->data));
        c->state = C_SUBSCRIBING;
        if (!send_text(c->fd, "{\"op\":\"subscribe\",\"kinds\":[\"presence\"]}")) {
            b->refused++;
            client_close(b, c);
            return;
        }
    }
    parse_frames(b, c, now_us);
}

static void poll_once(bench *b, int timeout_ms, int port, char **tokens)
{
    struct epoll_event events[1024];
    int n = epoll_wait(b->epoll, events, G_N_ELEMENTS(events), timeout_ms);
    for (int k = 0; k < n; k++)
        on_ready(b, (int)events[k].data.u32, events[k].events, port, tokens);
}

/* Opens `count` clients on `port`, at most `in_flight` of them connecting
 * at a time, and waits until each is subscribed or closed; the seconds it
 * took. */
static double connect_clients(bench *b, int count, int in_flight, int port, char **tokens)
{
    gint64 t0 = g_get_monotonic_time();
    int opened = 0;
    while (b->subscribed + b->closed < count) {
        while (opened < count && opened - (b->subscribed + b->closed) < in_flight)
            client_open(b, opened++, port);
        poll_once(b, 100, port, tokens);
        if (g_get_monotonic_time() - t0 > 600 * G_USEC_PER_SEC)
            g_error("only %d of %d clients subscribed after 600 s", b->subscribed, count);
    }
    return (g_get_monotonic_time() - t0) / 1e6;
}

/* Reads for `seconds`, then 2 s more for what is in flight, counting. */
static void measure(bench *b, int seconds, int port, char **tokens)
{
    b->measuring = TRUE;
    gint64 end = g_get_monotonic_time() + ((gint64)seconds + 2) * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < end)
        poll_once(b, 50, port, tokens);
    b->measuring = FALSE;
}

/* The load averages, for the figures' conditions. */
static void print_load(const char *when)
{
    char *load = bench_load_text();
    printf("bench-api-ws: load average %s: %s\n", when, load);
    g_free(load);
}

/* Events per client (min, max over the live ones) and the percentiles. */
static void report(bench *b, const char *who, const char *dropped_what, int seconds,
                   double calls_per_hour, long sent, long dropped)
{
    long min = G_MAXLONG, max = 0, live = 0;
    for (int i = 0; i < b->count; i++) {
        if (b->clients[i].state != C_LIVE)
            continue;
        live++;
        min = MIN(min, b->clients[i].events);
        max = MAX(max, b->clients[i].events);
    }
    bench_sort_us(b->latency_us);
    printf("bench-api-ws: %s: %d s of traffic at %.0f calls/h on %d lines: %u presence "
           "deliveries (%ld messages sent, %.0f/s); per client min %ld max %ld events "
           "(%ld clients live, %ld %s)\n",
           who, seconds, calls_per_hour, USERS, b->latency_us->len, sent, sent / (seconds + 2.0),
           live ? min : 0, max, live, dropped, dropped_what);
    printf("bench-api-ws: %s: fan-out latency -> client read: p50 %.1f ms, p99 %.1f ms, "
           "max %.1f ms (target p99 < 50 ms)\n",
           who, bench_percentile_ms(b->latency_us, 0.50), bench_percentile_ms(b->latency_us, 0.99),
           bench_percentile_ms(b->latency_us, 1.0));
}

static void bench_clear(bench *b)
{
    for (int i = 0; i < b->count; i++) {
        client_close(b, &b->clients[i]);
        if (b->clients[i].in)
            g_byte_array_free(b->clients[i].in, TRUE);
    }
    close(b->epoll);
    g_free(b->clients);
    g_array_free(b->latency_us, TRUE);
}

static bench bench_new(int count)
{
    return (bench){.clients = g_new0(client, count),
                   .count = count,
                   .epoll = epoll_create1(0),
                   .latency_us = g_array_new(FALSE, FALSE, sizeof(gint64))};
}

/* ---- the reference: the same fan-out with nothing but send() ------------- */

typedef struct reference {
    int listener;
    int port;
    int count;
    int *fds;
    GPtrArray *messages; /* ucd_message*, in seq order (not owned) */
    long sent;
    long short_writes; /* a send that took less than the frame (never seen) */
} reference;

/* A server frame: FIN + text, the length, the payload; unmasked. */
static GByteArray *frame_of(const char *text, gsize len)
{
    GByteArray *f = g_byte_array_sized_new((guint)len + 4);
    guint8 head[4] = {0x81, 0, 0, 0};
    guint head_len = 2;
    if (len < 126) {
        head[1] = (guint8)len;
    } else {
        g_assert_cmpuint(len, <, 65536);
        head[1] = 126;
        head[2] = (guint8)(len >> 8);
        head[3] = (guint8)len;
        head_len = 4;
    }
    g_byte_array_append(f, head, head_len);
    g_byte_array_append(f, (const guint8 *)text, (guint)len);
    return f;
}

/* Writes the current time in ms over the 13 digits after "time_ms": in
 * the frame (same length: the stamp has 13 digits until 2286). */
static void stamp(GByteArray *frame, gsize at)
{
    char digits[32];
    g_snprintf(digits, sizeof digits, "%013" G_GINT64_FORMAT, g_get_real_time() / 1000);
    memcpy(frame->data + at, digits, 13);
}

/* The reference's process: accepts its clients, waits for the word go,
 * sends, and answers with what it sent. */
static void reference_run(reference *r, int go_fd, int result_fd)
{
    const char *hello = "{\"op\":\"subscribed\",\"kinds\":[\"presence\"],\"seq\":0}";
    GByteArray *welcome = frame_of(hello, strlen(hello));
    for (int i = 0; i < r->count; i++) {
        int fd = accept(r->listener, NULL, NULL);
        g_assert_cmpint(fd, >=, 0);
        /* As libsoup does on its sockets. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        g_assert_cmpint(send(fd, welcome->data, welcome->len, MSG_NOSIGNAL), ==, welcome->len);
        r->fds[i] = fd;
    }
    g_byte_array_free(welcome, TRUE);
    char go;
    g_assert_cmpint(read(go_fd, &go, 1), ==, 1);

    gint64 t0 = g_get_real_time();
    gint64 first_ms = r->messages->len ? ((ucd_message *)r->messages->pdata[0])->time_ms : 0;
    for (guint k = 0; k < r->messages->len; k++) {
        ucd_message *m = r->messages->pdata[k];
        GByteArray *frame = frame_of(m->text, m->len);
        const char *key = "\"time_ms\":";
        const guint8 *at = memmem(frame->data, frame->len, key, strlen(key));
        g_assert_nonnull(at);
        gsize stamp_at = (gsize)(at - frame->data) + strlen(key);
        gint64 due = t0 + (m->time_ms - first_ms) * 1000;
        gint64 now = g_get_real_time();
        if (due > now)
            g_usleep((gulong)(due - now));
        stamp(frame, stamp_at);
        for (int i = 0; i < r->count; i++) {
            gssize n = send(r->fds[i], frame->data, frame->len, MSG_NOSIGNAL | MSG_DONTWAIT);
            r->sent += n > 0;
            r->short_writes += n != (gssize)frame->len;
        }
        g_byte_array_free(frame, TRUE);
    }
    long result[2] = {r->sent, r->short_writes};
    g_assert_cmpint(write(result_fd, result, sizeof result), ==, sizeof result);
    /* The connections stay open until the readers are done counting. */
    while (read(go_fd, &go, 1) > 0)
        ;
}

static int cmp_time(gconstpointer a, gconstpointer b)
{
    gint64 x = (*(ucd_message *const *)a)->time_ms, y = (*(ucd_message *const *)b)->time_ms;
    return x < y ? -1 : x > y;
}

/* The reference with `count` clients and what ucd sent. Its sender is a
 * process of its own, as ucd is (and the descriptors of both ends would
 * not fit under one process's limit). */
static void run_reference(int count, GHashTable *ucd_sent, int seconds, double calls_per_hour)
{
    reference r = {.count = count, .fds = g_new0(int, count)};
    r.port = bench_free_port();
    r.listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(r.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    g_assert_cmpint(bind(r.listener, (struct sockaddr *)&sa, sizeof sa), ==, 0);
    g_assert_cmpint(listen(r.listener, 4096), ==, 0);
    r.messages = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, ucd_sent);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(r.messages, value);
    g_ptr_array_sort(r.messages, cmp_time);
    int go[2], result[2];
    g_assert_cmpint(pipe(go), ==, 0);
    g_assert_cmpint(pipe(result), ==, 0);
    fflush(stdout);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        /* Without its own copy of the write end, it sees the end of the
         * parent's words. */
        close(go[1]);
        close(result[0]);
        reference_run(&r, go[0], result[1]);
        _exit(0);
    }
    close(r.listener);
    close(go[0]);
    close(result[1]);

    bench b = bench_new(count);
    b.reference = TRUE;
    double connect_s = connect_clients(&b, count, 64, r.port, NULL);
    printf("bench-api-ws: reference: %d clients connected in %.1f s; replaying the %u events "
           "ucd sent, at their times\n",
           b.subscribed, connect_s, r.messages->len);
    g_assert_cmpint(write(go[1], "g", 1), ==, 1);
    measure(&b, seconds, r.port, NULL);
    long sent[2] = {0, 0};
    if (read(result[0], sent, sizeof sent) != sizeof sent)
        g_error("the reference's sender failed");
    print_load("after the reference's traffic");
    report(&b, "reference (plain send())", "short writes", seconds, calls_per_hour, sent[0],
           sent[1]);
    bench_clear(&b);
    close(go[1]);
    close(result[0]);
    struct rusage ru;
    wait4(pid, NULL, 0, &ru);
    double cpu =
        ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("bench-api-ws: reference: its sender's CPU (accepting too) %.1f s, %.1f us per "
           "message sent\n",
           cpu, sent[0] > 0 ? cpu * 1e6 / sent[0] : 0.0);
    g_free(r.fds);
    g_ptr_array_free(r.messages, TRUE);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int wanted = argc > 1 ? atoi(argv[1]) : 10000;
    int seconds = argc > 2 ? atoi(argv[2]) : 30;
    double calls_per_hour = argc > 3 ? atof(argv[3]) : 3600;
    int wanted_ucd = argc > 4 ? atoi(argv[4]) : wanted;

    /* Every client is a descriptor here and one in ucd (which inherits the
     * limit): raise the soft limit to the hard one. */
    struct rlimit rl;
    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = before;
    int clients = (int)MIN((rlim_t)wanted, rl.rlim_cur > 200 ? rl.rlim_cur - 200 : 0);
    int ucd_clients = CLAMP(wanted_ucd, 1, clients);
    printf("bench-api-ws: open files limit %lu (was %lu, hard %lu): %d clients%s\n",
           (unsigned long)rl.rlim_cur, (unsigned long)before, (unsigned long)rl.rlim_max, clients,
           clients < wanted ? " (fewer than asked: the limit)" : "");

    print_load("at the start");
    int port = bench_free_port();
    harness *h = start_ucd(port, calls_per_hour);
    SoupSession *session = soup_session_new();
    char *tokens[USERS];
    for (int u = 0; u < USERS; u++)
        tokens[u] = bench_login(session, port, FIRST + u, PASSWORD);
    g_object_unref(session);

    g_usleep(G_USEC_PER_SEC);
    long rss0 = rss_kib(h);
    bench b = bench_new(ucd_clients);
    b.sent = g_hash_table_new_full(NULL, NULL, NULL, ucd_message_free);
    /* At most 8 handshakes at a time: libsoup listens with GLib's default
     * backlog (10), and a SYN beyond it waits a second to be sent again. */
    double connect_s = connect_clients(&b, ucd_clients, 8, port, tokens);
    if (b.refused > 0) {
        char *log = harness_log(h);
        gsize len = strlen(log);
        printf("bench-api-ws: %d clients refused; the end of ucd's log:\n%s\n", b.refused,
               log + (len > 2000 ? len - 2000 : 0));
        g_free(log);
    }
    /* Idle for a moment: what the clients cost at rest (memory, and the
     * CPU of main-loop turns over every client's sources). */
    double cpu0 = cpu_s(h);
    for (int k = 0; k < 100; k++)
        poll_once(&b, 50, port, tokens);
    double idle_cpu = (cpu_s(h) - cpu0) / 5.0;
    long rss1 = rss_kib(h);
    printf("bench-api-ws: %d clients subscribed in %.1f s (%d refused); ucd RSS %ld KiB "
           "-> %ld KiB: %.1f KiB per idle client; ucd CPU idle %.0f %% of a core\n",
           b.subscribed, connect_s, b.refused, rss0, rss1,
           b.subscribed ? (double)(rss1 - rss0) / b.subscribed : 0.0, idle_cpu * 100);

    const char *on[] = {"sim-office", "traffic", "on", NULL};
    const char *off[] = {"sim-office", "traffic", "off", NULL};
    long sent0 = counter(h, "api-http.ws_events_sent");
    double cpu1 = cpu_s(h);
    json_node_free(harness_ok(h, on));
    /* Calls in progress go on after the generator is off: what arrives in
     * the 2 s after it still counts, then no more. */
    gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    b.measuring = TRUE;
    while (g_get_monotonic_time() < end)
        poll_once(&b, 50, port, tokens);
    json_node_free(harness_ok(h, off));
    measure(&b, 0, port, tokens);
    long sent = counter(h, "api-http.ws_events_sent") - sent0;
    long dropped = counter(h, "api-http.ws_dropped_slow");
    double traffic_cpu = (cpu_s(h) - cpu1) / (seconds + 2.0);
    print_load("after ucd's traffic");
    report(&b, "ucd", "dropped as slow", seconds, calls_per_hour, sent, dropped);
    printf("bench-api-ws: ucd: CPU during the traffic %.0f %% of a core (%.1f us per message "
           "sent)\n",
           traffic_cpu * 100, sent > 0 ? traffic_cpu * (seconds + 2.0) * 1e6 / sent : 0.0);
    bench_clear(&b);
    for (int u = 0; u < USERS; u++)
        g_free(tokens[u]);
    harness_stop(h);
    harness_free(h);

    run_reference(clients, b.sent, seconds, calls_per_hour);
    g_hash_table_destroy(b.sent);
    return 0;
}
