/*
 * pbx-sim.c - a simulated PBX: the "pbx" service without a phone system.
 *
 * This file holds the plugin descriptor, the configuration, the life cycle
 * and the `sim` control command; sim.h says where the rest lives. README.md
 * documents every key and the command.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define DEFAULT_EXTERNAL_NUMBERS                                                                   \
    "+4989123456;+493012345678;0049401234567;0711987654;+41445551234;+390212345678;"               \
    "+12125550123;+442079460958;+33142685300;08912345"

static const ucd_config_key sim_keys[] = {
    {"lines", UCD_CONFIG_LIST, 0, "201;202;203;204",
     "line extensions, each ADDRESS or ADDRESS=Name"},
    {"limited_lines", UCD_CONFIG_LIST, 0, NULL, "lines offering only MONITOR, DIAL and HANGUP"},
    {"answer_delay", UCD_CONFIG_DURATION, 0, "2s", "an outside number answers after this"},
    {"ring_timeout", UCD_CONFIG_DURATION, 0, "30s", "an unanswered call gives up after this"},
    {"no_answer_forward_delay", UCD_CONFIG_DURATION, 0, "15s",
     "a line with forward on no answer forwards after ringing this long"},
    {"hold_recall", UCD_CONFIG_DURATION, 0, "2m",
     "a call held this long rings its holder again once the holder is free; 0: never"},
    {"busy_numbers", UCD_CONFIG_LIST, 0, NULL, "outside numbers that are always busy"},
    {"noanswer_numbers", UCD_CONFIG_LIST, 0, NULL, "outside numbers that never answer"},
    {"speed", UCD_CONFIG_DOUBLE, 0, "1.0", "simulated time runs this many times faster"},
    {"traffic", UCD_CONFIG_BOOL, 0, "false", "generate calls by themselves"},
    {"calls_per_hour", UCD_CONFIG_DOUBLE, 0, "120", "generated calls per simulated hour"},
    {"seed", UCD_CONFIG_INT, 0, "1", "seed of the generator: the same seed, the same calls"},
    {"external_numbers", UCD_CONFIG_LIST, 0, DEFAULT_EXTERNAL_NUMBERS,
     "outside numbers the generator calls and is called from"},
    {"weight_inbound", UCD_CONFIG_DOUBLE, 0, "0.5", "share of generated calls from outside"},
    {"weight_outbound", UCD_CONFIG_DOUBLE, 0, "0.3", "share of generated calls to outside"},
    {"weight_internal", UCD_CONFIG_DOUBLE, 0, "0.2", "share of generated calls between lines"},
    {"prob_unanswered", UCD_CONFIG_DOUBLE, 0, "0.15", "probability a call is not answered"},
    {"prob_busy", UCD_CONFIG_DOUBLE, 0, "0.05", "probability a call meets a busy party"},
    {"prob_transfer", UCD_CONFIG_DOUBLE, 0, "0.15", "probability of a transfer (half consult)"},
    {"prob_pickup", UCD_CONFIG_DOUBLE, 0, "0.1", "probability a colleague picks up"},
    {"prob_forward", UCD_CONFIG_DOUBLE, 0, "0.05", "probability a ringing call is deflected"},
    {"ring_time_min", UCD_CONFIG_DURATION, 0, "2s", "shortest ringing before a reaction"},
    {"ring_time_max", UCD_CONFIG_DURATION, 0, "20s", "longest ringing before a reaction"},
    {"talk_time_min", UCD_CONFIG_DURATION, 0, "20s", "shortest conversation"},
    {"talk_time_max", UCD_CONFIG_DURATION, 0, "5m", "longest conversation"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl sim_provides[] = {
    UCD_PROVIDE(UCD_PBX_SERVICE, UCD_PBX_MAJOR, UCD_PBX_MINOR, 0),
    {NULL},
};

/* ---- configuration ------------------------------------------------------------------ */

/* A list the section does not set and that has no default is empty. */
static char **read_list(sim *s, const char *key)
{
    const char *const *items = NULL;
    if (s->host->config_list(s->self, key, &items, NULL) != UCD_OK || items == NULL)
        return g_new0(char *, 1);
    return g_strdupv((char **)items);
}

static int read_number(sim *s, const char *key, double low, double high, double *out)
{
    if (s->host->config_double(s->self, key, out) != UCD_OK)
        return s->host->config_error(s->self, key, "cannot be read");
    if (!(*out >= low && *out <= high))
        return s->host->config_error(s->self, key, "must be between %g and %g", low, high);
    return UCD_OK;
}

static int read_duration(sim *s, const char *key, int64_t *out)
{
    if (s->host->config_int(s->self, key, out) != UCD_OK)
        return s->host->config_error(s->self, key, "cannot be read");
    if (*out < 0)
        return s->host->config_error(s->self, key, "must not be negative");
    return UCD_OK;
}

static sim_line *line_new(const char *address, const char *name)
{
    sim_line *line = g_new0(sim_line, 1);
    line->address = g_strdup(address);
    line->name = name != NULL && *name != '\0' ? g_strdup(name) : NULL;
    line->caps = sim_caps_for(0);
    line->legs = g_ptr_array_new();
    line->shown_state = UCD_LINE_UNKNOWN;
    return line;
}

static void line_free(gpointer data)
{
    sim_line *line = data;
    g_free(line->address);
    g_free(line->name);
    for (size_t i = 0; i < G_N_ELEMENTS(line->forward); i++)
        g_free(line->forward[i]);
    g_free(line->shown_forward);
    g_ptr_array_unref(line->legs);
    g_free(line);
}

/* An address is dialled and typed in ucctl: no blanks, no '=' or ';'. */
static int valid_address(const char *address)
{
    if (*address == '\0' || strlen(address) > 32)
        return 0;
    for (const char *c = address; *c; c++)
        if (g_ascii_isspace(*c) || *c == '=' || *c == ';')
            return 0;
    return 1;
}

/* "201" or "201=Reception". */
static int read_lines(sim *s)
{
    char **entries = read_list(s, "lines");
    int rc = UCD_OK;

    for (char **e = entries; *e != NULL && rc == UCD_OK; e++) {
        char **parts = g_strsplit(*e, "=", 2);
        char *address = g_strstrip(parts[0]);
        char *name = parts[1] != NULL ? g_strstrip(parts[1]) : NULL;
        if (!valid_address(address))
            rc = s->host->config_error(s->self, "lines", "'%s' is not a line address", *e);
        else if (sim_line_find(s, address) != NULL)
            rc = s->host->config_error(s->self, "lines", "line %s is listed twice", address);
        else {
            sim_line *line = line_new(address, name);
            g_ptr_array_add(s->lines, line);
            g_hash_table_insert(s->line_by, line->address, line);
        }
        g_strfreev(parts);
    }
    g_strfreev(entries);
    if (rc == UCD_OK && s->lines->len == 0)
        rc = s->host->config_error(s->self, "lines", "names no line");
    return rc;
}

static int read_limited_lines(sim *s)
{
    char **entries = read_list(s, "limited_lines");
    int rc = UCD_OK;

    for (char **e = entries; *e != NULL && rc == UCD_OK; e++) {
        sim_line *line = sim_line_find(s, *e);
        if (line == NULL)
            rc = s->host->config_error(s->self, "limited_lines", "%s is not in lines", *e);
        else
            line->caps = sim_caps_for(1);
    }
    g_strfreev(entries);
    return rc;
}

static int read_delays(sim *s)
{
    sim_config *c = &s->cfg;
    int rc = UCD_OK;

    if (rc == UCD_OK)
        rc = read_duration(s, "answer_delay", &c->answer_delay_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "ring_timeout", &c->ring_timeout_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "no_answer_forward_delay", &c->no_answer_forward_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "hold_recall", &c->hold_recall_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "ring_time_min", &c->ring_min_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "ring_time_max", &c->ring_max_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "talk_time_min", &c->talk_min_ms);
    if (rc == UCD_OK)
        rc = read_duration(s, "talk_time_max", &c->talk_max_ms);
    if (rc == UCD_OK && c->ring_max_ms < c->ring_min_ms)
        rc = s->host->config_error(s->self, "ring_time_max", "is below ring_time_min");
    if (rc == UCD_OK && c->talk_max_ms < c->talk_min_ms)
        rc = s->host->config_error(s->self, "talk_time_max", "is below talk_time_min");
    return rc;
}

static int read_mix(sim *s)
{
    sim_config *c = &s->cfg;
    struct {
        const char *key;
        double *value;
    } shares[] = {
        {"weight_inbound", &c->weight_inbound},
        {"weight_outbound", &c->weight_outbound},
        {"weight_internal", &c->weight_internal},
        {"prob_unanswered", &c->prob_unanswered},
        {"prob_busy", &c->prob_busy},
        {"prob_transfer", &c->prob_transfer},
        {"prob_pickup", &c->prob_pickup},
        {"prob_forward", &c->prob_forward},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(shares); i++) {
        double high = i < 3 ? 1e6 : 1.0;
        if (read_number(s, shares[i].key, 0, high, shares[i].value) != UCD_OK)
            return UCD_FAIL;
    }
    if (c->weight_inbound + c->weight_outbound + c->weight_internal <= 0)
        return s->host->config_error(s->self, "weight_inbound", "the three weights add up to 0");
    if (c->prob_unanswered + c->prob_busy + c->prob_transfer + c->prob_pickup + c->prob_forward >
        1.0 + 1e-9)
        return s->host->config_error(s->self, "prob_forward",
                                     "the five probabilities add up to more than 1");
    return UCD_OK;
}

static int read_config(sim *s)
{
    sim_config *c = &s->cfg;
    int rc = read_lines(s);

    if (rc == UCD_OK)
        rc = read_limited_lines(s);
    if (rc == UCD_OK)
        rc = read_delays(s);
    if (rc == UCD_OK)
        rc = read_number(s, "speed", 1e-3, 1e6, &c->speed);
    if (rc == UCD_OK)
        rc = read_number(s, "calls_per_hour", 0, 1e8, &c->calls_per_hour);
    if (rc == UCD_OK)
        rc = read_mix(s);
    if (rc == UCD_OK && s->host->config_bool(s->self, "traffic", &c->traffic) != UCD_OK)
        rc = s->host->config_error(s->self, "traffic", "cannot be read");
    if (rc == UCD_OK && s->host->config_int(s->self, "seed", &c->seed) != UCD_OK)
        rc = s->host->config_error(s->self, "seed", "cannot be read");
    c->busy_numbers = read_list(s, "busy_numbers");
    c->noanswer_numbers = read_list(s, "noanswer_numbers");
    c->external_numbers = read_list(s, "external_numbers");
    return rc;
}

/* ---- the sim command ------------------------------------------------------------------- */

static int usage_error(sim *s, ucd_reply *reply)
{
    s->host->reply_error(reply,
                         "usage: %s call FROM LINE [--private] | remote-answer CALL | "
                         "remote-hangup CALL | line LINE offline|online | burst N [--sync] | "
                         "advance DURATION | traffic on|off | stats | lines",
                         s->command_name);
    return UCD_E_INVALID;
}

static void reply_u64(sim *s, ucd_reply *reply, const char *name, uint64_t value)
{
    char text[32];
    g_snprintf(text, sizeof(text), "%" PRIu64, value);
    s->host->reply_field(reply, name, text);
}

static const char *route_text(sim_route_result result)
{
    switch (result) {
    case SIM_ROUTE_OFFERED:
        return "ringing";
    case SIM_ROUTE_BUSY:
        return "busy";
    case SIM_ROUTE_OUTSIDE:
        return "forwarded outside";
    default:
        return "failed";
    }
}

static int cmd_call(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    int private_call = argc == 5 && strcmp(argv[4], "--private") == 0;

    if (argc != 4 && !private_call)
        return usage_error(s, reply);
    sim_line *line = sim_line_find(s, argv[3]);
    if (line == NULL) {
        s->host->reply_error(reply, "no line %s on %s", argv[3], s->module_id);
        return UCD_E_NOT_FOUND;
    }
    if (line->offline) {
        s->host->reply_error(reply, "line %s is out of service", argv[3]);
        return UCD_E_UNAVAILABLE;
    }
    sim_route_result result;
    sim_leg *leg = sim_inbound(s, line, argv[2], private_call ? UCD_CALL_FLAG_PRIVATE : 0, &result);
    s->host->reply_field(reply, "call", leg != NULL ? leg->call_id : "-");
    s->host->reply_field(reply, "result", route_text(result));
    return UCD_OK;
}

/* The leg of CALL if its far end is outside this PBX. */
static sim_leg *outside_leg(sim *s, const char *call_id, ucd_reply *reply)
{
    sim_leg *leg = sim_leg_find(s, call_id);
    if (leg == NULL)
        s->host->reply_error(reply, "no call %s on %s", call_id, s->module_id);
    else if (!leg->outside)
        s->host->reply_error(reply, "call %s is internal: use the line's own operations", call_id);
    return leg != NULL && leg->outside ? leg : NULL;
}

static int cmd_remote(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    if (argc != 3)
        return usage_error(s, reply);
    sim_leg *leg = outside_leg(s, argv[2], reply);
    if (leg == NULL)
        return UCD_E_NOT_FOUND;
    if (strcmp(argv[1], "remote-answer") == 0) {
        if (leg->state != UCD_CALL_RINGBACK) {
            s->host->reply_error(reply, "call %s is not ringing at the far end", argv[2]);
            return UCD_E_INVALID;
        }
        sim_remote_answer(s, leg);
    } else {
        sim_remote_hangup(s, leg);
    }
    s->host->reply_field(reply, "call", leg->call_id);
    return UCD_OK;
}

static int cmd_line(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    if (argc != 4 || (strcmp(argv[3], "offline") != 0 && strcmp(argv[3], "online") != 0))
        return usage_error(s, reply);
    sim_line *line = sim_line_find(s, argv[2]);
    if (line == NULL) {
        s->host->reply_error(reply, "no line %s on %s", argv[2], s->module_id);
        return UCD_E_NOT_FOUND;
    }
    sim_set_offline(s, line, strcmp(argv[3], "offline") == 0);
    s->host->reply_field(reply, "line", line->address);
    s->host->reply_field(reply, "state", line->offline ? "out_of_service" : "in_service");
    return UCD_OK;
}

/* Calls a cooperative burst runs per main-loop turn: big enough that the
 * timer costs nothing, small enough that a subscriber's queue (65,536 events
 * by default, about 8 events a call) never fills between two turns. */
#define BURST_CHUNK 256

static void burst_tick(void *data)
{
    sim *s = data;
    uint64_t n = MIN((uint64_t)BURST_CHUNK, s->burst_total - s->burst_next);
    sim_burst_run(s, s->burst_next, n, s->burst_total);
    s->burst_next += n;
    if (s->burst_next < s->burst_total)
        return;
    s->host->timer_remove(s->self, s->burst_timer);
    s->burst_timer = NULL;
    ucd_info(s->host, s->self, "burst of %" PRIu64 " calls done in %.3f s", s->burst_total,
             (g_get_monotonic_time() - s->burst_started_us) / 1e6);
}

/* `burst N` hands the main loop back every BURST_CHUNK calls, like a real PBX
 * link does between messages; `burst N --sync` runs all N in this one turn
 * (every event is out when it answers; subscribers with small queues drop). */
static int cmd_burst(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    guint64 count = 0;
    gboolean sync = argc == 4 && strcmp(argv[3], "--sync") == 0;

    if ((argc != 3 && !sync) ||
        !g_ascii_string_to_unsigned(argv[2], 10, 1, 10000000, &count, NULL)) {
        s->host->reply_error(reply, "usage: %s burst N [--sync] (1 to 10000000 calls)",
                             s->command_name);
        return UCD_E_INVALID;
    }
    if (s->burst_timer != NULL) {
        s->host->reply_error(reply, "a burst is running: %" PRIu64 " of %" PRIu64 " calls done",
                             s->burst_next, s->burst_total);
        return UCD_E_BUSY;
    }
    if (!sync) {
        s->burst_total = count;
        s->burst_next = 0;
        s->burst_started_us = g_get_monotonic_time();
        s->burst_timer = s->host->timer_add(s->self, 0, UCD_TIMER_REPEAT, burst_tick, s);
        reply_u64(s, reply, "burst_started", count);
        return UCD_OK;
    }
    uint64_t events_before = s->stats.events;
    int64_t started_us = g_get_monotonic_time();
    uint64_t calls = sim_burst(s, count);
    int64_t elapsed_us = g_get_monotonic_time() - started_us;
    reply_u64(s, reply, "calls", calls);
    reply_u64(s, reply, "events", s->stats.events - events_before);
    reply_u64(s, reply, "elapsed_us", (uint64_t)elapsed_us);
    return UCD_OK;
}

/* `advance DURATION`: DURATION of simulated time passes at once on the live
 * clock (a simulated day of traffic in seconds, for soak tests). */
static int cmd_advance(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    guint64 ms = 0;
    char *end = NULL;
    guint64 n = argc == 3 ? g_ascii_strtoull(argv[2], &end, 10) : 0;
    static const struct {
        const char *unit;
        guint64 ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; end != NULL && end != argv[2] && i < G_N_ELEMENTS(units); i++)
        if (strcmp(end, units[i].unit) == 0 && n <= G_MAXINT64 / units[i].ms / 1000)
            ms = n * units[i].ms;
    if (ms == 0) {
        s->host->reply_error(reply, "usage: %s advance DURATION (like 90s, 10m, 1d; more than 0)",
                             s->command_name);
        return UCD_E_INVALID;
    }
    sim_clock_advance(s, (int64_t)ms);
    reply_u64(s, reply, "now_ms", (uint64_t)s->live.now_ms);
    return UCD_OK;
}

static int cmd_traffic(sim *s, int argc, const char *const *argv, ucd_reply *reply)
{
    if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
        return usage_error(s, reply);
    sim_traffic_set(s, strcmp(argv[2], "on") == 0);
    s->host->reply_field(reply, "traffic", s->cfg.traffic ? "on" : "off");
    return UCD_OK;
}

/* Calls on hold now, and how long (simulated ms) the oldest of them has been. */
static void held_stats(sim *s, uint64_t *count, uint64_t *longest)
{
    GHashTableIter it;
    gpointer value;
    *count = *longest = 0;
    g_hash_table_iter_init(&it, s->legs);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const sim_leg *leg = value;
        if (leg->state != UCD_CALL_HELD)
            continue;
        (*count)++;
        int64_t held = s->live.now_ms - leg->held_since_ms;
        if (held > 0 && (uint64_t)held > *longest)
            *longest = (uint64_t)held;
    }
}

static int cmd_stats(sim *s, ucd_reply *reply)
{
    uint64_t held, longest_hold;
    held_stats(s, &held, &longest_hold);
    reply_u64(s, reply, "calls_started", s->stats.calls_started);
    reply_u64(s, reply, "events", s->stats.events);
    reply_u64(s, reply, "live_legs", g_hash_table_size(s->legs));
    reply_u64(s, reply, "generated_calls", s->stats.generated);
    reply_u64(s, reply, "generator_skipped", s->stats.generator_skipped);
    reply_u64(s, reply, "burst_calls", s->stats.burst_calls);
    reply_u64(s, reply, "burst_remaining",
              s->burst_timer != NULL ? s->burst_total - s->burst_next : 0);
    reply_u64(s, reply, "dtmf_digits", s->stats.dtmf_digits);
    reply_u64(s, reply, "held_legs", held);
    reply_u64(s, reply, "longest_hold_ms", longest_hold);
    s->host->reply_field(reply, "traffic", s->cfg.traffic ? "on" : "off");
    return UCD_OK;
}

static int cmd_lines(sim *s, ucd_reply *reply)
{
    static const char *const columns[] = {"line",    "name",  "state",  "dnd",
                                          "forward", "calls", "limited"};
    static const char *const states[] = {"unknown", "idle", "ringing",       "dialing",
                                         "busy",    "held", "out_of_service"};

    s->host->reply_columns(reply, G_N_ELEMENTS(columns), columns);
    for (guint i = 0; i < s->lines->len; i++) {
        const sim_line *line = g_ptr_array_index(s->lines, i);
        char calls[16];
        g_snprintf(calls, sizeof(calls), "%u", line->legs->len);
        const char *forward = line->forward[UCD_FORWARD_UNCONDITIONAL];
        const char *row[] = {line->address,
                             line->name != NULL ? line->name : "",
                             line->shown_state < G_N_ELEMENTS(states) ? states[line->shown_state]
                                                                      : "unknown",
                             line->dnd ? "on" : "off",
                             forward != NULL ? forward : "",
                             calls,
                             line->caps == sim_caps_for(1) ? "yes" : "no"};
        s->host->reply_row(reply, row);
    }
    return UCD_OK;
}

static int sim_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    sim *s = user_data;
    int rc;

    if (argc < 2)
        return usage_error(s, reply);
    if (!s->running) {
        s->host->reply_error(reply, "%s is not running", s->module_id);
        return UCD_E_UNAVAILABLE;
    }
    sim_clock_sync(s);
    const char *verb = argv[1];
    if (strcmp(verb, "call") == 0)
        rc = cmd_call(s, argc, argv, reply);
    else if (strcmp(verb, "remote-answer") == 0 || strcmp(verb, "remote-hangup") == 0)
        rc = cmd_remote(s, argc, argv, reply);
    else if (strcmp(verb, "line") == 0)
        rc = cmd_line(s, argc, argv, reply);
    else if (strcmp(verb, "burst") == 0)
        rc = cmd_burst(s, argc, argv, reply);
    else if (strcmp(verb, "advance") == 0)
        rc = cmd_advance(s, argc, argv, reply);
    else if (strcmp(verb, "traffic") == 0)
        rc = cmd_traffic(s, argc, argv, reply);
    else if (strcmp(verb, "stats") == 0 && argc == 2)
        rc = cmd_stats(s, reply);
    else if (strcmp(verb, "lines") == 0 && argc == 2)
        rc = cmd_lines(s, reply);
    else
        rc = usage_error(s, reply);
    sim_done(s);
    return rc;
}

/* Command names are unique and [a-z0-9-]: "sim", or "sim-office" for [module pbx-sim:Office]. */
static char *command_name_for(const char *instance)
{
    if (instance == NULL)
        return g_strdup("sim");
    char *name = g_strconcat("sim-", instance, NULL);
    for (char *c = name; *c; c++)
        *c = *c == '_' ? '-' : g_ascii_tolower(*c);
    return name;
}

/* Call ids read "office-17" ("sim-17" without an instance). */
static char *id_prefix_for(const char *instance)
{
    char *prefix = g_ascii_strdown(instance != NULL ? instance : "sim", -1);
    return prefix;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void sim_free(sim *s)
{
    if (s->legs != NULL) {
        GHashTableIter it;
        gpointer leg;
        g_hash_table_iter_init(&it, s->legs);
        while (g_hash_table_iter_next(&it, NULL, &leg))
            sim_leg_free(leg);
        g_hash_table_unref(s->legs);
    }
    if (s->dead != NULL)
        g_ptr_array_unref(s->dead);
    g_queue_clear_full(&s->pending, (GDestroyNotify)sim_pending_free);
    sim_clock_clear(&s->live);
    sim_clock_clear(&s->burst);
    if (s->line_by != NULL)
        g_hash_table_unref(s->line_by);
    if (s->lines != NULL)
        g_ptr_array_unref(s->lines);
    if (s->rng != NULL)
        g_rand_free(s->rng);
    if (s->burst_rng != NULL)
        g_rand_free(s->burst_rng);
    g_strfreev(s->cfg.busy_numbers);
    g_strfreev(s->cfg.noanswer_numbers);
    g_strfreev(s->cfg.external_numbers);
    g_free(s->id_prefix);
    g_free(s->command_name);
    g_free(s);
}

static sim *sim_new(ucd_plugin *self, const ucd_host *host)
{
    sim *s = g_new0(sim, 1);
    const char *instance = host->instance(self);

    s->self = self;
    s->host = host;
    s->module_id = host->module_id(self);
    s->id_prefix = id_prefix_for(instance);
    s->command_name = command_name_for(instance);
    s->lines = g_ptr_array_new_with_free_func(line_free);
    s->line_by = g_hash_table_new(g_str_hash, g_str_equal);
    s->legs = g_hash_table_new(g_str_hash, g_str_equal);
    s->dead = g_ptr_array_new_with_free_func((GDestroyNotify)sim_leg_free);
    g_queue_init(&s->pending);
    sim_clock_init(&s->live, 0);
    sim_clock_init(&s->burst, 1);
    s->clock = &s->live;
    return s;
}

static int sim_register(sim *s)
{
    const ucd_host *host = s->host;
    int rc = host->service_register(s->self, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &sim_pbx_table, s);
    if (rc != UCD_OK) {
        host->set_error(s->self, "cannot register the pbx service: %s", ucd_strerror(rc));
        return UCD_FAIL;
    }
    rc = host->command_register(
        s->self, s->command_name, "call FROM LINE [--private] | remote-answer CALL | ...",
        "drive the simulated PBX: outside calls, far ends, lines, burst, stats", sim_command, s);
    if (rc != UCD_OK) {
        host->set_error(s->self, "cannot register command %s: %s", s->command_name,
                        ucd_strerror(rc));
        return UCD_FAIL;
    }
    s->calls_counter = host->counter_new(s->self, "calls_started", UCD_COUNTER_MONOTONIC,
                                         "calls started: dialled, inbound, generated");
    s->events_counter = host->counter_new(s->self, "events", UCD_COUNTER_MONOTONIC,
                                          "line and call events published");
    s->legs_gauge =
        host->counter_new(s->self, "live_legs", UCD_COUNTER_GAUGE, "calls alive on the lines");
    return UCD_OK;
}

static int sim_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    *state = NULL;
    sim *s = sim_new(self, host);
    int rc = read_config(s);
    if (rc == UCD_OK)
        rc = sim_register(s);
    if (rc != UCD_OK) {
        sim_free(s);
        return UCD_FAIL;
    }
    /* Two generators from one seed: `sim burst` must not shift the live sequence. */
    s->rng = g_rand_new_with_seed((guint32)s->cfg.seed);
    s->burst_rng = g_rand_new_with_seed((guint32)s->cfg.seed ^ 0x5eed5eedu);
    *state = s;
    return UCD_OK;
}

static int sim_start(void *state)
{
    sim *s = state;

    s->running = 1;
    s->live.origin_real_ms = g_get_monotonic_time() / 1000;
    s->live.now_ms = 0;
    for (guint i = 0; i < s->lines->len; i++)
        sim_line_publish(s, g_ptr_array_index(s->lines, i)); /* every line starts idle */
    sim_traffic_start(s);
    sim_done(s);
    ucd_info(s->host, s->self, "%u lines, traffic %s, speed %g, command `ucctl %s`", s->lines->len,
             s->cfg.traffic ? "on" : "off", s->cfg.speed, s->command_name);
    return UCD_OK;
}

static void sim_stop(void *state)
{
    sim *s = state;

    sim_flush(s); /* what was accepted still gets told */
    if (s->burst_timer != NULL) {
        s->host->timer_remove(s->self, s->burst_timer);
        s->burst_timer = NULL;
    }
    sim_clock_stop(s);
    s->running = 0;
}

static void sim_fini(void *state)
{
    sim_free(state);
}

UCD_PLUGIN_DEFINE(.name = "pbx-sim", .version = "1.0.0", .license = "MIT",
                  .description = "simulated PBX: lines, call control and a traffic generator",
                  .provides = sim_provides, .config_keys = sim_keys, .init = sim_init,
                  .start = sim_start, .stop = sim_stop, .fini = sim_fini);
