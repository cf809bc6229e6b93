/*
 * sim.h - the insides of pbx-sim, shared by its source files (not part of the SDK).
 *
 * One `sim` is one module instance ([module pbx-sim:office]): its lines, the
 * legs (calls on those lines) that are alive, the events waiting to be
 * published, a scheduler running on simulated time, and the traffic generator.
 * Nothing lives in globals, so several instances run side by side.
 *
 * Files:
 *   pbx-sim.c      descriptor, configuration, life cycle, the `sim` command
 *   sim-calls.c    legs, routing (forward, DND, busy) and every call operation
 *   sim-clock.c    the scheduler: actions ordered by simulated time
 *   sim-traffic.c  the traffic generator and `sim burst`
 *   sim-api.c      the ucd_pbx_v1 table: argument checks and error codes
 */
#ifndef PBX_SIM_H
#define PBX_SIM_H

#include <glib.h>
#include <ucd/ucd.h>

/* A simulated PBX answers an outside number after dialing this long (simulated ms). */
#define SIM_SETUP_MS 500
/* Forwarding is followed at most this many times (a loop of forwards ends there). */
#define SIM_MAX_FORWARD_HOPS 5

typedef struct sim sim;
typedef struct sim_plan sim_plan;

typedef struct sim_line {
    char *address; /* what call control takes, and the number to dial */
    char *name;    /* label from "201=Reception", or NULL */
    uint64_t caps;
    int dnd;
    int offline;
    char *forward[3]; /* indexed by ucd_forward_type; NULL = off */
    GPtrArray *legs;  /* live legs on this line, oldest first */
    /* What the last line event said, so an unchanged line emits nothing. */
    uint32_t shown_state;
    int shown_dnd;
    char *shown_forward;
} sim_line;

/* What the outside party of a leg does while it is alerted. */
typedef enum sim_far_kind {
    SIM_FAR_ANSWER = 0, /* answers after far_delay_ms */
    SIM_FAR_BUSY = 1,   /* busy right after setup */
    SIM_FAR_NEVER = 2,  /* rings until ring_timeout */
} sim_far_kind;

/* One leg: one call on one line of this PBX. Its far end is either another
 * leg (`peer`, an internal call) or a party outside the PBX (`outside`). */
typedef struct sim_leg {
    char *call_id;
    char *conversation_id;
    sim_line *line;
    uint32_t state;     /* ucd_call_state */
    uint32_t direction; /* ucd_call_direction, from this line's view */
    uint32_t flags;     /* UCD_CALL_FLAG_* */
    uint32_t forward_reason;
    int64_t held_since_ms; /* simulated time it was put on hold (state HELD) */
    int recall_waits;      /* hold recalls put off while the holder was busy */
    char *remote_number;
    char *remote_name;
    char *requested_number;
    char *related_line;
    struct sim_leg *peer;
    int outside;
    /* Far-end behaviour for an outside party being alerted; set by dial from
     * busy_numbers / noanswer_numbers, or by the traffic generator. */
    sim_far_kind far_kind;
    int64_t far_delay_ms;
} sim_leg;

/* What offers a call to a line: the caller, and why the call arrives there. */
typedef struct sim_origin {
    sim_leg *peer;      /* the internal caller's leg; NULL for an outside caller */
    const char *number; /* the caller as the called line sees it */
    const char *name;
    uint32_t flags;           /* UCD_CALL_FLAG_PRIVATE */
    uint32_t cause;           /* NONE, TRANSFERRED or FORWARDED */
    uint32_t forward_reason;  /* with FORWARDED */
    const char *requested;    /* originally dialled number (forward, pickup) */
    const char *related_line; /* the line that transferred or forwarded */
    const char *conversation_id;
} sim_origin;

/* How offering a call to a line ended. With BUSY and OUTSIDE, *out_leg is the
 * leg that recorded it in one event (already ended); with FAILED it is NULL. */
typedef enum sim_route_result {
    SIM_ROUTE_OFFERED = 0, /* a leg rings: *out_leg */
    SIM_ROUTE_BUSY = 1,    /* busy or do-not-disturb, nobody took it */
    SIM_ROUTE_FAILED = 2,  /* out of service, or a forwarding loop */
    SIM_ROUTE_OUTSIDE = 3, /* forwarded to an outside number: *out_number */
} sim_route_result;

/* Scheduled things, run in simulated-time order (sim-clock.c). */
typedef enum sim_action_kind {
    SIM_ACT_FAR_ALERT = 0, /* an outside number was dialled: ringback or busy */
    SIM_ACT_FAR_ANSWER,
    SIM_ACT_FAR_BUSY,
    SIM_ACT_FAR_GIVE_UP, /* rang until ring_timeout without an answer */
    SIM_ACT_RING_TIMEOUT,
    SIM_ACT_NO_ANSWER_FORWARD,
    SIM_ACT_GEN_ARRIVAL, /* the traffic generator makes its next call */
    SIM_ACT_GEN_STEP,    /* the next step of a generated call */
    SIM_ACT_HOLD_RECALL, /* a held call rings its holder again (hold_recall) */
} sim_action_kind;

typedef struct sim_clock {
    GSequence *queue; /* sim_action, by (due, seq) */
    int64_t now_ms;   /* simulated time of what runs now */
    uint64_t seq;
    int is_virtual;         /* `sim burst`: time jumps, nothing waits */
    int64_t wall_base_ms;   /* virtual: wall-clock ms that simulated 0 stands for */
    int64_t origin_real_ms; /* live: monotonic ms at simulated 0 */
} sim_clock;

/* One pending event, with its own copies of every string. */
typedef struct sim_pending {
    uint32_t type;
    int64_t time_ms;
    ucd_call_state_event call;
    ucd_line_state_event line;
} sim_pending;

typedef struct sim_config {
    int64_t answer_delay_ms;
    int64_t ring_timeout_ms;
    int64_t no_answer_forward_ms;
    int64_t hold_recall_ms; /* 0: held calls are never recalled */
    double speed;
    char **busy_numbers;
    char **noanswer_numbers;
    /* traffic generator */
    int traffic;
    double calls_per_hour;
    int64_t seed;
    char **external_numbers;
    double weight_inbound, weight_outbound, weight_internal;
    double prob_unanswered, prob_busy, prob_transfer, prob_pickup, prob_forward;
    int64_t ring_min_ms, ring_max_ms;
    int64_t talk_min_ms, talk_max_ms;
} sim_config;

typedef struct sim_stats {
    uint64_t calls_started;
    uint64_t events;
    uint64_t generated;
    uint64_t generator_skipped;
    uint64_t dtmf_digits;
    uint64_t burst_calls;
} sim_stats;

struct sim {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;
    char *id_prefix;    /* call ids are PREFIX-N */
    char *command_name; /* "sim" or "sim-INSTANCE" */
    sim_config cfg;
    GPtrArray *lines;    /* sim_line, in configuration order */
    GHashTable *line_by; /* address -> sim_line */
    GHashTable *legs;    /* call_id -> sim_leg (live legs only) */
    GPtrArray *dead;     /* legs that ended, freed by sim_reap() */
    GQueue pending;      /* sim_pending, oldest first */
    uint64_t next_call;
    sim_clock live;
    sim_clock burst;
    sim_clock *clock; /* live, or burst while `sim burst` runs */
    ucd_timer *tick;  /* host timer for the earliest live action */
    int64_t tick_due;
    ucd_timer *flush_timer;
    /* A cooperative `sim burst` in progress: BURST_CHUNK calls per main-loop
     * turn, so the bus delivers between chunks as it would with a real PBX. */
    ucd_timer *burst_timer;
    uint64_t burst_total, burst_next;
    int64_t burst_started_us;
    int running;
    GRand *rng;          /* the traffic generator's */
    GRand *burst_rng;    /* `sim burst`'s, so a burst leaves the generator's sequence alone */
    int arrival_pending; /* the generator's next call is scheduled */
    sim_stats stats;
    ucd_counter *calls_counter;
    ucd_counter *events_counter;
    ucd_counter *legs_gauge;
};

/* sim-calls.c */
sim_line *sim_line_find(sim *s, const char *address);
sim_leg *sim_leg_find(sim *s, const char *call_id);
int sim_line_busy(const sim_line *line);
void sim_line_publish(sim *s, sim_line *line);
sim_leg *sim_dial(sim *s, sim_line *line, const char *number, const sim_plan *plan);
/* A call from outside to `line`; returns the leg it made (see sim_route_result). */
sim_leg *sim_inbound(sim *s, sim_line *line, const char *number, uint32_t flags,
                     sim_route_result *result);
void sim_answer(sim *s, sim_leg *leg);
void sim_hangup(sim *s, sim_leg *leg);
void sim_remote_answer(sim *s, sim_leg *leg);
void sim_remote_hangup(sim *s, sim_leg *leg);
void sim_hold(sim *s, sim_leg *leg);
void sim_retrieve(sim *s, sim_leg *leg);
sim_leg *sim_transfer_blind(sim *s, sim_leg *leg, const char *number);
void sim_transfer_consult(sim *s, sim_leg *held, sim_leg *active);
sim_leg *sim_deflect(sim *s, sim_leg *leg, const char *number, uint32_t reason);
sim_leg *sim_pickup(sim *s, sim_line *line, sim_leg *ringing);
void sim_set_offline(sim *s, sim_line *line, int offline);
void sim_far_end_start(sim *s, sim_leg *leg);
void sim_run_action(sim *s, sim_action_kind kind, const char *call_id);
void sim_flush(sim *s);
void sim_done(sim *s);
void sim_reap(sim *s);
void sim_leg_free(sim_leg *leg);
void sim_pending_free(sim_pending *p);

/* sim-clock.c */
void sim_clock_init(sim_clock *clock, int is_virtual);
void sim_clock_clear(sim_clock *clock);
void sim_clock_sync(sim *s);
void sim_schedule(sim *s, int64_t delay_ms, sim_action_kind kind, const char *call_id,
                  sim_plan *plan);
int64_t sim_event_time(const sim *s);
void sim_clock_drain(sim *s);
void sim_clock_stop(sim *s);
void sim_clock_rearm(sim *s);
/* Lets `ms` of simulated time pass on the live clock at once: every action
 * due meanwhile runs now, in order (`sim advance`, for soak tests). */
void sim_clock_advance(sim *s, int64_t ms);
/* Simulated time on the clock in use (live or burst). */
int64_t sim_now(const sim *s);

/* sim-traffic.c */
void sim_traffic_start(sim *s);
void sim_traffic_arrival(sim *s);
/* `sim traffic on|off`: starts or stops the generator's new calls (calls in
 * progress go on to their end). */
void sim_traffic_set(sim *s, int on);
void sim_plan_step(sim *s, sim_plan *plan);
sim_plan *sim_plan_ref(sim_plan *plan);
void sim_plan_unref(sim_plan *plan);
void sim_plan_far_end(const sim_plan *plan, sim_leg *leg);
uint64_t sim_burst(sim *s, uint64_t count);
uint64_t sim_burst_run(sim *s, uint64_t first, uint64_t count, uint64_t total);

/* sim-api.c */
extern const ucd_pbx_v1 sim_pbx_table;
/* The capabilities of a line: every UCD_PBX_CAP_* but CONFERENCE, or only
 * MONITOR, DIAL and HANGUP for a line in limited_lines. */
uint64_t sim_caps_for(int limited);

#endif /* PBX_SIM_H */
