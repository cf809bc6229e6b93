/*
 * sim-clock.c - the scheduler: delayed reactions run in simulated-time order.
 *
 * Every delay of the simulation (far end answers, ring timeout, the traffic
 * generator's next call and each step of it) is an action in one ordered
 * queue, due at a simulated time. One host timer waits for the earliest.
 *
 * Why not one host timer per action: two timers due within a millisecond may
 * fire in either order, and at speed 1000 that is most of them. Here an
 * action runs with the clock set to its own due time, and what it schedules
 * counts from there, not from the wall clock: the order of everything the
 * traffic generator does depends on the seed only, however late the main
 * loop wakes up. Simulated time runs `speed` times faster than real time.
 *
 * `sim burst` uses a second, virtual clock: nothing waits, time jumps to the
 * next action, and events carry the simulated time as their timestamps.
 */
#include <math.h>

#include "sim.h"

typedef struct sim_action {
    int64_t due;
    uint64_t seq; /* ties run in the order they were scheduled */
    sim_action_kind kind;
    char *call_id;
    sim_plan *plan;
} sim_action;

static gint action_compare(gconstpointer a, gconstpointer b, gpointer unused)
{
    const sim_action *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void action_free(sim_action *action)
{
    g_free(action->call_id);
    if (action->plan != NULL)
        sim_plan_unref(action->plan);
    g_free(action);
}

void sim_clock_init(sim_clock *clock, int is_virtual)
{
    clock->queue = g_sequence_new(NULL); /* actions are freed by hand: run, then freed */
    clock->is_virtual = is_virtual;
    clock->now_ms = 0;
    clock->seq = 0;
}

void sim_clock_clear(sim_clock *clock)
{
    if (clock->queue == NULL)
        return;
    GSequenceIter *it = g_sequence_get_begin_iter(clock->queue);
    while (!g_sequence_iter_is_end(it)) {
        action_free(g_sequence_get(it));
        it = g_sequence_iter_next(it);
    }
    g_sequence_free(clock->queue);
    clock->queue = NULL;
}

static int64_t monotonic_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* Simulated time that has passed on the live clock, from the real clock. */
static int64_t live_elapsed(const sim *s)
{
    return (int64_t)((double)(monotonic_ms() - s->live.origin_real_ms) * s->cfg.speed);
}

/* Brings the live clock up to real time before an outside request (API call,
 * command) changes anything, so its delays count from now. */
void sim_clock_sync(sim *s)
{
    int64_t now = live_elapsed(s);
    if (now > s->live.now_ms)
        s->live.now_ms = now;
}

int64_t sim_now(const sim *s)
{
    return s->clock->now_ms;
}

int64_t sim_event_time(const sim *s)
{
    return s->clock->is_virtual ? s->clock->wall_base_ms + s->clock->now_ms : 0;
}

static sim_action *first_action(sim_clock *clock)
{
    GSequenceIter *it = g_sequence_get_begin_iter(clock->queue);
    return g_sequence_iter_is_end(it) ? NULL : g_sequence_get(it);
}

static sim_action *pop_action(sim_clock *clock)
{
    GSequenceIter *it = g_sequence_get_begin_iter(clock->queue);
    if (g_sequence_iter_is_end(it))
        return NULL;
    sim_action *action = g_sequence_get(it);
    g_sequence_remove(it);
    return action;
}

static void dispatch(sim *s, sim_action *action)
{
    s->clock->now_ms = action->due;
    switch (action->kind) {
    case SIM_ACT_GEN_ARRIVAL:
        sim_traffic_arrival(s);
        break;
    case SIM_ACT_GEN_STEP:
        sim_plan_step(s, action->plan);
        break;
    default:
        sim_run_action(s, action->kind, action->call_id);
        break;
    }
    action_free(action);
    sim_reap(s);
}

static void tick_fired(void *user_data)
{
    sim *s = user_data;
    int64_t now = live_elapsed(s);
    sim_action *action;

    s->tick = NULL; /* a one-shot timer is gone once it fired */
    while ((action = first_action(&s->live)) != NULL && action->due <= now)
        dispatch(s, pop_action(&s->live));
    sim_clock_sync(s);
    sim_flush(s);
    sim_clock_rearm(s);
}

void sim_clock_advance(sim *s, int64_t ms)
{
    /* The live clock is the real one times speed: moving its origin back
     * makes `ms` more simulated time have passed. */
    s->live.origin_real_ms -= (int64_t)ceil((double)ms / s->cfg.speed);
    if (s->tick != NULL)
        s->host->timer_remove(s->self, s->tick);
    tick_fired(s); /* runs what is due now, flushes, rearms */
}

/* Points the host timer at the earliest live action. */
void sim_clock_rearm(sim *s)
{
    sim_action *first = first_action(&s->live);

    if (!s->running || first == NULL)
        return;
    if (s->tick != NULL && s->tick_due <= first->due)
        return;
    if (s->tick != NULL)
        s->host->timer_remove(s->self, s->tick);
    double wait = ceil((double)(first->due - live_elapsed(s)) / s->cfg.speed);
    s->tick_due = first->due;
    s->tick = s->host->timer_add(s->self, wait > 0 ? (uint64_t)wait : 0, 0, tick_fired, s);
}

void sim_schedule(sim *s, int64_t delay_ms, sim_action_kind kind, const char *call_id,
                  sim_plan *plan)
{
    sim_clock *clock = s->clock;
    sim_action *action = g_new0(sim_action, 1);

    action->due = clock->now_ms + (delay_ms > 0 ? delay_ms : 0);
    action->seq = clock->seq++;
    action->kind = kind;
    action->call_id = g_strdup(call_id);
    action->plan = plan != NULL ? sim_plan_ref(plan) : NULL;
    g_sequence_insert_sorted(clock->queue, action, action_compare, NULL);
    if (!clock->is_virtual)
        sim_clock_rearm(s);
}

/* Runs the virtual clock's actions until none is left (`sim burst`). */
void sim_clock_drain(sim *s)
{
    sim_action *action;

    while ((action = pop_action(s->clock)) != NULL) {
        dispatch(s, action);
        sim_flush(s);
    }
}

/* Removes the host timers (stop). Actions stay queued until fini frees them. */
void sim_clock_stop(sim *s)
{
    if (s->tick != NULL)
        s->host->timer_remove(s->self, s->tick);
    if (s->flush_timer != NULL)
        s->host->timer_remove(s->self, s->flush_timer);
    s->tick = NULL;
    s->flush_timer = NULL;
}
