/*
 * permissions.h - what one user may see and do of another: permission levels
 * between users, resolved from admin configuration, group leaders' and users'
 * own rules. Pure logic: no daemon, no bus, no directory implementation.
 *
 * Levels, each adding capabilities to the one before:
 *   BLOCKED   nothing
 *   PUBLIC    presence and contact data
 *   BUSINESS  + calls in progress and appointments
 *   TEAM      + pickup of ringing calls
 *   PERSONAL  + change presence and call forwarding
 *
 * Resolution of "A (the viewer) sees B (the subject)", first match wins:
 *   1. A or B not in the directory        -> BLOCKED (unknown user)
 *   2. A == B                              -> PERSONAL (self)
 *   3. an admin pair rule A/B is BLOCKED   -> BLOCKED (absolute)
 *   4. max(admin minimum, B's grant to A), where admin minimum =
 *      max([permissions] default, `groups` levels of every group holding
 *      both, leader-raised levels of those groups, the admin pair rule A/B).
 * docs/admin/permissions.md explains it with a worked example.
 *
 * Runtime rules (leader raises, admin pair rules, user grants) persist in
 * STATE_DIR/permissions.state, a GKeyFile rewritten atomically on each change.
 *
 * Every function runs on one thread (the main loop); none blocks except the
 * setters, which write the state file.
 */
#ifndef CORE_MODEL_PERMISSIONS_H
#define CORE_MODEL_PERMISSIONS_H

#include <glib.h>

#include "config.h"
#include "control.h"

typedef enum core_perm_level {
    CORE_PERM_BLOCKED = 0,
    CORE_PERM_PUBLIC = 1,
    CORE_PERM_BUSINESS = 2,
    CORE_PERM_TEAM = 3,
    CORE_PERM_PERSONAL = 4,
} core_perm_level;

/* What a level allows; each capability needs at least one level. */
typedef enum core_perm_cap {
    CORE_CAP_SEE_PRESENCE,     /* PUBLIC */
    CORE_CAP_SEE_CONTACT,      /* PUBLIC: numbers, e-mail, department ... */
    CORE_CAP_SEE_CALLS,        /* BUSINESS: calls in progress, with numbers */
    CORE_CAP_SEE_APPOINTMENTS, /* BUSINESS */
    CORE_CAP_PICKUP,           /* TEAM: pick up the subject's ringing calls */
    CORE_CAP_SET_PRESENCE,     /* PERSONAL: change the subject's manual presence */
    CORE_CAP_SET_FORWARDING,   /* PERSONAL: change the subject's forwarding and DND */
} core_perm_cap;

/* Where a level comes from. The first five are rules; SELF and UNKNOWN_USER
 * only appear in decisions. */
typedef enum core_perm_source {
    CORE_PERM_SRC_DEFAULT,    /* config: [permissions] default */
    CORE_PERM_SRC_GROUP,      /* config: [permissions] groups, GROUP=LEVEL */
    CORE_PERM_SRC_LEADER,     /* runtime: a group leader raised a group's level */
    CORE_PERM_SRC_ADMIN_PAIR, /* runtime: an admin's rule for one viewer/subject pair */
    CORE_PERM_SRC_USER_GRANT, /* runtime: the subject granted the viewer a level */
    CORE_PERM_SRC_SELF,
    CORE_PERM_SRC_UNKNOWN_USER,
} core_perm_source;

/* One rule, or what decided a level. Strings are owned by the permissions
 * object and stay valid until its next change (set, clear, config, directory). */
typedef struct core_perm_rule {
    core_perm_source source;
    core_perm_level level;
    const char *group;   /* GROUP, LEADER: the group id; else NULL */
    const char *subject; /* ADMIN_PAIR, USER_GRANT: whose data; else NULL */
    const char *viewer;  /* ADMIN_PAIR, USER_GRANT: who sees it; else NULL */
    const char *set_by;  /* runtime rules: the user who set it, NULL for an admin */
    const char *where;   /* config rules: "FILE:LINE", or NULL for the built-in default */
} core_perm_rule;

/* Errors of the setters: domain CORE_PERM_ERROR, code a UCD_E_* value
 * (UCD_E_DENIED who may not, UCD_E_INVALID what may not be, UCD_E_NOT_FOUND
 * unknown user/group/rule, UCD_FAIL the state file could not be written). */
#define CORE_PERM_ERROR (core_perm_error_quark())
GQuark core_perm_error_quark(void);

/* ---- The directory snapshot ------------------------------------------------
 *
 * Who exists, who is in which group, who leads which group: built by the
 * users model from every users service (one add_user per ucd_user, one
 * add_group per ucd_group) and handed over whole, so this code depends on no
 * directory implementation. Immutable once handed over; reference counted. */
typedef struct core_perm_directory core_perm_directory;

/* An empty snapshot with one reference. */
core_perm_directory *core_perm_directory_new(void);
core_perm_directory *core_perm_directory_ref(core_perm_directory *dir);
void core_perm_directory_unref(core_perm_directory *dir);
/* Adds a user and the groups (NULL-terminated ids, may be NULL) it is a member
 * of. Adding a user again adds to its groups. */
void core_perm_directory_add_user(core_perm_directory *dir, const char *user_id,
                                  const char *const *groups);
/* Adds a group and its leaders (NULL-terminated user ids, may be NULL). A
 * group that users name but that was never added exists without leaders. */
void core_perm_directory_add_group(core_perm_directory *dir, const char *group_id,
                                   const char *const *leaders);
gboolean core_perm_directory_has_user(const core_perm_directory *dir, const char *user_id);
gboolean core_perm_directory_has_group(const core_perm_directory *dir, const char *group_id);
gboolean core_perm_directory_is_member(const core_perm_directory *dir, const char *user_id,
                                       const char *group_id);
gboolean core_perm_directory_is_leader(const core_perm_directory *dir, const char *user_id,
                                       const char *group_id);

/* Returns the current snapshot with a new reference (or NULL: none yet).
 * The command handlers call it so ucctl always answers from the freshest
 * directory. */
typedef core_perm_directory *(*core_perm_directory_fn)(void *user_data);

/* ---- Levels and capabilities ---------------------------------------------- */

/* "blocked", "public", "business", "team", "personal". */
const char *core_perm_level_name(core_perm_level level);
/* Parses a level name, case-insensitively. FALSE for anything else. */
gboolean core_perm_level_parse(const char *name, core_perm_level *level);
/* The least level that allows `cap`. */
core_perm_level core_perm_cap_level(core_perm_cap cap);
/* "see_presence", "pickup", ... */
const char *core_perm_cap_name(core_perm_cap cap);
/* "default", "group", "leader", "admin", "user", "self", "unknown-user". */
const char *core_perm_source_name(core_perm_source source);

/* ---- The permissions object ----------------------------------------------- */

typedef struct core_permissions core_permissions;

/* Checks the [permissions] section of cfg (unknown keys, wrong types, unknown
 * level names, malformed `groups` entries, a group listed twice), appending
 * "FILE:LINE: message" errors. Returns the number of errors. */
int core_permissions_check_config(core_config *cfg, GPtrArray *errors);

/* Builds the model from cfg's [permissions] section and loads the runtime
 * rules from STATE_DIR/permissions.state (a missing file means none). A
 * NULL state_dir keeps runtime rules in memory only. Returns NULL after
 * appending errors when the section or the state file is bad: a state file
 * that cannot be read whole is never half-applied, since dropping an admin's
 * BLOCKED rule would widen access. The directory starts empty. */
core_permissions *core_permissions_new(core_config *cfg, const char *state_dir, GPtrArray *errors);
void core_permissions_free(core_permissions *p);

/* Applies a new configuration (reload); runtime rules stay. FALSE after
 * appending errors, and the old configuration stays in force. */
gboolean core_permissions_apply_config(core_permissions *p, core_config *cfg, GPtrArray *errors);

/* Replaces the directory snapshot (takes a new reference; NULL empties it). */
void core_permissions_set_directory(core_permissions *p, core_perm_directory *dir);
/* The snapshot in use, with a new reference (never NULL). */
core_perm_directory *core_permissions_directory(core_permissions *p);

/* The level at which `viewer` sees `subject`. Hash lookups only: the cost
 * grows with the number of groups the viewer is in, nothing else. */
core_perm_level core_permissions_level(core_permissions *p, const char *viewer,
                                       const char *subject);
/* TRUE when `viewer` may use `cap` on `subject`'s data. */
gboolean core_permissions_allows(core_permissions *p, const char *viewer, const char *subject,
                                 core_perm_cap cap);

typedef void (*core_perm_rule_cb)(const core_perm_rule *rule, void *user_data);

/* Like core_permissions_level(), and fills *decided with the rule that decided
 * (the first, in the order default, group, leader, admin, user, of those that
 * reach the final level; or SELF, UNKNOWN_USER, or a BLOCKED admin pair rule).
 * `each`, when not NULL, is called for every rule that applies to the pair,
 * in that order. */
core_perm_level core_permissions_explain(core_permissions *p, const char *viewer,
                                         const char *subject, core_perm_rule *decided,
                                         core_perm_rule_cb each, void *user_data);

/* Calls `cb` for every rule: the default, the config group levels, then the
 * runtime rules (leader, admin, user), each kind sorted by its ids. */
void core_permissions_foreach_rule(core_permissions *p, core_perm_rule_cb cb, void *user_data);

/* ---- Changing runtime rules ------------------------------------------------
 *
 * `actor` is who asks: NULL for an admin, else a user id. Who may set what:
 *   LEADER      group `target`, any viewer (pass NULL): an admin, or a leader
 *               of that group. A leader may not set a level below the admin's
 *               level for the group (max of default and the `groups` level).
 *   ADMIN_PAIR  subject `target`, viewer `viewer`: an admin only. BLOCKED
 *               is absolute; any other level is a minimum.
 *   USER_GRANT  subject `target`, viewer `viewer`: an admin, or the subject
 *               itself. Grants only raise: the level must not be BLOCKED nor
 *               below the admin minimum for the pair, and the pair must not be
 *               blocked by an admin.
 * Users and groups must be in the directory (typos would make rules that
 * never apply); a user cannot hold a rule about themself. The state file is
 * written before the change is kept: when writing fails the old rules stay.
 * Setting an existing rule replaces its level and setter. Each returns FALSE
 * and sets *error (CORE_PERM_ERROR) when refused. */
gboolean core_permissions_set(core_permissions *p, const char *actor, core_perm_source kind,
                              const char *target, const char *viewer, core_perm_level level,
                              GError **error);
/* Removes a runtime rule; the same actors as for setting may clear it, and
 * no directory check applies (rules of users who left can be cleaned up). */
gboolean core_permissions_clear(core_permissions *p, const char *actor, core_perm_source kind,
                                const char *target, const char *viewer, GError **error);

/* The state file's path, or NULL without a state directory. */
const char *core_permissions_state_file(core_permissions *p);

/* ---- ucctl ------------------------------------------------------------------ */

/* Where the ucctl commands get the freshest directory: `fn` (NULL: none) is
 * called before each command, and a snapshot it returns replaces p's. Kept in
 * p so the registration needs no memory of its own. */
void core_permissions_set_directory_source(core_permissions *p, core_perm_directory_fn fn,
                                           void *user_data);
/* Pulls the directory from the source set above, when there is one. */
void core_permissions_refresh_directory(core_permissions *p);

/* Registers "permissions" (show, grant, clear, list) for owner "core", with
 * `directory` as the directory source (see above; may be NULL). Commands act
 * as an admin unless told `--as leader|user`. p must outlive the
 * registration. Implemented in permissions-commands.c. */
void core_permissions_register_commands(core_control *ctl, core_permissions *p,
                                        core_perm_directory_fn directory, void *user_data);

#endif /* CORE_MODEL_PERMISSIONS_H */
