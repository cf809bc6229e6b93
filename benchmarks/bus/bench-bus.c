/*
 * bench-bus.c - event bus throughput, publish to delivery.
 *
 * Main-loop figures run on one thread: an idle source publishes a batch of
 * line-state events (two strings each), the bus source delivers the batch,
 * and so on until every event reached every subscriber. The own-thread figure
 * publishes from the main thread while the subscriber's thread consumes.
 * Prints "bus N subscribers: X events/s" lines (events published per second,
 * each delivered to every subscriber); the best of a few runs.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

#define BATCH 1024
#define RUNS  3

typedef struct bench {
    core_bus *bus;
    GMainLoop *loop;
    uint64_t to_publish;
    uint64_t published;
    uint64_t expected; /* deliveries: events x subscribers */
    uint64_t delivered;
    uint64_t checksum; /* keeps the callback's reads from being optimized out */
} bench;

static bench *current;

static void count_cb(const ucd_event *ev, void *user_data)
{
    const ucd_line_state_event *line = ev->payload;
    current->checksum += ev->seq + line->state + (unsigned char)ev->subject[0];
    if (++current->delivered == current->expected)
        g_main_loop_quit(current->loop);
}

static void publish_one(core_bus *bus, uint64_t i)
{
    ucd_line_state_event line = {
        sizeof(line), (uint32_t)(i % 6), "pbx-sim:office", "201", 0, NULL,
    };
    ucd_event ev = {.struct_size = sizeof(ev), .type = UCD_EVENT_LINE_STATE, .payload = &line};
    if (core_bus_publish(bus, "pbx-sim:office", &ev) != UCD_OK)
        abort();
}

static gboolean publish_batch(gpointer data)
{
    bench *b = data;
    for (int i = 0; i < BATCH && b->published < b->to_publish; i++)
        publish_one(b->bus, b->published++);
    return b->published < b->to_publish ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Events per second for `subs` main-loop subscribers, one thread. */
static double run_main_loop(int subs, uint64_t events)
{
    bench b = {.to_publish = events, .expected = events * (uint64_t)subs};
    current = &b;
    b.loop = g_main_loop_new(NULL, FALSE);
    b.bus = core_bus_new(NULL, 4 * BATCH);
    for (int i = 0; i < subs; i++)
        core_bus_subscribe(b.bus, "bench", NULL, count_cb, NULL);
    g_idle_add(publish_batch, &b);

    int64_t start = g_get_monotonic_time();
    g_main_loop_run(b.loop);
    int64_t elapsed = g_get_monotonic_time() - start;

    core_bus_free(b.bus);
    g_main_loop_unref(b.loop);
    return (double)events * G_USEC_PER_SEC / (double)elapsed;
}

static atomic_uint_fast64_t own_delivered;

static void own_cb(const ucd_event *ev, void *user_data)
{
    atomic_fetch_add_explicit(&own_delivered, 1, memory_order_relaxed);
}

/* Events per second to one own-thread subscriber; its queue holds all events,
 * so none is dropped and the figure is the rate of publish + delivery. */
static double run_own_thread(uint64_t events)
{
    core_bus *bus = core_bus_new(NULL, 0);
    ucd_event_filter f = {.struct_size = sizeof(f),
                          .flags = UCD_SUBSCRIBE_OWN_THREAD,
                          .queue_size = (uint32_t)events};
    ucd_subscription *sub = core_bus_subscribe(bus, "bench", &f, own_cb, NULL);
    atomic_store(&own_delivered, 0);

    int64_t start = g_get_monotonic_time();
    for (uint64_t i = 0; i < events; i++)
        publish_one(bus, i);
    core_bus_flush(bus);
    int64_t elapsed = g_get_monotonic_time() - start;

    if (atomic_load(&own_delivered) != events || core_bus_dropped(sub) != 0)
        abort();
    core_bus_free(bus);
    return (double)events * G_USEC_PER_SEC / (double)elapsed;
}

/* 4100000 -> "4,100,000" */
static char *with_commas(double value)
{
    char digits[32];
    g_snprintf(digits, sizeof(digits), "%.0f", value);
    GString *out = g_string_new(NULL);
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, digits[i]);
    }
    return g_string_free(out, FALSE);
}

static void report(const char *what, double best)
{
    char *text = with_commas(best);
    printf("bus %s: %s events/s\n", what, text);
    fflush(stdout);
    g_free(text);
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 2000000;
    if (events == 0)
        events = 2000000;
    static const int subscriber_counts[] = {1, 10};
    for (guint i = 0; i < G_N_ELEMENTS(subscriber_counts); i++) {
        int subs = subscriber_counts[i];
        double best = 0;
        for (int r = 0; r < RUNS; r++)
            best = MAX(best, run_main_loop(subs, events));
        char *what = g_strdup_printf("%d subscriber%s", subs, subs == 1 ? "" : "s");
        report(what, best);
        g_free(what);
    }
    double best = 0;
    for (int r = 0; r < RUNS; r++)
        best = MAX(best, run_own_thread(events));
    report("1 own-thread subscriber", best);
    return 0;
}
