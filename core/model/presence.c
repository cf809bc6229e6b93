/*
 * presence.c - presence per user from three sources, merged by fixed rules.
 *
 *   line      from the user's lines: RINGING if a line has an offering leg,
 *             ON_PHONE if a leg is dialing, ringback, connected, held or
 *             conferenced, OFFLINE if every line is out of service, AVAILABLE
 *             otherwise, UNKNOWN for a user without lines.
 *   manual    set by hand (ucctl, clients): AVAILABLE, AWAY, BUSY, DND or
 *             OUT_OF_OFFICE, with a note and an optional end time after which
 *             it clears itself. Saved in STATE_DIR/core/presence.ini, so a
 *             restart keeps it.
 *   calendar  from appointment events: OUT_OF_OFFICE or BUSY while such an
 *             appointment runs (FREE and TENTATIVE do not count).
 *
 * The merge, first match wins (docs/admin/model.md has the table):
 *   1. manual DND or OUT_OF_OFFICE   somebody who said "leave me alone" means it
 *   2. line RINGING or ON_PHONE      a phone in use beats any stale manual state
 *   3. manual AVAILABLE, AWAY, BUSY
 *   4. calendar BUSY, OUT_OF_OFFICE
 *   5. line AVAILABLE or OFFLINE
 *   6. UNKNOWN
 * A presence event goes out when the merged state or any part (including the
 * note and end time) changed; nothing is published when nothing changed, which
 * keeps the bus quiet for the common case of a second call on a busy line.
 */
#include <errno.h>
#include <string.h>

#include <ucd/presence.h>

#include "log.h"
#include "presence.h"

/* GLib timeouts take a guint of milliseconds; longer waits are re-armed. */
#define MAX_TIMER_MS (24 * 3600 * 1000)

typedef struct appointment {
    uint32_t show_as;
    int64_t start_ms, end_ms;
} appointment;

typedef struct core_presence {
    core_model *m;
    char *user_id;
    ucd_presence_state state, manual, line, calendar;
    char *note;
    int64_t until_ms;
    GSource *expiry;          /* clears the manual state at until_ms */
    GHashTable *appointments; /* uid -> appointment *, NULL until the first */
    GSource *calendar_timer;  /* at the next start or end of an appointment */
    /* Who the user is on the phone with (a connected call first, else the
     * one ringing), as the call model identified the remote party; NULL when
     * not known or not on the phone. */
    char *party_name;
    char *party_company;
} core_presence;

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* The inverse of ucd_presence_word(), for the state file. */
int core_presence_parse(const char *word)
{
    for (uint32_t state = UCD_PRESENCE_UNKNOWN; word && state <= UCD_PRESENCE_OFFLINE; state++)
        if (strcmp(word, ucd_presence_word(state)) == 0)
            return (int)state;
    return -1;
}

static void source_drop(GSource **s)
{
    if (*s) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

static void presence_free(gpointer p)
{
    core_presence *e = p;
    source_drop(&e->expiry);
    source_drop(&e->calendar_timer);
    if (e->appointments)
        g_hash_table_destroy(e->appointments);
    g_free(e->user_id);
    g_free(e->note);
    g_free(e->party_name);
    g_free(e->party_company);
    g_free(e);
}

static core_presence *entry_get(core_model *m, const char *user_id)
{
    core_presence *e = g_hash_table_lookup(m->presence, user_id);
    if (e)
        return e;
    e = g_new0(core_presence, 1);
    e->m = m;
    e->user_id = g_strdup(user_id);
    g_hash_table_insert(m->presence, e->user_id, e);
    return e;
}

/* ---- the merge ------------------------------------------------------------------ */

static ucd_presence_state merge(const core_presence *e)
{
    if (e->manual == UCD_PRESENCE_DND || e->manual == UCD_PRESENCE_OUT_OF_OFFICE)
        return e->manual;
    if (e->line == UCD_PRESENCE_RINGING || e->line == UCD_PRESENCE_ON_PHONE)
        return e->line;
    if (e->manual == UCD_PRESENCE_AVAILABLE || e->manual == UCD_PRESENCE_AWAY ||
        e->manual == UCD_PRESENCE_BUSY)
        return e->manual;
    if (e->calendar == UCD_PRESENCE_BUSY || e->calendar == UCD_PRESENCE_OUT_OF_OFFICE)
        return e->calendar;
    if (e->line == UCD_PRESENCE_AVAILABLE || e->line == UCD_PRESENCE_OFFLINE)
        return e->line;
    return UCD_PRESENCE_UNKNOWN;
}

typedef struct {
    ucd_presence_state state, manual, line, calendar;
} snapshot;

static snapshot snap(const core_presence *e)
{
    return (snapshot){e->state, e->manual, e->line, e->calendar};
}

/* Re-merges and publishes when anything differs from `before`. */
static void commit(core_presence *e, snapshot before, gboolean detail_changed)
{
    e->state = merge(e);
    if (!detail_changed && before.state == e->state && before.manual == e->manual &&
        before.line == e->line && before.calendar == e->calendar)
        return;
    ucd_presence_event pe = {
        .struct_size = sizeof pe,
        .state = e->state,
        .prev_state = before.state,
        .manual_state = e->manual,
        .line_state = e->line,
        .calendar_state = e->calendar,
        .user_id = e->user_id,
        .note = e->note,
        .until_ms = e->until_ms,
        .party_name = e->party_name,
        .party_company = e->party_company,
    };
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_PRESENCE, .payload = &pe};
    core_bus_publish(e->m->rt->bus, "core", &ev);
}

/* ---- line presence ----------------------------------------------------------------- */

static ucd_presence_state line_presence(const core_user *u)
{
    if (!u || u->line_ptrs->len == 0)
        return UCD_PRESENCE_UNKNOWN;
    gboolean on_phone = FALSE, all_out = TRUE;
    for (guint i = 0; i < u->line_ptrs->len; i++) {
        const core_line *line = u->line_ptrs->pdata[i];
        if (line->offering)
            return UCD_PRESENCE_RINGING;
        on_phone = on_phone || line->active;
        all_out = all_out && line->state == UCD_LINE_OUT_OF_SERVICE;
    }
    if (on_phone)
        return UCD_PRESENCE_ON_PHONE;
    return all_out ? UCD_PRESENCE_OFFLINE : UCD_PRESENCE_AVAILABLE;
}

/* The line whose call the user is on: one with a live call and a known
 * party, a line in a call before one that rings; NULL when none. */
static const core_line *party_line(const core_user *u)
{
    const core_line *ringing = NULL;
    for (guint i = 0; u && i < u->line_ptrs->len; i++) {
        const core_line *line = u->line_ptrs->pdata[i];
        if (!line->party_name && !line->party_company)
            continue;
        if (line->active)
            return line;
        if (line->offering && !ringing)
            ringing = line;
    }
    return ringing;
}

/* TRUE when `*field` became `value`. */
static gboolean take(char **field, const char *value)
{
    if (g_strcmp0(*field, value) == 0)
        return FALSE;
    g_free(*field);
    *field = g_strdup(value);
    return TRUE;
}

void core_presence_line_changed(core_model *m, core_user *user)
{
    core_presence *e = entry_get(m, user->id);
    snapshot before = snap(e);
    e->line = line_presence(user);
    const core_line *with = party_line(user);
    gboolean party = take(&e->party_name, with ? with->party_name : NULL);
    party = take(&e->party_company, with ? with->party_company : NULL) || party;
    commit(e, before, party);
}

void core_presence_directory_changed(core_model *m)
{
    GHashTableIter it;
    gpointer v;
    /* Users that left the directory have no lines any more. */
    g_hash_table_iter_init(&it, m->presence);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        core_presence *e = v;
        if (!g_hash_table_contains(m->users, e->user_id)) {
            snapshot before = snap(e);
            e->line = UCD_PRESENCE_UNKNOWN;
            commit(e, before, FALSE);
        }
    }
    g_hash_table_iter_init(&it, m->users);
    while (g_hash_table_iter_next(&it, NULL, &v))
        core_presence_line_changed(m, v);
}

/* ---- manual state: persistence ------------------------------------------------------ */

static gboolean valid_group_name(const char *id)
{
    for (const char *p = id; *p; p++)
        if (*p == '[' || *p == ']' || (unsigned char)*p < 0x20)
            return FALSE;
    return *id != '\0';
}

static void save_manual(core_model *m)
{
    if (!m->presence_file)
        return;
    GKeyFile *kf = g_key_file_new();
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->presence);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const core_presence *e = v;
        if (e->manual == UCD_PRESENCE_UNKNOWN || !valid_group_name(e->user_id))
            continue;
        g_key_file_set_string(kf, e->user_id, "state", ucd_presence_word(e->manual));
        if (e->note)
            g_key_file_set_string(kf, e->user_id, "note", e->note);
        if (e->until_ms)
            g_key_file_set_int64(kf, e->user_id, "until_ms", e->until_ms);
    }
    gsize len = 0;
    char *data = g_key_file_to_data(kf, &len, NULL);
    GError *err = NULL;
    /* CONSISTENT: a temporary file renamed over the old one, so a crash
     * mid-write leaves the previous states, never half a file. */
    if (!g_file_set_contents_full(m->presence_file, data, (gssize)len,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0600, &err)) {
        core_warn("model: cannot save manual presence states: %s", err->message);
        g_error_free(err);
    }
    g_free(data);
    g_key_file_free(kf);
}

static void schedule_expiry(core_presence *e);

static void load_manual(core_model *m)
{
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    if (!g_key_file_load_from_file(kf, m->presence_file, G_KEY_FILE_NONE, &err)) {
        if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            core_warn("model: %s: %s; manual presence states start empty", m->presence_file,
                      err->message);
        g_error_free(err);
        g_key_file_free(kf);
        return;
    }
    char **users = g_key_file_get_groups(kf, NULL);
    int64_t now = now_ms();
    for (char **u = users; *u; u++) {
        char *word = g_key_file_get_string(kf, *u, "state", NULL);
        int state = core_presence_parse(word);
        int64_t until = g_key_file_get_int64(kf, *u, "until_ms", NULL);
        g_free(word);
        if (state <= 0 || (until && until <= now))
            continue;
        core_presence *e = entry_get(m, *u);
        e->manual = state;
        e->note = g_key_file_get_string(kf, *u, "note", NULL);
        e->until_ms = until;
        e->state = merge(e);
        schedule_expiry(e);
    }
    g_strfreev(users);
    g_key_file_free(kf);
}

/* ---- manual state: setting and expiry ------------------------------------------------ */

static void set_manual(core_presence *e, ucd_presence_state state, const char *note,
                       int64_t until_ms)
{
    snapshot before = snap(e);
    gboolean detail = g_strcmp0(e->note, note) != 0 || e->until_ms != until_ms;
    g_free(e->note);
    e->note = note && *note ? g_strdup(note) : NULL;
    e->manual = state;
    e->until_ms = state == UCD_PRESENCE_UNKNOWN ? 0 : until_ms;
    schedule_expiry(e);
    save_manual(e->m);
    commit(e, before, detail);
}

static gboolean on_expiry(gpointer data)
{
    core_presence *e = data;
    g_source_unref(e->expiry);
    e->expiry = NULL;
    if (now_ms() >= e->until_ms)
        set_manual(e, UCD_PRESENCE_UNKNOWN, NULL, 0);
    else
        schedule_expiry(e); /* a wait longer than one timer allows */
    return G_SOURCE_REMOVE;
}

static GSource *timer_at(core_model *m, int64_t when_ms, GSourceFunc fn, gpointer data)
{
    int64_t delay = when_ms - now_ms();
    GSource *s = g_timeout_source_new((guint)CLAMP(delay, 0, MAX_TIMER_MS));
    g_source_set_callback(s, fn, data, NULL);
    g_source_attach(s, m->rt->ctx);
    return s;
}

static void schedule_expiry(core_presence *e)
{
    source_drop(&e->expiry);
    if (e->manual != UCD_PRESENCE_UNKNOWN && e->until_ms)
        e->expiry = timer_at(e->m, e->until_ms, on_expiry, e);
}

int core_model_set_manual(core_model *m, const char *user, ucd_presence_state state,
                          const char *note, int64_t until_ms)
{
    const core_user *u = core_model_user(m, user);
    if (!u)
        return UCD_E_NOT_FOUND;
    switch (state) {
    case UCD_PRESENCE_UNKNOWN:
    case UCD_PRESENCE_AVAILABLE:
    case UCD_PRESENCE_AWAY:
    case UCD_PRESENCE_BUSY:
    case UCD_PRESENCE_DND:
    case UCD_PRESENCE_OUT_OF_OFFICE:
        break;
    default:
        return UCD_E_INVALID;
    }
    if (until_ms && until_ms <= now_ms())
        return UCD_E_INVALID;
    set_manual(entry_get(m, u->id), state, note, until_ms);
    return UCD_OK;
}

/* ---- calendar ------------------------------------------------------------------------ */

static void schedule_calendar(core_presence *e, int64_t next_ms);

/* The calendar state now; drops appointments that ended and returns in
 * *next_ms the next moment the state may change (0 = none). */
static ucd_presence_state calendar_now(core_presence *e, int64_t now, int64_t *next_ms)
{
    ucd_presence_state s = UCD_PRESENCE_UNKNOWN;
    int64_t next = 0;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, e->appointments);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const appointment *a = v;
        if (a->end_ms <= now) {
            g_hash_table_iter_remove(&it);
            continue;
        }
        int64_t boundary = a->start_ms > now ? a->start_ms : a->end_ms;
        if (a->show_as == UCD_SHOW_BUSY || a->show_as == UCD_SHOW_OUT_OF_OFFICE)
            next = next ? MIN(next, boundary) : boundary;
        if (a->start_ms > now)
            continue;
        if (a->show_as == UCD_SHOW_OUT_OF_OFFICE)
            s = UCD_PRESENCE_OUT_OF_OFFICE;
        else if (a->show_as == UCD_SHOW_BUSY && s != UCD_PRESENCE_OUT_OF_OFFICE)
            s = UCD_PRESENCE_BUSY;
    }
    *next_ms = next;
    return s;
}

static void calendar_update(core_presence *e)
{
    snapshot before = snap(e);
    int64_t next = 0;
    e->calendar = e->appointments ? calendar_now(e, now_ms(), &next) : UCD_PRESENCE_UNKNOWN;
    schedule_calendar(e, next);
    commit(e, before, FALSE);
}

static gboolean on_calendar_timer(gpointer data)
{
    core_presence *e = data;
    g_source_unref(e->calendar_timer);
    e->calendar_timer = NULL;
    calendar_update(e);
    return G_SOURCE_REMOVE;
}

static void schedule_calendar(core_presence *e, int64_t next_ms)
{
    source_drop(&e->calendar_timer);
    if (next_ms)
        e->calendar_timer = timer_at(e->m, next_ms, on_calendar_timer, e);
}

static void clear_appointments(core_presence *e)
{
    if (e->appointments)
        g_hash_table_remove_all(e->appointments);
    calendar_update(e);
}

void core_presence_on_appointment(core_model *m, const ucd_appointment_event *ev)
{
    if (ev->change == UCD_CHANGE_RESYNCED && !ev->user_id) {
        /* Everything may have changed and there is no way to re-read it
         * here: forget every appointment until the source sends them again. */
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, m->presence);
        while (g_hash_table_iter_next(&it, NULL, &v))
            clear_appointments(v);
        return;
    }
    if (!ev->user_id)
        return;
    core_presence *e = entry_get(m, ev->user_id);
    if (!e->appointments)
        e->appointments = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (ev->change == UCD_CHANGE_RESYNCED) {
        clear_appointments(e);
        return;
    }
    if (!ev->uid)
        return;
    if (ev->change == UCD_CHANGE_REMOVED) {
        g_hash_table_remove(e->appointments, ev->uid);
    } else {
        appointment *a = g_new(appointment, 1);
        *a = (appointment){ev->show_as, ev->start_ms, ev->end_ms};
        g_hash_table_replace(e->appointments, g_strdup(ev->uid), a);
    }
    calendar_update(e);
}

/* ---- life cycle and views ------------------------------------------------------------ */

void core_presence_init(core_model *m)
{
    m->presence = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, presence_free);
    /* The directory and the calls tell presence through these: they are
     * earlier parts and do not include this one. */
    m->user_lines_changed = core_presence_line_changed;
    m->directory_pulled = core_presence_directory_changed;
    if (!m->rt->state_dir)
        return;
    char *dir = g_build_filename(m->rt->state_dir, "core", NULL);
    if (g_mkdir_with_parents(dir, 0700) != 0)
        core_warn("model: cannot create %s: %s; manual presence states are not kept", dir,
                  g_strerror(errno));
    else
        m->presence_file = g_build_filename(dir, "presence.ini", NULL);
    g_free(dir);
    if (m->presence_file)
        load_manual(m);
}

void core_presence_free(core_model *m)
{
    g_hash_table_destroy(m->presence);
    g_free(m->presence_file);
}

ucd_presence_state core_model_presence(core_model *m, const char *user_id)
{
    const core_presence *e = user_id ? g_hash_table_lookup(m->presence, user_id) : NULL;
    return e ? e->state : UCD_PRESENCE_UNKNOWN;
}

gboolean core_presence_view_get(core_model *m, const char *user_id, core_presence_view *out)
{
    const core_presence *e = g_hash_table_lookup(m->presence, user_id);
    if (!e)
        return FALSE;
    *out = (core_presence_view){e->state, e->manual,   e->line,       e->calendar,
                                e->note,  e->until_ms, e->party_name, e->party_company};
    return TRUE;
}
