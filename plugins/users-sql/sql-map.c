/*
 * sql-map.c - statements from the column map (sql-map.h).
 */
#include <string.h>

#include "sql-map.h"
#include "sql-set.h"

/* One part: letters, digits and '_', not starting with a digit. */
static gboolean us_name_part_ok(const char *start, const char *end)
{
    if (start == end || g_ascii_isdigit(*start))
        return FALSE;
    for (const char *p = start; p < end; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return FALSE;
    return TRUE;
}

gboolean us_map_identifier_ok(const char *name)
{
    if (name == NULL)
        return FALSE;
    const char *end = name + strlen(name);
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return us_name_part_ok(name, end);
    return us_name_part_ok(name, dot) && us_name_part_ok(dot + 1, end);
}

/* The configuration keys of the users table's columns, in us_user_field order. */
static const char *const us_user_column_keys[US_F_COUNT] = {
    "user_id_column",     "login_column",   "display_name_column", "given_name_column",
    "surname_column",     "email_column",   "department_column",   "title_column",
    "home_server_column", "enabled_column", "change_column",
};

typedef struct us_map_ctx {
    us_map_lookup lookup;
    void *data;
    const char *bad_key;
    char *error;
} us_map_ctx;

static const char *us_get(us_map_ctx *ctx, const char *key)
{
    const char *value = ctx->lookup(key, ctx->data);
    return value != NULL && *value != '\0' ? value : NULL;
}

/* The column named by `key`, "NULL" when the key is empty, or NULL (with
 * the error recorded) when the name is not an identifier. */
static const char *us_column(us_map_ctx *ctx, const char *key, const char *value)
{
    if (value == NULL)
        return "NULL";
    if (!us_map_identifier_ok(value)) {
        if (ctx->bad_key == NULL) {
            ctx->bad_key = key;
            ctx->error = g_strdup("not a plain name (ASCII letters, digits and '_', not "
                                  "starting with a digit; optionally SCHEMA.NAME)");
        }
        return NULL;
    }
    return value;
}

static const char *us_key_column(us_map_ctx *ctx, const char *key)
{
    return us_column(ctx, key, us_get(ctx, key));
}

/* A required name (a table, a key column): empty is an error too. */
static const char *us_required(us_map_ctx *ctx, const char *key)
{
    const char *value = us_get(ctx, key);
    if (value == NULL) {
        if (ctx->bad_key == NULL) {
            ctx->bad_key = key;
            ctx->error = g_strdup("must be set");
        }
        return NULL;
    }
    return us_column(ctx, key, value);
}

static char *us_users_select(us_map_ctx *ctx, const char *const *number_columns)
{
    const char *table = us_required(ctx, "users_table");
    GString *sql = g_string_new("SELECT ");
    for (int i = 0; i < US_F_COUNT; i++) {
        const char *column = i == US_F_ID || i == US_F_LOGIN
                                 ? us_required(ctx, us_user_column_keys[i])
                                 : us_key_column(ctx, us_user_column_keys[i]);
        g_string_append_printf(sql, "%s%s", i > 0 ? ", " : "", column != NULL ? column : "NULL");
    }
    for (size_t i = 0; number_columns != NULL && number_columns[i] != NULL; i++) {
        const char *column = us_column(ctx, "number_columns", number_columns[i]);
        g_string_append_printf(sql, ", %s", column != NULL ? column : "NULL");
    }
    g_string_append_printf(sql, " FROM %s", table != NULL ? table : "");
    return g_string_free(sql, FALSE);
}

/* "SELECT a, b FROM t" for a two-column relation table, or NULL when the
 * table key is empty (the relation is not used). */
static char *us_pair_select(us_map_ctx *ctx, const char *table_key, const char *first_key,
                            const char *second_key)
{
    if (us_get(ctx, table_key) == NULL)
        return NULL;
    const char *table = us_required(ctx, table_key);
    const char *first = us_required(ctx, first_key);
    const char *second = us_required(ctx, second_key);
    if (table == NULL || first == NULL || second == NULL)
        return NULL;
    return g_strdup_printf("SELECT %s, %s FROM %s", first, second, table);
}

static char *us_groups_select(us_map_ctx *ctx)
{
    if (us_get(ctx, "groups_table") == NULL)
        return NULL;
    const char *table = us_required(ctx, "groups_table");
    const char *id = us_required(ctx, "group_id_column");
    const char *name = us_key_column(ctx, "group_name_column");
    const char *description = us_key_column(ctx, "group_description_column");
    if (table == NULL || id == NULL || name == NULL || description == NULL)
        return NULL;
    return g_strdup_printf("SELECT %s, %s, %s FROM %s", id, name, description, table);
}

static char *us_password_select(us_map_ctx *ctx)
{
    const char *hash = us_get(ctx, "password_column");
    if (hash == NULL)
        return NULL;
    hash = us_column(ctx, "password_column", hash);
    const char *enabled = us_key_column(ctx, "enabled_column");
    const char *table = us_required(ctx, "users_table");
    const char *login = us_required(ctx, "login_column");
    if (hash == NULL || enabled == NULL || table == NULL || login == NULL)
        return NULL;
    return g_strdup_printf("SELECT %s, %s FROM %s WHERE %s = ?", hash, enabled, table, login);
}

static char *us_set_home_update(us_map_ctx *ctx)
{
    const char *home = us_get(ctx, "home_server_column");
    if (home == NULL)
        return NULL;
    home = us_column(ctx, "home_server_column", home);
    const char *table = us_required(ctx, "users_table");
    const char *id = us_required(ctx, "user_id_column");
    if (home == NULL || table == NULL || id == NULL)
        return NULL;
    return g_strdup_printf("UPDATE %s SET %s = ? WHERE %s = ?", table, home, id);
}

/* An explicit query when configured, else the one built from the map. */
static char *us_pick(us_map_ctx *ctx, const char *query_key, char *built)
{
    const char *explicit = us_get(ctx, query_key);
    if (explicit == NULL)
        return built;
    g_free(built);
    return g_strdup(explicit);
}

gboolean us_map_build(us_map *map, us_map_lookup lookup, void *data,
                      const char *const *number_columns, gboolean write_back, const char **bad_key,
                      char **error)
{
    us_map_ctx ctx = {.lookup = lookup, .data = data};
    memset(map, 0, sizeof(*map));
    char *users = us_users_select(&ctx, number_columns);
    /* Rows in id order: the set keeps a stable order from sync to sync
     * (a set that only changed its order is not published again). Which of
     * two users sharing a login keeps it does not depend on this order. */
    const char *id = us_get(&ctx, "user_id_column");
    const char *order = id != NULL && us_map_identifier_ok(id) ? id : "1";
    map->users = us_pick(&ctx, "users_query", g_strdup_printf("%s ORDER BY %s", users, order));
    if (us_get(&ctx, "change_column") != NULL && us_get(&ctx, "users_query") == NULL) {
        const char *stamp = us_key_column(&ctx, "change_column");
        map->users_changed =
            g_strdup_printf("%s WHERE %s > ? ORDER BY %s", users, stamp ? stamp : "", order);
    }
    map->users_changed = us_pick(&ctx, "users_changed_query", map->users_changed);
    g_free(users);
    map->numbers = us_pick(
        &ctx, "numbers_query",
        us_pair_select(&ctx, "numbers_table", "numbers_user_column", "numbers_number_column"));
    map->groups = us_pick(&ctx, "groups_query", us_groups_select(&ctx));
    map->members = us_pick(
        &ctx, "members_query",
        us_pair_select(&ctx, "members_table", "members_user_column", "members_group_column"));
    map->lines =
        us_pick(&ctx, "lines_query",
                us_pair_select(&ctx, "lines_table", "lines_user_column", "lines_address_column"));
    map->password = us_pick(&ctx, "password_query", us_password_select(&ctx));
    if (write_back)
        map->set_home = us_pick(&ctx, "set_home_server_query", us_set_home_update(&ctx));
    if (ctx.bad_key != NULL) {
        *bad_key = ctx.bad_key;
        *error = ctx.error;
        us_map_clear(map);
        return FALSE;
    }
    return TRUE;
}

void us_map_clear(us_map *map)
{
    g_free(map->users);
    g_free(map->users_changed);
    g_free(map->numbers);
    g_free(map->groups);
    g_free(map->members);
    g_free(map->lines);
    g_free(map->password);
    g_free(map->set_home);
    memset(map, 0, sizeof(*map));
}
