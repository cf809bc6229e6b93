/*
 * file-set.h - one loaded set of users and groups, built from a validated
 * users-file document.
 *
 * A set is immutable once built and reference-counted: the plugin swaps the
 * current set under a lock when a reload succeeds, and foreach_user() keeps a
 * reference while it calls back, so a reload on another thread never frees
 * records a caller is still reading.
 */
#ifndef USERS_FILE_SET_H
#define USERS_FILE_SET_H

#include <glib.h>
#include <libxml/tree.h>
#include <ucd/users.h>

typedef struct uf_set uf_set;

/* Checks what the schema cannot say (unique user ids, logins, group ids and
 * line assignments; every <password> a hash in a supported form; memberships naming groups and
 * leaders naming users of the same document, unless `check_references` is FALSE) and builds the
 * records of `doc`, which must have passed schema validation. On a problem returns NULL and appends
 * one "LABEL:LINE: message" per problem to `errors`, LABEL being `label` (normally the file's
 * path). */
uf_set *uf_set_from_doc(xmlDoc *doc, const char *label, gboolean check_references,
                        GPtrArray *errors);

uf_set *uf_set_ref(uf_set *set);
void uf_set_unref(uf_set *set);

size_t uf_set_user_count(const uf_set *set);
size_t uf_set_group_count(const uf_set *set);

/* How many users have a <password> (the plugin warns when such a file is
 * readable by everyone). */
size_t uf_set_password_count(const uf_set *set);

/* The user whose login is `login`, compared case-insensitively as the
 * file's uniqueness check compares them, or NULL. `*password_hash` is the
 * user's <password> (a hash pw_hash_is_usable() accepted), NULL without
 * one. Both live as long as the set. */
const ucd_user *uf_set_find_login(const uf_set *set, const char *login, const char **password_hash);

/* The first user's <password> in the file, NULL when none has one: what a
 * login that does not exist is checked against, so that it costs what a
 * wrong password costs. */
const char *uf_set_any_password_hash(const uf_set *set);

/* Calls `cb` for each record in document order; stops at the first non-zero
 * return, which it returns (0 when it went through). */
int uf_set_foreach_user(const uf_set *set, ucd_user_cb cb, void *user_data);
int uf_set_foreach_group(const uf_set *set, ucd_group_cb cb, void *user_data);

#endif /* USERS_FILE_SET_H */
