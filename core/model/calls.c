/*
 * calls.c - legs, conversations and the journal record of each finished
 * conversation.
 *
 * A leg is one call on one line as a PBX driver reports it (call_id unique per
 * driver instance); a conversation groups the legs sharing a conversation_id
 * (both ends of an internal call, transfer targets, pickups, forward targets,
 * consultation calls). Both are found by hash lookup per event: no scan of
 * live calls ever happens on the event path.
 *
 * A conversation is complete when every leg reached a final state
 * (DISCONNECTED or TRANSFERRED). Drivers emit a new leg before they end the
 * old one, so a transfer never empties a conversation half way. Then one
 * ucd_journal_record is built by the rules in docs/admin/model.md, handed to
 * every running journal service, and the conversation and its legs are freed.
 */
#include <string.h>

#include <ucd/event.h>

#include "log.h"
#include "calls.h"
#include "party.h"

typedef struct core_conv core_conv;

typedef struct core_leg {
    core_conv *conv;
    core_line *line;
    char *call_id;
    char *remote_number;
    char *remote_name;
    core_party party;       /* who remote_number is, identified by the model */
    char *requested_number; /* the driver's, first reported; never overwritten */
    char *dialled;          /* a caller leg's first remote number: what it dialled */
    char *related_line;
    uint32_t state;
    uint32_t direction;
    uint32_t cause;
    ucd_participant_role role;
    gboolean consultation; /* an outgoing leg of a line already in the conversation */
    gboolean rang;
    gboolean final;
    int64_t joined_ms, answered_ms, left_ms, since_ms;
} core_leg;

struct core_conv {
    core_driver *driver;
    char *id;
    char *uuid;
    GPtrArray *legs; /* core_leg *, owned, in order of appearance */
    guint live;
    int64_t start_ms, answer_ms, end_ms;
    uint32_t flags;
    uint32_t forward_reason;
    gboolean link_lost;
};

static void leg_free(gpointer p)
{
    core_leg *leg = p;
    g_free(leg->call_id);
    g_free(leg->remote_number);
    g_free(leg->remote_name);
    core_party_clear(&leg->party);
    g_free(leg->requested_number);
    g_free(leg->dialled);
    g_free(leg->related_line);
    g_free(leg);
}

static void conv_free(gpointer p)
{
    core_conv *c = p;
    g_ptr_array_free(c->legs, TRUE);
    g_free(c->id);
    g_free(c->uuid);
    g_free(c);
}

void core_calls_init(core_model *m)
{
    m->live_legs = 0;
    m->open_convs = 0;
}

void core_calls_free(core_model *m)
{
    GHashTableIter di;
    gpointer d;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        core_driver *driver = d;
        g_hash_table_remove_all(driver->legs);
        GHashTableIter ci;
        gpointer c;
        g_hash_table_iter_init(&ci, driver->convs);
        while (g_hash_table_iter_next(&ci, NULL, &c)) {
            g_hash_table_iter_steal(&ci);
            conv_free(c);
        }
    }
}

static gboolean is_final(uint32_t state)
{
    return state == UCD_CALL_DISCONNECTED || state == UCD_CALL_TRANSFERRED;
}

static gboolean is_outgoing(uint32_t state)
{
    return state == UCD_CALL_DIALING || state == UCD_CALL_RINGBACK;
}

/* What a leg counts as on its line, for presence. */
enum { KIND_NONE, KIND_OFFERING, KIND_ACTIVE };

static int leg_kind(uint32_t state)
{
    switch (state) {
    case UCD_CALL_OFFERING:
        return KIND_OFFERING;
    case UCD_CALL_DIALING:
    case UCD_CALL_RINGBACK:
    case UCD_CALL_CONNECTED:
    case UCD_CALL_HELD:
    case UCD_CALL_CONFERENCED:
        return KIND_ACTIVE;
    default:
        return KIND_NONE;
    }
}

static void line_count(core_line *line, int kind, int delta)
{
    if (kind == KIND_OFFERING)
        line->offering += delta;
    else if (kind == KIND_ACTIVE)
        line->active += delta;
}

/* A live leg on `line` other than `gone`, connected ones first: whose party
 * the line shows once `gone` ended beside it (call waiting, a consultation).
 * Scans the driver's legs, which happens only then. */
static const core_leg *other_live_leg(core_driver *d, const core_line *line, const core_leg *gone)
{
    const core_leg *best = NULL;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, d->legs);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const core_leg *leg = v;
        if (leg == gone || leg->line != line || leg_kind(leg->state) == KIND_NONE)
            continue;
        if (!best || (leg_kind(leg->state) == KIND_ACTIVE && leg_kind(best->state) != KIND_ACTIVE))
            best = leg;
    }
    return best;
}

/* The line's party becomes that of `leg` when it is live (it just changed),
 * else, `leg` having ended, that of another live call on the line or
 * nobody's. TRUE when it changed. */
static gboolean line_take_party(core_line *line, const core_leg *leg)
{
    const core_leg *live = leg_kind(leg->state) != KIND_NONE ? leg : NULL;
    if (!live && (line->offering || line->active))
        live = other_live_leg(leg->conv->driver, line, leg);
    const char *name = live ? live->party.name : NULL;
    const char *company = live ? live->party.company : NULL;
    if (g_strcmp0(line->party_name, name) == 0 && g_strcmp0(line->party_company, company) == 0)
        return FALSE;
    g_free(line->party_name);
    g_free(line->party_company);
    line->party_name = g_strdup(name);
    line->party_company = g_strdup(company);
    return TRUE;
}

/* ---- starting a leg ----------------------------------------------------------- */

static gboolean line_in_conv(const core_conv *c, const core_line *line)
{
    for (guint i = 0; i < c->legs->len; i++)
        if (((core_leg *)c->legs->pdata[i])->line == line)
            return TRUE;
    return FALSE;
}

/* The role of a new leg, from the cause and related line its first event
 * carries and from what the conversation already holds. */
static ucd_participant_role leg_role(const core_conv *c, const ucd_call_state_event *ev)
{
    if (ev->cause == UCD_CAUSE_PICKED_UP)
        return UCD_ROLE_PICKUP;
    if (ev->cause == UCD_CAUSE_FORWARDED || ev->forward_reason != UCD_FORWARD_REASON_NONE)
        return UCD_ROLE_FORWARD_TARGET;
    if (ev->cause == UCD_CAUSE_TRANSFERRED || (ev->related_line && c->legs->len > 0))
        return UCD_ROLE_TRANSFER_TARGET;
    if (is_outgoing(ev->state))
        return UCD_ROLE_CALLER;
    if (ev->state == UCD_CALL_OFFERING || ev->direction == UCD_DIR_INBOUND)
        return UCD_ROLE_CALLEE;
    if (ev->direction == UCD_DIR_OUTBOUND)
        return UCD_ROLE_CALLER;
    /* An internal leg first seen connected (the model started mid-call): the
     * first one called, the next one was called. */
    return c->legs->len == 0 ? UCD_ROLE_CALLER : UCD_ROLE_CALLEE;
}

static core_conv *conv_get(core_model *m, core_driver *d, const char *id, int64_t time_ms)
{
    core_conv *c = g_hash_table_lookup(d->convs, id);
    if (c)
        return c;
    c = g_new0(core_conv, 1);
    c->driver = d;
    c->id = g_strdup(id);
    c->uuid = g_uuid_string_random();
    c->legs = g_ptr_array_new_with_free_func(leg_free);
    c->start_ms = time_ms;
    g_hash_table_insert(d->convs, c->id, c);
    m->open_convs++;
    return c;
}

static core_leg *leg_start(core_model *m, core_driver *d, const ucd_call_state_event *ev,
                           int64_t time_ms)
{
    core_line *line = core_model_line_get(m, d, ev->line);
    const char *conv_id =
        ev->conversation_id && *ev->conversation_id ? ev->conversation_id : ev->call_id;
    core_conv *c = conv_get(m, d, conv_id, time_ms);
    core_leg *leg = g_new0(core_leg, 1);
    leg->conv = c;
    leg->line = line;
    leg->call_id = g_strdup(ev->call_id);
    leg->state = UCD_CALL_IDLE;
    leg->direction = ev->direction;
    leg->role = leg_role(c, ev);
    leg->consultation = leg->role == UCD_ROLE_CALLER && line_in_conv(c, line);
    leg->joined_ms = time_ms;
    g_ptr_array_add(c->legs, leg);
    c->live++;
    m->live_legs++;
    g_hash_table_insert(d->legs, leg->call_id, leg);
    return leg;
}

/* ---- updating a leg ------------------------------------------------------------- */

/* TRUE when `value` replaced what `field` held. */
static gboolean take_string(char **field, const char *value)
{
    if (value && g_strcmp0(*field, value) != 0) {
        g_free(*field);
        *field = g_strdup(value);
        return TRUE;
    }
    return FALSE;
}

/* UCD_EVENT_CALL_PARTY for `leg`, whose party just became what it holds. */
static void publish_party(core_model *m, const core_leg *leg, uint32_t flags)
{
    ucd_call_party_event pe = {.struct_size = sizeof pe,
                               .flags = flags,
                               .driver_instance = leg->conv->driver->id,
                               .line = leg->line->address,
                               .call_id = leg->call_id,
                               .conversation_id = leg->conv->id,
                               .user_id = leg->line->user ? leg->line->user->id : NULL,
                               .remote_number = leg->remote_number,
                               .party_name = leg->party.name,
                               .party_company = leg->party.company,
                               .party_source = leg->party.source,
                               .party_user_id = leg->party.user_id};
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_CALL_PARTY, .payload = &pe};
    int rc = core_bus_publish(m->rt->bus, "core", &ev);
    if (rc != UCD_OK)
        core_warn("model: call %s: cannot publish its party: %s", leg->call_id, ucd_strerror(rc));
}

static void leg_update(core_model *m, core_leg *leg, const ucd_call_state_event *ev,
                       int64_t time_ms)
{
    core_conv *c = leg->conv;
    if (leg->state != ev->state)
        leg->since_ms = time_ms;
    leg->state = ev->state;
    leg->cause = ev->cause;
    if (leg->direction == UCD_DIR_UNKNOWN)
        leg->direction = ev->direction;
    /* Identified once per remote number: a pickup, forward or transfer
     * changes who the remote party is; a withheld number names nobody. */
    if (take_string(&leg->remote_number, ev->remote_number)) {
        core_party before = leg->party;
        leg->party = (core_party){0};
        if (!(ev->flags & UCD_CALL_FLAG_PRIVATE))
            core_party_identify(m, c->driver->id, leg->remote_number, &leg->party);
        if (!core_party_same(&before, &leg->party))
            publish_party(m, leg, ev->flags);
        core_party_clear(&before);
    }
    take_string(&leg->remote_name, ev->remote_name);
    /* A caller's remote party changes when the call is picked up, forwarded
     * or transferred (a PBX's connected-line update); what was dialled is the
     * first one, and stays. */
    if (!leg->dialled && leg->role == UCD_ROLE_CALLER)
        take_string(&leg->dialled, ev->remote_number);
    if (!leg->requested_number)
        take_string(&leg->requested_number, ev->requested_number);
    if (!leg->related_line)
        take_string(&leg->related_line, ev->related_line);
    if (ev->flags & UCD_CALL_FLAG_PRIVATE)
        c->flags |= UCD_JOURNAL_FLAG_PRIVATE;
    if (ev->forward_reason && !c->forward_reason)
        c->forward_reason = ev->forward_reason;
    if (ev->state == UCD_CALL_OFFERING)
        leg->rang = TRUE;
    if (ev->state == UCD_CALL_CONNECTED && !leg->answered_ms) {
        leg->answered_ms = time_ms;
        if (!c->answer_ms)
            c->answer_ms = time_ms;
    }
}

/* A consultation transfer: the line that consulted left with TRANSFERRED, so
 * whoever its consultation call reached is now a transfer target. */
static void mark_consultation_targets(core_conv *c, const core_line *transferring)
{
    gboolean after_consultation = FALSE;
    for (guint i = 0; i < c->legs->len; i++) {
        core_leg *leg = c->legs->pdata[i];
        if (leg->line == transferring) {
            after_consultation = after_consultation || leg->consultation;
            continue;
        }
        if (after_consultation && leg->role == UCD_ROLE_CALLEE)
            leg->role = UCD_ROLE_TRANSFER_TARGET;
    }
}

/* ---- the journal record --------------------------------------------------------- */

static const char *line_number(const core_line *line)
{
    return line->number ? line->number : line->address;
}

static const char *user_id(const core_line *line)
{
    return line->user ? line->user->id : NULL;
}

static const char *user_name(const core_line *line)
{
    if (line->user && line->user->display_name)
        return line->user->display_name;
    return line->name;
}

static uint32_t unanswered_cause(const core_conv *c);

static ucd_outcome outcome_of(const core_conv *c)
{
    if (c->answer_ms)
        return UCD_OUTCOME_ANSWERED;
    switch (unanswered_cause(c)) {
    case UCD_CAUSE_BUSY:
    case UCD_CAUSE_REJECTED:
        return UCD_OUTCOME_BUSY;
    case UCD_CAUSE_VOICEMAIL:
        return UCD_OUTCOME_VOICEMAIL;
    case UCD_CAUSE_BLOCKED:
        return UCD_OUTCOME_BLOCKED;
    case UCD_CAUSE_FAILED:
        return UCD_OUTCOME_FAILED;
    default:
        return UCD_OUTCOME_NO_ANSWER;
    }
}

/* Who finally took the call: the callee-side leg answered last, else the
 * callee-side leg that rang last. Callers are excluded: an internal caller's
 * leg connects too. */
static const core_leg *destination_leg(const core_conv *c)
{
    const core_leg *answered = NULL, *rang = NULL;
    for (guint i = 0; i < c->legs->len; i++) {
        const core_leg *leg = c->legs->pdata[i];
        if (leg->role == UCD_ROLE_CALLER)
            continue;
        if (leg->answered_ms && (!answered || leg->answered_ms >= answered->answered_ms))
            answered = leg;
        if (leg->rang)
            rang = leg;
    }
    return answered ? answered : rang;
}

typedef struct {
    ucd_number_info source, requested, destination;
} record_numbers;

static const char *e164_of(core_model *m, const core_conv *c, const char *raw,
                           ucd_number_info *info)
{
    info->struct_size = sizeof *info;
    return core_model_normalize(m, c->driver->id, raw, info) ? info->e164 : NULL;
}

/* What an outbound or internal call's first leg asked for: the number the
 * driver reports as requested (a click-to-dial's target, an Asterisk dial's
 * exten), else the first remote number of a calling leg, never a later one
 * (after a pickup, forward or transfer the remote is somebody else). A first
 * leg that was called (the model met the call late) asked for its own line. */
static const char *requested_by_caller(const core_leg *first)
{
    if (first->requested_number)
        return first->requested_number;
    if (first->role == UCD_ROLE_CALLER)
        return first->dialled ? first->dialled : first->remote_number;
    return line_number(first->line);
}

/* Whether `leg` stood on the called side: any role but caller, a leg that
 * rang or came in, or a leg on the line the caller asked for. */
static gboolean on_called_side(const core_conv *c, const core_leg *leg)
{
    if (leg->role != UCD_ROLE_CALLER || leg->rang || leg->direction == UCD_DIR_INBOUND)
        return TRUE;
    const core_leg *first = c->legs->pdata[0];
    return leg != first && g_strcmp0(requested_by_caller(first), line_number(leg->line)) == 0;
}

static gboolean cause_is_specific(uint32_t cause)
{
    return cause != UCD_CAUSE_NONE && cause != UCD_CAUSE_NORMAL && cause != UCD_CAUSE_LINK_LOST;
}

/* Why an unanswered conversation ended, from its legs' causes and never from
 * the order their ends arrived in: the ends of two legs come close together
 * and a driver may report them in either order (SIP: two dialogs' notices on
 * two subscriptions). A specific cause (busy, rejected, no answer ...) beats
 * none or normal, then the called side's beats the caller's (the caller's
 * usually only echoes it), then the later leg (the last destination tried,
 * after a forward) beats an earlier one. NORMAL when no leg says more. */
static uint32_t unanswered_cause(const core_conv *c)
{
    uint32_t best = UCD_CAUSE_NORMAL;
    int best_rank = -1;
    for (guint i = 0; i < c->legs->len; i++) {
        const core_leg *leg = c->legs->pdata[i];
        int rank = (cause_is_specific(leg->cause) ? 2 : 0) + (on_called_side(c, leg) ? 1 : 0);
        if (rank >= best_rank) {
            best_rank = rank;
            best = leg->cause;
        }
    }
    return cause_is_specific(best) ? best : UCD_CAUSE_NORMAL;
}

/* The remote party's name for the journal: the PBX's when it sent one
 * (its phonebook knows the caller best), else the one the model identified,
 * so the row keeps who called even after the contact is gone. A PBX that
 * sends the number as the name sent none. */
static const char *remote_party_name(const core_leg *leg)
{
    const char *pbx = leg->remote_name;
    if (pbx && *pbx && g_strcmp0(pbx, leg->remote_number) != 0)
        return pbx;
    return leg->party.name ? leg->party.name : pbx;
}

static void fill_parties(core_model *m, const core_conv *c, ucd_journal_record *r,
                         record_numbers *n)
{
    const core_leg *first = c->legs->pdata[0];
    gboolean inbound = first->direction == UCD_DIR_INBOUND || first->direction == UCD_DIR_UNKNOWN;
    if (inbound) {
        r->source_number = first->remote_number;
        r->source_name = remote_party_name(first);
        r->requested_number =
            first->requested_number ? first->requested_number : line_number(first->line);
    } else {
        r->source_number = line_number(first->line);
        r->source_name = user_name(first->line);
        r->requested_number = requested_by_caller(first);
    }
    if (first->direction == UCD_DIR_OUTBOUND) {
        r->destination_number = first->remote_number;
        r->destination_name = remote_party_name(first);
    } else {
        const core_leg *dest = destination_leg(c);
        r->destination_number = dest ? line_number(dest->line) : NULL;
        r->destination_name = dest ? user_name(dest->line) : NULL;
    }
    r->source_e164 = e164_of(m, c, r->source_number, &n->source);
    r->requested_e164 = e164_of(m, c, r->requested_number, &n->requested);
    r->destination_e164 = e164_of(m, c, r->destination_number, &n->destination);
}

static void fill_participants(const core_conv *c, ucd_journal_record *r,
                              ucd_journal_participant *parts)
{
    for (guint i = 0; i < c->legs->len; i++) {
        const core_leg *leg = c->legs->pdata[i];
        parts[i] = (ucd_journal_participant){
            .struct_size = sizeof parts[i],
            .role = leg->role,
            .user_id = user_id(leg->line),
            .line = leg->line->address,
            .joined_ms = leg->joined_ms,
            .answered_ms = leg->answered_ms,
            .left_ms = leg->left_ms,
        };
        if (leg->state == UCD_CALL_TRANSFERRED && !r->transferred_by)
            r->transferred_by = user_id(leg->line);
        if (leg->role == UCD_ROLE_PICKUP && !r->picked_up_by)
            r->picked_up_by = user_id(leg->line);
    }
    r->participants = parts;
    r->participant_count = c->legs->len;
    r->participant_size = sizeof *parts;
}

typedef struct {
    core_model *m;
    const ucd_journal_record *record;
    guint accepted;
} store_ctx;

static int store_one(const ucd_service *s, void *ud)
{
    store_ctx *sc = ud;
    const ucd_journal_v1 *journal = s->iface;
    if (!journal->store)
        return 0;
    int rc = journal->store(s->impl, sc->record);
    if (rc == UCD_OK) {
        sc->accepted++;
        return 0;
    }
    /* Say it now and then, not for every record of a failing store. */
    if (sc->m->store_errors++ % 1000 == 0)
        core_warn("model: journal %s refused conversation %s: %s (%" G_GUINT64_FORMAT
                  " refusals so far)",
                  s->provider, sc->record->uuid, ucd_strerror(rc), sc->m->store_errors);
    return 0;
}

/* How the conversation ended, for record 1.1's end_cause: lost with the
 * link if any leg lost it, else normal if answered, else the cause that
 * decided an unanswered call's outcome (busy, rejected, no answer ...; see
 * unanswered_cause()). end_reason is this cause's word ("busy", "rejected"
 * ...), so stores that keep only the words keep the exact cause; "normal"
 * and "link_lost" still mean what they did in 1.0. */
static uint32_t end_cause_of(const core_conv *c)
{
    if (c->link_lost)
        return UCD_CAUSE_LINK_LOST;
    return c->answer_ms ? UCD_CAUSE_NORMAL : unanswered_cause(c);
}

/* A record and the memory its pointers reach besides the conversation. */
typedef struct conv_record {
    ucd_journal_record r;
    record_numbers numbers;
    ucd_journal_participant few[8];
    ucd_journal_participant *parts;
} conv_record;

/* The record of `c` as it stands: an open one has end_ms and end_cause 0.
 * Valid until `c` changes; conv_record_clear() frees it. */
static void conv_record_build(core_model *m, const core_conv *c, gboolean finished, conv_record *cr)
{
    cr->parts = c->legs->len <= G_N_ELEMENTS(cr->few)
                    ? cr->few
                    : g_new(ucd_journal_participant, c->legs->len);
    const core_leg *first = c->legs->pdata[0];
    uint32_t end_cause = finished ? end_cause_of(c) : UCD_CAUSE_NONE;
    cr->r = (ucd_journal_record){
        .struct_size = sizeof cr->r,
        .direction = first->direction,
        .outcome = outcome_of(c),
        .flags = c->flags,
        .uuid = c->uuid,
        .driver_instance = c->driver->id,
        .start_ms = c->start_ms,
        .answer_ms = c->answer_ms,
        .end_ms = finished ? c->end_ms : 0,
        .forward_reason = ucd_forward_reason_word(c->forward_reason),
        .end_reason = finished ? ucd_call_cause_word(end_cause) : NULL,
        .end_cause = end_cause,
        .forward_reason_code = c->forward_reason,
    };
    fill_parties(m, c, &cr->r, &cr->numbers);
    fill_participants(c, &cr->r, cr->parts);
}

static void conv_record_clear(conv_record *cr)
{
    if (cr->parts != cr->few)
        g_free(cr->parts);
}

/* Hands the finished record to every journal, then publishes the very same
 * record as UCD_EVENT_CONVERSATION_ENDED (also when no journal runs). */
static void conv_journal(core_model *m, const core_conv *c)
{
    conv_record cr;
    conv_record_build(m, c, TRUE, &cr);
    store_ctx sc = {m, &cr.r, 0};
    core_modules_service_foreach(m->mods, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, store_one, &sc);
    if (sc.accepted)
        m->stored++;
    else
        m->unstored++;
    ucd_conversation_event ce = {.struct_size = sizeof ce, .record = &cr.r};
    ucd_event ev = {.struct_size = sizeof ev,
                    .type = UCD_EVENT_CONVERSATION_ENDED,
                    .time_ms = c->end_ms,
                    .payload = &ce};
    int rc = core_bus_publish(m->rt->bus, "core", &ev);
    if (rc != UCD_OK)
        core_warn("model: conversation %s: cannot publish its end: %s", c->uuid, ucd_strerror(rc));
    conv_record_clear(&cr);
}

/* ---- ending a leg ---------------------------------------------------------------- */

static void leg_end(core_model *m, core_leg *leg, int64_t time_ms)
{
    core_conv *c = leg->conv;
    leg->final = TRUE;
    leg->left_ms = time_ms;
    g_hash_table_remove(c->driver->legs, leg->call_id);
    m->live_legs--;
    c->live--;
    c->end_ms = time_ms;
    if (leg->cause == UCD_CAUSE_LINK_LOST)
        c->link_lost = TRUE;
    if (leg->state == UCD_CALL_TRANSFERRED)
        mark_consultation_targets(c, leg->line);
    if (c->live > 0)
        return;
    conv_journal(m, c);
    m->open_convs--;
    g_hash_table_remove(c->driver->convs, c->id);
    conv_free(c); /* and its legs */
}

void core_calls_on_event(core_model *m, const ucd_call_state_event *ev, int64_t time_ms)
{
    if (!ev->call_id || !ev->line)
        return;
    core_driver *d = core_model_driver(m, ev->driver_instance, TRUE);
    if (!d)
        return;
    core_leg *leg = g_hash_table_lookup(d->legs, ev->call_id);
    if (!leg && is_final(ev->state)) {
        /* The end of a leg never seen, or seen ended already (a driver's late
         * event after the model ended its legs as link_lost): a record of it
         * would be a duplicate or hold nothing but an end time. */
        core_line *line = core_model_line_get(m, d, ev->line);
        core_trace_call(m->trace, line, ev, time_ms);
        return;
    }
    if (!leg)
        leg = leg_start(m, d, ev, time_ms);
    core_line *line = leg->line;
    int before = leg_kind(leg->state), after = leg_kind(ev->state);
    leg_update(m, leg, ev, time_ms);
    core_trace_call(m->trace, line, ev, time_ms);
    if (before != after) {
        line_count(line, before, -1);
        line_count(line, after, +1);
    }
    gboolean party_moved = line_take_party(line, leg);
    if ((before != after || party_moved) && line->user && m->user_lines_changed)
        m->user_lines_changed(m, line->user);
    if (is_final(ev->state))
        leg_end(m, leg, time_ms);
}

void core_calls_link_lost(core_model *m, core_driver *driver, int64_t time_ms)
{
    /* Ending legs changes the table: take the list first. */
    GPtrArray *live = g_ptr_array_sized_new(g_hash_table_size(driver->legs));
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, driver->legs);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(live, v);
    for (guint i = 0; i < live->len; i++) {
        core_leg *leg = live->pdata[i];
        ucd_call_state_event ev = {
            .struct_size = sizeof ev,
            .state = UCD_CALL_DISCONNECTED,
            .prev_state = leg->state,
            .direction = leg->direction,
            .cause = UCD_CAUSE_LINK_LOST,
            .driver_instance = driver->id,
            .line = leg->line->address,
            .call_id = leg->call_id,
            .conversation_id = leg->conv->id,
        };
        core_calls_on_event(m, &ev, time_ms);
    }
    g_ptr_array_free(live, TRUE);
}

void core_calls_foreach_leg(core_model *m, void (*cb)(const core_leg_view *leg, void *ud), void *ud)
{
    GHashTableIter di, li;
    gpointer d, l;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        g_hash_table_iter_init(&li, ((core_driver *)d)->legs);
        while (g_hash_table_iter_next(&li, NULL, &l)) {
            const core_leg *leg = l;
            core_leg_view v = {
                .line = leg->line,
                .flags = leg->conv->flags & UCD_JOURNAL_FLAG_PRIVATE ? UCD_CALL_FLAG_PRIVATE : 0,
                .call_id = leg->call_id,
                .conversation_id = leg->conv->id,
                .uuid = leg->conv->uuid,
                .state = leg->state,
                .direction = leg->direction,
                .remote_number = leg->remote_number,
                .remote_name = leg->remote_name,
                .party = &leg->party,
                .since_ms = leg->since_ms,
            };
            cb(&v, ud);
        }
    }
}

static gboolean conv_has_user(const core_conv *c, const core_user *user)
{
    for (guint i = 0; i < c->legs->len; i++)
        if (((const core_leg *)c->legs->pdata[i])->line->user == user)
            return TRUE;
    return FALSE;
}

static gint conv_order(gconstpointer a, gconstpointer b)
{
    const core_conv *x = *(const core_conv *const *)a, *y = *(const core_conv *const *)b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return strcmp(x->uuid, y->uuid);
}

void core_calls_foreach_open(core_model *m, const core_user *user,
                             int (*cb)(const ucd_journal_record *record, void *ud), void *ud)
{
    /* Collected first: the callback may ask other services, and the order is
     * the start, not the hash tables'. */
    GPtrArray *open = g_ptr_array_new();
    GHashTableIter di, ci;
    gpointer d, c;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        g_hash_table_iter_init(&ci, ((core_driver *)d)->convs);
        while (g_hash_table_iter_next(&ci, NULL, &c))
            if (!user || conv_has_user(c, user))
                g_ptr_array_add(open, c);
    }
    g_ptr_array_sort(open, conv_order);
    for (guint i = 0; i < open->len; i++) {
        conv_record cr;
        conv_record_build(m, open->pdata[i], FALSE, &cr);
        int stop = cb(&cr.r, ud);
        conv_record_clear(&cr);
        if (stop)
            break;
    }
    g_ptr_array_free(open, TRUE);
}
