/*
 * sql-set.h - one user set of the users-sql plugin: users with their numbers,
 * groups and lines, and groups; built row by row from query results (or from
 * the cache file), checked value by value on the way in.
 *
 * A set is immutable once built and reference-counted: the plugin swaps the
 * current one under a lock after a sync is applied, and foreach_user() holds
 * a reference while it calls back. A builder is what a sync fills: empty for
 * a full sync, or a copy of the current set for an incremental one, whose
 * changed users then replace their old records.
 *
 * Every value is checked: at most `max_length` bytes, UTF-8 without NUL
 * bytes; id and login present and not empty; no id twice, and a login that
 * several users share stays with the lowest id (us_builder_resolve_logins).
 * A row that fails is skipped and one line per problem, naming the row but never
 * quoting a bad value, is appended to the builder's problems.
 */
#ifndef USERS_SQL_SET_H
#define USERS_SQL_SET_H

#include <glib.h>
#include <ucd/users.h>

/* The columns of a user row, in the order of an explicit users_query. */
typedef enum us_user_field {
    US_F_ID = 0,
    US_F_LOGIN,
    US_F_DISPLAY_NAME,
    US_F_GIVEN_NAME,
    US_F_SURNAME,
    US_F_EMAIL,
    US_F_DEPARTMENT,
    US_F_TITLE,
    US_F_HOME_SERVER,
    US_F_ENABLED,
    US_F_STAMP, /* the change stamp: optional, incremental sync only */
    US_F_COUNT
} us_user_field;

/* One value as a query returned it: bytes and their count, NULL for SQL NULL.
 * `length` greater than the builder's max_length means too long. */
typedef struct us_raw {
    const char *bytes;
    gsize length;
} us_raw;

typedef struct us_set us_set;
typedef struct us_builder us_builder;

/* A builder for a full read. Ids of users and groups get `id_prefix` in
 * front ("sql:" + "42"), so that they stay unique across backends. */
us_builder *us_builder_new(const char *id_prefix, gsize max_length);
/* A builder that starts from `base` (an incremental sync); the stamp too. */
us_builder *us_builder_new_from(const us_set *base, const char *id_prefix, gsize max_length);
void us_builder_free(us_builder *builder);

/* Adds (or, when its id came from the base set, replaces) one user; `row`
 * has US_F_COUNT values. FALSE when the row was skipped. */
gboolean us_builder_add_user(us_builder *builder, const us_raw *row);
/* Relations by the user's id as stored (without prefix); rows naming an
 * unknown user are ignored (it may have been skipped). */
void us_builder_add_number(us_builder *builder, us_raw user_id, us_raw number);
/* A number from an extra column of the users row: kept when an incremental
 * sync re-reads the relation tables. */
void us_builder_add_column_number(us_builder *builder, us_raw user_id, us_raw number);
void us_builder_add_member(us_builder *builder, us_raw user_id, us_raw group_id);
void us_builder_add_line(us_builder *builder, us_raw user_id, us_raw address);
gboolean us_builder_add_group(us_builder *builder, us_raw id, us_raw name, us_raw description);
/* Forgets every user's numbers, groups and lines and every group: an
 * incremental sync re-reads those tables whole. */
void us_builder_clear_relations(us_builder *builder);

/* Resolves logins that several users share, by one stable rule: the user
 * with the lowest id (integers compared as numbers, other ids byte by byte)
 * keeps the login, the others are removed from the set and each is reported
 * as a problem naming the login and both ids. In an incremental sync this
 * covers the users of the base set too, so a changed row cannot take the
 * login of a user it did not re-read. Returns how many users were removed;
 * us_builder_finish() calls it as well, so a set never holds a login twice. */
guint us_builder_resolve_logins(us_builder *builder);
/* Users removed by us_builder_resolve_logins() so far. */
guint us_builder_duplicates(const us_builder *builder);

/* Rows read and the problems found so far ("users row 12: login: not UTF-8"). */
guint us_builder_rows(const us_builder *builder);
const GPtrArray *us_builder_problems(const us_builder *builder);

/* The finished set; the builder is freed. */
us_set *us_builder_finish(us_builder *builder);

us_set *us_set_ref(us_set *set);
void us_set_unref(us_set *set);

gsize us_set_user_count(const us_set *set);
gsize us_set_group_count(const us_set *set);
/* What a set holds, counted per kind: the shrink guard compares each. */
typedef struct us_set_totals {
    gsize users;
    gsize groups;
    gsize memberships; /* user-group pairs */
    gsize numbers;     /* phone numbers of all users, both sources */
    gsize lines;       /* line assignments of all users */
} us_set_totals;

/* The totals of `set`; all 0 for NULL. */
us_set_totals us_set_count_all(const us_set *set);

/* The highest change stamp seen, or NULL. */
const char *us_set_stamp(const us_set *set);
/* TRUE when both hold the same records in the same order. */
gboolean us_set_equal(const us_set *a, const us_set *b);

/* Calls `cb` for each record in order; stops at the first non-zero return. */
int us_set_foreach_user(const us_set *set, ucd_user_cb cb, void *user_data);
int us_set_foreach_group(const us_set *set, ucd_group_cb cb, void *user_data);

/* The cache file: the whole set as JSON, written atomically with mode 0600.
 * It holds no password hashes. */
gboolean us_set_save(const us_set *set, const char *path, GError **error);
/* NULL with `error` set when the file is missing or broken. */
us_set *us_set_load(const char *path, gsize max_length, GError **error);

#endif /* USERS_SQL_SET_H */
