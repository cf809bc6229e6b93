/*
 * bench-sip-latency.c - latency from a NOTIFY arriving to the bus event being
 * delivered, through the real ucd and its real bus.
 *
 * This process is the SIP notifier: a sofia-sip nua on the GLib main loop that
 * accepts the SUBSCRIBEs pbx-sip sends for its 50 lines (200 OK, then an idle
 * full document) and then moves calls through early, confirmed and terminated
 * on every line in turn, one full application/dialog-info+xml document per
 * NOTIFY. Each call's SIP call-id is "seqN": N and the dialog state name the
 * NOTIFY. ucd runs pbx-sip pointed at us and the latency-tap fixture, which
 * stamps every call-state event when the bus delivers it and writes it to a
 * file read after ucd stops.
 *
 * t0 = CLOCK_MONOTONIC just before the NOTIFY is handed to our stack (so the
 * figure includes our stack's send path and the loopback), t1 = the tap's
 * stamp. Phases: a warm-up (dropped), a steady rate (RATE NOTIFYs/s spread
 * over the lines, so it measures latency, not queueing), then bursts (one
 * NOTIFY to every line back to back, every BURST_GAP_MS).
 *
 *   bench-sip-latency [STEADY_COUNT]     (env as for the e2e tests)
 *   BENCH_SIP_DUMP=FILE                  also writes every sample to FILE
 */
#define SU_ROOT_MAGIC_T struct notifier
#define NUA_MAGIC_T     struct notifier
#define NUA_HMAGIC_T    struct watched_line

#include "sip-bench-util.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_tag.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINES        50
#define RATE         200 /* NOTIFYs per second in the steady phase */
#define WARMUP       200 /* NOTIFYs whose latency is dropped */
#define BURST_ROUNDS 40
#define BURST_GAP_MS 250

/* ucd_call_state values the driver publishes for a recipient's dialog. */
#define CALL_OFFERING     3
#define CALL_CONNECTED    4
#define CALL_DISCONNECTED 8

enum group { GROUP_WARMUP, GROUP_STEADY, GROUP_BURST, GROUP_COUNT };

static const char *const phase_state[] = {"early", "confirmed", "terminated"};

typedef struct watched_line {
    struct notifier *owner;
    char *user;       /* "line0001" */
    nua_handle_t *nh; /* the subscription's dialog, NULL until subscribed */
    guint version;    /* of the last document sent */
    guint call;       /* the call in progress on the line */
    guint phase;      /* index in phase_state of the next NOTIFY */
} watched_line;

typedef struct sample {
    gint64 t0, t1;
    int group;
} sample;

typedef struct notifier {
    su_root_t *root;
    nua_t *nua;
    watched_line lines[LINES];
    guint subscribed;
    GArray *samples; /* sample, index call * 3 + phase */
    guint next_call;
    guint steps; /* NOTIFYs sent after the set-up */
    guint answered, refused;
    guint steady_count;
    gint64 phase_start_ns;
    gboolean done;
} notifier;

/* ---- the notifier side ---------------------------------------------------------------- */

static char *document(const watched_line *l, const char *dialog)
{
    return g_strdup_printf("<?xml version=\"1.0\"?>\n"
                           "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
                           "version=\"%u\" state=\"full\" entity=\"sip:%s@127.0.0.1\">%s"
                           "</dialog-info>\n",
                           l->version, l->user, dialog);
}

static void send_body(watched_line *l, const char *body)
{
    nua_notify(l->nh, SIPTAG_EVENT_STR("dialog"),
               SIPTAG_CONTENT_TYPE_STR("application/dialog-info+xml"), SIPTAG_PAYLOAD_STR(body),
               NUTAG_SUBSTATE(nua_substate_active), TAG_END());
}

/* The next NOTIFY of line `l`'s call cycle; its t0 goes to the sample. */
static void send_step(notifier *n, watched_line *l, int group)
{
    if (l->phase == 0)
        l->call = n->next_call++;
    l->version++;
    char *dialog = g_strdup_printf(
        "<dialog id=\"d%u\" call-id=\"seq%u\" local-tag=\"l%u\" remote-tag=\"r%u\" "
        "direction=\"recipient\"><state>%s</state><remote><identity display=\"Caller\">"
        "sip:+498912345%03u@127.0.0.1</identity></remote></dialog>",
        l->call, l->call, l->call, l->call, phase_state[l->phase], l->call % 1000);
    char *body = document(l, dialog);
    guint index = l->call * 3 + l->phase;
    if (index >= n->samples->len)
        g_array_set_size(n->samples, index + 1);
    sample *s = &g_array_index(n->samples, sample, index);
    s->group = group;
    s->t0 = bench_now_ns(); /* made outside the clock: the body exists when a NOTIFY is sent */
    send_body(l, body);
    l->phase = (l->phase + 1) % 3;
    n->steps++;
    g_free(body);
    g_free(dialog);
}

static watched_line *line_by_user(notifier *n, const char *user)
{
    for (int i = 0; user != NULL && i < LINES; i++)
        if (strcmp(n->lines[i].user, user) == 0)
            return &n->lines[i];
    return NULL;
}

/* An initial SUBSCRIBE from the driver: accept it and send the idle state
 * at once (RFC 6665 wants a NOTIFY right after the 200). */
static void on_subscribe(notifier *n, nua_handle_t *nh, int status, const sip_t *sip)
{
    if (status >= 200 || sip == NULL || sip->sip_request == NULL)
        return; /* refreshes and un-SUBSCRIBEs are answered by the stack */
    watched_line *l = line_by_user(n, sip->sip_request->rq_url->url_user);
    if (l == NULL || l->nh != NULL) {
        nua_respond(nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS(n->nua), TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    nua_handle_bind(nh, l);
    l->nh = nh;
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(n->nua), SIPTAG_EXPIRES_STR("3600"), TAG_END());
    l->version++;
    char *body = document(l, "");
    send_body(l, body);
    g_free(body);
    n->subscribed++;
}

static void on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua, notifier *n,
                         nua_handle_t *nh, watched_line *l, sip_t const *sip, tagi_t tags[])
{
    (void)phrase;
    (void)nua;
    (void)l;
    (void)tags;
    if (event == nua_i_subscribe)
        on_subscribe(n, nh, status, sip);
    else if (event == nua_r_notify && status >= 300)
        n->refused++;
    else if (event == nua_r_notify && status >= 200)
        n->answered++;
}

/* A free UDP port on 127.0.0.1 for our stack (bound once by the kernel). */
static int free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        g_error("no free UDP port");
    close(fd);
    return ntohs(a.sin_port);
}

static notifier *notifier_new(int port)
{
    notifier *n = g_new0(notifier, 1);
    n->samples = g_array_new(FALSE, TRUE, sizeof(sample));
    for (int i = 0; i < LINES; i++) {
        n->lines[i].owner = n;
        n->lines[i].user = g_strdup_printf("line%04d", i + 1);
    }
    su_init();
    n->root = su_glib_root_create(n);
    g_source_attach(su_glib_root_gsource(n->root), NULL);
    char *url = g_strdup_printf("sip:127.0.0.1:%d;transport=udp", port);
    n->nua = nua_create(n->root, on_nua_event, n, NUTAG_URL(url), NUTAG_ALLOW_EVENTS("dialog"),
                        NUTAG_APPL_METHOD("SUBSCRIBE"), SIPTAG_USER_AGENT_STR("ucd bench notifier"),
                        TAG_END());
    g_free(url);
    if (n->nua == NULL)
        g_error("cannot start the notifier's SIP stack on port %d", port);
    return n;
}

static void notifier_free(notifier *n)
{
    nua_shutdown(n->nua);
    gint64 until = g_get_monotonic_time() + G_USEC_PER_SEC;
    while (g_get_monotonic_time() < until)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    for (int i = 0; i < LINES; i++) {
        if (n->lines[i].nh)
            nua_handle_destroy(n->lines[i].nh);
        g_free(n->lines[i].user);
    }
    nua_destroy(n->nua);
    su_root_destroy(n->root);
    su_deinit();
    g_array_free(n->samples, TRUE);
    g_free(n);
}

/* ---- the schedule ---------------------------------------------------------------------- */

/* Runs every millisecond: sends the NOTIFYs that are due. Warm-up and steady
 * NOTIFYs go out at RATE per second on the lines in turn (one line gets one
 * every LINES / RATE seconds); then every BURST_GAP_MS one to each line. */
static gboolean tick(gpointer data)
{
    notifier *n = data;
    guint paced = WARMUP + n->steady_count;
    gint64 elapsed = bench_now_ns() - n->phase_start_ns;
    if (n->steps < paced) {
        guint due = (guint)MIN((gint64)paced, elapsed * RATE / 1000000000 + 1);
        while (n->steps < due)
            send_step(n, &n->lines[n->steps % LINES],
                      n->steps < WARMUP ? GROUP_WARMUP : GROUP_STEADY);
        if (n->steps == paced)
            n->phase_start_ns = bench_now_ns();
        return G_SOURCE_CONTINUE;
    }
    guint rounds_done = (n->steps - paced) / LINES;
    if (rounds_done >= BURST_ROUNDS) {
        n->done = TRUE;
        return G_SOURCE_REMOVE;
    }
    if (elapsed >= (gint64)rounds_done * BURST_GAP_MS * 1000000)
        for (int i = 0; i < LINES; i++)
            send_step(n, &n->lines[i], GROUP_BURST);
    return G_SOURCE_CONTINUE;
}

/* Iterates the default context until *flag or `seconds` pass. */
static gboolean run_until(const gboolean *flag, double seconds)
{
    gint64 until = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
    while (!*flag && g_get_monotonic_time() < until)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(200);
    return *flag;
}

static void run_for(double seconds)
{
    gboolean never = FALSE;
    run_until(&never, seconds);
}

/* ---- figures --------------------------------------------------------------------------- */

static int phase_of_state(guint state)
{
    switch (state) {
    case CALL_OFFERING:
        return 0;
    case CALL_CONNECTED:
        return 1;
    case CALL_DISCONNECTED:
        return 2;
    default:
        return -1;
    }
}

/* Puts each call event's delivery stamp into its sample; returns how many matched. */
static guint match_tap(notifier *n, GPtrArray *records)
{
    guint matched = 0;
    for (guint i = 0; i < records->len; i++) {
        const tap_record *r = g_ptr_array_index(records, i);
        const char *seq = r->kind == TAP_CALL ? strstr(r->name, "seq") : NULL;
        int phase = phase_of_state(r->state);
        if (seq == NULL || phase < 0)
            continue;
        guint index = (guint)strtoul(seq + 3, NULL, 10) * 3 + (guint)phase;
        if (index < n->samples->len && g_array_index(n->samples, sample, index).t0 != 0) {
            g_array_index(n->samples, sample, index).t1 = r->t_ns;
            matched++;
        }
    }
    return matched;
}

static int compare_gint64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* Prints count, p50, p99, max and mean of one group; returns the number lost. */
static guint report(notifier *n, int group, const char *what)
{
    GArray *lat = g_array_new(FALSE, FALSE, sizeof(gint64));
    guint sent = 0;
    double sum = 0;
    for (guint i = 0; i < n->samples->len; i++) {
        const sample *s = &g_array_index(n->samples, sample, i);
        if (s->t0 == 0 || s->group != group)
            continue;
        sent++;
        if (s->t1 == 0)
            continue;
        gint64 d = s->t1 - s->t0;
        g_array_append_val(lat, d);
        sum += (double)d;
    }
    g_array_sort(lat, compare_gint64);
    guint c = lat->len;
    if (c > 0) {
        printf("sip-notify-latency %s: %u samples, p50 %.0f us, p99 %.0f us, max %.0f us, "
               "mean %.0f us (lost %u)\n",
               what, c, g_array_index(lat, gint64, c / 2) / 1e3,
               g_array_index(lat, gint64, MIN(c - 1, c * 99 / 100)) / 1e3,
               g_array_index(lat, gint64, c - 1) / 1e3, sum / c / 1e3, sent - c);
    } else {
        printf("sip-notify-latency %s: no sample delivered of %u sent\n", what, sent);
    }
    g_array_free(lat, TRUE);
    return sent - c;
}

/* With BENCH_SIP_DUMP=FILE: every sample as "INDEX GROUP T0_NS LATENCY_NS",
 * to see how latency moves within a burst or over a run. */
static void dump_samples(const notifier *n, const char *path)
{
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f == NULL)
        return;
    for (guint i = 0; i < n->samples->len; i++) {
        const sample *s = &g_array_index(n->samples, sample, i);
        fprintf(f, "%u %d %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", i, s->group, s->t0,
                s->t1 - s->t0);
    }
    fclose(f);
}

/* ---- main ------------------------------------------------------------------------------ */

static harness *start_ucd(int port, char **tap_path)
{
    harness *h = harness_new(NULL);
    char *lines = bench_line_list("line", LINES);
    char *tap = bench_tap_section(h, tap_path);
    /* warning: the driver's per-call debug lines would be part of the figure */
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[module pbx-sip:bench]\nserver = 127.0.0.1:%d\n"
                                 "domain = 127.0.0.1\nexpires = 3600s\nlines = %s\n%s",
                                 port, lines, tap);
    harness_write_config(h, body);
    g_free(body);
    g_free(tap);
    g_free(lines);
    if (!harness_start(h))
        g_error("ucd did not start:\n%s", harness_log(h));
    return h;
}

int main(int argc, char **argv)
{
    guint steady = argc > 1 ? (guint)atoi(argv[1]) : 3000;
    int port = free_udp_port();
    notifier *n = notifier_new(port);
    n->steady_count = steady;
    char *tap_path = NULL;
    harness *h = start_ucd(port, &tap_path);

    gboolean all_subscribed = FALSE;
    gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!all_subscribed && g_get_monotonic_time() < until) {
        g_main_context_iteration(NULL, FALSE);
        all_subscribed = n->subscribed == LINES;
    }
    if (!all_subscribed)
        g_error("only %u of %d lines subscribed:\n%s", n->subscribed, LINES, harness_log(h));
    run_for(0.5); /* the driver has applied the idle documents */

    n->phase_start_ns = bench_now_ns();
    g_timeout_add(1, tick, n);
    run_until(&n->done, 120);
    gboolean all_answered = FALSE;
    until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!all_answered && g_get_monotonic_time() < until) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(200);
        all_answered = n->answered + n->refused >= n->steps + LINES;
    }
    run_for(0.3); /* the last events reach the tap */
    int status = bench_stop_ucd(h);

    GPtrArray *records = tap_read(tap_path);
    guint matched = records ? match_tap(n, records) : 0;
    printf("sip-notify-latency: %u NOTIFYs sent on %d lines, %u answered 200, %u refused; "
           "%u call events matched; ucd exit %d\n",
           n->steps, LINES, n->answered, n->refused, matched, status);
    dump_samples(n, g_getenv("BENCH_SIP_DUMP"));
    guint lost = report(n, GROUP_STEADY, "steady " G_STRINGIFY(RATE) " NOTIFY/s");
    lost += report(n, GROUP_BURST, "bursts of " G_STRINGIFY(LINES) " NOTIFYs");
    if (records)
        g_ptr_array_unref(records);
    harness_free(h);
    g_free(tap_path);
    notifier_free(n);
    return lost == 0 && status == 0 ? 0 : 1;
}
