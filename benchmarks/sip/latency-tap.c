/*
 * latency-tap - a fixture plugin built only for the pbx-sip benchmarks: a
 * subscriber on ucd's real bus that stamps every call-state and line-state
 * event with CLOCK_MONOTONIC the moment it is delivered, and appends one line
 * per event to the file named by its `file` key:
 *
 *   T_NS start                          the tap's start() (just after the driver's)
 *   T_NS call CONVERSATION_ID STATE     a UCD_EVENT_CALL_STATE (ucd_call_state)
 *   T_NS line LINE STATE                a UCD_EVENT_LINE_STATE (ucd_line_state)
 *
 * CLOCK_MONOTONIC is one clock for every process on the machine, so the
 * benchmark compares these stamps with its own. The callback only formats into
 * a buffered FILE (no flush, no syscall in the common case), so the tap adds
 * little to what it measures; everything is flushed at stop, after which the
 * benchmark reads the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucd/ucd.h>

typedef struct tap {
    ucd_plugin *self;
    const ucd_host *host;
    FILE *out;
} tap;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_event(const ucd_event *ev, void *ud)
{
    tap *t = ud;
    long long stamp = now_ns(); /* first thing: the delivery time */
    if (ev->type == UCD_EVENT_CALL_STATE) {
        const ucd_call_state_event *c = ev->payload;
        fprintf(t->out, "%lld call %s %u\n", stamp, c->conversation_id ? c->conversation_id : "-",
                c->state);
    } else if (ev->type == UCD_EVENT_LINE_STATE) {
        const ucd_line_state_event *l = ev->payload;
        fprintf(t->out, "%lld line %s %u\n", stamp, l->line ? l->line : "-", l->state);
    }
}

static int tap_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    const char *path = NULL;
    host->config_string(self, "file", &path);
    if (path == NULL || *path == '\0')
        return host->config_error(self, "file", "is required");
    tap *t = calloc(1, sizeof *t);
    t->self = self;
    t->host = host;
    t->out = fopen(path, "w");
    if (t->out == NULL) {
        host->set_error(self, "cannot open %s: %s", path, strerror(errno));
        free(t);
        return UCD_FAIL;
    }
    /* A large buffer: a run of a few thousand events is written at stop. */
    setvbuf(t->out, NULL, _IOFBF, 1 << 20);
    *state = t;
    return UCD_OK;
}

static int tap_start(void *state)
{
    tap *t = state;
    ucd_event_filter f = {
        .struct_size = sizeof f,
        .type_mask = UCD_EVENT_MASK(UCD_EVENT_CALL_STATE) | UCD_EVENT_MASK(UCD_EVENT_LINE_STATE),
    };
    fprintf(t->out, "%lld start\n", now_ns());
    return t->host->subscribe(t->self, &f, on_event, t, NULL);
}

static void tap_stop(void *state)
{
    tap *t = state;
    fflush(t->out);
}

static void tap_fini(void *state)
{
    tap *t = state;
    fclose(t->out);
    free(t);
}

static const ucd_config_key tap_keys[] = {
    {"file", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL, "where the stamped events are written"},
    {NULL, 0, 0, NULL, NULL},
};

UCD_PLUGIN_DEFINE(.name = "latency-tap", .version = "1.0.0", .license = "MIT",
                  .description = "benchmark fixture: stamps call and line events on delivery",
                  .config_keys = tap_keys, .init = tap_init, .start = tap_start, .stop = tap_stop,
                  .fini = tap_fini);
