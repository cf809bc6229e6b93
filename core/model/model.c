/*
 * model.c - the model's life cycle and its bus subscription.
 *
 * One subscription (owner "core") receives line, call, user, appointment and
 * module state events in publication order and dispatches them to the parts
 * (model-state.h lists them). As the life-cycle owner this is the one file
 * that calls into every part; the parts call only into earlier ones.
 */
#include <string.h>

#include "calls.h"
#include "log.h"
#include "presence.h"

/* ---- events ------------------------------------------------------------------- */

/* TRUE when the event came before core_model_start()'s last full pull, which
 * saw what it announces: at start-up every module's RUNNING event is queued
 * while the daemon pulls everything, and pulling each again would double the
 * start-up's directory and line work. */
static gboolean pulled_already(core_model *m, const ucd_event *e)
{
    return e->seq <= m->pulled_seq;
}

static void on_module_state(core_model *m, const ucd_event *e)
{
    const ucd_module_state_event *ev = e->payload;
    int64_t time_ms = e->time_ms;
    if (!ev->module)
        return;
    if (ev->state == UCD_MODULE_RUNNING) {
        if (pulled_already(m, e))
            return;
        core_model_pull_lines(m, ev->module);
        ucd_service s = {.struct_size = sizeof s};
        if (core_modules_service_get(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, ev->module, &s) ==
            UCD_OK)
            core_directory_pull_soon(m);
        return;
    }
    if (ev->state != UCD_MODULE_STOPPED && ev->state != UCD_MODULE_FAILED)
        return;
    /* Its users service is gone from the registry by now: a pull drops its
     * users and groups. */
    if (core_directory_has_backend(m, ev->module))
        core_directory_pull_soon(m);
    core_driver *d = core_model_driver(m, ev->module, FALSE);
    if (!d || d->gone)
        return;
    core_calls_link_lost(m, d, time_ms);
    core_lines_driver_gone(m, d,
                           ev->state == UCD_MODULE_FAILED ? "out of service: driver failed"
                                                          : "out of service: driver stopped",
                           time_ms);
}

static void on_event(const ucd_event *e, void *ud)
{
    core_model *m = ud;
    switch (e->type) {
    case UCD_EVENT_CALL_STATE:
        m->events++;
        core_calls_on_event(m, e->payload, e->time_ms);
        break;
    case UCD_EVENT_LINE_STATE:
        m->events++;
        core_lines_on_event(m, e->payload, e->time_ms);
        break;
    case UCD_EVENT_USER_CHANGED:
        if (!pulled_already(m, e))
            core_directory_pull_soon(m);
        break;
    case UCD_EVENT_APPOINTMENT:
        core_presence_on_appointment(m, e->payload);
        break;
    case UCD_EVENT_MODULE_STATE:
        on_module_state(m, e);
        break;
    default:
        break;
    }
}

/* ---- life cycle --------------------------------------------------------------- */

core_model *core_model_new(core_runtime *rt, core_modules *mods)
{
    core_model *m = g_new0(core_model, 1);
    m->rt = rt;
    m->mods = mods;
    core_lines_init(m);
    m->trace = core_trace_new(CORE_TRACE_CAPACITY);
    core_calls_init(m);
    core_directory_init(m);
    core_presence_init(m);
    return m;
}

void core_model_start(core_model *m)
{
    ucd_event_filter filter = {
        .struct_size = sizeof filter,
        .type_mask = UCD_EVENT_MASK(UCD_EVENT_CALL_STATE) | UCD_EVENT_MASK(UCD_EVENT_LINE_STATE) |
                     UCD_EVENT_MASK(UCD_EVENT_USER_CHANGED) |
                     UCD_EVENT_MASK(UCD_EVENT_APPOINTMENT) | UCD_EVENT_MASK(UCD_EVENT_MODULE_STATE),
    };
    if (m->stopped)
        return;
    if (!m->sub)
        m->sub = core_bus_subscribe(m->rt->bus, "core", &filter, on_event, m);
    /* Taken before pulling: what is published meanwhile is news. */
    m->pulled_seq = core_bus_published(m->rt->bus);
    core_directory_pull(m);
    core_model_pull_lines(m, NULL);
}

void core_model_set_permissions(core_model *m, struct core_permissions *perms)
{
    m->perms = perms;
    m->perm_generation = 0; /* rebuild its directory snapshot at the next question */
}

void core_model_stop(core_model *m)
{
    if (!m || m->stopped)
        return;
    /* What drivers published before now still counts. */
    core_bus_flush(m->rt->bus);
    if (m->sub)
        core_bus_unsubscribe(m->rt->bus, m->sub);
    m->sub = NULL;
    m->stopped = TRUE;
    int64_t now = g_get_real_time() / 1000;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->drivers);
    while (g_hash_table_iter_next(&it, NULL, &v))
        core_calls_link_lost(m, v, now);
    core_directory_cancel_pull(m);
}

void core_model_free(core_model *m)
{
    if (!m)
        return;
    core_model_stop(m);
    core_presence_free(m);
    core_calls_free(m);
    core_lines_free(m);
    core_directory_free(m);
    core_trace_free(m->trace);
    g_free(m);
}

void core_model_get_stats(core_model *m, core_model_stats *out)
{
    *out = (core_model_stats){
        .users = g_hash_table_size(m->users),
        .groups = g_hash_table_size(m->groups),
        .lines = m->line_count,
        .live_legs = m->live_legs,
        .open_conversations = m->open_convs,
        .events = m->events,
        .conversations_stored = m->stored,
        .conversations_unstored = m->unstored,
        .store_errors = m->store_errors,
    };
}
