/*
 * ucd/permissions.h - the permissions service, "permissions" major 1,
 * provided by the core.
 *
 * What may one user (the viewer) see and do of another (the subject), and
 * why: the one check every front end (the client API, the web console, a CRM
 * link) calls before it shows a field or acts. Levels, each adding to the one
 * before:
 *   BLOCKED   nothing
 *   PUBLIC    presence and contact data
 *   BUSINESS  + calls in progress (with numbers) and appointments
 *   TEAM      + pickup of ringing calls
 *   PERSONAL  + change presence, forwarding and do-not-disturb
 * They come from the [permissions] section of the configuration (a default,
 * levels per group), group leaders, an admin's rules for pairs of users and
 * users' own grants; docs/admin/permissions.md explains the resolution.
 * `ucctl permissions show VIEWER SUBJECT` prints the same answer.
 *
 * Main loop only. Never blocks.
 */
#ifndef UCD_PERMISSIONS_H
#define UCD_PERMISSIONS_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_PERMISSIONS_SERVICE "permissions"
#define UCD_PERMISSIONS_MAJOR   1
#define UCD_PERMISSIONS_MINOR   0

typedef enum ucd_perm_level {
    UCD_PERM_BLOCKED = 0,
    UCD_PERM_PUBLIC = 1,
    UCD_PERM_BUSINESS = 2,
    UCD_PERM_TEAM = 3,
    UCD_PERM_PERSONAL = 4,
} ucd_perm_level;

/* What a level allows; each needs at least the level named. */
typedef enum ucd_perm_cap {
    UCD_PERM_SEE_PRESENCE = 0,     /* PUBLIC */
    UCD_PERM_SEE_CONTACT = 1,      /* PUBLIC: numbers, e-mail, department ... */
    UCD_PERM_SEE_CALLS = 2,        /* BUSINESS: calls in progress, with numbers */
    UCD_PERM_SEE_APPOINTMENTS = 3, /* BUSINESS */
    UCD_PERM_PICKUP = 4,           /* TEAM */
    UCD_PERM_SET_PRESENCE = 5,     /* PERSONAL */
    UCD_PERM_SET_FORWARDING = 6,   /* PERSONAL: forwarding and do-not-disturb */
} ucd_perm_cap;

/* Where the deciding level came from. */
typedef enum ucd_perm_source {
    UCD_PERM_FROM_DEFAULT = 0,      /* config: [permissions] default */
    UCD_PERM_FROM_GROUP = 1,        /* config: [permissions] groups */
    UCD_PERM_FROM_LEADER = 2,       /* a group leader raised the group's level */
    UCD_PERM_FROM_ADMIN_PAIR = 3,   /* an admin's rule for this pair */
    UCD_PERM_FROM_USER_GRANT = 4,   /* the subject granted the viewer a level */
    UCD_PERM_FROM_SELF = 5,         /* viewer and subject are one user */
    UCD_PERM_FROM_UNKNOWN_USER = 6, /* one of them is not in the directory */
} ucd_perm_source;

/* The answer, and why. Strings valid during the callback only. */
typedef struct ucd_perm_decision {
    uint32_t struct_size;
    uint32_t level;  /* ucd_perm_level */
    uint32_t source; /* ucd_perm_source of the rule that decided */
    uint32_t reserved;
    const char *group;  /* GROUP, LEADER: the group id */
    const char *set_by; /* LEADER, ADMIN_PAIR, USER_GRANT: who set it, NULL for an admin */
    const char *where;  /* DEFAULT, GROUP: "FILE:LINE" of the configuration, NULL built in */
} ucd_perm_decision;

typedef int (*ucd_perm_decision_cb)(const ucd_perm_decision *decision, void *user_data);

typedef struct ucd_permissions_v1 {
    uint32_t struct_size;

    /* The level at which `viewer` sees `subject` (ids or logins) into *level.
     * UCD_OK; an unknown user is BLOCKED, not an error. UCD_E_INVALID for NULL. */
    int (*level)(void *impl, const char *viewer, const char *subject, uint32_t *level);
    /* UCD_OK when `viewer` may use `cap` on `subject`, else UCD_E_DENIED
     * (UCD_E_INVALID for NULL or an unknown cap). */
    int (*allows)(void *impl, const char *viewer, const char *subject, uint32_t cap);
    /* The decision and the rule that made it, through `cb`. */
    int (*explain)(void *impl, const char *viewer, const char *subject, ucd_perm_decision_cb cb,
                   void *user_data);
} ucd_permissions_v1;

/* "blocked", "public", "business", "team", "personal". */
static inline const char *ucd_perm_level_name(uint32_t level)
{
    static const char *const names[] = {"blocked", "public", "business", "team", "personal"};
    return level < sizeof names / sizeof names[0] ? names[level] : "unknown";
}

/* The least level that allows `cap`. */
static inline uint32_t ucd_perm_cap_level(uint32_t cap)
{
    static const uint32_t levels[] = {UCD_PERM_PUBLIC, UCD_PERM_PUBLIC, UCD_PERM_BUSINESS,
                                      UCD_PERM_BUSINESS, UCD_PERM_TEAM, UCD_PERM_PERSONAL,
                                      UCD_PERM_PERSONAL};
    return cap < sizeof levels / sizeof levels[0] ? levels[cap] : UCD_PERM_PERSONAL + 1;
}

#ifdef __cplusplus
}
#endif
#endif /* UCD_PERMISSIONS_H */
