/*
 * ucd/directory.h - the directory service, "directory" major 1, provided by
 * the core.
 *
 * Who the users are, which groups they are in, which lines exist and whose
 * they are: the core's one merged copy of every running users backend
 * (users.h) and every PBX driver's lines (pbx.h). A plugin that needs "the user
 * on line 201" or "the user who owns +49 89 1234567" asks here, never a
 * backend: with two backends only the directory knows both.
 *
 * Lookups answer from memory and never block. Records are handed to a
 * callback and are valid only during it, strings included: copy what you
 * keep. The directory changes when a backend reports changes or a driver's
 * lines come and go; each change is published as UCD_EVENT_DIRECTORY
 * (event.h). It fills as backends and drivers start: a plugin that starts
 * before them sees their users and lines arrive as directory events.
 *
 * Main loop only.
 *
 *     ucd_service s = {.struct_size = sizeof s};
 *     if (host->service_get(self, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, NULL, &s) == UCD_OK) {
 *         const ucd_directory_v1 *dir = s.iface;
 *         dir->line_user(s.impl, "pbx-sim:office", "201", on_user, ctx);
 *     }
 */
#ifndef UCD_DIRECTORY_H
#define UCD_DIRECTORY_H

#include <ucd/event.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_DIRECTORY_SERVICE "directory"
#define UCD_DIRECTORY_MAJOR   1
#define UCD_DIRECTORY_MINOR   0

/* A user. String arrays are NULL-terminated and never NULL themselves. */
typedef struct ucd_directory_user {
    uint32_t struct_size;
    uint32_t enabled;     /* 0: known to a backend but disabled */
    uint32_t active_here; /* enabled and homed on this server ([core] server_name) */
    uint32_t reserved;
    const char *id;
    const char *login;
    const char *display_name;
    const char *given_name;
    const char *surname;
    const char *email;
    const char *department;
    const char *title;
    const char *home_server; /* as the backend says; NULL or "" = this server */
    const char *backend;     /* module id of the users service it came from */
    const char *const *numbers; /* raw, as stored */
    const char *const *e164;    /* parallel to numbers; "" where a number has no E.164 form */
    const char *const *groups;  /* group ids */
    const char *const *lines;   /* lines the model knows and assigned to the user, "DRIVER/ADDRESS" */
} ucd_directory_user;

typedef struct ucd_directory_group {
    uint32_t struct_size;
    uint32_t reserved;
    const char *id;
    const char *name;
    const char *description;
    const char *backend;
    const char *const *leaders; /* user ids */
} ucd_directory_group;

/* A line: a device address on one PBX driver instance. */
typedef struct ucd_directory_line {
    uint32_t struct_size;
    uint32_t state;        /* ucd_line_state (event.h), kept current from line events */
    const char *driver;    /* module id of the driver: "pbx-sim:office" */
    const char *address;   /* what call control takes: "201" */
    const char *number;    /* the number callers dial, NULL when unknown */
    const char *name;
    uint64_t capabilities; /* UCD_PBX_CAP_* (pbx.h) as the driver reported them */
    uint32_t dnd;          /* 1 when do-not-disturb is on */
    uint32_t reserved;
    const char *forward_to; /* unconditional forward destination, NULL when off */
    const char *user_id;    /* the assigned user, NULL when none */
} ucd_directory_line;

typedef int (*ucd_directory_user_cb)(const ucd_directory_user *user, void *user_data);
typedef int (*ucd_directory_group_cb)(const ucd_directory_group *group, void *user_data);
typedef int (*ucd_directory_line_cb)(const ucd_directory_line *line, void *user_data);

/* Every function returns UCD_OK, UCD_E_NOT_FOUND (nothing matched) or
 * UCD_E_INVALID (a NULL or empty key). A foreach stops early when `cb`
 * returns non-zero and still returns UCD_OK. Order of foreach: users by
 * login, groups by id, lines by driver then address. */
typedef struct ucd_directory_v1 {
    uint32_t struct_size;

    /* The user with this id or, failing that, this login. */
    int (*get_user)(void *impl, const char *id_or_login, ucd_directory_user_cb cb,
                    void *user_data);
    /* The user who owns `number`: a raw number as a PBX sends it, normalized
     * by the numbers service in the location of the driver `context` (its
     * module id; NULL: the default location), or an E.164 number. */
    int (*user_by_number)(void *impl, const char *number, const char *context,
                          ucd_directory_user_cb cb, void *user_data);
    /* Every user; `flags` UCD_DIRECTORY_ACTIVE_HERE limits it to those. */
    int (*foreach_user)(void *impl, uint32_t flags, ucd_directory_user_cb cb, void *user_data);
    int (*get_group)(void *impl, const char *id, ucd_directory_group_cb cb, void *user_data);
    int (*foreach_group)(void *impl, ucd_directory_group_cb cb, void *user_data);
    /* Members of a group: every user whose groups list it. */
    int (*foreach_member)(void *impl, const char *group_id, ucd_directory_user_cb cb,
                          void *user_data);
    /* A line by driver and address; `driver` NULL finds the address on any
     * driver (UCD_E_INVALID when several drivers have it: name the driver). */
    int (*get_line)(void *impl, const char *driver, const char *address,
                    ucd_directory_line_cb cb, void *user_data);
    /* Every line; `driver` NULL: of every driver. */
    int (*foreach_line)(void *impl, const char *driver, ucd_directory_line_cb cb, void *user_data);
    /* The user a line is assigned to: NOT_FOUND for an unknown line or one
     * without a user. `driver` as in get_line. */
    int (*line_user)(void *impl, const char *driver, const char *address,
                     ucd_directory_user_cb cb, void *user_data);
    /* This server's name ([core] server_name), what active_here compares. */
    const char *(*server_name)(void *impl);
} ucd_directory_v1;

enum {
    UCD_DIRECTORY_ACTIVE_HERE = 1u << 0, /* foreach_user: only users active on this server */
};

#ifdef __cplusplus
}
#endif
#endif /* UCD_DIRECTORY_H */
