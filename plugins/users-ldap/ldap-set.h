/*
 * ldap-set.h - one user set read from the directory: immutable records built
 * from LDAP entries, the attribute map that says which attribute is what,
 * and the state-directory cache of the last good set.
 *
 * A set is reference-counted and never changes once built: the plugin swaps
 * the current one under a lock, and foreach_user keeps a reference while it
 * calls back. Users are reference-counted too, so an incremental sync builds
 * the next set from the previous one without copying unchanged records.
 */
#ifndef USERS_LDAP_SET_H
#define USERS_LDAP_SET_H

#include <glib.h>
#include <ldap.h>
#include <ucd/users.h>

/* Which attribute holds what (configuration keys attr_*), and how users are
 * judged; read-only once the plugin is initialized. */
typedef struct ul_map {
    char *id;    /* objectGUID (binary, shown as GUID text) or entryUUID */
    char *login; /* sAMAccountName, uid */
    char *display_name;
    char *given_name;
    char *surname;
    char *email;
    char *department;
    char *title;
    char **numbers;           /* telephoneNumber, mobile, ipPhone */
    char *member_of;          /* memberOf; NULL: memberships from group objects */
    char *account_control;    /* userAccountControl (bit 2: disabled); NULL: none */
    char *change;             /* uSNChanged, modifyTimestamp, entryCSN; NULL: none */
    char *home_server;        /* extensionName ("<16,NAME>" values), homeServer; NULL: none */
    gboolean unhomed_enabled; /* a user without a home server value is active here */
    gboolean nested_groups;   /* users are in the groups their groups are in, at any depth */
    gsize max_value_length;
} ul_map;

/* The attributes to request for users, NULL-terminated. g_strfreev. */
char **ul_map_user_attributes(const ul_map *map);

/* A problem with one entry, reported as it is found (any thread). */
typedef void (*ul_reject_fn)(const char *dn, const char *reason, void *data);

typedef struct ul_set ul_set;
typedef struct ul_builder ul_builder;

/* Collects users and groups of one sync. `reject` is told of every value or
 * entry that was left out and why. */
ul_builder *ul_builder_new(const ul_map *map, ul_reject_fn reject, void *reject_data);
void ul_builder_free(ul_builder *builder);

/* Adds the user of `entry`; FALSE (and `reject` told) when the entry has no
 * usable id or login, or repeats an id already read. Bad optional values are
 * left out with a reason; the user stays. */
gboolean ul_builder_add_user(ul_builder *builder, LDAP *ld, LDAPMessage *entry);

/* Adds a group: its name from `name_attribute`, members (DNs) from
 * `member_attribute` and the groups it is in from `parent_attribute` (its
 * memberOf, for nested groups) when those are not NULL, its change stamp
 * from the map's `change`. In an incremental sync, the groups that changed. */
void ul_builder_add_group(ul_builder *builder, LDAP *ld, LDAPMessage *entry,
                          const char *name_attribute, const char *member_attribute,
                          const char *parent_attribute);

/* Incremental syncs with memberships from memberOf: `member_dn` (a user or a
 * group) is now a direct member of the changed group `group_dn`; NULL only
 * records that the group changed (its members are those added, maybe none).
 * Members of the group not added are no longer members. */
void ul_builder_add_group_member(ul_builder *builder, const char *group_dn, const char *member_dn);

guint ul_builder_user_count(const ul_builder *builder);
guint ul_builder_group_count(const ul_builder *builder);

/* Incremental syncs: leaves out the groups read that are the same as in
 * `base` (the group of the last stamp is read again, >=) and returns the DN
 * keys of those that are new or changed (g_ptr_array_unref). A group whose
 * memberOf-held members changed has a new stamp: uSNChanged is unique per
 * change. */
GPtrArray *ul_builder_changed_groups(ul_builder *builder, const ul_set *base);

/* The set of a full sync: the users and groups read; group objects' member
 * lists become the users' groups (with attr_member_of empty), and with
 * nested_groups each user is also in the groups its groups are in, from the
 * groups' memberOf or member lists, resolved once per group. The builder is
 * consumed. */
ul_set *ul_builder_finish(ul_builder *builder);

/* The set of an incremental sync: `base` with the users read replacing those
 * of the same id (none removed: only a full sync sees deletions) and the
 * groups read replacing theirs. Users keep their nested groups; when groups
 * changed, every user's memberships follow. Only users read or whose groups
 * changed are new records: the others are shared with `base`. `base` itself
 * (one more reference) when nothing was read. The builder is consumed. */
ul_set *ul_builder_merge(ul_builder *builder, const ul_set *base);

ul_set *ul_set_ref(ul_set *set);
void ul_set_unref(ul_set *set);
guint ul_set_user_count(const ul_set *set);
guint ul_set_group_count(const ul_set *set);
/* The highest change stamp seen (uSNChanged, modifyTimestamp...) among the
 * users, or NULL. */
const char *ul_set_max_stamp(const ul_set *set);
/* The same among the groups: a group's members change its stamp, not the
 * members'. */
const char *ul_set_group_max_stamp(const ul_set *set);
/* The DN of the user with `id`, or NULL. Valid while the set is. */
const char *ul_set_user_dn(const ul_set *set, const char *id);
/* The stored value of the user's home server attribute, or NULL. */
const char *ul_set_user_home_value(const ul_set *set, const char *id);

int ul_set_foreach_user(const ul_set *set, ucd_user_cb cb, void *user_data);
int ul_set_foreach_group(const ul_set *set, ucd_group_cb cb, void *user_data);

/* The cache's records (ldap-cache.h writes and reads the files). A snapshot is
 * the whole set, tagged with `generation`; a delta, tagged with the
 * generation of the snapshot it follows, holds the users and groups of `to`
 * that are new or changed since `from` (`*users` of them), with `to`'s
 * stamps. ul_set_delta returns NULL when `to` is not `from` plus changes (a
 * user or group gone, another order: a full sync), so a snapshot is due. */
GBytes *ul_set_snapshot(const ul_set *set, guint64 generation);
GBytes *ul_set_delta(const ul_set *from, const ul_set *to, guint64 generation, guint *users);
/* Reads a snapshot; NULL with `*error` when it is not of this version. */
ul_set *ul_set_from_snapshot(GBytes *bytes, guint64 *generation, GError **error);
/* Applies a delta to a set just read (not yet shared): its users and groups
 * replace those of the same id or are added, in order. FALSE when it follows
 * another snapshot (`*stale`, nothing applied) or, with `*error`, is not of
 * this version. */
gboolean ul_set_apply_delta(ul_set *set, GBytes *bytes, guint64 generation, guint *users,
                            gboolean *stale, GError **error);

/* "<16,pbx1>" -> "pbx1"; a plain value as it is; NULL for an empty one or one
 * in the bracket form without a server name. Free with g_free. */
char *ul_parse_home_server(const char *value);
/* The 16 bytes of an objectGUID as AD shows it: the first three fields
 * little-endian ("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}" without braces, in
 * lower case). */
char *ul_guid_to_text(const unsigned char bytes[16]);

#endif /* USERS_LDAP_SET_H */
