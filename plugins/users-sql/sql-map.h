/*
 * sql-map.h - the SQL the plugin runs, built from the table/column map of the
 * configuration or taken from its explicit queries.
 *
 * Table and column names cannot be bound parameters, so every name from the
 * configuration must pass us_map_identifier_ok() before it is written into a
 * statement; values (a login, a change stamp, a user id) are always bound.
 */
#ifndef USERS_SQL_MAP_H
#define USERS_SQL_MAP_H

#include <glib.h>

/* Reads the value of a string configuration key; NULL or "" when unset. */
typedef const char *(*us_map_lookup)(const char *key, void *data);

typedef struct us_map {
    char *users;         /* columns: us_user_field order, then extra number columns */
    char *users_changed; /* the same with one parameter, the last stamp; NULL: none */
    char *numbers;       /* user id, number; NULL: not used */
    char *groups;        /* id, name, description */
    char *members;       /* user id, group id */
    char *lines;         /* user id, line address */
    char *password;      /* one parameter, the login -> hash [, enabled]; NULL: no logins */
    char *set_home;      /* parameters: server, user id; NULL: no write-back */
} us_map;

/* TRUE for a plain name as plugin.h's UCD_KEY_NAME defines it and the core
 * checks it at check-config, start and reload: ASCII letters, digits and '_',
 * not starting with a digit, optionally two such parts joined by one dot
 * ("users", "hr.staff"); nothing that could end a name or start a clause.
 * Checked here again because names go into SQL text, and a core that
 * predates UCD_KEY_NAME would not check them; the rule is the same, so the
 * two never disagree (tests/check-config-test.c runs both). */
gboolean us_map_identifier_ok(const char *name);

/* Builds the statements. `number_columns` are extra columns of the users
 * table holding phone numbers. FALSE with `*bad_key` (the key at fault) and
 * `*error` set when a name is not a plain identifier. */
gboolean us_map_build(us_map *map, us_map_lookup lookup, void *data,
                      const char *const *number_columns, gboolean write_back, const char **bad_key,
                      char **error);
void us_map_clear(us_map *map);

#endif /* USERS_SQL_MAP_H */
