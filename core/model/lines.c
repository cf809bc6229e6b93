/*
 * lines.c - the drivers and lines every other part of the model hangs off.
 *
 * Drivers and lines are created on first sight (a pbx service's list_lines
 * or any event naming them) and live as long as the model, so the trace ring
 * and the legs may point at them without reference counting. A driver whose
 * module stopped is "gone": its lines stay, out of service and hidden from
 * the services, until it runs and lists them again. Each line appearing or
 * going is a directory change (directory-events.c).
 */
#include <string.h>

#include "directory.h"
#include "log.h"

/* A line of `user` (NULL: nobody's) changed: presence re-derives the user's
 * line presence, through the hook it set (data flows to presence, never
 * back). */
static void tell_presence(core_model *m, core_user *user)
{
    if (user && m->user_lines_changed)
        m->user_lines_changed(m, user);
}

static void line_free(gpointer p)
{
    core_line *line = p;
    g_free(line->driver);
    g_free(line->address);
    g_free(line->number);
    g_free(line->name);
    g_free(line->forward_to);
    g_free(line->party_name);
    g_free(line->party_company);
    g_free(line);
}

static void driver_free(gpointer p)
{
    core_driver *d = p;
    /* The calls part freed the conversations, which own the legs; these
     * tables only point at them. */
    g_hash_table_destroy(d->legs);
    g_hash_table_destroy(d->convs);
    g_hash_table_destroy(d->lines);
    g_free(d->id);
    g_free(d);
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
    d->convs = g_hash_table_new(g_str_hash, g_str_equal);
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
        tell_presence(pc->m, line->user);
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

void core_lines_on_event(core_model *m, const ucd_line_state_event *ev, int64_t time_ms)
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
        tell_presence(m, line->user);
}

void core_lines_driver_gone(core_model *m, core_driver *d, const char *note, int64_t time_ms)
{
    if (d->gone)
        return;
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
        core_trace_note(m->trace, line, note, time_ms);
        tell_presence(m, line->user);
    }
}

void core_lines_init(core_model *m)
{
    m->drivers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, driver_free);
}

void core_lines_free(core_model *m)
{
    g_hash_table_destroy(m->drivers);
}
