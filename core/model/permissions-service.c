/*
 * permissions-service.c - ucd_permissions_v1 over core/model/permissions.c,
 * and the directory snapshot that object decides from.
 *
 * The permissions object knows users only by id and holds an immutable
 * snapshot of who is in which group. The snapshot is rebuilt lazily: the
 * directory bumps a generation at every pull, and the first question after
 * that rebuilds it (one pass over users and groups), so a pull costs nothing
 * when nobody asks and every answer sees the directory of the moment.
 */
#include "directory.h"
#include "permissions-service.h"
#include "permissions.h"

/* The SDK's enums are the permissions object's, value for value: the service
 * passes them through. */
G_STATIC_ASSERT(UCD_PERM_PERSONAL == (int)CORE_PERM_PERSONAL);
G_STATIC_ASSERT(UCD_PERM_SET_FORWARDING == (int)CORE_CAP_SET_FORWARDING);
G_STATIC_ASSERT(UCD_PERM_FROM_UNKNOWN_USER == (int)CORE_PERM_SRC_UNKNOWN_USER);
G_STATIC_ASSERT(UCD_PERM_FROM_USER_GRANT == (int)CORE_PERM_SRC_USER_GRANT);

static int add_user(const core_user *u, void *dir)
{
    core_perm_directory_add_user(dir, u->id, (const char *const *)u->groups);
    return 0;
}

static int add_group(const core_group *g, void *dir)
{
    core_perm_directory_add_group(dir, g->id, (const char *const *)g->leaders);
    return 0;
}

/* A snapshot (permissions.h) of the directory as it is now. */
static core_perm_directory *perm_directory(core_model *m)
{
    core_perm_directory *dir = core_perm_directory_new();
    core_model_foreach_group(m, add_group, dir);
    core_model_foreach_user(m, add_user, dir);
    return dir;
}

core_perm_directory *core_model_permissions_source(void *model)
{
    core_model *m = model;
    if (!m->perms || m->perm_generation == m->generation + 1)
        return NULL;
    core_perm_directory *dir = perm_directory(m);
    core_permissions_set_directory(m->perms, dir);
    core_perm_directory_unref(dir);
    m->perm_generation = m->generation + 1;
    return NULL;
}

/* An id as the permissions object knows users: a login is turned into its
 * user's id; anything unknown stays as given (and is BLOCKED there). */
static const char *user_id(core_model *m, const char *id_or_login)
{
    const core_user *u = core_model_user(m, id_or_login);
    return u ? u->id : id_or_login;
}

static int ready(core_model *m, const char *viewer, const char *subject)
{
    if (!viewer || !subject)
        return UCD_E_INVALID;
    if (!m->perms)
        return UCD_E_UNAVAILABLE;
    core_model_permissions_source(m);
    return UCD_OK;
}

static int level(void *impl, const char *viewer, const char *subject, uint32_t *out)
{
    core_model *m = impl;
    int rc = out ? ready(m, viewer, subject) : UCD_E_INVALID;
    if (rc == UCD_OK)
        *out = core_permissions_level(m->perms, user_id(m, viewer), user_id(m, subject));
    return rc;
}

static int allows(void *impl, const char *viewer, const char *subject, uint32_t cap)
{
    core_model *m = impl;
    if (cap > UCD_PERM_SET_FORWARDING)
        return UCD_E_INVALID;
    int rc = ready(m, viewer, subject);
    if (rc != UCD_OK)
        return rc;
    return core_permissions_allows(m->perms, user_id(m, viewer), user_id(m, subject), cap)
               ? UCD_OK
               : UCD_E_DENIED;
}

static int explain(void *impl, const char *viewer, const char *subject, ucd_perm_decision_cb cb,
                   void *ud)
{
    core_model *m = impl;
    int rc = cb ? ready(m, viewer, subject) : UCD_E_INVALID;
    if (rc != UCD_OK)
        return rc;
    core_perm_rule rule = {0};
    core_perm_level lvl = core_permissions_explain(m->perms, user_id(m, viewer),
                                                   user_id(m, subject), &rule, NULL, NULL);
    ucd_perm_decision d = {
        .struct_size = sizeof d,
        .level = lvl,
        .source = rule.source,
        .group = rule.group,
        .set_by = rule.set_by,
        .where = rule.where,
    };
    cb(&d, ud);
    return UCD_OK;
}

static const ucd_permissions_v1 iface = {
    .struct_size = sizeof iface,
    .level = level,
    .allows = allows,
    .explain = explain,
};

const ucd_permissions_v1 *core_permissions_service_iface(void)
{
    return &iface;
}
