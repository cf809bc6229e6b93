/*
 * presence-service.c - ucd_presence_v1 over the model's presence.
 *
 * Presence exists only for users active on this server, so get and foreach
 * answer for those alone. set_manual and clear_manual check who asks before
 * anything changes: the system (actor NULL), the user themself, or somebody
 * the permissions object gives PERSONAL on that user (SET_PRESENCE).
 */
#include <string.h>

#include "presence.h"
#include "permissions.h"
#include "presence-service.h"

/* A note longer than this is a mistake, not a status line. */
#define NOTE_MAX 1024

/* The user active here that `user` (id or login) names, or NULL. */
static const core_user *user_here(core_model *m, const char *user)
{
    const core_user *u = core_model_user(m, user);
    return u && core_model_user_here(m, u) ? u : NULL;
}

static int give(core_model *m, const core_user *u, ucd_presence_info_cb cb, void *ud)
{
    core_presence_view v = {0};
    /* A user met in the directory always has an entry; a missing one reads as
     * all unknown rather than as an error. */
    core_presence_view_get(m, u->id, &v);
    ucd_presence_info info = {
        .struct_size = sizeof info,
        .state = v.state,
        .manual_state = v.manual,
        .line_state = v.line,
        .calendar_state = v.calendar,
        .user_id = u->id,
        .note = v.note,
        .until_ms = v.until_ms,
        .party_name = v.party_name,
        .party_company = v.party_company,
    };
    return cb(&info, ud);
}

static int get(void *impl, const char *user, ucd_presence_info_cb cb, void *ud)
{
    if (!user || !*user || !cb)
        return UCD_E_INVALID;
    const core_user *u = user_here(impl, user);
    if (!u)
        return UCD_E_NOT_FOUND;
    give(impl, u, cb, ud);
    return UCD_OK;
}

static int foreach (void *impl, ucd_presence_info_cb cb, void *ud)
{
    core_model *m = impl;
    if (!cb)
        return UCD_E_INVALID;
    const GPtrArray *users = core_directory_users_sorted(m);
    for (guint i = 0; i < users->len; i++)
        if (core_model_user_here(m, users->pdata[i]) && give(m, users->pdata[i], cb, ud))
            break;
    return UCD_OK;
}

/* UCD_OK when `actor` may change the manual presence of `subject`. An actor
 * nobody knows is refused like one without the right: no hint who exists. */
static int actor_may(core_model *m, const char *actor, const core_user *subject)
{
    if (!actor)
        return UCD_OK;
    const core_user *a = core_model_user(m, actor);
    if (!a)
        return UCD_E_DENIED;
    if (a == subject)
        return UCD_OK;
    if (!m->perms)
        return UCD_E_DENIED;
    core_model_permissions_source(m);
    return core_permissions_allows(m->perms, a->id, subject->id, CORE_CAP_SET_PRESENCE)
               ? UCD_OK
               : UCD_E_DENIED;
}

static int change(core_model *m, const char *actor, const char *user, uint32_t state,
                  const char *note, int64_t until_ms)
{
    if (!user || !*user || (actor && !*actor))
        return UCD_E_INVALID;
    if (note && (strlen(note) > NOTE_MAX || !g_utf8_validate(note, -1, NULL)))
        return UCD_E_INVALID;
    const core_user *u = user_here(m, user);
    if (!u)
        return UCD_E_NOT_FOUND;
    int rc = actor_may(m, actor, u);
    return rc == UCD_OK ? core_model_set_manual(m, u->id, state, note, until_ms) : rc;
}

static int set_manual(void *impl, const char *actor, const char *user, uint32_t state,
                      const char *note, int64_t until_ms)
{
    /* UNKNOWN would clear: that is clear_manual's job. */
    if (state == UCD_PRESENCE_UNKNOWN)
        return UCD_E_INVALID;
    return change(impl, actor, user, state, note, until_ms);
}

static int clear_manual(void *impl, const char *actor, const char *user)
{
    return change(impl, actor, user, UCD_PRESENCE_UNKNOWN, NULL, 0);
}

static const ucd_presence_v1 iface = {
    .struct_size = sizeof iface,
    .get = get,
    .foreach = foreach,
    .set_manual = set_manual,
    .clear_manual = clear_manual,
};

const ucd_presence_v1 *core_presence_service_iface(void)
{
    return &iface;
}
