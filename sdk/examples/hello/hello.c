/*
 * hello.c - the example ucd plugin: copy this file to start your own.
 *
 * What it does:
 *   - accepts two configuration keys in its [module example-hello] section:
 *       greeting = hello   text put in front of every logged call event
 *       every = 1          log only every Nth call-state event (1 = all)
 *   - subscribes to line-state and call-state events, counts them per event
 *     type and logs the call-state ones with the greeting;
 *   - keeps a counter, example-hello.call_events_logged, shown by
 *     `ucctl counters`;
 *   - registers the control command `ucctl hello`, which replies with a table
 *     of the events seen per type plus a few fields.
 *
 * Everything a plugin gets from ucd arrives through the `ucd_host` table passed
 * to init, so this file links against nothing of ucd: see the tutorial in
 * docs/sdk/tutorial.md. It only needs the C library.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <ucd/ucd.h>

/* The event types this plugin subscribes to, in the order `ucctl hello` lists them. */
static const uint32_t hello_counted_types[] = {UCD_EVENT_LINE_STATE, UCD_EVENT_CALL_STATE};
#define HELLO_COUNTED_TYPES (sizeof(hello_counted_types) / sizeof(hello_counted_types[0]))

/* Everything one module instance owns. The core may load the plugin twice
 * ([module example-hello:a] and [module example-hello:b]), so nothing lives in
 * globals: init allocates this, the core hands it back to every hook. */
typedef struct hello_state {
    ucd_plugin *self;
    const ucd_host *host;
    const char *greeting; /* owned by the core, valid until fini */
    int64_t every;
    uint64_t seen[UCD_EVENT_TYPE_COUNT_]; /* indexed by ucd_event_type */
    uint64_t call_events;                 /* call-state events seen, for `every` */
    uint64_t logged;
    ucd_counter *logged_counter;
} hello_state;

/* The keys of the [module example-hello] section. The core rejects any other
 * key, and values of the wrong type, with file:line before init runs, and
 * fills in the defaults. */
static const ucd_config_key hello_keys[] = {
    {"greeting", UCD_CONFIG_STRING, 0, "hello", "text put in front of every logged call event"},
    {"every", UCD_CONFIG_INT, 0, "1", "log only every Nth call-state event (1 = all of them)"},
    {NULL, 0, 0, NULL, NULL},
};

static const char *hello_event_type_name(uint32_t type)
{
    switch (type) {
    case UCD_EVENT_LINE_STATE:
        return "line_state";
    case UCD_EVENT_CALL_STATE:
        return "call_state";
    default:
        return "other";
    }
}

static const char *hello_call_state_name(uint32_t state)
{
    static const char *const names[] = {
        "idle", "dialing",    "ringback",    "offering",     "connected",
        "held", "conference", "transferred", "disconnected",
    };
    return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

/* NULL means "not known" in every event string; print something readable. */
static const char *hello_or_unknown(const char *text)
{
    return text != NULL ? text : "?";
}

static void hello_log_call(hello_state *state, const ucd_call_state_event *call)
{
    state->host->log(state->self, UCD_LOG_INFO, "%s: call %s on line %s is %s (was %s), remote %s",
                     state->greeting, hello_or_unknown(call->call_id), hello_or_unknown(call->line),
                     hello_call_state_name(call->state), hello_call_state_name(call->prev_state),
                     hello_or_unknown(call->remote_number));
    state->logged++;
    state->host->counter_add(state->logged_counter, 1);
}

/* Runs on the main loop for every matching event; `event` and its payload are
 * only valid until we return, so copy what you want to keep. */
static void hello_on_event(const ucd_event *event, void *user_data)
{
    hello_state *state = user_data;

    if (event->type < UCD_EVENT_TYPE_COUNT_)
        state->seen[event->type]++;
    if (event->type != UCD_EVENT_CALL_STATE)
        return;

    /* A payload is size-prefixed: a publisher built against an older SDK may
     * send a shorter struct. Everything read here exists since ABI 1.0, but
     * checking the size first is the habit that keeps newer members safe. */
    const ucd_call_state_event *call = event->payload;
    if (call == NULL || call->struct_size < offsetof(ucd_call_state_event, remote_number) +
                                                sizeof(call->remote_number))
        return;

    state->call_events++;
    /* The 1st, (every+1)th, (2*every+1)th ... call event is logged. */
    if ((state->call_events - 1) % (uint64_t)state->every == 0)
        hello_log_call(state, call);
}

/* `ucctl hello`: a table of events seen per type, then a few fields. With
 * --json, ucctl prints the same reply as JSON. */
static int hello_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    hello_state *state = user_data;
    const ucd_host *host = state->host;
    static const char *const columns[] = {"event", "count"};
    char number[32];

    if (argc > 1) {
        host->reply_error(reply, "usage: %s (no arguments)", argv[0]);
        return UCD_E_INVALID;
    }
    host->reply_columns(reply, 2, columns);
    for (size_t i = 0; i < HELLO_COUNTED_TYPES; i++) {
        uint32_t type = hello_counted_types[i];
        snprintf(number, sizeof(number), "%" PRIu64, state->seen[type]);
        const char *row[] = {hello_event_type_name(type), number};
        host->reply_row(reply, row);
    }
    host->reply_field(reply, "greeting", state->greeting);
    snprintf(number, sizeof(number), "%" PRIu64, state->logged);
    host->reply_field(reply, "call_events_logged", number);
    return UCD_OK;
}

/* Reads and checks the configuration. The core already checked types, so the
 * getters only fail on a programming error; config_error() is for values of
 * the right type that make no sense here. */
static int hello_read_config(hello_state *state)
{
    const ucd_host *host = state->host;

    if (host->config_string(state->self, "greeting", &state->greeting) != UCD_OK)
        return host->config_error(state->self, "greeting", "cannot be read");
    if (host->config_int(state->self, "every", &state->every) != UCD_OK)
        return host->config_error(state->self, "every", "cannot be read");
    if (state->every < 1)
        return host->config_error(state->self, "every", "must be 1 or more, not %" PRId64,
                                  state->every);
    return UCD_OK;
}

/* init: read the configuration and register what others may call. Nothing is
 * delivered to us before start, and init must not block on the network. */
static int hello_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL; /* set on success only: a failed init leaves nothing behind */
    hello_state *state = calloc(1, sizeof(*state));
    if (state == NULL)
        return UCD_E_NOMEM;
    state->self = self;
    state->host = host;

    int result = hello_read_config(state);
    if (result != UCD_OK) {
        free(state);
        return result;
    }

    state->logged_counter = host->counter_new(self, "call_events_logged", UCD_COUNTER_MONOTONIC,
                                              "call-state events written to the log");
    result = host->command_register(self, "hello", "", "events seen by the example plugin",
                                    hello_command, state);
    if (result != UCD_OK) {
        host->set_error(self, "cannot register command hello: %s", ucd_strerror(result));
        free(state);
        return UCD_FAIL;
    }
    *state_out = state; /* the core passes it to start and fini */
    return UCD_OK;
}

/* start: begin work. The filter is copied by the core; `out` is NULL because
 * the core removes our subscriptions itself when the module stops. */
static int hello_start(void *user_data)
{
    hello_state *state = user_data;
    const ucd_event_filter filter = {
        .struct_size = sizeof(filter),
        .type_mask = UCD_EVENT_MASK(UCD_EVENT_LINE_STATE) | UCD_EVENT_MASK(UCD_EVENT_CALL_STATE),
    };

    int result = state->host->subscribe(state->self, &filter, hello_on_event, state, NULL);
    if (result != UCD_OK) {
        state->host->set_error(state->self, "cannot subscribe: %s", ucd_strerror(result));
        return result;
    }
    ucd_info(state->host, state->self, "%s: logging one call-state event in %" PRId64,
             state->greeting, state->every);
    return UCD_OK;
}

/* fini: free what init allocated. The core removed the subscription, the
 * command and the counter already. */
static void hello_fini(void *user_data)
{
    free(user_data);
}

/* The one exported symbol. No stop hook: there is nothing to flush. */
UCD_PLUGIN_DEFINE(.name = "example-hello", .version = "1.0.0", .license = "MIT",
                  .description = "logs call events with a greeting and counts events per type",
                  .config_keys = hello_keys, .init = hello_init, .start = hello_start,
                  .fini = hello_fini);
