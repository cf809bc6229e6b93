/*
 * model.c - the model's life cycle, its bus subscription, and the drivers and
 * lines every other part of the model hangs off.
 *
 * One subscription (owner "core") receives line, call, user, appointment and
 * module state events in publication order and dispatches them. Drivers and
 * lines are created on first sight (a pbx service's list_lines or any event
 * naming them) and live as long as the model, so the trace ring and the legs
 * may point at them without reference counting.
 */
#include <string.h>

#include "log.h"
#include "model-internal.h"

/* ---- drivers and lines ------------------------------------------------------ */

static void line_free(gpointer p)
{
    core_line *line = p;
    g_free(line->driver);
    g_free(line->address);
    g_free(line->number);
    g_free(line->name);
    g_free(line->forward_to);
    g_free(line);
}

static void driver_free(gpointer p)
{
    core_driver *d = p;
    /* Conversations own their legs; the legs table only points at them. */
    g_hash_table_destroy(d->legs);
    g_hash_table_destroy(d->convs);
    g_hash_table_destroy(d->lines);
    g_free(d->id);
    g_free(d);
}

const char *core_model_server_name(core_model *m)
{
    return m->rt->server_name ? m->rt->server_name : g_get_host_name();
}

gboolean core_model_user_here(core_model *m, const core_user *u)
{
    /* users-ldap already reports a user homed elsewhere as disabled; users-file
     * and users-sql hand the home server over as it is, so the comparison is
     * made here, once, for every backend. */
    return u->enabled && (u->home_server == NULL || *u->home_server == '\0' ||
                          g_ascii_strcasecmp(u->home_server, core_model_server_name(m)) == 0);
}

core_driver *core_model_driver(core_model *m, const char *id, gboolean create)
{
    if (!id)
        return NULL;
    core_driver *d = g_hash_table_lookup(m->drivers, id);
    if (d || !create)
        return d;
    d = g_new0(core_driver, 1);
    d->id = g_strdup(id);
    d->lines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, line_free);
    d->legs = g_hash_table_new(g_str_hash, g_str_equal);
    d->convs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, core_calls_conv_free);
    g_hash_table_insert(m->drivers, d->id, d);
    return d;
}

/* The line `address` of `d`, created on first sight; a new line of a running
 * driver is a directory change, added to `changes` or (NULL) published now. */
static core_line *line_get(core_model *m, core_driver *d, const char *address,
                           core_dir_changes *changes)
{
    if (!address)
        return NULL;
    core_line *line = g_hash_table_lookup(d->lines, address);
    if (line)
        return line;
    line = g_new0(core_line, 1);
    line->driver = g_strdup(d->id);
    line->address = g_strdup(address);
    line->state = UCD_LINE_UNKNOWN;
    g_hash_table_insert(d->lines, line->address, line);
    m->line_count++;
    core_directory_assign_line(m, line);
    if (!d->gone) {
        core_dir_changes *now = changes ? changes : core_dir_changes_new();
        core_dir_changes_add_line(now, UCD_CHANGE_ADDED, line);
        if (!changes)
            core_dir_changes_publish(m, now);
    }
    return line;
}

core_line *core_model_line_get(core_model *m, core_driver *d, const char *address)
{
    return line_get(m, d, address, NULL);
}

/* Adds every line of `d` to `changes` as `what` (a driver going or coming back). */
static void driver_lines_changed(core_driver *d, ucd_change what, core_dir_changes *changes)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, d->lines);
    while (g_hash_table_iter_next(&it, NULL, &v))
        core_dir_changes_add_line(changes, what, v);
}

const core_line *core_model_line(core_model *m, const char *driver, const char *address)
{
    core_driver *d = core_model_driver(m, driver, FALSE);
    return d && address ? g_hash_table_lookup(d->lines, address) : NULL;
}

gboolean core_model_normalize(core_model *m, const char *context, const char *raw,
                              ucd_number_info *out)
{
    ucd_service s = {.struct_size = sizeof s};
    out->e164[0] = '\0';
    if (!raw || !*raw ||
        core_modules_service_get(m->mods, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &s) !=
            UCD_OK)
        return FALSE;
    const ucd_numbers_v1 *numbers = s.iface;
    int rc = numbers->normalize(s.impl, context, raw, out);
    return (rc == UCD_OK || rc == UCD_E_NOT_FOUND) && out->e164[0];
}

/* ---- lines from pbx services -------------------------------------------------- */

typedef struct {
    core_model *m;
    core_driver *driver;
    core_dir_changes *changes;
} pull_ctx;

static int take_line(const ucd_pbx_line *pl, void *ud)
{
    pull_ctx *pc = ud;
    core_line *line = line_get(pc->m, pc->driver, pl->address, pc->changes);
    if (!line)
        return 0;
    line->state = pl->state;
    line->capabilities = pl->capabilities;
    if (g_strcmp0(line->number, pl->number)) {
        g_free(line->number);
        line->number = g_strdup(pl->number);
    }
    if (g_strcmp0(line->name, pl->name)) {
        g_free(line->name);
        line->name = g_strdup(pl->name);
    }
    if (line->user)
        core_presence_line_changed(pc->m, line->user);
    return 0;
}

static int pull_service_lines(const ucd_service *s, void *ud)
{
    core_model *m = ud;
    const ucd_pbx_v1 *pbx = s->iface;
    if (pbx->struct_size < offsetof(ucd_pbx_v1, capabilities) || !pbx->list_lines)
        return 0;
    pull_ctx pc = {m, core_model_driver(m, s->provider, TRUE), core_dir_changes_new()};
    /* It runs (its service is registered): lines hidden while it was gone
     * are back. */
    if (pc.driver->gone)
        driver_lines_changed(pc.driver, UCD_CHANGE_ADDED, pc.changes);
    pc.driver->gone = FALSE;
    int rc = pbx->list_lines(s->impl, take_line, &pc);
    if (rc != UCD_OK)
        core_warn("model: list_lines of %s: %s", s->provider, ucd_strerror(rc));
    core_dir_changes_publish(m, pc.changes);
    return 0;
}

/* Pulls the lines of one pbx provider (NULL: every one). */
void core_model_pull_lines(core_model *m, const char *provider)
{
    if (!provider) {
        core_modules_service_foreach(m->mods, UCD_PBX_SERVICE, UCD_PBX_MAJOR, pull_service_lines,
                                     m);
        return;
    }
    ucd_service s = {.struct_size = sizeof s};
    if (core_modules_service_get(m->mods, UCD_PBX_SERVICE, UCD_PBX_MAJOR, provider, &s) == UCD_OK)
        pull_service_lines(&s, m);
}

/* ---- events ------------------------------------------------------------------- */

static void on_line_state(core_model *m, const ucd_line_state_event *ev, int64_t time_ms)
{
    core_driver *d = core_model_driver(m, ev->driver_instance, TRUE);
    core_line *line = d ? core_model_line_get(m, d, ev->line) : NULL;
    if (!line)
        return;
    ucd_line_state before = line->state;
    line->state = ev->state;
    line->dnd = ev->dnd != 0;
    if (g_strcmp0(line->forward_to, ev->forward_to)) {
        g_free(line->forward_to);
        line->forward_to = g_strdup(ev->forward_to);
    }
    core_trace_line(m->trace, line, ev, time_ms);
    /* Only out-of-service changes line presence; legs drive the rest. */
    if (line->user && (before == UCD_LINE_OUT_OF_SERVICE) != (ev->state == UCD_LINE_OUT_OF_SERVICE))
        core_presence_line_changed(m, line->user);
}

static void on_module_state(core_model *m, const ucd_module_state_event *ev, int64_t time_ms)
{
    if (!ev->module)
        return;
    if (ev->state == UCD_MODULE_RUNNING) {
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
    d->gone = TRUE;
    core_dir_changes *changes = core_dir_changes_new();
    driver_lines_changed(d, UCD_CHANGE_REMOVED, changes);
    core_dir_changes_publish(m, changes);
    /* Nobody reports on these lines any more: their users show as offline
     * until the driver is back and lists them again. */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, d->lines);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        core_line *line = v;
        if (line->state == UCD_LINE_OUT_OF_SERVICE)
            continue;
        line->state = UCD_LINE_OUT_OF_SERVICE;
        core_trace_note(m->trace, line,
                        ev->state == UCD_MODULE_FAILED ? "out of service: driver failed"
                                                       : "out of service: driver stopped",
                        time_ms);
        if (line->user)
            core_presence_line_changed(m, line->user);
    }
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
        on_line_state(m, e->payload, e->time_ms);
        break;
    case UCD_EVENT_USER_CHANGED:
        core_directory_pull_soon(m);
        break;
    case UCD_EVENT_APPOINTMENT:
        core_presence_on_appointment(m, e->payload);
        break;
    case UCD_EVENT_MODULE_STATE:
        on_module_state(m, e->payload, e->time_ms);
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
    m->drivers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, driver_free);
    m->trace = core_trace_new(CORE_TRACE_CAPACITY);
    m->syncs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, core_sync_state_unref);
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
    g_hash_table_destroy(m->drivers);
    core_directory_free(m);
    core_trace_free(m->trace);
    g_hash_table_destroy(m->syncs);
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

/* ---- words -------------------------------------------------------------------- */

#define WORD(table, v) ((size_t)(v) < G_N_ELEMENTS(table) ? table[v] : "unknown")

const char *core_call_state_word(uint32_t state)
{
    static const char *const w[] = {"idle",        "dialing",     "ringback",
                                    "offering",    "connected",   "held",
                                    "conferenced", "transferred", "disconnected"};
    return WORD(w, state);
}

const char *core_line_state_word(uint32_t state)
{
    static const char *const w[] = {"unknown", "idle", "ringing",       "dialing",
                                    "busy",    "held", "out_of_service"};
    return WORD(w, state);
}

const char *core_direction_word(uint32_t direction)
{
    static const char *const w[] = {"unknown", "inbound", "outbound", "internal"};
    return WORD(w, direction);
}

const char *core_cause_word(uint32_t cause)
{
    static const char *const w[] = {"none",        "normal",    "busy",      "no_answer",
                                    "rejected",    "failed",    "forwarded", "picked_up",
                                    "transferred", "voicemail", "link_lost", "blocked"};
    return WORD(w, cause);
}

const char *core_forward_reason_word(uint32_t reason)
{
    static const char *const w[] = {NULL, "unconditional", "busy", "no_answer", "deflect"};
    return (size_t)reason < G_N_ELEMENTS(w) ? w[reason] : NULL;
}
