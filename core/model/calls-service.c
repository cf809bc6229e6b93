/*
 * calls-service.c - ucd_calls_v1 over the model's legs and conversations.
 *
 * Live legs are handed out in the order calls.h promises (driver, line, call
 * id); open conversations as the journal record they would be if they ended
 * now, built by the same code as the finished record (calls.c). control()
 * is call-control.c's: one place for capability and permission checks.
 */
#include <string.h>

#include "call-control.h"
#include "calls-service.h"
#include "calls.h"

/* A user named by id or login: NULL and *rc UCD_OK for "everybody". */
static const core_user *user_filter(core_model *m, const char *user, int *rc)
{
    *rc = UCD_OK;
    if (!user)
        return NULL;
    const core_user *u = *user ? core_model_user(m, user) : NULL;
    if (!u)
        *rc = *user ? UCD_E_NOT_FOUND : UCD_E_INVALID;
    return u;
}

typedef struct {
    const core_user *user;
    GArray *legs; /* core_leg_view */
} leg_collect;

static void collect_leg(const core_leg_view *v, void *ud)
{
    leg_collect *lc = ud;
    if (!lc->user || v->line->user == lc->user)
        g_array_append_val(lc->legs, *v);
}

static gint leg_order(gconstpointer a, gconstpointer b)
{
    const core_leg_view *x = a, *y = b;
    int c = strcmp(x->line->driver, y->line->driver);
    if (!c)
        c = strcmp(x->line->address, y->line->address);
    return c ? c : strcmp(x->call_id, y->call_id);
}

static int foreach_leg(void *impl, const char *user, ucd_call_leg_cb cb, void *ud)
{
    core_model *m = impl;
    int rc;
    leg_collect lc = {user_filter(m, user, &rc), NULL};
    if (rc != UCD_OK || !cb)
        return cb ? rc : UCD_E_INVALID;
    lc.legs = g_array_new(FALSE, FALSE, sizeof(core_leg_view));
    core_calls_foreach_leg(m, collect_leg, &lc);
    g_array_sort(lc.legs, leg_order);
    for (guint i = 0; i < lc.legs->len; i++) {
        const core_leg_view *v = &g_array_index(lc.legs, core_leg_view, i);
        ucd_call_leg leg = {
            .struct_size = sizeof leg,
            .state = v->state,
            .direction = v->direction,
            .flags = v->flags,
            .driver = v->line->driver,
            .line = v->line->address,
            .user_id = v->line->user ? v->line->user->id : NULL,
            .call_id = v->call_id,
            .conversation_id = v->conversation_id,
            .uuid = v->uuid,
            .remote_number = v->remote_number,
            .remote_name = v->remote_name,
            .since_ms = v->since_ms,
            .party_name = v->party->name,
            .party_company = v->party->company,
            .party_source = v->party->source,
            .party_user_id = v->party->user_id,
        };
        if (cb(&leg, ud))
            break;
    }
    g_array_free(lc.legs, TRUE);
    return UCD_OK;
}

static int foreach_conversation(void *impl, const char *user, ucd_journal_record_cb cb, void *ud)
{
    core_model *m = impl;
    int rc;
    const core_user *u = user_filter(m, user, &rc);
    if (rc != UCD_OK || !cb)
        return cb ? rc : UCD_E_INVALID;
    core_calls_foreach_open(m, u, cb, ud);
    return UCD_OK;
}

/* call-control.c brings the permissions' directory up to date itself, and
 * only when an actor touches another user's line. */
static int control(void *impl, const ucd_call_request *request, ucd_call_result *result)
{
    return core_call_control(impl, request, result);
}

static const ucd_calls_v1 iface = {
    .struct_size = sizeof iface,
    .foreach_leg = foreach_leg,
    .foreach_conversation = foreach_conversation,
    .control = control,
};

const ucd_calls_v1 *core_calls_service_iface(void)
{
    return &iface;
}
