/*
 * bench-ami-parse.c - AMI events parsed and applied per second, one core.
 *
 * What Asterisk sent in a real capture (the banner once, then every block it
 * sent, events and responses) is fed to one pami_parser in 4 KiB pieces, as a
 * socket delivers it, round after round; every event goes to one pami_model
 * whose lines map the capture's devices, as the driver does. Each round is a
 * new set of calls: its Uniqueids and Linkedids ("1795358381.8") get a new
 * epoch, rewritten before the clock runs for that round. Parsing and applying
 * are timed together. Prints events/s; the target is 200,000/s.
 *
 *   bench-ami-parse [CAPTURE [ROUNDS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ami-script.h"
#include "ami-model.h"
#include "ami-parse.h"

typedef struct bench {
    pami_model *model;
    guint64 events;
    guint64 legs; /* leg changes the model reported: proves it did work */
    int64_t clock_ms;
} bench;

static void on_message(pami_message *message, void *user_data)
{
    bench *b = user_data;
    if (pami_message_kind(message) != PAMI_KIND_EVENT)
        return;
    b->events++;
    pami_model_event(b->model, message, ++b->clock_ms);
}

static void on_banner(const char *line, void *user_data)
{
    (void)line;
    (void)user_data;
}

static void on_leg(const pami_leg_change *change, void *user_data)
{
    (void)change;
    ((bench *)user_data)->legs++;
}

static void on_line(const pami_line_change *change, void *user_data)
{
    (void)change;
    (void)user_data;
}

static gint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The peer's stream without its banner line: what one more round sends. */
static const char *after_banner(const char *stream)
{
    const char *end = strstr(stream, "\r\n");
    return end != NULL ? end + 2 : stream;
}

static void feed(pami_parser *p, const char *data, gsize len)
{
    for (gsize off = 0; off < len; off += 4096)
        pami_parser_feed(p, data + off, MIN((gsize)4096, len - off));
}

/* The round's stream: every "EPOCH." of a Uniqueid made unique to the round. */
static char *round_stream(GRegex *epoch, const char *body, long round)
{
    char replacement[32];
    g_snprintf(replacement, sizeof replacement, "2%09ld.", round);
    return g_regex_replace_literal(epoch, body, -1, 0, replacement, 0, NULL);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : BENCH_AMI_CAPTURE;
    long rounds = argc > 2 ? atol(argv[2]) : 20000;
    GError *error = NULL;
    GPtrArray *steps = ami_script_load(path, &error);
    if (steps == NULL || rounds < 1) {
        fprintf(stderr, "cannot read %s: %s\n", path, error ? error->message : "bad rounds");
        return 1;
    }
    char *stream = ami_script_peer_stream(steps);
    const char *body = after_banner(stream);

    bench b = {0};
    const pami_model_callbacks model_cb = {.leg = on_leg, .line = on_line, .user_data = &b};
    b.model = pami_model_new(&model_cb);
    /* The capture's devices: Local channels of the test dialplan, PJSIP phones
     * of the PJSIP captures, the custom device behind hint 300. */
    pami_model_map_device(b.model, "Local/100@test", "100");
    pami_model_map_device(b.model, "Local/200@test", "200");
    pami_model_map_device(b.model, "PJSIP/alice", "alice");
    pami_model_map_device(b.model, "PJSIP/bob", "bob");
    pami_model_map_device(b.model, "Custom:alice", "300");
    const pami_parse_callbacks parse_cb = {
        .banner = on_banner, .message = on_message, .user_data = &b};
    pami_parser *parser = pami_parser_new(&parse_cb, TRUE, 0, 0);

    GRegex *epoch = g_regex_new("\\b1[0-9]{9}\\.(?=[0-9])", G_REGEX_OPTIMIZE, 0, NULL);
    gint64 busy_ns = 0, start = now_ns();
    feed(parser, stream, strlen(stream));
    busy_ns += now_ns() - start;
    for (long r = 1; r < rounds; r++) {
        char *text = round_stream(epoch, body, r);
        gsize len = strlen(text);
        start = now_ns();
        feed(parser, text, len);
        busy_ns += now_ns() - start;
        g_free(text);
    }
    double seconds = busy_ns / 1e9;
    g_regex_unref(epoch);

    int rc = 0;
    if (b.events == 0 || b.legs == 0) {
        fprintf(stderr,
                "nothing applied: %" G_GUINT64_FORMAT " events, %" G_GUINT64_FORMAT
                " leg changes\n",
                b.events, b.legs);
        rc = 1;
    }
    printf("AMI events parsed and applied: %" G_GUINT64_FORMAT " in %.3f s = %.0f events/s "
           "(%" G_GUINT64_FORMAT " leg changes; target >= 200000/s) from %s\n",
           b.events, seconds, b.events / seconds, b.legs, path);
    pami_parser_free(parser);
    pami_model_free(b.model);
    g_free(stream);
    g_ptr_array_unref(steps);
    return rc;
}
