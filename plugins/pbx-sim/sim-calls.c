/*
 * sim-calls.c - the simulated PBX itself: legs, routing and call operations.
 *
 * Every operation changes the model at once and queues the events a real PBX
 * would send; the queue is published later on the main loop (sim_done arms a
 * zero-delay timer), because the caller may be a control command that must
 * get its answer before the events start flowing. Legs that end are kept on a
 * list until the operation returns, so code may look at a leg it just ended.
 *
 * Conventions (docs in README.md): the first event of a leg has prev_state
 * IDLE; a new leg (transfer target, pickup, forward target) is emitted before
 * the leg it replaces ends; a leg whose far end changes without a state change
 * gets one event with state == prev_state and the cause that changed it.
 */
#include <inttypes.h>
#include <string.h>

#include "line-state.h"
#include "sim.h"

static int is_final(uint32_t state)
{
    return state == UCD_CALL_DISCONNECTED || state == UCD_CALL_TRANSFERRED;
}

static const char *call_state_name(uint32_t state)
{
    static const char *const names[] = {"idle",        "dialing",     "ringback",
                                        "offering",    "connected",   "held",
                                        "conferenced", "transferred", "disconnected"};
    return state < G_N_ELEMENTS(names) ? names[state] : "unknown";
}

sim_line *sim_line_find(sim *s, const char *address)
{
    return address != NULL ? g_hash_table_lookup(s->line_by, address) : NULL;
}

sim_leg *sim_leg_find(sim *s, const char *call_id)
{
    return call_id != NULL ? g_hash_table_lookup(s->legs, call_id) : NULL;
}

/* Call waiting is off in the simulation: a line with any live leg is busy. */
int sim_line_busy(const sim_line *line)
{
    return line->legs->len > 0;
}

void sim_leg_free(sim_leg *leg)
{
    g_free(leg->call_id);
    g_free(leg->conversation_id);
    g_free(leg->remote_number);
    g_free(leg->remote_name);
    g_free(leg->requested_number);
    g_free(leg->related_line);
    g_free(leg);
}

void sim_pending_free(sim_pending *p)
{
    g_free((char *)p->call.call_id);
    g_free((char *)p->call.conversation_id);
    g_free((char *)p->call.remote_number);
    g_free((char *)p->call.remote_name);
    g_free((char *)p->call.requested_number);
    g_free((char *)p->call.related_line);
    g_free((char *)p->line.forward_to);
    g_free(p);
}

static void set_string(char **field, const char *value)
{
    if (*field == value)
        return;
    g_free(*field);
    *field = g_strdup(value);
}

/* ---- events ---------------------------------------------------------------- */

static void queue_call_event(sim *s, const sim_leg *leg, uint32_t prev, uint32_t cause)
{
    sim_pending *p = g_new0(sim_pending, 1);
    ucd_call_state_event *e = &p->call;

    p->type = UCD_EVENT_CALL_STATE;
    p->time_ms = sim_event_time(s);
    e->struct_size = sizeof(*e);
    e->state = leg->state;
    e->prev_state = prev;
    e->direction = leg->direction;
    e->cause = cause;
    e->flags = leg->flags;
    e->driver_instance = s->module_id;
    e->line = leg->line->address; /* lines live as long as the module */
    e->call_id = g_strdup(leg->call_id);
    e->conversation_id = g_strdup(leg->conversation_id);
    e->remote_number = g_strdup(leg->remote_number);
    e->remote_name = g_strdup(leg->remote_name);
    e->requested_number = g_strdup(leg->requested_number);
    e->related_line = g_strdup(leg->related_line);
    e->forward_reason = cause == UCD_CAUSE_FORWARDED ? leg->forward_reason : 0;
    g_queue_push_tail(&s->pending, p);
}

static uint32_t line_state_now(const sim_line *line)
{
    line_state_tally tally = {0};

    if (line->offline)
        return UCD_LINE_OUT_OF_SERVICE;
    for (guint i = 0; i < line->legs->len; i++) {
        const sim_leg *leg = g_ptr_array_index(line->legs, i);
        line_state_tally_add(&tally, leg->state);
    }
    return line_state_of_tally(&tally);
}

/* Queues a line event when the line's state, DND or unconditional forward
 * differs from what the last line event said. */
void sim_line_publish(sim *s, sim_line *line)
{
    uint32_t state = line_state_now(line);
    const char *forward = line->forward[UCD_FORWARD_UNCONDITIONAL];

    if (state == line->shown_state && line->dnd == line->shown_dnd &&
        g_strcmp0(forward, line->shown_forward) == 0)
        return;
    line->shown_state = state;
    line->shown_dnd = line->dnd;
    set_string(&line->shown_forward, forward);

    sim_pending *p = g_new0(sim_pending, 1);
    p->type = UCD_EVENT_LINE_STATE;
    p->time_ms = sim_event_time(s);
    p->line.struct_size = sizeof(p->line);
    p->line.state = state;
    p->line.driver_instance = s->module_id;
    p->line.line = line->address;
    p->line.dnd = (uint32_t)line->dnd;
    p->line.forward_to = g_strdup(forward);
    g_queue_push_tail(&s->pending, p);
}

static void log_call_event(sim *s, const ucd_call_state_event *e)
{
    ucd_debug(s->host, s->self, "call %s on %s: %s -> %s, cause %u, remote %s", e->call_id, e->line,
              call_state_name(e->prev_state), call_state_name(e->state), e->cause,
              e->remote_number != NULL ? e->remote_number : "-");
}

/* Publishes every queued event in order. */
void sim_flush(sim *s)
{
    sim_pending *p;
    int debug = s->host->log_enabled(s->self, UCD_LOG_DEBUG);

    while ((p = g_queue_pop_head(&s->pending)) != NULL) {
        const ucd_event event = {
            .struct_size = sizeof(event),
            .type = p->type,
            .time_ms = p->time_ms,
            .payload =
                p->type == UCD_EVENT_CALL_STATE ? (const void *)&p->call : (const void *)&p->line,
        };
        if (debug && p->type == UCD_EVENT_CALL_STATE)
            log_call_event(s, &p->call);
        else if (debug)
            ucd_debug(s->host, s->self, "line %s: state %u", p->line.line, p->line.state);
        s->host->publish(s->self, &event);
        s->stats.events++;
        s->host->counter_add(s->events_counter, 1);
        sim_pending_free(p);
    }
}

static void flush_timer_fired(void *user_data)
{
    sim *s = user_data;
    s->flush_timer = NULL; /* a one-shot timer is gone once it fired */
    sim_flush(s);
}

void sim_reap(sim *s)
{
    g_ptr_array_set_size(s->dead, 0); /* the array frees them */
}

/* Ends an operation: frees ended legs and gets the queued events published,
 * at once in `sim burst`, else from the main loop right after this returns. */
void sim_done(sim *s)
{
    sim_reap(s);
    if (g_queue_is_empty(&s->pending))
        return;
    if (s->clock->is_virtual) {
        sim_flush(s);
        return;
    }
    if (s->flush_timer == NULL && s->running)
        s->flush_timer = s->host->timer_add(s->self, 0, 0, flush_timer_fired, s);
}

/* ---- legs ------------------------------------------------------------------ */

static sim_leg *leg_new(sim *s, sim_line *line, uint32_t direction, const char *conversation_id,
                        const char *remote_number, const char *remote_name)
{
    sim_leg *leg = g_new0(sim_leg, 1);

    leg->call_id = g_strdup_printf("%s-%" PRIu64, s->id_prefix, ++s->next_call);
    leg->conversation_id = g_strdup(conversation_id != NULL ? conversation_id : leg->call_id);
    leg->line = line;
    leg->state = UCD_CALL_IDLE;
    leg->direction = direction;
    leg->remote_number = g_strdup(remote_number);
    leg->remote_name = g_strdup(remote_name);
    g_ptr_array_add(line->legs, leg);
    g_hash_table_insert(s->legs, leg->call_id, leg);
    s->host->counter_set(s->legs_gauge, g_hash_table_size(s->legs));
    return leg;
}

static void link_legs(sim_leg *a, sim_leg *b)
{
    a->peer = b;
    b->peer = a;
    a->outside = b->outside = 0;
}

/* Moves a leg to `state` and queues its event; a final state retires the leg. */
static void leg_emit(sim *s, sim_leg *leg, uint32_t state, uint32_t cause)
{
    uint32_t prev = leg->state;

    leg->state = state;
    queue_call_event(s, leg, prev, cause);
    if (is_final(state)) {
        if (leg->peer != NULL && leg->peer->peer == leg)
            leg->peer->peer = NULL;
        leg->peer = NULL;
        g_ptr_array_remove(leg->line->legs, leg);
        g_hash_table_remove(s->legs, leg->call_id);
        g_ptr_array_add(s->dead, leg);
        s->host->counter_set(s->legs_gauge, g_hash_table_size(s->legs));
    }
    sim_line_publish(s, leg->line);
}

/* An event for a leg whose far end changed while its state did not. */
static void leg_update(sim *s, sim_leg *leg, uint32_t cause)
{
    queue_call_event(s, leg, leg->state, cause);
}

/* ---- the outside world ------------------------------------------------------ */

static int in_list(char **list, const char *number)
{
    return list != NULL && number != NULL && g_strv_contains((const char *const *)list, number);
}

/* Sets how the outside party behind `leg` reacts, from busy_numbers and
 * noanswer_numbers (the traffic generator sets its own). */
static void far_end_from_config(sim *s, sim_leg *leg, const char *number)
{
    leg->outside = 1;
    leg->far_delay_ms = s->cfg.answer_delay_ms;
    if (in_list(s->cfg.busy_numbers, number))
        leg->far_kind = SIM_FAR_BUSY;
    else if (in_list(s->cfg.noanswer_numbers, number))
        leg->far_kind = SIM_FAR_NEVER;
    else
        leg->far_kind = SIM_FAR_ANSWER;
}

/* The outside party is being alerted (the leg shows RINGBACK): schedule its reaction. */
void sim_far_end_start(sim *s, sim_leg *leg)
{
    switch (leg->far_kind) {
    case SIM_FAR_ANSWER:
        sim_schedule(s, leg->far_delay_ms, SIM_ACT_FAR_ANSWER, leg->call_id, NULL);
        break;
    case SIM_FAR_BUSY:
        sim_schedule(s, 0, SIM_ACT_FAR_BUSY, leg->call_id, NULL);
        break;
    case SIM_FAR_NEVER:
        sim_schedule(s, s->cfg.ring_timeout_ms, SIM_ACT_FAR_GIVE_UP, leg->call_id, NULL);
        break;
    }
}

/* ---- routing: offering a call to a line ---------------------------------------- */

static sim_route_result route(sim *s, sim_line *target, const sim_origin *o, int hops,
                              sim_leg **out_leg, const char **out_number);

/* A leg that appears and ends in one event (prev_state IDLE): a call that was
 * refused, or forwarded outside, before it could ring. */
static sim_leg *stub_leg(sim *s, sim_line *line, const sim_origin *o, uint32_t cause,
                         uint32_t forward_reason)
{
    sim_leg *leg = leg_new(s, line, o->peer != NULL ? UCD_DIR_INTERNAL : UCD_DIR_INBOUND,
                           o->conversation_id, o->number, o->name);
    leg->flags = o->flags;
    leg->requested_number = g_strdup(o->requested);
    leg->related_line = g_strdup(o->related_line);
    leg->forward_reason = forward_reason;
    leg_emit(s, leg, UCD_CALL_DISCONNECTED, cause);
    return leg;
}

static sim_route_result forward_call(sim *s, sim_line *from, const char *number, uint32_t reason,
                                     const sim_origin *o, int hops, sim_leg **out_leg,
                                     const char **out_number)
{
    sim_origin forwarded = *o;
    forwarded.cause = UCD_CAUSE_FORWARDED;
    forwarded.forward_reason = reason;
    forwarded.requested = o->requested != NULL ? o->requested : from->address;
    forwarded.related_line = from->address;

    sim_line *target = sim_line_find(s, number);
    if (target != NULL)
        return route(s, target, &forwarded, hops + 1, out_leg, out_number);
    /* Forwarded outside: the PBX shows it on the forwarding line only. */
    *out_leg = stub_leg(s, from, o, UCD_CAUSE_FORWARDED, reason);
    *out_number = number;
    return SIM_ROUTE_OUTSIDE;
}

static sim_leg *ring(sim *s, sim_line *target, const sim_origin *o)
{
    sim_leg *leg = leg_new(s, target, o->peer != NULL ? UCD_DIR_INTERNAL : UCD_DIR_INBOUND,
                           o->conversation_id, o->number, o->name);
    leg->flags = o->flags;
    leg->forward_reason = o->forward_reason;
    leg->requested_number = g_strdup(o->requested);
    leg->related_line = g_strdup(o->related_line);
    if (o->peer != NULL)
        link_legs(leg, o->peer);
    else
        leg->outside = 1;
    leg_emit(s, leg, UCD_CALL_OFFERING, o->cause);
    sim_schedule(s, s->cfg.ring_timeout_ms, SIM_ACT_RING_TIMEOUT, leg->call_id, NULL);
    if (target->forward[UCD_FORWARD_NO_ANSWER] != NULL)
        sim_schedule(s, s->cfg.no_answer_forward_ms, SIM_ACT_NO_ANSWER_FORWARD, leg->call_id, NULL);
    return leg;
}

/* Offers a call to `target`, following its forwarding, DND and busy state.
 * Rules (README.md): unconditional forward first; a busy or DND line forwards
 * on busy when that is set, else refuses with cause BUSY; otherwise it rings. */
static sim_route_result route(sim *s, sim_line *target, const sim_origin *o, int hops,
                              sim_leg **out_leg, const char **out_number)
{
    *out_leg = NULL;
    *out_number = NULL;
    if (hops > SIM_MAX_FORWARD_HOPS || target->offline)
        return SIM_ROUTE_FAILED;
    if (target->forward[UCD_FORWARD_UNCONDITIONAL] != NULL)
        return forward_call(s, target, target->forward[UCD_FORWARD_UNCONDITIONAL],
                            UCD_FORWARD_REASON_UNCONDITIONAL, o, hops, out_leg, out_number);
    if (sim_line_busy(target) || target->dnd) {
        if (target->forward[UCD_FORWARD_BUSY] != NULL)
            return forward_call(s, target, target->forward[UCD_FORWARD_BUSY],
                                UCD_FORWARD_REASON_BUSY, o, hops, out_leg, out_number);
        *out_leg = stub_leg(s, target, o, UCD_CAUSE_BUSY, 0);
        return SIM_ROUTE_BUSY;
    }
    *out_leg = ring(s, target, o);
    return SIM_ROUTE_OFFERED;
}

/* ---- operations ------------------------------------------------------------------ */

/* A consultation call carries the conversation id of the call its line holds. */
static const char *held_conversation(const sim_line *line)
{
    for (guint i = line->legs->len; i-- > 0;) {
        const sim_leg *leg = g_ptr_array_index(line->legs, i);
        if (leg->state == UCD_CALL_HELD)
            return leg->conversation_id;
    }
    return NULL;
}

static void dial_internal(sim *s, sim_leg *leg, sim_line *target)
{
    sim_origin o = {.peer = leg,
                    .number = leg->line->address,
                    .name = leg->line->name,
                    .conversation_id = leg->conversation_id};
    sim_leg *callee;
    const char *outside_number;

    switch (route(s, target, &o, 0, &callee, &outside_number)) {
    case SIM_ROUTE_OFFERED:
        leg_emit(s, leg, UCD_CALL_RINGBACK, UCD_CAUSE_NONE);
        break;
    case SIM_ROUTE_BUSY:
        leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_BUSY);
        break;
    case SIM_ROUTE_FAILED:
        leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_FAILED);
        break;
    case SIM_ROUTE_OUTSIDE:
        far_end_from_config(s, leg, outside_number);
        leg_emit(s, leg, UCD_CALL_RINGBACK, UCD_CAUSE_NONE);
        sim_far_end_start(s, leg);
        break;
    }
}

sim_leg *sim_dial(sim *s, sim_line *line, const char *number, const sim_plan *plan)
{
    sim_line *target = sim_line_find(s, number);
    sim_leg *leg = leg_new(s, line, target != NULL ? UCD_DIR_INTERNAL : UCD_DIR_OUTBOUND,
                           held_conversation(line), number, target != NULL ? target->name : NULL);

    s->stats.calls_started++;
    s->host->counter_add(s->calls_counter, 1);
    leg_emit(s, leg, UCD_CALL_DIALING, UCD_CAUSE_NONE);
    if (target != NULL) {
        dial_internal(s, leg, target);
        return leg;
    }
    if (plan != NULL)
        sim_plan_far_end(plan, leg);
    else
        far_end_from_config(s, leg, number);
    sim_schedule(s, SIM_SETUP_MS, SIM_ACT_FAR_ALERT, leg->call_id, NULL);
    return leg;
}

sim_leg *sim_inbound(sim *s, sim_line *line, const char *number, uint32_t flags,
                     sim_route_result *result)
{
    sim_origin o = {.number = number, .flags = flags};
    sim_leg *leg;
    const char *outside_number;

    s->stats.calls_started++;
    s->host->counter_add(s->calls_counter, 1);
    *result = route(s, line, &o, 0, &leg, &outside_number);
    return leg;
}

/* The internal caller `peer` now talks to `line`: a PBX tells the caller's
 * phone the party it is connected to (Asterisk's ConnectedLine), which after
 * a forward, pickup or transfer is not the number dialled. Returns whether it
 * changed. */
static int connected_line(sim_leg *peer, const sim_line *line)
{
    if (g_strcmp0(peer->remote_number, line->address) == 0)
        return 0;
    set_string(&peer->remote_number, line->address);
    set_string(&peer->remote_name, line->name);
    return 1;
}

void sim_answer(sim *s, sim_leg *leg)
{
    sim_leg *peer = leg->peer;

    leg_emit(s, leg, UCD_CALL_CONNECTED, UCD_CAUSE_NONE);
    if (peer == NULL)
        return;
    int changed = connected_line(peer, leg->line);
    if (peer->state == UCD_CALL_RINGBACK)
        leg_emit(s, peer, UCD_CALL_CONNECTED, UCD_CAUSE_NONE);
    else if (changed) /* a transferee already connected: only its far end changed */
        leg_update(s, peer, UCD_CAUSE_TRANSFERRED);
}

/* This line hangs up. Hanging up a ringing call rejects it. */
void sim_hangup(sim *s, sim_leg *leg)
{
    sim_leg *peer = leg->peer;
    uint32_t cause = leg->state == UCD_CALL_OFFERING ? UCD_CAUSE_REJECTED : UCD_CAUSE_NORMAL;

    leg_emit(s, leg, UCD_CALL_DISCONNECTED, cause);
    if (peer != NULL)
        leg_emit(s, peer, UCD_CALL_DISCONNECTED, cause);
}

void sim_remote_answer(sim *s, sim_leg *leg)
{
    leg_emit(s, leg, UCD_CALL_CONNECTED, UCD_CAUSE_NONE);
}

void sim_remote_hangup(sim *s, sim_leg *leg)
{
    leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_NORMAL);
}

void sim_hold(sim *s, sim_leg *leg)
{
    leg->held_since_ms = sim_now(s);
    leg->recall_waits = 0;
    leg_emit(s, leg, UCD_CALL_HELD, UCD_CAUSE_NONE);
    if (s->cfg.hold_recall_ms > 0)
        sim_schedule(s, s->cfg.hold_recall_ms, SIM_ACT_HOLD_RECALL, leg->call_id, NULL);
}

void sim_retrieve(sim *s, sim_leg *leg)
{
    leg_emit(s, leg, UCD_CALL_CONNECTED, UCD_CAUSE_NONE);
}

/* The far end of `leg` (internal peer or outside party) seen as a caller. */
static sim_origin origin_of_far_end(const sim_leg *leg, sim_leg *peer)
{
    sim_origin o = {.peer = peer, .conversation_id = leg->conversation_id};
    if (peer != NULL) {
        o.number = peer->line->address;
        o.name = peer->line->name;
    } else {
        o.number = leg->remote_number;
        o.name = leg->remote_name;
        o.flags = leg->flags;
    }
    return o;
}

/* `leg` now talks to an outside party at `number` although nothing on its own
 * side changed: one update event says so. */
static void becomes_outside(sim *s, sim_leg *leg, const char *number, const char *name,
                            const char *related)
{
    leg->outside = 1;
    leg->peer = NULL;
    set_string(&leg->remote_number, number);
    set_string(&leg->remote_name, name);
    set_string(&leg->related_line, related);
    leg_update(s, leg, UCD_CAUSE_TRANSFERRED);
}

sim_leg *sim_transfer_blind(sim *s, sim_leg *leg, const char *number)
{
    sim_leg *peer = leg->peer;
    sim_origin o = origin_of_far_end(leg, peer);
    sim_line *target = sim_line_find(s, number);
    sim_leg *new_leg = NULL;
    const char *outside_number = number;
    sim_route_result result = SIM_ROUTE_OUTSIDE;

    o.cause = UCD_CAUSE_TRANSFERRED;
    o.related_line = leg->line->address;
    /* The transferee leaves this line's leg before the target is offered the call. */
    leg->peer = NULL;
    if (peer != NULL)
        peer->peer = NULL;
    if (target != NULL)
        result = route(s, target, &o, 0, &new_leg, &outside_number);
    set_string(&leg->related_line, target != NULL ? target->address : NULL);
    leg_emit(s, leg, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED);
    if (peer == NULL) /* an outside transferee: it rings the target, or leaves the PBX */
        return result == SIM_ROUTE_OFFERED ? new_leg : NULL;
    switch (result) {
    case SIM_ROUTE_OFFERED:
        break; /* route() linked the peer to the new leg */
    case SIM_ROUTE_BUSY:
        leg_emit(s, peer, UCD_CALL_DISCONNECTED, UCD_CAUSE_BUSY);
        break;
    case SIM_ROUTE_FAILED:
        leg_emit(s, peer, UCD_CALL_DISCONNECTED, UCD_CAUSE_FAILED);
        break;
    case SIM_ROUTE_OUTSIDE:
        becomes_outside(s, peer, outside_number, NULL, leg->line->address);
        break;
    }
    return result == SIM_ROUTE_OFFERED ? new_leg : NULL;
}

/* Joins the far ends of the held and the active call; both legs of this line
 * end TRANSFERRED after the remaining legs were told who they talk to. */
void sim_transfer_consult(sim *s, sim_leg *held, sim_leg *active)
{
    sim_leg *x = held->peer, *y = active->peer;
    const char *line = held->line->address;

    if (x != NULL && y != NULL) {
        link_legs(x, y);
        set_string(&y->remote_number, x->line->address);
        set_string(&y->remote_name, x->line->name);
        set_string(&x->remote_number, y->line->address);
        set_string(&x->remote_name, y->line->name);
        set_string(&y->related_line, line);
        set_string(&x->related_line, line);
        leg_update(s, y, UCD_CAUSE_TRANSFERRED);
        leg_update(s, x, UCD_CAUSE_TRANSFERRED);
    } else if (y != NULL) {
        y->flags |= held->flags;
        becomes_outside(s, y, held->remote_number, held->remote_name, line);
    } else if (x != NULL) {
        becomes_outside(s, x, active->remote_number, active->remote_name, line);
    }
    held->peer = active->peer = NULL;
    leg_emit(s, held, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED);
    leg_emit(s, active, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED);
}

/* Sends a ringing call elsewhere (deflect, forward on no answer). When the
 * target refuses, the call keeps ringing here and NULL is returned. */
sim_leg *sim_deflect(sim *s, sim_leg *leg, const char *number, uint32_t reason)
{
    sim_leg *peer = leg->peer;
    sim_origin o = origin_of_far_end(leg, peer);
    sim_line *target = sim_line_find(s, number);
    sim_leg *new_leg = NULL;
    const char *outside_number = number;
    sim_route_result result = SIM_ROUTE_OUTSIDE;

    o.number = leg->remote_number; /* the caller as this line saw it */
    o.name = leg->remote_name;
    o.flags = leg->flags;
    o.cause = UCD_CAUSE_FORWARDED;
    o.forward_reason = reason;
    o.requested = leg->requested_number != NULL ? leg->requested_number : leg->line->address;
    o.related_line = leg->line->address;
    leg->peer = NULL;
    if (peer != NULL)
        peer->peer = NULL;
    if (target != NULL)
        result = route(s, target, &o, 0, &new_leg, &outside_number);
    if (result == SIM_ROUTE_BUSY || result == SIM_ROUTE_FAILED) {
        if (peer != NULL)
            link_legs(leg, peer);
        return NULL;
    }
    leg->forward_reason = reason;
    leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_FORWARDED);
    if (result == SIM_ROUTE_OUTSIDE && peer != NULL) {
        far_end_from_config(s, peer, outside_number);
        sim_far_end_start(s, peer);
    }
    return result == SIM_ROUTE_OFFERED ? new_leg : NULL;
}

sim_leg *sim_pickup(sim *s, sim_line *line, sim_leg *ringing)
{
    sim_leg *peer = ringing->peer;
    sim_leg *leg = leg_new(s, line, ringing->direction, ringing->conversation_id,
                           ringing->remote_number, ringing->remote_name);

    leg->flags = ringing->flags;
    leg->requested_number = g_strdup(ringing->requested_number != NULL ? ringing->requested_number
                                                                       : ringing->line->address);
    leg->related_line = g_strdup(ringing->line->address);
    ringing->peer = NULL;
    if (peer != NULL)
        link_legs(leg, peer);
    else
        leg->outside = 1;
    leg_emit(s, leg, UCD_CALL_CONNECTED, UCD_CAUSE_PICKED_UP);
    set_string(&ringing->related_line, line->address);
    leg_emit(s, ringing, UCD_CALL_DISCONNECTED, UCD_CAUSE_PICKED_UP);
    if (peer != NULL && peer->state == UCD_CALL_RINGBACK) {
        connected_line(peer, line);
        leg_emit(s, peer, UCD_CALL_CONNECTED, UCD_CAUSE_NONE);
    }
    return leg;
}

/* Out of service: every call on the line fails, its internal partners hang up. */
void sim_set_offline(sim *s, sim_line *line, int offline)
{
    line->offline = offline; /* first: the line goes straight to out of service */
    if (offline) {
        GPtrArray *legs = g_ptr_array_copy(line->legs, NULL, NULL);
        for (guint i = 0; i < legs->len; i++) {
            sim_leg *leg = g_ptr_array_index(legs, i);
            if (is_final(leg->state))
                continue;
            sim_leg *peer = leg->peer;
            leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_FAILED);
            if (peer != NULL)
                leg_emit(s, peer, UCD_CALL_DISCONNECTED, UCD_CAUSE_NORMAL);
        }
        g_ptr_array_unref(legs);
    }
    sim_line_publish(s, line);
}

/* ---- scheduled reactions ------------------------------------------------------------ */

static void far_alert(sim *s, sim_leg *leg)
{
    if (leg->far_kind == SIM_FAR_BUSY) {
        leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_BUSY);
        return;
    }
    leg_emit(s, leg, UCD_CALL_RINGBACK, UCD_CAUSE_NONE);
    sim_far_end_start(s, leg);
}

/* Whether `line` has a call other than `leg` that is not on hold: its user is
 * busy talking (or setting up a call) and not free for a recall. */
static int holder_busy(const sim_line *line, const sim_leg *leg)
{
    for (guint i = 0; i < line->legs->len; i++) {
        const sim_leg *other = g_ptr_array_index(line->legs, i);
        if (other != leg && other->state != UCD_CALL_HELD)
            return 1;
    }
    return 0;
}

static void ring_timeout(sim *s, sim_leg *leg);

/* Hold recalls put off while the holder is busy before the held call ends. */
#define SIM_MAX_RECALL_WAITS 5

/* Hold recall, as PBXes do (Cisco's hold reversion, Avaya's and 3CX's
 * recall): a call held for hold_recall rings its holder again once the holder
 * is free; the holder answers it or, after ring_timeout, it ends NO_ANSWER.
 * While the holder is on another call, it is tried again after hold_recall,
 * SIM_MAX_RECALL_WAITS times, then the held call ends (a caller does not wait
 * on hold for ever, and `sim burst` drains its clock to the end). So no call
 * stays on hold when the person who held it forgot it or hung up the
 * consultation. */
static void hold_recall(sim *s, sim_leg *leg)
{
    if (holder_busy(leg->line, leg) && leg->recall_waits >= SIM_MAX_RECALL_WAITS) {
        ring_timeout(s, leg);
        return;
    }
    if (holder_busy(leg->line, leg)) {
        leg->recall_waits++;
        sim_schedule(s, s->cfg.hold_recall_ms, SIM_ACT_HOLD_RECALL, leg->call_id, NULL);
        return;
    }
    leg_emit(s, leg, UCD_CALL_OFFERING, UCD_CAUSE_NONE);
    sim_schedule(s, s->cfg.ring_timeout_ms, SIM_ACT_RING_TIMEOUT, leg->call_id, NULL);
}

static void ring_timeout(sim *s, sim_leg *leg)
{
    sim_leg *peer = leg->peer;
    leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_NO_ANSWER);
    if (peer != NULL)
        leg_emit(s, peer, UCD_CALL_DISCONNECTED, UCD_CAUSE_NO_ANSWER);
}

/* Runs a scheduled reaction for `call_id`. The leg may have moved on since it
 * was scheduled (answered, hung up, transferred): then nothing happens. */
void sim_run_action(sim *s, sim_action_kind kind, const char *call_id)
{
    sim_leg *leg = sim_leg_find(s, call_id);
    const char *forward;

    if (leg == NULL)
        return;
    switch (kind) {
    case SIM_ACT_FAR_ALERT:
        if (leg->state == UCD_CALL_DIALING && leg->outside)
            far_alert(s, leg);
        break;
    case SIM_ACT_FAR_ANSWER:
        if (leg->state == UCD_CALL_RINGBACK && leg->outside)
            sim_remote_answer(s, leg);
        break;
    case SIM_ACT_FAR_BUSY:
        if (leg->state == UCD_CALL_RINGBACK && leg->outside)
            leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_BUSY);
        break;
    case SIM_ACT_FAR_GIVE_UP:
        if (leg->state == UCD_CALL_RINGBACK && leg->outside)
            leg_emit(s, leg, UCD_CALL_DISCONNECTED, UCD_CAUSE_NO_ANSWER);
        break;
    case SIM_ACT_RING_TIMEOUT:
        if (leg->state == UCD_CALL_OFFERING)
            ring_timeout(s, leg);
        break;
    case SIM_ACT_NO_ANSWER_FORWARD:
        forward = leg->line->forward[UCD_FORWARD_NO_ANSWER];
        if (leg->state == UCD_CALL_OFFERING && forward != NULL)
            sim_deflect(s, leg, forward, UCD_FORWARD_REASON_NO_ANSWER);
        break;
    case SIM_ACT_HOLD_RECALL:
        /* only the hold that scheduled it: a call retrieved and held again
         * has a later recall of its own */
        if (leg->state == UCD_CALL_HELD && sim_now(s) - leg->held_since_ms >= s->cfg.hold_recall_ms)
            hold_recall(s, leg);
        break;
    default:
        break;
    }
}
