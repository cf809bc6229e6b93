/*
 * call-control.c - a call-control request, checked once for everyone who
 * sends one (call-control.h), then handed to the line's PBX driver.
 *
 * The checks run in an order that says the most useful thing first and
 * tells an actor nothing about lines they may not touch: the request itself
 * (INVALID), then the line or user (NOT_FOUND, or INVALID for an address on
 * several drivers), the actor's permission on whose line it is (DENIED), the
 * driver (UNAVAILABLE) and the line's capability (UNSUPPORTED). By user, the
 * permission is checked on the user before any of their lines is looked at.
 *
 * A line's capability is asked of the driver at the time of the request, not
 * taken from the model's copy of list_lines: drivers change them (a phone
 * that registers with fewer features) without an event.
 */
#include "call-control.h"

#include <stdarg.h>
#include <string.h>

#include "calls.h"
#include "permissions.h"

/* Which members of the request an action needs. */
enum {
    NEED_CALL = 1 << 0,
    NEED_OTHER_CALL = 1 << 1,
    NEED_NUMBER = 1 << 2,
    NEED_TARGET = 1 << 3,
    NEED_DIGITS = 1 << 4,
};

typedef struct action_desc {
    const char *name; /* as ucctl's command is named */
    uint64_t cap;
    size_t slot; /* offset of the driver's function in ucd_pbx_v1 */
    unsigned needs;
} action_desc;

#define SLOT(f) offsetof(ucd_pbx_v1, f)

static const action_desc actions[] = {
    [UCD_CALL_DIAL] = {"dial", UCD_PBX_CAP_DIAL, SLOT(dial), NEED_NUMBER},
    [UCD_CALL_ANSWER] = {"answer", UCD_PBX_CAP_ANSWER, SLOT(answer), NEED_CALL},
    [UCD_CALL_HANGUP] = {"hangup", UCD_PBX_CAP_HANGUP, SLOT(hangup), NEED_CALL},
    [UCD_CALL_HOLD] = {"hold", UCD_PBX_CAP_HOLD, SLOT(hold), NEED_CALL},
    [UCD_CALL_RETRIEVE] = {"retrieve", UCD_PBX_CAP_HOLD, SLOT(retrieve), NEED_CALL},
    [UCD_CALL_TRANSFER] = {"transfer", UCD_PBX_CAP_TRANSFER_BLIND, SLOT(transfer_blind),
                           NEED_CALL | NEED_NUMBER},
    [UCD_CALL_CONSULT_TRANSFER] = {"consult-transfer", UCD_PBX_CAP_TRANSFER_CONSULT,
                                   SLOT(transfer_consult), NEED_CALL | NEED_OTHER_CALL},
    [UCD_CALL_DEFLECT] = {"deflect", UCD_PBX_CAP_DEFLECT, SLOT(deflect), NEED_CALL | NEED_NUMBER},
    [UCD_CALL_PICKUP] = {"pickup", UCD_PBX_CAP_PICKUP, SLOT(pickup), NEED_TARGET},
    [UCD_CALL_DTMF] = {"dtmf", UCD_PBX_CAP_DTMF, SLOT(send_dtmf), NEED_CALL | NEED_DIGITS},
    [UCD_CALL_FORWARD] = {"forward", UCD_PBX_CAP_FORWARD, SLOT(set_forward), 0},
    [UCD_CALL_DND] = {"dnd", UCD_PBX_CAP_DND, SLOT(set_dnd), 0},
};

/* The bits of UCD_PBX_CAP_*, in order, as `ucctl caps` names them. */
static const char *const cap_words[] = {
    "monitor", "dial",   "answer", "hangup",  "hold", "transfer_blind", "transfer_consult",
    "deflect", "pickup", "dtmf",   "forward", "dnd",  "conference",
};

static const char *cap_word(uint64_t cap)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cap_words); i++)
        if (cap == UINT64_C(1) << i)
            return cap_words[i];
    return "unknown";
}

/* Answers of drivers, for people. */
static const char *driver_error_words(int rc)
{
    switch (rc) {
    case UCD_E_NOT_FOUND:
        return "the driver knows no such call or line";
    case UCD_E_UNSUPPORTED:
        return "the line does not support it";
    case UCD_E_INVALID:
        return "the driver refused an argument as invalid";
    case UCD_E_BUSY:
        return "the driver is busy, try again";
    case UCD_E_UNAVAILABLE:
        return "the PBX is unreachable";
    case UCD_E_DENIED:
        return "the PBX refused it";
    default:
        return ucd_strerror(rc);
    }
}

/* One request on its way through the checks. */
typedef struct job {
    core_model *m;
    ucd_call_request req; /* the caller's, cut to the members known here */
    ucd_call_result *res; /* NULL: the caller wants no details */
    const action_desc *act;
    const core_user *actor; /* NULL: an admin */
} job;

static int fail(job *j, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int fail(job *j, int rc, const char *fmt, ...)
{
    if (j->res) {
        va_list ap;
        va_start(ap, fmt);
        g_vsnprintf(j->res->message, sizeof j->res->message, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static gboolean empty(const char *s)
{
    return !s || !*s;
}

static const char *user_name(const core_user *u)
{
    return u->login && *u->login ? u->login : u->id;
}

/* ---- the request ------------------------------------------------------------------- */

static int check_request(job *j)
{
    const ucd_call_request *r = &j->req;
    const char *name = j->act->name;
    unsigned needs = j->act->needs;

    if ((needs & NEED_CALL) && empty(r->call_id))
        return fail(j, UCD_E_INVALID, "%s: no call id", name);
    if ((needs & NEED_OTHER_CALL) && empty(r->other_call_id))
        return fail(j, UCD_E_INVALID, "%s: no id of the active call (other_call_id)", name);
    if ((needs & NEED_NUMBER) && empty(r->number))
        return fail(j, UCD_E_INVALID, "%s: no number", name);
    if ((needs & NEED_TARGET) && empty(r->target))
        return fail(j, UCD_E_INVALID, "%s: no target line or user", name);
    if ((needs & NEED_DIGITS) && empty(r->digits))
        return fail(j, UCD_E_INVALID, "%s: no digits", name);
    if (r->action == UCD_CALL_FORWARD && r->forward_type > UCD_FORWARD_NO_ANSWER)
        return fail(j, UCD_E_INVALID,
                    "forward: type %u is none of unconditional (0), busy (1), no_answer (2)",
                    r->forward_type);
    if (r->action == UCD_CALL_DND && r->on > 1)
        return fail(j, UCD_E_INVALID, "dnd: on is %u, not 1 (on) or 0 (off)", r->on);
    if (empty(r->line) && empty(r->user))
        return fail(j, UCD_E_INVALID, "%s: no line and no user", name);
    return UCD_OK;
}

/* ---- lines and users --------------------------------------------------------------- */

static gint by_line(gconstpointer a, gconstpointer b)
{
    const core_line *x = *(const core_line *const *)a, *y = *(const core_line *const *)b;
    int c = strcmp(x->driver, y->driver);
    return c ? c : strcmp(x->address, y->address);
}

/* "DRIVER/ADDRESS": some '/' splits a known driver from one of its lines
 * (driver ids and addresses may both hold a '/'). */
static core_line *line_by_full_name(core_model *m, const char *name)
{
    for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
        char *driver = g_strndup(name, (gsize)(slash - name));
        core_driver *d = core_model_driver(m, driver, FALSE);
        g_free(driver);
        core_line *line = d ? g_hash_table_lookup(d->lines, slash + 1) : NULL;
        if (line)
            return line;
    }
    return NULL;
}

/* The lines with address `address` on any driver, sorted. */
static GPtrArray *lines_at(core_model *m, const char *address)
{
    GPtrArray *found = g_ptr_array_new();
    GHashTableIter it;
    gpointer d;
    g_hash_table_iter_init(&it, m->drivers);
    while (g_hash_table_iter_next(&it, NULL, &d)) {
        core_line *l = g_hash_table_lookup(((core_driver *)d)->lines, address);
        if (l)
            g_ptr_array_add(found, l);
    }
    g_ptr_array_sort(found, by_line);
    return found;
}

/* The line `name` names into *out, or an error: NOT_FOUND, or INVALID for
 * a bare address on several drivers (the message names them all). */
static int resolve_line(job *j, const char *name, core_line **out)
{
    *out = line_by_full_name(j->m, name);
    if (*out)
        return UCD_OK;
    GPtrArray *found = lines_at(j->m, name);
    int rc = UCD_OK;
    if (found->len == 1) {
        *out = found->pdata[0];
    } else if (found->len == 0) {
        rc = fail(j, UCD_E_NOT_FOUND, "unknown line '%s' (see ucctl lines)", name);
    } else {
        GString *names = g_string_new(NULL);
        for (guint i = 0; i < found->len; i++) {
            const core_line *l = found->pdata[i];
            g_string_append_printf(names, "%s%s/%s", i ? ", " : "", l->driver, l->address);
        }
        rc = fail(j, UCD_E_INVALID,
                  "line '%s' is on several drivers: %s (name one as DRIVER/ADDRESS)", name,
                  names->str);
        g_string_free(names, TRUE);
    }
    g_ptr_array_free(found, TRUE);
    return rc;
}

static int resolve_user(job *j, const char *name, const core_user **out)
{
    *out = core_model_user(j->m, name);
    if (!*out)
        return fail(j, UCD_E_NOT_FOUND, "unknown user '%s' (see ucctl users)", name);
    return UCD_OK;
}

/* Whether the directory entry `entry` ("DRIVER/ADDRESS" or a bare address)
 * names `line`. */
static gboolean entry_names(const char *entry, const core_line *line)
{
    if (strcmp(entry, line->address) == 0)
        return TRUE;
    size_t n = strlen(line->driver);
    return strncmp(entry, line->driver, n) == 0 && entry[n] == '/' &&
           strcmp(entry + n + 1, line->address) == 0;
}

/* The user's lines the model knows, in the order their directory entry
 * lists them (a bare entry on several drivers: sorted by driver). */
static GPtrArray *user_lines(const core_user *u)
{
    GPtrArray *sorted = g_ptr_array_copy(u->line_ptrs, NULL, NULL);
    g_ptr_array_sort(sorted, by_line);
    GPtrArray *out = g_ptr_array_new();
    for (char **e = u->lines; *e; e++)
        for (guint i = 0; i < sorted->len; i++) {
            core_line *l = sorted->pdata[i];
            if (entry_names(*e, l) && !g_ptr_array_find(out, l, NULL))
                g_ptr_array_add(out, l);
        }
    g_ptr_array_free(sorted, TRUE);
    return out;
}

/* ---- drivers ----------------------------------------------------------------------- */

/* The running pbx service of `line`'s driver into *s; FALSE when it runs not. */
static gboolean line_driver(core_model *m, const core_line *line, ucd_service *s)
{
    s->struct_size = sizeof *s;
    return core_modules_service_get(m->mods, UCD_PBX_SERVICE, UCD_PBX_MAJOR, line->driver, s) ==
           UCD_OK;
}

/* Whether the driver can do the action on `line`: the capability, and the
 * function in a table as large as the driver was built with. */
static gboolean line_can(const action_desc *act, const ucd_service *s, const core_line *line)
{
    const ucd_pbx_v1 *pbx = s->iface;
    if (pbx->struct_size < act->slot + sizeof(void *))
        return FALSE;
    void *const *fn = (void *const *)((const char *)pbx + act->slot);
    uint64_t caps = pbx->capabilities ? pbx->capabilities(s->impl, line->address) : 0;
    return (caps & act->cap) && *fn;
}

/* ---- the actor --------------------------------------------------------------------- */

/* Whether the actor may use `cap` on `owner`'s data; else fails with a
 * message that starts with `what` ("alice may not pick up calls of bob"). */
static int check_permission(job *j, const core_user *owner, core_perm_cap cap, const char *what)
{
    core_permissions *p = j->m->perms; /* core_model_set_permissions() */
    if (!p)
        return fail(j, UCD_E_DENIED, "%s: no permissions are known", what);
    /* The permissions object holds its own copy of the directory: bring it
     * up to date, or a user added since the last pull would be unknown. */
    core_model_permissions_source(j->m);
    if (core_permissions_allows(p, j->actor->id, owner->id, cap))
        return UCD_OK;
    core_perm_level has = core_permissions_level(p, j->actor->id, owner->id);
    return fail(j, UCD_E_DENIED, "%s (needs permission level %s, %s has %s)", what,
                core_perm_level_name(core_perm_cap_level(cap)), user_name(j->actor),
                core_perm_level_name(has));
}

/* Whether the actor may do the action on `owner`'s lines (`line` NULL: on
 * all of them, by user). Their own always; FORWARD and DND on another's with
 * PERSONAL; nothing else, PICKUP included (its target is checked apart). */
static int check_owner(job *j, const core_user *owner, const core_line *line)
{
    if (!j->actor || owner == j->actor)
        return UCD_OK;
    char *where = line ? g_strdup_printf("line %s (%s)", line->address, line->driver)
                       : g_strdup_printf("the lines of %s", user_name(owner));
    int rc;
    if (!owner) {
        rc = fail(j, UCD_E_DENIED, "%s may not use '%s' on %s: it is no user's line",
                  user_name(j->actor), j->act->name, where);
    } else if (j->req.action == UCD_CALL_FORWARD || j->req.action == UCD_CALL_DND) {
        char *what =
            g_strdup_printf("%s may not use '%s' on %s", user_name(j->actor), j->act->name, where);
        rc = check_permission(j, owner, CORE_CAP_SET_FORWARDING, what);
        g_free(what);
    } else {
        rc = fail(j, UCD_E_DENIED, "%s may not use '%s' on %s: %s to %s", user_name(j->actor),
                  j->act->name, where, line ? "it belongs" : "they belong", user_name(owner));
    }
    g_free(where);
    return rc;
}

/* ---- choosing a user's line -------------------------------------------------------- */

typedef struct leg_search {
    const core_user *user;
    const char *call_id;    /* the leg with this id, or */
    const char *driver;     /* NULL, or a ringing leg on this driver */
    const core_line *found; /* the first in (driver, address, call id) order */
    const char *found_call;
} leg_search;

static void match_leg(const core_leg_view *v, void *ud)
{
    leg_search *s = ud;
    if (v->line->user != s->user)
        return;
    if (s->call_id ? strcmp(v->call_id, s->call_id) != 0
                   : v->state != UCD_CALL_OFFERING ||
                         (s->driver && strcmp(v->line->driver, s->driver) != 0))
        return;
    if (s->found) {
        const core_line *a = v->line, *b = s->found;
        int c = by_line(&a, &b);
        if (c > 0 || (c == 0 && strcmp(v->call_id, s->found_call) >= 0))
            return;
    }
    s->found = v->line;
    s->found_call = v->call_id;
}

/* The line of `u` that carries the call `call_id`. */
static int line_of_call(job *j, const core_user *u, core_line **out)
{
    leg_search s = {.user = u, .call_id = j->req.call_id};
    core_calls_foreach_leg(j->m, match_leg, &s);
    *out = (core_line *)s.found;
    if (!s.found)
        return fail(j, UCD_E_NOT_FOUND, "%s: no call '%s' on the lines of %s", j->act->name,
                    j->req.call_id, user_name(u));
    return UCD_OK;
}

/* The first of `u`'s lines (on `driver` when not NULL) whose driver runs and
 * can do the action. */
static int first_capable_line(job *j, const core_user *u, const char *driver, core_line **out)
{
    GPtrArray *lines = user_lines(u);
    const core_line *down = NULL; /* the first whose driver does not run */
    guint considered = 0;
    *out = NULL;
    for (guint i = 0; i < lines->len && !*out; i++) {
        core_line *l = lines->pdata[i];
        ucd_service s;
        if (driver && strcmp(l->driver, driver) != 0)
            continue;
        considered++;
        if (!line_driver(j->m, l, &s))
            down = down ? down : l;
        else if (line_can(j->act, &s, l))
            *out = l;
    }
    g_ptr_array_free(lines, TRUE);
    if (*out)
        return UCD_OK;
    const char *on = driver ? " on " : "";
    if (!considered)
        return fail(j, UCD_E_NOT_FOUND, "%s: %s has no line%s%s", j->act->name, user_name(u), on,
                    driver ? driver : "");
    if (down)
        return fail(j, UCD_E_UNAVAILABLE,
                    "%s: no running line of %s%s%s can (line %s's driver %s is not running)",
                    j->act->name, user_name(u), on, driver ? driver : "", down->address,
                    down->driver);
    return fail(j, UCD_E_UNSUPPORTED, "no line of %s%s%s supports %s (capability '%s')",
                user_name(u), on, driver ? driver : "", j->act->name, cap_word(j->act->cap));
}

/* ---- pickup's target --------------------------------------------------------------- */

typedef struct pickup_target {
    const core_line *line; /* NULL: unknown to the model (admin only) */
    const core_user *owner;
} pickup_target;

/* Resolves req.target: a line ("DRIVER/ADDRESS", or a bare address, looked
 * for on `driver` first), else a user whose call rings (on `driver` when not
 * NULL). An admin may name a line only the driver knows. */
static int resolve_target(job *j, const char *driver, pickup_target *t)
{
    const char *name = j->req.target;
    core_line *line = line_by_full_name(j->m, name);
    core_driver *d = driver ? core_model_driver(j->m, driver, FALSE) : NULL;
    if (!line && d)
        line = g_hash_table_lookup(d->lines, name);
    if (!line) {
        GPtrArray *found = lines_at(j->m, name);
        guint n = found->len;
        g_ptr_array_free(found, TRUE);
        if (n > 0) {
            int rc = resolve_line(j, name, &line);
            if (rc != UCD_OK)
                return rc;
        }
    }
    if (line) {
        t->line = line;
        t->owner = line->user;
        return UCD_OK;
    }
    const core_user *u = core_model_user(j->m, name);
    if (u) {
        leg_search s = {.user = u, .driver = driver};
        core_calls_foreach_leg(j->m, match_leg, &s);
        if (!s.found)
            return fail(j, UCD_E_NOT_FOUND, "pickup: no call is ringing on the lines of %s%s%s",
                        user_name(u), driver ? " on " : "", driver ? driver : "");
        t->line = s.found;
        t->owner = u;
        return UCD_OK;
    }
    if (j->actor)
        return fail(j, UCD_E_NOT_FOUND, "pickup: '%s' is no line and no user", name);
    return UCD_OK;
}

/* Whether the actor may take calls ringing at the target. */
static int check_target(job *j, const pickup_target *t)
{
    if (!j->actor || (t->owner && t->owner == j->actor))
        return UCD_OK;
    if (!t->owner)
        return fail(j, UCD_E_DENIED,
                    "%s may not pick up calls on line %s (%s): it is no user's line",
                    user_name(j->actor), t->line->address, t->line->driver);
    char *what =
        g_strdup_printf("%s may not pick up calls of %s", user_name(j->actor), user_name(t->owner));
    int rc = check_permission(j, t->owner, CORE_CAP_PICKUP, what);
    g_free(what);
    return rc;
}

/* The address to hand the driver of `line`: the target's, which must be on
 * the same driver, or as given (a line only the driver knows, "DRIVER/"
 * of this driver cut off). */
static int target_address(job *j, const core_line *line, const pickup_target *t,
                          const char **address)
{
    if (t->line) {
        if (strcmp(t->line->driver, line->driver) != 0)
            return fail(j, UCD_E_INVALID,
                        "pickup: the call rings on line %s (%s), not on %s like line %s",
                        t->line->address, t->line->driver, line->driver, line->address);
        *address = t->line->address;
        return UCD_OK;
    }
    const char *target = j->req.target;
    size_t n = strlen(line->driver);
    *address = strncmp(target, line->driver, n) == 0 && target[n] == '/' ? target + n + 1 : target;
    return UCD_OK;
}

/* ---- the driver -------------------------------------------------------------------- */

static int call_driver(job *j, const ucd_service *s, const core_line *line, const char *target)
{
    const ucd_pbx_v1 *pbx = s->iface;
    const ucd_call_request *r = &j->req;
    void *impl = s->impl;
    const char *a = line->address;
    switch (r->action) {
    case UCD_CALL_DIAL: {
        char call_id[sizeof j->res->call_id] = "";
        int rc = pbx->dial(impl, a, r->number, call_id, sizeof call_id);
        if (rc == UCD_OK && j->res)
            g_strlcpy(j->res->call_id, call_id, sizeof j->res->call_id);
        return rc;
    }
    case UCD_CALL_ANSWER:
        return pbx->answer(impl, a, r->call_id);
    case UCD_CALL_HANGUP:
        return pbx->hangup(impl, a, r->call_id);
    case UCD_CALL_HOLD:
        return pbx->hold(impl, a, r->call_id);
    case UCD_CALL_RETRIEVE:
        return pbx->retrieve(impl, a, r->call_id);
    case UCD_CALL_TRANSFER:
        return pbx->transfer_blind(impl, a, r->call_id, r->number);
    case UCD_CALL_CONSULT_TRANSFER:
        return pbx->transfer_consult(impl, a, r->call_id, r->other_call_id);
    case UCD_CALL_DEFLECT:
        return pbx->deflect(impl, a, r->call_id, r->number);
    case UCD_CALL_PICKUP:
        return pbx->pickup(impl, a, target);
    case UCD_CALL_DTMF:
        return pbx->send_dtmf(impl, a, r->call_id, r->digits);
    case UCD_CALL_FORWARD:
        return pbx->set_forward(impl, a, r->forward_type, empty(r->number) ? NULL : r->number);
    case UCD_CALL_DND:
        return pbx->set_dnd(impl, a, (int)r->on);
    }
    return UCD_E_INVALID;
}

/* ---- the request, step by step ----------------------------------------------------- */

/* The line to act on, after the actor's permission on its user. */
static int choose_line(job *j, pickup_target *target, core_line **out)
{
    const ucd_call_request *r = &j->req;
    const gboolean pickup = r->action == UCD_CALL_PICKUP;
    const core_user *user = NULL;
    int rc;

    if (!empty(r->user) && (rc = resolve_user(j, r->user, &user)) != UCD_OK)
        return rc;
    if (!empty(r->line)) {
        if ((rc = resolve_line(j, r->line, out)) != UCD_OK)
            return rc;
        if (user && (*out)->user != user)
            return fail(j, UCD_E_INVALID, "line %s (%s) is not a line of %s", (*out)->address,
                        (*out)->driver, user_name(user));
        if ((rc = check_owner(j, (*out)->user, *out)) != UCD_OK)
            return rc;
        return pickup ? resolve_target(j, (*out)->driver, target) : UCD_OK;
    }
    if ((rc = check_owner(j, user, NULL)) != UCD_OK)
        return rc;
    if (j->act->needs & NEED_CALL)
        return line_of_call(j, user, out);
    if (!pickup)
        return first_capable_line(j, user, NULL, out);
    /* The target first: a line to pick up with must be on its driver. */
    if ((rc = resolve_target(j, NULL, target)) != UCD_OK)
        return rc;
    return first_capable_line(j, user, target->line ? target->line->driver : NULL, out);
}

static int run(job *j)
{
    pickup_target target = {0};
    const char *target_addr = NULL;
    core_line *line = NULL;
    ucd_service s;
    int rc;

    if ((rc = check_request(j)) != UCD_OK)
        return rc;
    if (!empty(j->req.actor)) {
        j->actor = core_model_user(j->m, j->req.actor);
        if (!j->actor)
            return fail(j, UCD_E_DENIED, "%s: the actor '%s' is no known user", j->act->name,
                        j->req.actor);
    }
    if ((rc = choose_line(j, &target, &line)) != UCD_OK)
        return rc;
    if (j->res)
        g_strlcpy(j->res->line, line->address, sizeof j->res->line);
    if (j->req.action == UCD_CALL_PICKUP &&
        ((rc = check_target(j, &target)) != UCD_OK ||
         (rc = target_address(j, line, &target, &target_addr)) != UCD_OK))
        return rc;
    if (!line_driver(j->m, line, &s))
        return fail(j, UCD_E_UNAVAILABLE, "line %s: its driver %s is not running", line->address,
                    line->driver);
    if (!line_can(j->act, &s, line))
        return fail(j, UCD_E_UNSUPPORTED, "line %s (%s) does not support %s (capability '%s')",
                    line->address, line->driver, j->act->name, cap_word(j->act->cap));
    if (j->res)
        g_strlcpy(j->res->driver, line->driver, sizeof j->res->driver);
    rc = call_driver(j, &s, line, target_addr);
    if (rc != UCD_OK)
        return fail(j, rc, "%s on line %s (%s): %s", j->act->name, line->address, line->driver,
                    driver_error_words(rc));
    return UCD_OK;
}

int core_call_control(core_model *m, const ucd_call_request *req, ucd_call_result *res)
{
    /* A result too small for the 1.0 layout cannot even take the message. */
    if (res && res->struct_size < sizeof *res)
        return UCD_E_INVALID;
    if (res) {
        uint32_t size = res->struct_size;
        memset(res, 0, sizeof *res);
        res->struct_size = size;
    }
    job j = {.m = m, .res = res};
    if (!m || !req)
        return fail(&j, UCD_E_INVALID, "no request");
    if (req->struct_size < sizeof j.req)
        return fail(&j, UCD_E_INVALID,
                    "request struct_size %u is less than %zu, the calls 1.0 request",
                    req->struct_size, sizeof j.req);
    memcpy(&j.req, req, sizeof j.req);
    if (j.req.action == 0 || j.req.action >= G_N_ELEMENTS(actions))
        return fail(&j, UCD_E_INVALID, "unknown call-control action %u", j.req.action);
    j.act = &actions[j.req.action];
    return run(&j);
}
