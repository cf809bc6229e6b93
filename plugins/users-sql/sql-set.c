/*
 * sql-set.c - user sets and their builder (sql-set.h), and the JSON cache.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "sql-set.h"

typedef struct us_user_rec {
    char *fields[US_F_ENABLED]; /* id .. home_server; NULL when absent */
    gboolean enabled;
    GPtrArray *numbers;        /* char *, from the numbers table */
    GPtrArray *column_numbers; /* char *, from number columns of the users row */
    GPtrArray *all_numbers;    /* both, NULL-terminated: made when the set is finished */
    GPtrArray *groups;         /* NULL-terminated once the set is finished, as lines */
    GPtrArray *lines;
} us_user_rec;

typedef struct us_group_rec {
    char *id;
    char *name;
    char *description;
} us_group_rec;

struct us_set {
    gint refs;
    GPtrArray *users;  /* us_user_rec * */
    GPtrArray *groups; /* us_group_rec * */
    char *stamp;
};

struct us_builder {
    char *prefix;
    gsize max_length;
    GPtrArray *users;  /* us_user_rec * */
    GHashTable *by_id; /* prefixed id -> us_user_rec * (borrowed) */
    GHashTable *read;  /* prefixed ids read in this sync (owned keys) */
    GPtrArray *groups; /* us_group_rec * */
    GHashTable *group_ids;
    char *stamp;
    guint rows;          /* users rows read */
    guint relation_rows; /* rows of the other tables read */
    guint duplicates;    /* users skipped because a lower id has their login */
    GPtrArray *problems;
};

static const char *const us_field_names[US_F_COUNT] = {
    "id",         "login", "display_name", "given_name", "surname",      "email",
    "department", "title", "home_server",  "enabled",    "change stamp",
};

/* ---- records ------------------------------------------------------------------ */

static GPtrArray *us_strings_new(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

static void us_user_free(gpointer data)
{
    us_user_rec *user = data;
    for (int i = 0; i < US_F_ENABLED; i++)
        g_free(user->fields[i]);
    g_ptr_array_unref(user->numbers);
    g_ptr_array_unref(user->column_numbers);
    if (user->all_numbers != NULL)
        g_ptr_array_unref(user->all_numbers);
    g_ptr_array_unref(user->groups);
    g_ptr_array_unref(user->lines);
    g_free(user);
}

static void us_group_free(gpointer data)
{
    us_group_rec *group = data;
    g_free(group->id);
    g_free(group->name);
    g_free(group->description);
    g_free(group);
}

/* A copy without the NULL terminator a finished set carries. */
static GPtrArray *us_strings_copy(const GPtrArray *from)
{
    GPtrArray *to = us_strings_new();
    for (guint i = 0; i < from->len && g_ptr_array_index(from, i) != NULL; i++)
        g_ptr_array_add(to, g_strdup(g_ptr_array_index(from, i)));
    return to;
}

static us_user_rec *us_user_copy(const us_user_rec *from)
{
    us_user_rec *user = g_new0(us_user_rec, 1);
    for (int i = 0; i < US_F_ENABLED; i++)
        user->fields[i] = g_strdup(from->fields[i]);
    user->enabled = from->enabled;
    user->numbers = us_strings_copy(from->numbers);
    user->column_numbers = us_strings_copy(from->column_numbers);
    user->groups = us_strings_copy(from->groups);
    user->lines = us_strings_copy(from->lines);
    return user;
}

/* ---- checking values ---------------------------------------------------------- */

typedef enum us_value_check {
    US_VALUE_OK,
    US_VALUE_NULL,
    US_VALUE_TOO_LONG,
    US_VALUE_NOT_UTF8,
} us_value_check;

static us_value_check us_check_value(const us_builder *builder, us_raw raw)
{
    if (raw.bytes == NULL)
        return US_VALUE_NULL;
    if (raw.length > builder->max_length)
        return US_VALUE_TOO_LONG;
    if (memchr(raw.bytes, '\0', raw.length) != NULL ||
        !g_utf8_validate(raw.bytes, (gssize)raw.length, NULL))
        return US_VALUE_NOT_UTF8;
    return US_VALUE_OK;
}

static const char *us_check_text(const us_builder *builder, us_value_check check)
{
    switch (check) {
    case US_VALUE_TOO_LONG:
        return "too long";
    case US_VALUE_NOT_UTF8:
        return "not UTF-8 text";
    case US_VALUE_NULL:
        return "missing (NULL)";
    default:
        return "ok";
    }
}

/* How a row is named in a problem: its id when that is short, clean text,
 * else only its number. */
static char *us_row_label(const us_builder *builder, const char *table, us_raw id)
{
    guint row = strcmp(table, "users") == 0 ? builder->rows : builder->relation_rows;
    if (us_check_value(builder, id) == US_VALUE_OK && id.length <= 64) {
        gboolean printable = TRUE;
        for (gsize i = 0; i < id.length; i++)
            printable &= !g_ascii_iscntrl(id.bytes[i]);
        if (printable)
            return g_strdup_printf("%s row %u (id \"%.*s\")", table, row, (int)id.length, id.bytes);
    }
    return g_strdup_printf("%s row %u", table, row);
}

static void us_problem(us_builder *builder, const char *table, us_raw id, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void us_problem(us_builder *builder, const char *table, us_raw id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *label = us_row_label(builder, table, id);
    g_ptr_array_add(builder->problems, g_strdup_printf("%s: %s, row skipped", label, what));
    g_free(label);
    g_free(what);
}

/* Empty text counts as absent: a column left empty means "not set". */
static char *us_dup_raw(us_raw raw)
{
    return raw.bytes != NULL && raw.length > 0 ? g_strndup(raw.bytes, raw.length) : NULL;
}

static gboolean us_parse_enabled(us_raw raw, gboolean *enabled)
{
    if (raw.bytes == NULL) {
        *enabled = TRUE; /* no value: nobody disabled the user */
        return TRUE;
    }
    static const char *const yes[] = {"1", "true", "t", "yes", "y", "on", NULL};
    static const char *const no[] = {"0", "false", "f", "no", "n", "off", "", NULL};
    char *text = g_ascii_strdown(raw.bytes, (gssize)raw.length);
    g_strstrip(text);
    gboolean known = TRUE;
    if (g_strv_contains(yes, text))
        *enabled = TRUE;
    else if (g_strv_contains(no, text))
        *enabled = FALSE;
    else
        known = FALSE;
    g_free(text);
    return known;
}

/* ---- the builder ---------------------------------------------------------------- */

us_builder *us_builder_new(const char *id_prefix, gsize max_length)
{
    us_builder *builder = g_new0(us_builder, 1);
    builder->prefix = g_strdup(id_prefix != NULL ? id_prefix : "");
    builder->max_length = max_length;
    builder->users = g_ptr_array_new_with_free_func(us_user_free);
    builder->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    builder->read = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    builder->groups = g_ptr_array_new_with_free_func(us_group_free);
    builder->group_ids = g_hash_table_new(g_str_hash, g_str_equal);
    builder->problems = us_strings_new();
    return builder;
}

static void us_index_user(us_builder *builder, us_user_rec *user)
{
    g_hash_table_insert(builder->by_id, user->fields[US_F_ID], user);
}

static void us_add_group_rec(us_builder *builder, us_group_rec *group)
{
    g_ptr_array_add(builder->groups, group);
    g_hash_table_add(builder->group_ids, group->id);
}

us_builder *us_builder_new_from(const us_set *base, const char *id_prefix, gsize max_length)
{
    us_builder *builder = us_builder_new(id_prefix, max_length);
    for (guint i = 0; base != NULL && i < base->users->len; i++) {
        us_user_rec *user = us_user_copy(g_ptr_array_index(base->users, i));
        g_ptr_array_add(builder->users, user);
        us_index_user(builder, user);
    }
    for (guint i = 0; base != NULL && i < base->groups->len; i++) {
        const us_group_rec *from = g_ptr_array_index(base->groups, i);
        us_group_rec *group = g_new0(us_group_rec, 1);
        group->id = g_strdup(from->id);
        group->name = g_strdup(from->name);
        group->description = g_strdup(from->description);
        us_add_group_rec(builder, group);
    }
    builder->stamp = base != NULL ? g_strdup(base->stamp) : NULL;
    return builder;
}

void us_builder_free(us_builder *builder)
{
    if (builder == NULL)
        return;
    g_hash_table_unref(builder->by_id);
    g_hash_table_unref(builder->read);
    g_hash_table_unref(builder->group_ids);
    g_ptr_array_unref(builder->users);
    g_ptr_array_unref(builder->groups);
    g_ptr_array_unref(builder->problems);
    g_free(builder->prefix);
    g_free(builder->stamp);
    g_free(builder);
}

/* Stamps compare as numbers when both are integers (rowversion, a counter),
 * else as text, which orders ISO 8601 timestamps of one format correctly. */
static gboolean us_stamp_newer(const char *candidate, const char *current)
{
    if (current == NULL)
        return TRUE;
    gint64 a = 0, b = 0;
    if (g_ascii_string_to_signed(candidate, 10, G_MININT64, G_MAXINT64, &a, NULL) &&
        g_ascii_string_to_signed(current, 10, G_MININT64, G_MAXINT64, &b, NULL))
        return a > b;
    return strcmp(candidate, current) > 0;
}

/* Checks every value of a user row; FALSE (with a problem) when one fails. */
static gboolean us_check_user_row(us_builder *builder, const us_raw *row)
{
    for (int i = 0; i < US_F_COUNT; i++) {
        us_value_check check = us_check_value(builder, row[i]);
        gboolean required = i == US_F_ID || i == US_F_LOGIN;
        if (check == US_VALUE_NULL && !required)
            continue;
        if (check == US_VALUE_OK && required && row[i].length == 0)
            check = US_VALUE_NULL;
        if (check != US_VALUE_OK) {
            us_problem(builder, "users", row[US_F_ID], "%s %s", us_field_names[i],
                       check == US_VALUE_NULL && required ? "missing or empty"
                                                          : us_check_text(builder, check));
            return FALSE;
        }
    }
    return TRUE;
}

/* FALSE (with a problem) for an id this sync has read already. Logins are
 * not checked here: which of two users keeps a shared login must not depend
 * on the order the rows arrive in, so us_builder_resolve_logins() decides
 * once every row is in. */
static gboolean us_check_unique(us_builder *builder, const us_raw *row, const char *id)
{
    if (g_hash_table_contains(builder->read, id)) {
        us_problem(builder, "users", row[US_F_ID], "id appears twice");
        return FALSE;
    }
    return TRUE;
}

static us_user_rec *us_user_from_row(us_builder *builder, const us_raw *row, char *id)
{
    us_user_rec *user = g_new0(us_user_rec, 1);
    user->fields[US_F_ID] = id;
    for (int i = US_F_LOGIN; i < US_F_ENABLED; i++)
        user->fields[i] = us_dup_raw(row[i]);
    user->numbers = us_strings_new();
    user->column_numbers = us_strings_new();
    user->groups = us_strings_new();
    user->lines = us_strings_new();
    return user;
}

/* Puts `user` in place of the record with its id, or at the end. */
static void us_store_user(us_builder *builder, us_user_rec *user)
{
    us_user_rec *old = g_hash_table_lookup(builder->by_id, user->fields[US_F_ID]);
    if (old != NULL) {
        /* An incremental change: keep its relations until they are re-read. */
        GPtrArray *swap;
        swap = user->numbers, user->numbers = old->numbers, old->numbers = swap;
        swap = user->groups, user->groups = old->groups, old->groups = swap;
        swap = user->lines, user->lines = old->lines, old->lines = swap;
        guint index = 0;
        g_ptr_array_find(builder->users, old, &index);
        g_hash_table_remove(builder->by_id, old->fields[US_F_ID]);
        us_user_free(builder->users->pdata[index]);
        builder->users->pdata[index] = user;
    } else {
        g_ptr_array_add(builder->users, user);
    }
    us_index_user(builder, user);
    g_hash_table_add(builder->read, g_strdup(user->fields[US_F_ID]));
}

gboolean us_builder_add_user(us_builder *builder, const us_raw *row)
{
    builder->rows++;
    if (!us_check_user_row(builder, row))
        return FALSE;
    gboolean enabled = TRUE;
    if (!us_parse_enabled(row[US_F_ENABLED], &enabled)) {
        us_problem(builder, "users", row[US_F_ID], "enabled is neither true nor false");
        return FALSE;
    }
    char *id =
        g_strdup_printf("%s%.*s", builder->prefix, (int)row[US_F_ID].length, row[US_F_ID].bytes);
    if (!us_check_unique(builder, row, id)) {
        g_free(id);
        return FALSE;
    }
    us_user_rec *user = us_user_from_row(builder, row, id);
    user->enabled = enabled;
    us_store_user(builder, user);
    if (row[US_F_STAMP].bytes != NULL && row[US_F_STAMP].length > 0) {
        char *stamp = g_strndup(row[US_F_STAMP].bytes, row[US_F_STAMP].length);
        if (us_stamp_newer(stamp, builder->stamp)) {
            g_free(builder->stamp);
            builder->stamp = stamp;
        } else {
            g_free(stamp);
        }
    }
    return TRUE;
}

static us_user_rec *us_find_user(us_builder *builder, us_raw user_id)
{
    if (us_check_value(builder, user_id) != US_VALUE_OK)
        return NULL;
    char *id = g_strdup_printf("%s%.*s", builder->prefix, (int)user_id.length, user_id.bytes);
    us_user_rec *user = g_hash_table_lookup(builder->by_id, id);
    g_free(id);
    return user;
}

/* Appends a checked value to one of a user's lists; a duplicate is dropped. */
static void us_add_relation(us_builder *builder, const char *table, us_raw user_id, us_raw value,
                            GPtrArray *(*list)(us_user_rec *), const char *prefix)
{
    builder->relation_rows++;
    us_user_rec *user = us_find_user(builder, user_id);
    if (user == NULL)
        return;
    us_value_check check = us_check_value(builder, value);
    if (check == US_VALUE_OK && value.length == 0)
        check = US_VALUE_NULL;
    if (check != US_VALUE_OK) {
        us_problem(builder, table, user_id, "value %s", us_check_text(builder, check));
        return;
    }
    char *text = g_strdup_printf("%s%.*s", prefix, (int)value.length, value.bytes);
    GPtrArray *array = list(user);
    for (guint i = 0; i < array->len; i++) {
        if (strcmp(g_ptr_array_index(array, i), text) == 0) {
            g_free(text);
            return;
        }
    }
    g_ptr_array_add(array, text);
}

static GPtrArray *us_numbers_of(us_user_rec *user)
{
    return user->numbers;
}

static GPtrArray *us_column_numbers_of(us_user_rec *user)
{
    return user->column_numbers;
}

static GPtrArray *us_groups_of(us_user_rec *user)
{
    return user->groups;
}

static GPtrArray *us_lines_of(us_user_rec *user)
{
    return user->lines;
}

void us_builder_add_number(us_builder *builder, us_raw user_id, us_raw number)
{
    if (number.bytes == NULL)
        return; /* an empty number column of a user row */
    us_add_relation(builder, "numbers", user_id, number, us_numbers_of, "");
}

void us_builder_add_column_number(us_builder *builder, us_raw user_id, us_raw number)
{
    if (number.bytes == NULL)
        return; /* an empty number column */
    us_add_relation(builder, "numbers", user_id, number, us_column_numbers_of, "");
}

void us_builder_add_member(us_builder *builder, us_raw user_id, us_raw group_id)
{
    us_add_relation(builder, "members", user_id, group_id, us_groups_of, builder->prefix);
}

void us_builder_add_line(us_builder *builder, us_raw user_id, us_raw address)
{
    us_add_relation(builder, "lines", user_id, address, us_lines_of, "");
}

gboolean us_builder_add_group(us_builder *builder, us_raw id, us_raw name, us_raw description)
{
    builder->relation_rows++;
    us_raw values[] = {id, name, description};
    static const char *const names[] = {"id", "name", "description"};
    for (int i = 0; i < 3; i++) {
        us_value_check check = us_check_value(builder, values[i]);
        if (i == 0 && check == US_VALUE_OK && id.length == 0)
            check = US_VALUE_NULL;
        if (check == US_VALUE_OK || (check == US_VALUE_NULL && i > 0))
            continue;
        us_problem(builder, "groups", id, "%s %s", names[i], us_check_text(builder, check));
        return FALSE;
    }
    char *prefixed = g_strdup_printf("%s%.*s", builder->prefix, (int)id.length, id.bytes);
    if (g_hash_table_contains(builder->group_ids, prefixed)) {
        us_problem(builder, "groups", id, "id appears twice");
        g_free(prefixed);
        return FALSE;
    }
    us_group_rec *group = g_new0(us_group_rec, 1);
    group->id = prefixed;
    group->name = us_dup_raw(name);
    group->description = us_dup_raw(description);
    us_add_group_rec(builder, group);
    return TRUE;
}

void us_builder_clear_relations(us_builder *builder)
{
    for (guint i = 0; i < builder->users->len; i++) {
        us_user_rec *user = g_ptr_array_index(builder->users, i);
        g_ptr_array_set_size(user->numbers, 0);
        g_ptr_array_set_size(user->groups, 0);
        g_ptr_array_set_size(user->lines, 0);
    }
    g_hash_table_remove_all(builder->group_ids);
    g_ptr_array_set_size(builder->groups, 0);
}

guint us_builder_rows(const us_builder *builder)
{
    return builder->rows + builder->relation_rows;
}

const GPtrArray *us_builder_problems(const us_builder *builder)
{
    return builder->problems;
}

/* Short text without control characters may be quoted in the log. */
static gboolean us_quotable(const char *text)
{
    gsize length = strlen(text);
    for (gsize i = 0; i < length; i++)
        if (g_ascii_iscntrl(text[i]))
            return FALSE;
    return length <= 64;
}

/* The id as the database has it, without the prefix. */
static const char *us_raw_id(const us_builder *builder, const us_user_rec *user)
{
    const char *id = user->fields[US_F_ID];
    return g_str_has_prefix(id, builder->prefix) ? id + strlen(builder->prefix) : id;
}

/* The stable rule for a login two users share: the lower id keeps it.
 * Integer ids compare as numbers (9 before 10), others byte by byte, so the
 * outcome depends neither on the order of the rows nor on the database's
 * collation. */
static gboolean us_id_before(const us_builder *builder, const us_user_rec *a, const us_user_rec *b)
{
    const char *x = us_raw_id(builder, a), *y = us_raw_id(builder, b);
    guint64 m = 0, n = 0;
    if (g_ascii_string_to_unsigned(x, 10, 0, G_MAXUINT64, &m, NULL) &&
        g_ascii_string_to_unsigned(y, 10, 0, G_MAXUINT64, &n, NULL) && m != n)
        return m < n;
    return strcmp(x, y) < 0;
}

static void us_report_duplicate(us_builder *builder, const char *login, const us_user_rec *kept,
                                const us_user_rec *dropped)
{
    const char *kept_id = us_raw_id(builder, kept), *dropped_id = us_raw_id(builder, dropped);
    char *what = us_quotable(login) ? g_strdup_printf("login \"%s\"", login)
                                    : g_strdup("a login (not quotable)");
    char *first = us_quotable(kept_id) ? g_strdup_printf("id \"%s\"", kept_id)
                                       : g_strdup("a row (id not quotable)");
    char *second = us_quotable(dropped_id) ? g_strdup_printf("id \"%s\"", dropped_id)
                                           : g_strdup("another row (id not quotable)");
    g_ptr_array_add(builder->problems,
                    g_strdup_printf("users: %s is used by the rows with %s and %s: the lower id "
                                    "keeps it, the row with %s is skipped",
                                    what, first, second, second));
    g_free(what);
    g_free(first);
    g_free(second);
}

guint us_builder_resolve_logins(us_builder *builder)
{
    GHashTable *holders = g_hash_table_new(g_str_hash, g_str_equal); /* login -> record */
    GHashTable *dropped = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < builder->users->len; i++) {
        us_user_rec *user = g_ptr_array_index(builder->users, i);
        const char *login = user->fields[US_F_LOGIN];
        us_user_rec *holder = g_hash_table_lookup(holders, login);
        if (holder == NULL) {
            g_hash_table_insert(holders, (gpointer)login, user);
            continue;
        }
        gboolean user_wins = us_id_before(builder, user, holder);
        us_user_rec *kept = user_wins ? user : holder, *lost = user_wins ? holder : user;
        us_report_duplicate(builder, login, kept, lost);
        g_hash_table_insert(holders, (gpointer)login, kept);
        g_hash_table_add(dropped, lost);
    }
    guint count = g_hash_table_size(dropped);
    if (count > 0) {
        /* Remove the losers, keeping the order of the others. */
        GPtrArray *kept = g_ptr_array_new_full(builder->users->len, us_user_free);
        for (guint i = 0; i < builder->users->len; i++) {
            us_user_rec *user = g_ptr_array_index(builder->users, i);
            if (g_hash_table_contains(dropped, user)) {
                g_hash_table_remove(builder->by_id, user->fields[US_F_ID]);
                us_user_free(user);
            } else {
                g_ptr_array_add(kept, user);
            }
        }
        g_ptr_array_set_free_func(builder->users, NULL);
        g_ptr_array_unref(builder->users);
        builder->users = kept;
    }
    g_hash_table_unref(dropped);
    g_hash_table_unref(holders);
    builder->duplicates += count;
    return count;
}

guint us_builder_duplicates(const us_builder *builder)
{
    return builder->duplicates;
}

us_set *us_builder_finish(us_builder *builder)
{
    us_builder_resolve_logins(builder);
    us_set *set = g_new0(us_set, 1);
    set->refs = 1;
    set->users = g_ptr_array_ref(builder->users);
    set->groups = g_ptr_array_ref(builder->groups);
    set->stamp = g_strdup(builder->stamp);
    for (guint i = 0; i < set->users->len; i++) {
        us_user_rec *user = g_ptr_array_index(set->users, i);
        /* Numbers of the row first, then those of the numbers table, once each. */
        user->all_numbers = us_strings_copy(user->column_numbers);
        for (guint j = 0; j < user->numbers->len; j++) {
            const char *number = g_ptr_array_index(user->numbers, j);
            gboolean seen = FALSE;
            for (guint k = 0; k < user->all_numbers->len && !seen; k++)
                seen = strcmp(g_ptr_array_index(user->all_numbers, k), number) == 0;
            if (!seen)
                g_ptr_array_add(user->all_numbers, g_strdup(number));
        }
        g_ptr_array_add(user->all_numbers, NULL);
        g_ptr_array_add(user->groups, NULL);
        g_ptr_array_add(user->lines, NULL);
    }
    us_builder_free(builder);
    return set;
}

/* ---- sets ----------------------------------------------------------------------- */

us_set *us_set_ref(us_set *set)
{
    g_atomic_int_inc(&set->refs);
    return set;
}

void us_set_unref(us_set *set)
{
    if (set == NULL || !g_atomic_int_dec_and_test(&set->refs))
        return;
    g_ptr_array_unref(set->users);
    g_ptr_array_unref(set->groups);
    g_free(set->stamp);
    g_free(set);
}

gsize us_set_user_count(const us_set *set)
{
    return set != NULL ? set->users->len : 0;
}

gsize us_set_group_count(const us_set *set)
{
    return set != NULL ? set->groups->len : 0;
}

us_set_totals us_set_count_all(const us_set *set)
{
    us_set_totals totals = {0};
    if (set == NULL)
        return totals;
    totals.users = set->users->len;
    totals.groups = set->groups->len;
    /* A finished set's lists end with a NULL, which is not counted. */
    for (guint i = 0; i < set->users->len; i++) {
        const us_user_rec *user = g_ptr_array_index(set->users, i);
        totals.memberships += user->groups->len - 1;
        totals.numbers += user->all_numbers->len - 1;
        totals.lines += user->lines->len - 1;
    }
    return totals;
}

const char *us_set_stamp(const us_set *set)
{
    return set != NULL ? set->stamp : NULL;
}

static gboolean us_strings_equal(const GPtrArray *a, const GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++)
        if (g_strcmp0(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0)
            return FALSE;
    return TRUE;
}

static gboolean us_user_equal(const us_user_rec *a, const us_user_rec *b)
{
    for (int i = 0; i < US_F_ENABLED; i++)
        if (g_strcmp0(a->fields[i], b->fields[i]) != 0)
            return FALSE;
    return a->enabled == b->enabled && us_strings_equal(a->all_numbers, b->all_numbers) &&
           us_strings_equal(a->groups, b->groups) && us_strings_equal(a->lines, b->lines);
}

static gboolean us_group_equal(const us_group_rec *a, const us_group_rec *b)
{
    return g_strcmp0(a->id, b->id) == 0 && g_strcmp0(a->name, b->name) == 0 &&
           g_strcmp0(a->description, b->description) == 0;
}

gboolean us_set_equal(const us_set *a, const us_set *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->users->len != b->users->len || a->groups->len != b->groups->len)
        return FALSE;
    for (guint i = 0; i < a->users->len; i++)
        if (!us_user_equal(g_ptr_array_index(a->users, i), g_ptr_array_index(b->users, i)))
            return FALSE;
    for (guint i = 0; i < a->groups->len; i++)
        if (!us_group_equal(g_ptr_array_index(a->groups, i), g_ptr_array_index(b->groups, i)))
            return FALSE;
    return TRUE;
}

int us_set_foreach_user(const us_set *set, ucd_user_cb cb, void *user_data)
{
    for (guint i = 0; i < set->users->len; i++) {
        const us_user_rec *rec = g_ptr_array_index(set->users, i);
        const ucd_user user = {
            .struct_size = sizeof(ucd_user),
            .enabled = rec->enabled ? 1 : 0,
            .id = rec->fields[US_F_ID],
            .login = rec->fields[US_F_LOGIN],
            .display_name = rec->fields[US_F_DISPLAY_NAME],
            .given_name = rec->fields[US_F_GIVEN_NAME],
            .surname = rec->fields[US_F_SURNAME],
            .email = rec->fields[US_F_EMAIL],
            .department = rec->fields[US_F_DEPARTMENT],
            .title = rec->fields[US_F_TITLE],
            .home_server = rec->fields[US_F_HOME_SERVER],
            .numbers = (const char *const *)rec->all_numbers->pdata,
            .groups = (const char *const *)rec->groups->pdata,
            .lines = (const char *const *)rec->lines->pdata,
        };
        int stop = cb(&user, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

int us_set_foreach_group(const us_set *set, ucd_group_cb cb, void *user_data)
{
    static const char *const no_leaders[] = {NULL};
    for (guint i = 0; i < set->groups->len; i++) {
        const us_group_rec *rec = g_ptr_array_index(set->groups, i);
        const ucd_group group = {
            .struct_size = sizeof(ucd_group),
            .id = rec->id,
            .name = rec->name,
            .description = rec->description,
            .leaders = no_leaders,
        };
        int stop = cb(&group, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

/* ---- the cache file ------------------------------------------------------------------ */

#define US_CACHE_FORMAT 1

static void us_json_strings(JsonBuilder *json, const char *name, const GPtrArray *values)
{
    json_builder_set_member_name(json, name);
    json_builder_begin_array(json);
    for (guint i = 0; i < values->len && g_ptr_array_index(values, i) != NULL; i++)
        json_builder_add_string_value(json, g_ptr_array_index(values, i));
    json_builder_end_array(json);
}

static void us_json_user(JsonBuilder *json, const us_user_rec *user)
{
    json_builder_begin_object(json);
    for (int i = 0; i < US_F_ENABLED; i++) {
        if (user->fields[i] == NULL)
            continue;
        json_builder_set_member_name(json, us_field_names[i]);
        json_builder_add_string_value(json, user->fields[i]);
    }
    json_builder_set_member_name(json, "enabled");
    json_builder_add_boolean_value(json, user->enabled);
    us_json_strings(json, "numbers", user->all_numbers);
    us_json_strings(json, "groups", user->groups);
    us_json_strings(json, "lines", user->lines);
    json_builder_end_object(json);
}

static void us_json_group(JsonBuilder *json, const us_group_rec *group)
{
    json_builder_begin_object(json);
    json_builder_set_member_name(json, "id");
    json_builder_add_string_value(json, group->id);
    json_builder_set_member_name(json, "name");
    json_builder_add_string_value(json, group->name);
    json_builder_set_member_name(json, "description");
    json_builder_add_string_value(json, group->description);
    json_builder_end_object(json);
}

gboolean us_set_save(const us_set *set, const char *path, GError **error)
{
    JsonBuilder *json = json_builder_new();
    json_builder_begin_object(json);
    json_builder_set_member_name(json, "format");
    json_builder_add_int_value(json, US_CACHE_FORMAT);
    json_builder_set_member_name(json, "stamp");
    json_builder_add_string_value(json, set->stamp);
    json_builder_set_member_name(json, "users");
    json_builder_begin_array(json);
    for (guint i = 0; i < set->users->len; i++)
        us_json_user(json, g_ptr_array_index(set->users, i));
    json_builder_end_array(json);
    json_builder_set_member_name(json, "groups");
    json_builder_begin_array(json);
    for (guint i = 0; i < set->groups->len; i++)
        us_json_group(json, g_ptr_array_index(set->groups, i));
    json_builder_end_array(json);
    json_builder_end_object(json);

    JsonNode *root = json_builder_get_root(json);
    gsize length = 0;
    char *text = json_to_string(root, FALSE);
    length = strlen(text);
    gboolean ok = g_file_set_contents_full(path, text, (gssize)length,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
    g_free(text);
    json_node_unref(root);
    g_object_unref(json);
    return ok;
}

/* A string member as a raw value: absent or not a string reads as NULL. */
static us_raw us_json_raw(JsonObject *object, const char *name)
{
    JsonNode *node = json_object_get_member(object, name);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING)
        return (us_raw){NULL, 0};
    const char *text = json_node_get_string(node);
    return (us_raw){text, strlen(text)};
}

static void us_load_list(us_builder *builder, JsonObject *object, us_raw id, const char *name,
                         void (*add)(us_builder *, us_raw, us_raw))
{
    JsonArray *array =
        json_object_has_member(object, name) ? json_object_get_array_member(object, name) : NULL;
    for (guint i = 0; array != NULL && i < json_array_get_length(array); i++) {
        JsonNode *node = json_array_get_element(array, i);
        if (json_node_get_value_type(node) != G_TYPE_STRING)
            continue;
        const char *text = json_node_get_string(node);
        add(builder, id, (us_raw){text, strlen(text)});
    }
}

static void us_load_user(us_builder *builder, JsonObject *object)
{
    us_raw row[US_F_COUNT] = {{0}};
    for (int i = 0; i < US_F_ENABLED; i++)
        row[i] = us_json_raw(object, us_field_names[i]);
    gboolean enabled = json_object_get_boolean_member_with_default(object, "enabled", TRUE);
    row[US_F_ENABLED] = (us_raw){enabled ? "1" : "0", 1};
    if (!us_builder_add_user(builder, row))
        return;
    us_load_list(builder, object, row[US_F_ID], "numbers", us_builder_add_number);
    us_load_list(builder, object, row[US_F_ID], "lines", us_builder_add_line);
    us_load_list(builder, object, row[US_F_ID], "groups", us_builder_add_member);
}

us_set *us_set_load(const char *path, gsize max_length, GError **error)
{
    JsonParser *parser = json_parser_new();
    if (!json_parser_load_from_file(parser, path, error)) {
        g_object_unref(parser);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *top =
        root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (top == NULL ||
        json_object_get_int_member_with_default(top, "format", 0) != US_CACHE_FORMAT ||
        !json_object_has_member(top, "users")) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a users-sql cache", path);
        g_object_unref(parser);
        return NULL;
    }
    /* Ids in the cache carry their prefix already. */
    us_builder *builder = us_builder_new("", max_length);
    JsonArray *users = json_object_get_array_member(top, "users");
    for (guint i = 0; users != NULL && i < json_array_get_length(users); i++) {
        JsonNode *node = json_array_get_element(users, i);
        if (JSON_NODE_HOLDS_OBJECT(node))
            us_load_user(builder, json_node_get_object(node));
    }
    JsonArray *groups =
        json_object_has_member(top, "groups") ? json_object_get_array_member(top, "groups") : NULL;
    for (guint i = 0; groups != NULL && i < json_array_get_length(groups); i++) {
        JsonNode *node = json_array_get_element(groups, i);
        if (!JSON_NODE_HOLDS_OBJECT(node))
            continue;
        JsonObject *group = json_node_get_object(node);
        us_builder_add_group(builder, us_json_raw(group, "id"), us_json_raw(group, "name"),
                             us_json_raw(group, "description"));
    }
    us_raw stamp = us_json_raw(top, "stamp");
    g_free(builder->stamp);
    builder->stamp = us_dup_raw(stamp);
    g_object_unref(parser);
    return us_builder_finish(builder);
}
