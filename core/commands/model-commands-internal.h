/*
 * model-commands-internal.h - what the files of core/commands share: the
 * commands' context and the services they ask (core-service.h), and each
 * file's handlers.
 */
#ifndef CORE_MODEL_COMMANDS_INTERNAL_H
#define CORE_MODEL_COMMANDS_INTERNAL_H

#include "command-args.h"
#include "core-service.h"
#include "model-commands.h"
#include "paging.h"

/* dir-user.c: a user of the directory, copied out of its callback. */
typedef struct dir_user {
    char *id, *login, *display_name, *given_name, *surname, *email, *department, *title;
    char *home_server, *backend;
    gboolean enabled, active_here;
    char **numbers, **e164, **groups, **lines;
} dir_user;

dir_user *dir_user_copy(const ucd_directory_user *u);
void dir_user_free(gpointer u);
/* The user with this id or login, or NULL after replying
 * "unknown user 'WHO' (see ucctl users)" (NULL `r`: silently). */
dir_user *dir_user_get(core_model_commands *c, const char *who, ucd_reply *r);
/* The users of the directory that `keep` accepts (every one when NULL), as
 * dir_user * (owned by the array), in listing order: by login (the id for
 * one without), then id. NULL after replying why not. */
GPtrArray *dir_users_sorted(core_model_commands *c,
                            gboolean (*keep)(const ucd_directory_user *u, const void *arg),
                            const void *arg, ucd_reply *r);
/* The page of `users` a listing shows, users[*start] to users[*end - 1];
 * replies the next page's cursor. */
void dir_users_page(const GPtrArray *users, const core_page *page, guint *start, guint *end,
                    ucd_reply *r);

/* Handlers, one file each. */
int cmd_users(int argc, const char *const *argv, ucd_reply *r, void *ud);  /* users.c */
int cmd_groups(int argc, const char *const *argv, ucd_reply *r, void *ud); /* groups.c */
/* users-backend.c: what writes to or asks a users backend. `users sync`
 * starts a sync of every backend, `users sync-status` shows their progress
 * (kept in c->syncs); import, move and set-numbers run on the worker pool. */
int users_sync(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r);
int users_sync_status(core_model_commands *c, ucd_reply *r);
int users_import(core_model_commands *c, const char *path, ucd_reply *r);
int users_move(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r);
int users_set_numbers(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r);
/* The value destructor of c->syncs. */
void users_sync_state_unref(gpointer state);
int cmd_lines(int argc, const char *const *argv, ucd_reply *r, void *ud);    /* lines.c */
int cmd_caps(int argc, const char *const *argv, ucd_reply *r, void *ud);     /* lines.c */
int cmd_calls(int argc, const char *const *argv, ucd_reply *r, void *ud);    /* calls.c */
int cmd_presence(int argc, const char *const *argv, ucd_reply *r, void *ud); /* presence.c */
int cmd_journal(int argc, const char *const *argv, ucd_reply *r, void *ud);  /* journal.c */

#define USERS_USAGE                                                                                \
    "users [list] [--group G] [--limit N] [--after LOGIN] | users show ID|LOGIN | "                \
    "users import FILE | users sync [--full] [--force] [--progress] | users sync-status | "        \
    "users move USER --to SERVER | users set-numbers USER [NUMBER...]"

#endif /* CORE_MODEL_COMMANDS_INTERNAL_H */
