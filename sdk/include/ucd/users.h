/*
 * ucd/users.h - the user backend interface, service "users" major 1.
 *
 * A user backend (a directory such as Active Directory/LDAP, a SQL database, an
 * XML file) tells the core who the users are, which groups they belong to and
 * which lines they own, and may check their passwords. The core pulls: it calls
 * foreach_user() and foreach_group() after start and whenever the backend
 * publishes UCD_EVENT_USER_CHANGED, and keeps its own indexed copy (by id, login
 * and phone number), so lookups never reach the backend.
 *
 * A backend must never hand over a partial user set as if it were complete: when
 * a sync fails or returns suspiciously few users, it keeps serving the last good
 * set. Several backends may run at once (two directories); user ids must be
 * unique across them, which a backend ensures by its own id scheme (a GUID, or
 * "file:alice").
 */
#ifndef UCD_USERS_H
#define UCD_USERS_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_USERS_SERVICE "users"
#define UCD_USERS_MAJOR   1
/* 1: import_users; 2: set_numbers. */
#define UCD_USERS_MINOR 2

typedef struct ucd_user {
    uint32_t struct_size;
    uint32_t enabled;  /* 0: known but disabled (never active on this server) */
    const char *id;    /* stable, unique across backends: GUID, entryUUID ... */
    const char *login; /* what the user types to log in */
    const char *display_name;
    const char *given_name;
    const char *surname;
    const char *email;
    const char *department;
    const char *title;
    const char *home_server;    /* the server the user is active on; NULL = this one */
    const char *const *numbers; /* NULL-terminated phone numbers, raw as stored */
    const char *const *groups;  /* NULL-terminated group ids the user is a member of */
    const char *const *lines;   /* NULL-terminated line addresses assigned to the user,
                                   each "DRIVER_INSTANCE/ADDRESS" or a bare address that
                                   the core matches against every driver */
} ucd_user;

typedef struct ucd_group {
    uint32_t struct_size;
    uint32_t reserved;
    const char *id;
    const char *name;
    const char *description;
    const char *const *leaders; /* NULL-terminated user ids */
} ucd_group;

typedef int (*ucd_user_cb)(const ucd_user *user, void *user_data);    /* non-zero stops */
typedef int (*ucd_group_cb)(const ucd_group *group, void *user_data); /* non-zero stops */

/* Progress of a sync: done of total entries (total 0 = unknown yet). */
typedef void (*ucd_sync_progress_cb)(uint64_t done, uint64_t total, void *user_data);
/* End of a sync: UCD_OK, or an error code with a message. */
typedef void (*ucd_sync_done_cb)(int result, const char *message, void *user_data);

enum {
    UCD_SYNC_FULL = 1u << 0, /* re-read everything, detect deletions */
    /* Apply the result even where the backend's safety rule (a set far smaller
     * than the last good one) would refuse it: an administrator's word that
     * the rows really went. Implies a full sync; a backend without such a rule,
     * or built before the flag, ignores it. */
    UCD_SYNC_FORCE = 1u << 1,
};

typedef struct ucd_users_v1 {
    uint32_t struct_size;

    /* Calls `cb` for every user of the current (last good) set. The records and
     * their strings are valid during the callback only. */
    int (*foreach_user)(void *impl, ucd_user_cb cb, void *user_data);
    int (*foreach_group)(void *impl, ucd_group_cb cb, void *user_data);
    /* Starts a sync now; `progress` and `done` may be NULL and run on the main
     * loop. UCD_E_BUSY while one runs. UCD_E_UNSUPPORTED for a static source. */
    int (*sync)(void *impl, uint32_t flags, ucd_sync_progress_cb progress, ucd_sync_done_cb done,
                void *user_data);
    /* Checks a password. Blocking (it may bind to a directory): call it from a
     * work function. UCD_OK, UCD_E_DENIED, UCD_E_NOT_FOUND, UCD_E_UNSUPPORTED
     * or UCD_E_UNAVAILABLE. The backend never stores or logs the password. */
    int (*authenticate)(void *impl, const char *login, const char *password);
    /* Moves a user to another home server where the backend can write it back;
     * UCD_E_UNSUPPORTED otherwise. Blocking, like authenticate. */
    int (*set_home_server)(void *impl, const char *user_id, const char *server);

    /* Since users 1.1 (check struct_size): */

    /* Merges the users and groups of a users-file XML document (the schema of
     * plugins/users-file, what `ucctl users-file export` writes) into this backend:
     * users with a known id are updated, new ones added, none removed. Writes
     * a one-line summary or the reason for refusing into `message`. Blocking.
     * UCD_E_UNSUPPORTED for a read-only backend (a directory). */
    int (*import_users)(void *impl, const char *path, char *message, size_t message_size);

    /* Since users 1.2 (check struct_size): */

    /* Replaces the phone numbers of `user_id` in the backend (`numbers` is
     * NULL-terminated; an empty array clears them) where it writes them back,
     * e.g. a directory with phone write-back enabled; UCD_E_UNSUPPORTED
     * otherwise. Blocking, like set_home_server. */
    int (*set_numbers)(void *impl, const char *user_id, const char *const *numbers);
} ucd_users_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_USERS_H */
