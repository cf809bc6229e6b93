/*
 * sim-traffic.c - the traffic generator and `sim burst`.
 *
 * A generated call is a plan: everything random about it (kind, outcome, the
 * lines involved, ring and talk times, who hangs up) is drawn from the seeded
 * generator when the call starts, then its steps run as scheduled actions on
 * the simulated clock (sim-clock.c). The same seed therefore gives the same
 * calls in the same order. The generator plays the people at the phones, so
 * it may answer on a line that offers no CTI control (limited_lines).
 *
 * A step checks that its call is still where the plan left it (someone may
 * have hung up through the API meanwhile); if not, the plan ends quietly.
 */
#include <math.h>

#include "sim.h"

typedef enum gen_kind {
    GEN_INBOUND = 0,
    GEN_OUTBOUND = 1,
    GEN_INTERNAL = 2,
} gen_kind;

typedef enum gen_outcome {
    GEN_ANSWERED = 0,
    GEN_UNANSWERED,
    GEN_BUSY,
    GEN_BLIND,
    GEN_CONSULT,
    GEN_PICKUP,
    GEN_FORWARD,
} gen_outcome;

typedef enum gen_op {
    OP_ANSWER_A = 0, /* the called line answers */
    OP_ANSWER_B,     /* the transfer, forward or internal target answers */
    OP_HANGUP_A,     /* the calling line gives up */
    OP_REJECT_B,     /* the internal callee rejects */
    OP_GIVE_UP,      /* the outside caller gives up */
    OP_PICKUP_A,     /* the colleague picks up the ringing call */
    OP_PICKUP_B,     /* a third line picks up the internal callee's ringing call */
    OP_DEFLECT_A,    /* the called line deflects to the colleague */
    OP_BLIND_A,      /* blind transfer to the colleague */
    OP_CONSULT_A,    /* hold, then call the colleague */
    OP_CONSULT_DONE, /* consultation transfer */
    OP_END,          /* someone hangs up */
    OP_RESUME_A,     /* the consultation failed: back to the held caller */
    OP_HANGUP_C,     /* the held caller left: the consultation ends */
} gen_op;

/* A consultation plan has 5 steps; when it fails half way, 2 more (resume,
 * end) replace the rest. */
#define PLAN_MAX_STEPS 8
/* How long the person who held a call takes to notice the consultation
 * failed (busy tone, nobody answers) and go back to the caller (simulated). */
#define RESUME_DELAY_MS 3000

struct sim_plan {
    int refs;
    sim_line *line;      /* L: the line the call starts or rings on */
    sim_line *colleague; /* M: transfer/forward/pickup target, or the internal callee */
    sim_line *helper;    /* K: picks up an internal call */
    sim_far_kind far_kind;
    int64_t far_delay_ms;
    int local_ends;         /* this PBX's side hangs up at the end, else the far end */
    int64_t resume_talk_ms; /* after a failed consultation, talk this long */
    int resumed;            /* the plan already went back to the held caller */
    char *a_id, *b_id, *c_id;
    struct {
        int64_t delay_ms;
        gen_op op;
    } steps[PLAN_MAX_STEPS];
    int step_count, next_step;
};

sim_plan *sim_plan_ref(sim_plan *plan)
{
    plan->refs++;
    return plan;
}

void sim_plan_unref(sim_plan *plan)
{
    if (--plan->refs > 0)
        return;
    g_free(plan->a_id);
    g_free(plan->b_id);
    g_free(plan->c_id);
    g_free(plan);
}

void sim_plan_far_end(const sim_plan *plan, sim_leg *leg)
{
    leg->outside = 1;
    leg->far_kind = plan->far_kind;
    leg->far_delay_ms = plan->far_delay_ms;
}

static void plan_add(sim_plan *plan, int64_t delay_ms, gen_op op)
{
    g_assert(plan->step_count < PLAN_MAX_STEPS);
    plan->steps[plan->step_count].delay_ms = delay_ms;
    plan->steps[plan->step_count].op = op;
    plan->step_count++;
}

static void set_id(char **field, const sim_leg *leg)
{
    g_free(*field);
    *field = leg != NULL ? g_strdup(leg->call_id) : NULL;
}

/* ---- random draws ---------------------------------------------------------------- */

static int64_t draw_between(GRand *rng, int64_t low, int64_t high)
{
    if (high <= low)
        return low;
    return low + (int64_t)(g_rand_double(rng) * (double)(high - low));
}

static gen_kind draw_kind(const sim_config *cfg, GRand *rng)
{
    double total = cfg->weight_inbound + cfg->weight_outbound + cfg->weight_internal;
    double u = g_rand_double(rng) * total;
    if (u < cfg->weight_inbound)
        return GEN_INBOUND;
    return u < cfg->weight_inbound + cfg->weight_outbound ? GEN_OUTBOUND : GEN_INTERNAL;
}

static gen_outcome draw_outcome(const sim_config *cfg, GRand *rng)
{
    double u = g_rand_double(rng);
    const double shares[] = {cfg->prob_unanswered, cfg->prob_busy, cfg->prob_transfer,
                             cfg->prob_pickup, cfg->prob_forward};
    const gen_outcome outcomes[] = {GEN_UNANSWERED, GEN_BUSY, GEN_BLIND, GEN_PICKUP, GEN_FORWARD};

    for (size_t i = 0; i < G_N_ELEMENTS(shares); i++) {
        if (u < shares[i]) {
            /* Half the transfers are consultation transfers. */
            if (outcomes[i] == GEN_BLIND && g_rand_boolean(rng))
                return GEN_CONSULT;
            return outcomes[i];
        }
        u -= shares[i];
    }
    return GEN_ANSWERED;
}

/* A random line that could take a call now (busy = 0) or is busy (busy = 1). */
static sim_line *draw_line(sim *s, GRand *rng, int busy, const sim_line *not1, const sim_line *not2)
{
    GPtrArray *fit = g_ptr_array_new();
    sim_line *chosen = NULL;

    for (guint i = 0; i < s->lines->len; i++) {
        sim_line *line = g_ptr_array_index(s->lines, i);
        if (line == not1 || line == not2 || line->offline)
            continue;
        if (busy ? sim_line_busy(line) : (!sim_line_busy(line) && !line->dnd))
            g_ptr_array_add(fit, line);
    }
    if (fit->len > 0)
        chosen = g_ptr_array_index(fit, g_rand_int_range(rng, 0, (gint32)fit->len));
    g_ptr_array_unref(fit);
    return chosen;
}

static const char *draw_number(sim *s, GRand *rng)
{
    guint count = s->cfg.external_numbers != NULL ? g_strv_length(s->cfg.external_numbers) : 0;
    if (count == 0)
        return "+4989123456";
    return s->cfg.external_numbers[g_rand_int_range(rng, 0, (gint32)count)];
}

/* ---- plans per kind of call ------------------------------------------------------------ */

typedef struct gen_times {
    int64_t ring, ring2, talk, talk2, consult;
} gen_times;

static void plan_inbound(sim_plan *plan, gen_outcome outcome, const gen_times *t)
{
    switch (outcome) {
    case GEN_UNANSWERED:
        plan_add(plan, t->ring, OP_GIVE_UP);
        return;
    case GEN_PICKUP:
        plan_add(plan, t->ring, OP_PICKUP_A);
        plan_add(plan, t->talk, OP_END);
        return;
    case GEN_FORWARD:
        plan_add(plan, t->ring, OP_DEFLECT_A);
        plan_add(plan, t->ring2, OP_ANSWER_B);
        plan_add(plan, t->talk, OP_END);
        return;
    case GEN_BLIND:
        plan_add(plan, t->ring, OP_ANSWER_A);
        plan_add(plan, t->talk, OP_BLIND_A);
        plan_add(plan, t->ring2, OP_ANSWER_B);
        plan_add(plan, t->talk2, OP_END);
        return;
    case GEN_CONSULT:
        plan_add(plan, t->ring, OP_ANSWER_A);
        plan_add(plan, t->talk, OP_CONSULT_A);
        plan_add(plan, t->ring2, OP_ANSWER_B);
        plan_add(plan, t->consult, OP_CONSULT_DONE);
        plan_add(plan, t->talk2, OP_END);
        return;
    default: /* answered; a busy inbound call needs no step: the line refuses it */
        plan_add(plan, t->ring, OP_ANSWER_A);
        plan_add(plan, t->talk, OP_END);
        return;
    }
}

static void plan_outbound(sim_plan *plan, gen_outcome outcome, const gen_times *t)
{
    int64_t answered_at = SIM_SETUP_MS + t->ring;

    plan->far_kind = SIM_FAR_ANSWER;
    plan->far_delay_ms = t->ring;
    switch (outcome) {
    case GEN_BUSY:
        plan->far_kind = SIM_FAR_BUSY;
        return;
    case GEN_UNANSWERED:
        plan->far_kind = SIM_FAR_NEVER;
        plan_add(plan, answered_at, OP_HANGUP_A);
        return;
    case GEN_BLIND:
    case GEN_CONSULT:
        plan_add(plan, answered_at + t->talk, OP_BLIND_A);
        plan_add(plan, t->ring2, OP_ANSWER_B);
        plan_add(plan, t->talk2, OP_END);
        return;
    default:
        plan_add(plan, answered_at + t->talk, OP_END);
        return;
    }
}

static void plan_internal(sim_plan *plan, gen_outcome outcome, const gen_times *t)
{
    switch (outcome) {
    case GEN_UNANSWERED:
        plan_add(plan, t->ring, OP_HANGUP_A);
        return;
    case GEN_BUSY:
        plan_add(plan, t->ring / 4, OP_REJECT_B);
        return;
    case GEN_PICKUP:
        if (plan->helper != NULL) {
            plan_add(plan, t->ring, OP_PICKUP_B);
            plan_add(plan, t->talk, OP_END);
            return;
        }
        break;
    default:
        break;
    }
    plan_add(plan, t->ring, OP_ANSWER_B);
    plan_add(plan, t->talk, OP_END);
}

/* ---- starting a call --------------------------------------------------------------- */

static void draw_times(const sim_config *cfg, GRand *rng, gen_times *t)
{
    t->ring = draw_between(rng, cfg->ring_min_ms, cfg->ring_max_ms);
    t->ring2 = draw_between(rng, cfg->ring_min_ms, cfg->ring_max_ms);
    t->talk = draw_between(rng, cfg->talk_min_ms, cfg->talk_max_ms);
    t->talk2 = draw_between(rng, cfg->talk_min_ms, cfg->talk_max_ms);
    t->consult = draw_between(rng, cfg->talk_min_ms / 4, cfg->talk_max_ms / 4);
}

static int start_inbound(sim *s, sim_plan *plan, const char *number, uint32_t flags)
{
    sim_route_result result;
    sim_leg *leg = sim_inbound(s, plan->line, number, flags, &result);
    set_id(&plan->a_id, leg);
    return leg != NULL;
}

static int start_internal(sim *s, sim_plan *plan)
{
    sim_leg *leg = sim_dial(s, plan->line, plan->colleague->address, NULL);
    set_id(&plan->a_id, leg);
    set_id(&plan->b_id, leg->peer);
    return leg->peer != NULL;
}

/* Draws one call and starts it. Returns 0 when no line was free for it. */
static int generate_call(sim *s, GRand *rng)
{
    const sim_config *cfg = &s->cfg;
    gen_kind kind = draw_kind(cfg, rng);
    gen_outcome outcome = draw_outcome(cfg, rng);
    gen_times times;
    const char *number = draw_number(s, rng);
    uint32_t flags = g_rand_int_range(rng, 0, 20) == 0 ? UCD_CALL_FLAG_PRIVATE : 0;
    int local_ends = g_rand_boolean(rng);
    draw_times(cfg, rng, &times);

    sim_line *line = NULL;
    if (kind == GEN_INBOUND && outcome == GEN_BUSY)
        line = draw_line(s, rng, 1, NULL, NULL);
    if (line == NULL)
        line = draw_line(s, rng, 0, NULL, NULL);
    sim_line *colleague = line != NULL ? draw_line(s, rng, 0, line, NULL) : NULL;
    sim_line *helper = colleague != NULL ? draw_line(s, rng, 0, line, colleague) : NULL;
    if (line == NULL || (kind == GEN_INTERNAL && colleague == NULL))
        return 0;
    if (colleague == NULL && outcome != GEN_UNANSWERED && outcome != GEN_BUSY)
        outcome = GEN_ANSWERED; /* nobody to transfer to or pick up */

    sim_plan *plan = g_new0(sim_plan, 1);
    plan->refs = 1;
    plan->line = line;
    plan->colleague = colleague;
    plan->helper = helper;
    plan->local_ends = local_ends;
    plan->resume_talk_ms = times.talk2;

    int started;
    switch (kind) {
    case GEN_INBOUND:
        plan_inbound(plan, outcome, &times);
        started = start_inbound(s, plan, number, flags);
        break;
    case GEN_OUTBOUND:
        plan_outbound(plan, outcome, &times);
        set_id(&plan->a_id, sim_dial(s, line, number, plan));
        started = 1;
        break;
    default:
        plan_internal(plan, outcome, &times);
        started = start_internal(s, plan);
        break;
    }
    if (started && plan->step_count > 0)
        sim_schedule(s, plan->steps[0].delay_ms, SIM_ACT_GEN_STEP, NULL, plan);
    sim_plan_unref(plan);
    return 1;
}

/* Exponential gaps between calls: arrivals at random, calls_per_hour on average. */
static void schedule_next_arrival(sim *s)
{
    s->arrival_pending = 1;
    double per_ms = s->cfg.calls_per_hour / 3600000.0;
    double u = g_rand_double(s->rng); /* [0, 1) */
    sim_schedule(s, (int64_t)(-log1p(-u) / per_ms), SIM_ACT_GEN_ARRIVAL, NULL, NULL);
}

void sim_traffic_start(sim *s)
{
    if (s->cfg.traffic && s->cfg.calls_per_hour > 0)
        schedule_next_arrival(s);
}

void sim_traffic_set(sim *s, int on)
{
    s->cfg.traffic = on;
    if (on && !s->arrival_pending && s->cfg.calls_per_hour > 0)
        schedule_next_arrival(s);
}

void sim_traffic_arrival(sim *s)
{
    s->arrival_pending = 0;
    if (!s->cfg.traffic)
        return; /* `traffic off`: no new calls, no next arrival */
    schedule_next_arrival(s);
    if (generate_call(s, s->rng))
        s->stats.generated++;
    else
        s->stats.generator_skipped++;
}

/* ---- steps --------------------------------------------------------------------------- */

static sim_leg *leg_in(sim *s, const char *id, uint32_t state)
{
    sim_leg *leg = sim_leg_find(s, id);
    return leg != NULL && leg->state == state ? leg : NULL;
}

static int step_end(sim *s, sim_plan *plan)
{
    sim_leg *a = leg_in(s, plan->a_id, UCD_CALL_CONNECTED);
    sim_leg *b = leg_in(s, plan->b_id, UCD_CALL_CONNECTED);
    sim_leg *leg = b != NULL ? b : a;

    if (a != NULL && b != NULL && a->peer == b)
        leg = plan->local_ends ? a : b; /* internal: either side hangs up */
    if (leg == NULL)
        return 0;
    if (leg->outside && !plan->local_ends)
        sim_remote_hangup(s, leg);
    else
        sim_hangup(s, leg);
    return 1;
}

static int step_consult(sim *s, sim_plan *plan)
{
    sim_leg *a = leg_in(s, plan->a_id, UCD_CALL_CONNECTED);
    if (a == NULL)
        return 0;
    sim_hold(s, a);
    sim_leg *c = sim_dial(s, plan->line, plan->colleague->address, NULL);
    set_id(&plan->c_id, c);
    set_id(&plan->b_id, c->peer);
    return c->peer != NULL;
}

static int step_consult_done(sim *s, sim_plan *plan)
{
    sim_leg *a = leg_in(s, plan->a_id, UCD_CALL_HELD);
    sim_leg *c = leg_in(s, plan->c_id, UCD_CALL_CONNECTED);
    if (a == NULL || c == NULL)
        return 0;
    sim_transfer_consult(s, a, c);
    return 1;
}

/* The holder goes back to the held caller: hangs up what is left of the
 * consultation, then retrieves the call (or answers it, when the PBX already
 * rings it as a hold recall). Returns whether they talk again. */
static int step_resume(sim *s, sim_plan *plan)
{
    sim_leg *c = sim_leg_find(s, plan->c_id);
    if (c != NULL)
        sim_hangup(s, c);
    sim_leg *a = sim_leg_find(s, plan->a_id);
    if (a == NULL)
        return 0;
    if (a->state == UCD_CALL_HELD)
        sim_retrieve(s, a);
    else if (a->state == UCD_CALL_OFFERING)
        sim_answer(s, a);
    set_id(&plan->b_id, NULL); /* the consultation's callee is no longer in this call */
    return a->state == UCD_CALL_CONNECTED;
}

/* A step of a consultation failed (the colleague was busy, did not answer,
 * or the consultation call ended): a person does not leave the caller on
 * hold for ever but goes back to them, talks, and the call ends as usual.
 * Returns whether the plan goes on with those steps. */
static int plan_resume(sim *s, sim_plan *plan)
{
    sim_leg *a = sim_leg_find(s, plan->a_id);
    if (!plan->resumed && a == NULL && sim_leg_find(s, plan->c_id) != NULL) {
        /* the held caller hung up: the consultation has nobody to hand over */
        plan->resumed = 1;
        plan->step_count = plan->next_step;
        plan_add(plan, plan->resume_talk_ms / 4, OP_HANGUP_C);
        return 1;
    }
    /* held by this plan's consultation, or rung back by the PBX's recall */
    gboolean recalled = a != NULL && a->state == UCD_CALL_OFFERING && plan->c_id != NULL;
    if (plan->resumed || a == NULL || a->line != plan->line ||
        (a->state != UCD_CALL_HELD && !recalled))
        return 0;
    plan->resumed = 1;
    plan->step_count = plan->next_step;
    plan_add(plan, RESUME_DELAY_MS, OP_RESUME_A);
    plan_add(plan, plan->resume_talk_ms, OP_END);
    return 1;
}

/* Runs one step; returns non-zero when the plan goes on. */
static int run_op(sim *s, sim_plan *plan, gen_op op)
{
    sim_leg *leg;

    switch (op) {
    case OP_ANSWER_A:
    case OP_ANSWER_B:
        leg = leg_in(s, op == OP_ANSWER_A ? plan->a_id : plan->b_id, UCD_CALL_OFFERING);
        if (leg != NULL)
            sim_answer(s, leg);
        return leg != NULL;
    case OP_HANGUP_A:
    case OP_REJECT_B:
        leg = sim_leg_find(s, op == OP_HANGUP_A ? plan->a_id : plan->b_id);
        if (leg != NULL)
            sim_hangup(s, leg);
        return 0;
    case OP_GIVE_UP:
        leg = leg_in(s, plan->a_id, UCD_CALL_OFFERING);
        if (leg != NULL && leg->outside)
            sim_remote_hangup(s, leg);
        return 0;
    case OP_PICKUP_A:
    case OP_PICKUP_B:
        leg = leg_in(s, op == OP_PICKUP_A ? plan->a_id : plan->b_id, UCD_CALL_OFFERING);
        sim_line *picker = op == OP_PICKUP_A ? plan->colleague : plan->helper;
        if (leg == NULL || picker->offline)
            return 0;
        set_id(&plan->b_id, sim_pickup(s, picker, leg));
        return 1;
    case OP_DEFLECT_A:
        leg = leg_in(s, plan->a_id, UCD_CALL_OFFERING);
        if (leg == NULL)
            return 0;
        set_id(&plan->b_id,
               sim_deflect(s, leg, plan->colleague->address, UCD_FORWARD_REASON_DEFLECT));
        return plan->b_id != NULL;
    case OP_BLIND_A:
        leg = leg_in(s, plan->a_id, UCD_CALL_CONNECTED);
        if (leg == NULL)
            return 0;
        set_id(&plan->b_id, sim_transfer_blind(s, leg, plan->colleague->address));
        return plan->b_id != NULL;
    case OP_CONSULT_A:
        return step_consult(s, plan);
    case OP_CONSULT_DONE:
        return step_consult_done(s, plan);
    case OP_END:
        step_end(s, plan);
        return 0;
    case OP_RESUME_A:
        return step_resume(s, plan);
    case OP_HANGUP_C:
        leg = sim_leg_find(s, plan->c_id);
        if (leg != NULL)
            sim_hangup(s, leg);
        return 0;
    }
    return 0;
}

void sim_plan_step(sim *s, sim_plan *plan)
{
    gen_op op = plan->steps[plan->next_step].op;

    plan->next_step++;
    int goes_on = run_op(s, plan, op);
    if (!goes_on)
        goes_on = plan_resume(s, plan);
    if (goes_on && plan->next_step < plan->step_count)
        sim_schedule(s, plan->steps[plan->next_step].delay_ms, SIM_ACT_GEN_STEP, NULL, plan);
}

/* ---- sim burst ------------------------------------------------------------------------ */

/* Simulated gap between the starts of two burst calls. */
#define BURST_GAP_MS 100

/* Runs burst calls number `first` to `first + count - 1` of a burst of
 * `total`, one after the other, on the virtual clock. Their events carry
 * simulated times that end about now (computed when the burst's first call
 * runs). Returns how many of them found a free line. */
uint64_t sim_burst_run(sim *s, uint64_t first, uint64_t count, uint64_t total)
{
    uint64_t started = 0;

    sim_flush(s); /* what the live PBX queued goes first */
    if (first == 0)
        s->burst.wall_base_ms = g_get_real_time() / 1000 - (int64_t)total * BURST_GAP_MS;
    s->clock = &s->burst;
    for (uint64_t i = first; i < first + count; i++) {
        /* The queue is empty after each drain, so time may start over. */
        s->burst.now_ms = (int64_t)i * BURST_GAP_MS;
        if (generate_call(s, s->burst_rng))
            started++;
        sim_clock_drain(s);
        sim_done(s);
    }
    s->clock = &s->live;
    s->stats.burst_calls += started;
    return started;
}

uint64_t sim_burst(sim *s, uint64_t count)
{
    return sim_burst_run(s, 0, count, count);
}
