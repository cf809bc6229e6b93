/*
 * bench-sip-lines.c - lines monitored by one ucd against one real Kamailio:
 * how long until every line's dialog subscription is set up, and what a line
 * costs in memory.
 *
 * Kamailio comes from tests/peers/kamailio.sh with KAMAILIO_WATCHABLE letting
 * line0001... be watched. ucd runs pbx-sip with COUNT lines (and, for the
 * baseline, SMALL lines) plus the latency-tap fixture. Figures per run:
 *
 * - time from spawning ucd until `lines` (the control request behind
 *   `ucctl lines`) shows every line in a state other than unknown and
 *   out_of_service, polled every POLL_MS;
 * - the same to the tap's stamp of the last line's first line-state event,
 *   from the tap's start (which runs right after the driver's start: the
 *   SUBSCRIBEs are sent from there), without the polling's granularity;
 * - ucd's VmRSS and VmHWM once every line is up and things have settled,
 *   and Kamailio's shared memory in use (kamcmd core.shmmem);
 * - how many subscriptions the driver saw fail (its warnings) on the way;
 * - how many UDP datagrams the kernel dropped for a full receive buffer
 *   meanwhile (RcvbufErrors of /proc/net/snmp: system-wide, so anything else
 *   running counts too).
 * The per-line memory is the difference between COUNT and SMALL lines.
 *
 *   bench-sip-lines [COUNT]      (default 2000; env as for the e2e tests)
 *   BENCH_SIP_SETTLE_S=N         read the memory N s after all lines are up (2)
 *   BENCH_SIP_DUMP=FILE          "LINE SECONDS" when each line came up (last run)
 *   BENCH_SIP_WINDOW=N           pbx-sip's subscribe_window (its default when unset;
 *                                a value >= COUNT sends every SUBSCRIBE at once)
 * Exit 77 (skipped) without Kamailio/baresip outside CI.
 */
#include "sip-bench-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL           5
#define POLL_MS         50
#define UP_TIMEOUT_S    300
#define SETTLE_S        2
#define LINE_UNKNOWN    0
#define LINE_OUT_OF_SVC 6

typedef struct run_figures {
    int lines;
    guint up;            /* lines up when the wait ended */
    double spawn_to_up;  /* s, from spawning ucd, by polling `lines` */
    double driver_to_up; /* s, tap start to the last line's first event */
    long rss_kib, hwm_kib;
    long kamailio_shm; /* bytes in use, -1 when unknown */
    guint failures;    /* "subscription failed" warnings in ucd's log */
    long rcvbuf_drops; /* UDP RcvbufErrors during the run, -1 unknown */
} run_figures;

/* The kernel's count of UDP datagrams dropped for a full socket receive
 * buffer (the RcvbufErrors column of /proc/net/snmp's "Udp:" lines), -1 when
 * unknown. */
static long udp_rcvbuf_errors(void)
{
    char *text = NULL;
    long value = -1;
    if (!g_file_get_contents("/proc/net/snmp", &text, NULL, NULL))
        return -1;
    char **rows = g_strsplit(text, "\n", -1);
    for (guint i = 0; rows[i] != NULL && rows[i + 1] != NULL; i++) {
        if (!g_str_has_prefix(rows[i], "Udp: ") || !g_str_has_prefix(rows[i + 1], "Udp: "))
            continue;
        char **names = g_strsplit(rows[i], " ", -1);
        char **values = g_strsplit(rows[i + 1], " ", -1);
        for (guint k = 0; names[k] != NULL && values[k] != NULL; k++)
            if (strcmp(names[k], "RcvbufErrors") == 0)
                value = strtol(values[k], NULL, 10);
        g_strfreev(names);
        g_strfreev(values);
        break;
    }
    g_strfreev(rows);
    g_free(text);
    return value;
}

/* The value of field `name` of a control answer, NULL when absent (g_free). */
static char *answer_field(JsonObject *o, const char *name)
{
    JsonArray *fields =
        json_object_has_member(o, "fields") ? json_object_get_array_member(o, "fields") : NULL;
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (g_strcmp0(json_object_get_string_member(f, "name"), name) == 0)
            return g_strdup(json_object_get_string_member(f, "value"));
    }
    return NULL;
}

/* How many lines `lines` shows in a known, in-service state, over every page
 * (the listing is paged: its field "next" names the following one). */
static guint lines_up(harness *h)
{
    guint up = 0;
    char *after = NULL;
    do {
        const char *argv[] = {"lines", after ? "--after" : NULL, after, NULL};
        JsonNode *r = harness_request(h, argv);
        g_free(after);
        after = NULL;
        JsonObject *o = r ? json_node_get_object(r) : NULL;
        if (o != NULL && json_object_has_member(o, "rows")) {
            JsonArray *rows = json_object_get_array_member(o, "rows");
            for (guint i = 0; i < json_array_get_length(rows); i++) {
                const char *state =
                    json_array_get_string_element(json_array_get_array_element(rows, i), 4);
                up += g_strcmp0(state, "unknown") != 0 && g_strcmp0(state, "out_of_service") != 0;
            }
            after = answer_field(o, "next");
        }
        if (r)
            json_node_free(r);
    } while (after != NULL);
    return up;
}

/* Kamailio's shared memory in use ("real_used" of core.shmmem), -1 unknown. */
static long kamailio_shm_used(harness_peer *peer)
{
    char *sock = g_strdup_printf("unix:%s/kamailio_ctl", harness_peer_get(peer, "SIP_DIR"));
    const char *argv[] = {"kamcmd", "-s", sock, "core.shmmem", NULL};
    char *out = NULL;
    long used = -1;
    if (g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, NULL, NULL)) {
        const char *at = out ? strstr(out, "real_used:") : NULL;
        if (at != NULL)
            used = strtol(at + strlen("real_used:"), NULL, 10);
    }
    g_free(out);
    g_free(sock);
    return used;
}

static guint count_in(const char *text, const char *needle)
{
    guint n = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* From the tap: the time from its start to the first in-service event of the
 * last line to come up, in seconds (-1 when not every line came up). */
static double driver_to_all_up(const char *tap_path, int lines)
{
    GPtrArray *records = tap_read(tap_path);
    if (records == NULL)
        return -1;
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    const char *dump_path = g_getenv("BENCH_SIP_DUMP");
    FILE *dump = dump_path ? fopen(dump_path, "w") : NULL;
    gint64 start = 0, last = 0;
    for (guint i = 0; i < records->len; i++) {
        const tap_record *r = g_ptr_array_index(records, i);
        if (r->kind == TAP_START && start == 0)
            start = r->t_ns;
        if (r->kind != TAP_LINE || r->state == LINE_UNKNOWN || r->state == LINE_OUT_OF_SVC ||
            g_hash_table_contains(seen, r->name))
            continue;
        g_hash_table_add(seen, r->name);
        last = MAX(last, r->t_ns);
        if (dump != NULL)
            fprintf(dump, "%s %.4f\n", r->name, (r->t_ns - start) / 1e9);
    }
    if (dump != NULL)
        fclose(dump);
    double s = (int)g_hash_table_size(seen) == lines && start != 0 ? (last - start) / 1e9 : -1;
    g_hash_table_destroy(seen);
    g_ptr_array_unref(records);
    return s;
}

static harness *start_ucd(harness_peer *peer, int lines, char **tap_path)
{
    harness *h = harness_new(NULL);
    char *list = bench_line_list("line", lines);
    char *tap = bench_tap_section(h, tap_path);
    const char *window = g_getenv("BENCH_SIP_WINDOW");
    char *window_key = window ? g_strdup_printf("subscribe_window = %s\n", window) : g_strdup("");
    char *body =
        g_strdup_printf("[log]\nlevel = warning\n"
                        "[module pbx-sip:kam]\nserver = %s:%s\n"
                        "domain = %s\nexpires = 3600s\n%slines = %s\n%s",
                        harness_peer_get(peer, "SIP_HOST"), harness_peer_get(peer, "SIP_PORT"),
                        harness_peer_get(peer, "SIP_DOMAIN"), window_key, list, tap);
    g_free(window_key);
    harness_write_config(h, body);
    g_free(body);
    g_free(tap);
    g_free(list);
    return h;
}

static run_figures run(harness_peer *peer, int lines)
{
    run_figures f = {.lines = lines};
    char *tap_path = NULL;
    harness *h = start_ucd(peer, lines, &tap_path);
    long drops_before = udp_rcvbuf_errors();
    gint64 t0 = bench_now_ns();
    if (!harness_start(h))
        g_error("ucd did not start:\n%s", harness_log(h));
    gint64 deadline = t0 + (gint64)UP_TIMEOUT_S * 1000000000;
    while ((f.up = lines_up(h)) < (guint)lines && bench_now_ns() < deadline)
        g_usleep(POLL_MS * 1000);
    f.spawn_to_up = (bench_now_ns() - t0) / 1e9;
    long drops_after = udp_rcvbuf_errors();
    f.rcvbuf_drops = drops_before >= 0 && drops_after >= 0 ? drops_after - drops_before : -1;
    const char *settle = g_getenv("BENCH_SIP_SETTLE_S");
    g_usleep((settle ? (gulong)atol(settle) : SETTLE_S) * G_USEC_PER_SEC);
    f.rss_kib = bench_proc_kib(h, "VmRSS");
    f.hwm_kib = bench_proc_kib(h, "VmHWM");
    f.kamailio_shm = kamailio_shm_used(peer);
    char *log = harness_log(h);
    f.failures = count_in(log, "subscription failed");
    g_free(log);
    bench_stop_ucd(h);
    f.driver_to_up = driver_to_all_up(tap_path, lines);
    harness_free(h);
    g_free(tap_path);
    return f;
}

static void print_run(const run_figures *f)
{
    printf("sip-lines %d lines: %u up; all up %.2f s after spawning ucd (polled), %.2f s after "
           "the driver's start (tap); ucd VmRSS %ld KiB, VmHWM %ld KiB; Kamailio shm in use "
           "%ld KiB; %u subscription failures on the way; %ld UDP datagrams dropped "
           "(RcvbufErrors, system-wide)\n",
           f->lines, f->up, f->spawn_to_up, f->driver_to_up, f->rss_kib, f->hwm_kib,
           f->kamailio_shm / 1024, f->failures, f->rcvbuf_drops);
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 2000;
    if (g_getenv("KAMAILIO_WATCHABLE") == NULL)
        g_setenv("KAMAILIO_WATCHABLE", "alice|bob|carol|line[0-9]+", TRUE);
    harness_peer *peer = harness_peer_start(harness_env("UCD_KAMAILIO_SCRIPT"), "SIP_DIR", NULL);
    if (peer == NULL)
        return 77; /* no Kamailio or baresip here (a failure under CI=true) */
    long shm_idle = kamailio_shm_used(peer);
    run_figures small = run(peer, SMALL);
    print_run(&small);
    run_figures big = run(peer, count);
    print_run(&big);
    harness_peer_stop(peer);

    printf("sip-lines per line (%d minus %d lines): ucd VmRSS %.0f bytes, VmHWM %.0f bytes; "
           "Kamailio shm %.0f bytes (idle Kamailio: %ld KiB)\n",
           count, SMALL, (big.rss_kib - small.rss_kib) * 1024.0 / (count - SMALL),
           (big.hwm_kib - small.hwm_kib) * 1024.0 / (count - SMALL),
           (double)(big.kamailio_shm - small.kamailio_shm) / (count - SMALL), shm_idle / 1024);
    return big.up == (guint)count && small.up == SMALL ? 0 : 1;
}
