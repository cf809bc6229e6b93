/*
 * file-set.c - records built from a validated users-file document, and the
 * checks the schema cannot express.
 *
 * Every string a record points to is owned by the set; the NULL-terminated
 * arrays (numbers, groups, lines, leaders) are GLib string vectors. The set
 * never changes after uf_set_from_doc() returns, which is what lets readers on
 * the main loop and a reload on a worker thread share it with a plain
 * reference count.
 */
#include <string.h>

#include "file-set.h"
#include "file-xml.h"
#include "pw-hash.h"

typedef struct uf_user {
    ucd_user rec;
    long line;           /* where the <user> element starts, for error messages */
    char *password_hash; /* the <password>, NULL without one */
    long password_line;
} uf_user;

typedef struct uf_group {
    ucd_group rec;
    long line;
} uf_group;

struct uf_set {
    gint refs;
    GPtrArray *users;              /* uf_user*, document order */
    GPtrArray *groups;             /* uf_group* */
    GHashTable *by_login;          /* case-folded login -> uf_user*, once the checks passed */
    size_t password_count;         /* users with a <password> */
    const char *any_password_hash; /* the first of them */
};

/* The records' fields are `const char *` for the SDK's sake; the set owns them. */
static void free_const(const void *pointer)
{
    g_free((void *)pointer);
}

static void free_const_strv(const char *const *strv)
{
    g_strfreev((char **)strv);
}

static void uf_user_free(gpointer data)
{
    uf_user *user = data;
    free_const(user->rec.id);
    free_const(user->rec.login);
    free_const(user->rec.display_name);
    free_const(user->rec.given_name);
    free_const(user->rec.surname);
    free_const(user->rec.email);
    free_const(user->rec.department);
    free_const(user->rec.title);
    free_const(user->rec.home_server);
    free_const_strv(user->rec.numbers);
    free_const_strv(user->rec.groups);
    free_const_strv(user->rec.lines);
    g_free(user->password_hash);
    g_free(user);
}

static void uf_group_free(gpointer data)
{
    uf_group *group = data;
    free_const(group->rec.id);
    free_const(group->rec.name);
    free_const(group->rec.description);
    free_const_strv(group->rec.leaders);
    g_free(group);
}

static uf_set *uf_set_new(void)
{
    uf_set *set = g_new0(uf_set, 1);
    set->refs = 1;
    set->users = g_ptr_array_new_with_free_func(uf_user_free);
    set->groups = g_ptr_array_new_with_free_func(uf_group_free);
    return set;
}

uf_set *uf_set_ref(uf_set *set)
{
    g_atomic_int_inc(&set->refs);
    return set;
}

void uf_set_unref(uf_set *set)
{
    if (set == NULL || !g_atomic_int_dec_and_test(&set->refs))
        return;
    if (set->by_login != NULL)
        g_hash_table_unref(set->by_login);
    g_ptr_array_unref(set->users);
    g_ptr_array_unref(set->groups);
    g_free(set);
}

size_t uf_set_user_count(const uf_set *set)
{
    return set->users->len;
}

size_t uf_set_group_count(const uf_set *set)
{
    return set->groups->len;
}

size_t uf_set_password_count(const uf_set *set)
{
    return set->password_count;
}

const char *uf_set_any_password_hash(const uf_set *set)
{
    return set->any_password_hash;
}

const ucd_user *uf_set_find_login(const uf_set *set, const char *login, const char **password_hash)
{
    *password_hash = NULL;
    if (login == NULL || !g_utf8_validate(login, -1, NULL))
        return NULL;
    char *folded = g_utf8_casefold(login, -1);
    const uf_user *user = g_hash_table_lookup(set->by_login, folded);
    g_free(folded);
    if (user == NULL)
        return NULL;
    *password_hash = user->password_hash;
    return &user->rec;
}

int uf_set_foreach_user(const uf_set *set, ucd_user_cb cb, void *user_data)
{
    for (guint i = 0; i < set->users->len; i++) {
        const uf_user *user = g_ptr_array_index(set->users, i);
        int stop = cb(&user->rec, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

int uf_set_foreach_group(const uf_set *set, ucd_group_cb cb, void *user_data)
{
    for (guint i = 0; i < set->groups->len; i++) {
        const uf_group *group = g_ptr_array_index(set->groups, i);
        int stop = cb(&group->rec, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

/* ---- building records from elements ---------------------------------------- */

static char **strv_from_array(GPtrArray *array)
{
    g_ptr_array_add(array, NULL);
    return (char **)g_ptr_array_free(array, FALSE);
}

/* "201", or "pbx-sim:office/201" when the <line> names its driver: the form
 * ucd_user.lines documents. */
static char *line_from_element(const xmlNode *node)
{
    char *address = uf_node_text(node);
    char *driver = uf_node_attr(node, "driver");
    if (driver == NULL)
        return address;
    char *joined = g_strdup_printf("%s/%s", driver, address);
    g_free(driver);
    g_free(address);
    return joined;
}

/* Sets *field from a simple child element; the schema allows each once. */
static void take_user_field(uf_user *user, const xmlNode *child)
{
    static const struct {
        const char *element;
        size_t offset;
    } fields[] = {
        {"login", offsetof(ucd_user, login)},
        {"displayName", offsetof(ucd_user, display_name)},
        {"givenName", offsetof(ucd_user, given_name)},
        {"surname", offsetof(ucd_user, surname)},
        {"email", offsetof(ucd_user, email)},
        {"department", offsetof(ucd_user, department)},
        {"title", offsetof(ucd_user, title)},
        {"homeServer", offsetof(ucd_user, home_server)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        if (uf_node_is(child, fields[i].element)) {
            const char **field = (const char **)((char *)&user->rec + fields[i].offset);
            free_const(*field);
            *field = uf_node_text(child);
            return;
        }
    }
}

/* The schema allows one <password>; its form is checked with the others
 * (check_passwords), after the records are built. */
static void take_password(uf_user *user, const xmlNode *child)
{
    g_free(user->password_hash);
    user->password_hash = uf_node_text(child);
    user->password_line = xmlGetLineNo(child);
}

/* xs:boolean: "true", "1", "false", "0"; absent means enabled. */
static uint32_t enabled_from_element(const xmlNode *node)
{
    char *value = uf_node_attr(node, "enabled");
    uint32_t enabled = value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0;
    g_free(value);
    return enabled;
}

static uf_user *user_from_element(const xmlNode *node)
{
    uf_user *user = g_new0(uf_user, 1);
    GPtrArray *numbers = g_ptr_array_new();
    GPtrArray *groups = g_ptr_array_new();
    GPtrArray *lines = g_ptr_array_new();

    user->rec.struct_size = sizeof(user->rec);
    user->rec.id = uf_node_attr(node, "id");
    user->rec.enabled = enabled_from_element(node);
    user->line = xmlGetLineNo(node);
    for (const xmlNode *child = node->children; child != NULL; child = child->next) {
        if (uf_node_is(child, "phone"))
            g_ptr_array_add(numbers, uf_node_text(child));
        else if (uf_node_is(child, "memberOf"))
            g_ptr_array_add(groups, uf_node_text(child));
        else if (uf_node_is(child, "line"))
            g_ptr_array_add(lines, line_from_element(child));
        else if (uf_node_is(child, "password"))
            take_password(user, child);
        else
            take_user_field(user, child);
    }
    user->rec.numbers = (const char *const *)strv_from_array(numbers);
    user->rec.groups = (const char *const *)strv_from_array(groups);
    user->rec.lines = (const char *const *)strv_from_array(lines);
    return user;
}

static uf_group *group_from_element(const xmlNode *node)
{
    uf_group *group = g_new0(uf_group, 1);
    GPtrArray *leaders = g_ptr_array_new();

    group->rec.struct_size = sizeof(group->rec);
    group->rec.id = uf_node_attr(node, "id");
    group->line = xmlGetLineNo(node);
    for (const xmlNode *child = node->children; child != NULL; child = child->next) {
        if (uf_node_is(child, "name")) {
            free_const(group->rec.name);
            group->rec.name = uf_node_text(child);
        } else if (uf_node_is(child, "description")) {
            free_const(group->rec.description);
            group->rec.description = uf_node_text(child);
        } else if (uf_node_is(child, "leader")) {
            g_ptr_array_add(leaders, uf_node_text(child));
        }
    }
    group->rec.leaders = (const char *const *)strv_from_array(leaders);
    return group;
}

/* ---- the checks ------------------------------------------------------------- */

/* Remembers `key` in `seen` with `first` (what to say about its first use);
 * when it is there already, reports a duplicate. Keys are borrowed from the
 * records, `first` is taken over. */
static void check_unique(GHashTable *seen, const char *key, char *first, const char *what,
                         const char *label, long line, GPtrArray *errors)
{
    const char *earlier = g_hash_table_lookup(seen, key);
    if (earlier != NULL) {
        uf_error_add(errors, label, line, "duplicate %s \"%s\" (%s)", what, key, earlier);
        g_free(first);
    } else {
        g_hash_table_insert(seen, (gpointer)key, first);
    }
}

static char *first_on_line(long line)
{
    return g_strdup_printf("first on line %ld", line);
}

/* Logins are compared case-insensitively: people type them, and two logins
 * differing only in case would make authentication ambiguous. */
static void check_unique_logins(const uf_set *set, const char *label, GPtrArray *errors)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < set->users->len; i++) {
        const uf_user *user = g_ptr_array_index(set->users, i);
        char *folded = g_utf8_casefold(user->rec.login, -1);
        const char *first = g_hash_table_lookup(seen, folded);
        if (first != NULL) {
            uf_error_add(errors, label, user->line, "duplicate login \"%s\" (also used by \"%s\")",
                         user->rec.login, first);
            g_free(folded);
        } else {
            g_hash_table_insert(seen, folded, (gpointer)user->rec.id);
        }
    }
    g_hash_table_unref(seen);
}

static void check_unique_users(const uf_set *set, const char *label, GPtrArray *errors)
{
    GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    GHashTable *lines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; i < set->users->len; i++) {
        const uf_user *user = g_ptr_array_index(set->users, i);
        check_unique(ids, user->rec.id, first_on_line(user->line), "user id", label, user->line,
                     errors);
        for (const char *const *line = user->rec.lines; *line != NULL; line++)
            check_unique(lines, *line, g_strdup_printf("also assigned to \"%s\"", user->rec.id),
                         "line", label, user->line, errors);
    }
    g_hash_table_unref(ids);
    g_hash_table_unref(lines);
    check_unique_logins(set, label, errors);
}

static GHashTable *group_index(const uf_set *set, const char *label, GPtrArray *errors)
{
    GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; i < set->groups->len; i++) {
        const uf_group *group = g_ptr_array_index(set->groups, i);
        check_unique(ids, group->rec.id, first_on_line(group->line), "group id", label, group->line,
                     errors);
    }
    return ids;
}

static void check_references(const uf_set *set, GHashTable *group_ids, const char *label,
                             GPtrArray *errors)
{
    GHashTable *user_ids = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < set->users->len; i++) {
        const uf_user *user = g_ptr_array_index(set->users, i);
        g_hash_table_add(user_ids, (gpointer)user->rec.id);
        for (const char *const *group = user->rec.groups; *group != NULL; group++) {
            if (!g_hash_table_contains(group_ids, *group))
                uf_error_add(errors, label, user->line,
                             "user \"%s\" is a member of unknown group \"%s\"", user->rec.id,
                             *group);
        }
    }
    for (guint i = 0; i < set->groups->len; i++) {
        const uf_group *group = g_ptr_array_index(set->groups, i);
        for (const char *const *leader = group->rec.leaders; *leader != NULL; leader++) {
            if (!g_hash_table_contains(user_ids, *leader))
                uf_error_add(errors, label, group->line,
                             "leader \"%s\" of group \"%s\" is not a user of this file", *leader,
                             group->rec.id);
        }
    }
    g_hash_table_unref(user_ids);
}

/* A <password> must be a hash the shared code can check. Anything else
 * (clear text most likely) refuses the file, with the line but never the
 * value: it is a password, and logs are read by many. */
static void check_passwords(uf_set *set, const char *label, GPtrArray *errors)
{
    for (guint i = 0; i < set->users->len; i++) {
        const uf_user *user = g_ptr_array_index(set->users, i);
        if (user->password_hash == NULL)
            continue;
        set->password_count++;
        if (set->any_password_hash == NULL)
            set->any_password_hash = user->password_hash;
        const char *reason = NULL;
        if (!pw_hash_is_usable(user->password_hash, &reason))
            uf_error_add(errors, label, user->password_line,
                         "the password of user \"%s\" is refused: %s; the file keeps only "
                         "hashes (pbkdf2-sha256, pbkdf2-sha512, scrypt), made with ucd-passwd",
                         user->rec.id, reason);
    }
}

/* Logins are unique case-insensitively by now (check_unique_logins). */
static void index_logins(uf_set *set)
{
    set->by_login = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < set->users->len; i++) {
        uf_user *user = g_ptr_array_index(set->users, i);
        g_hash_table_insert(set->by_login, g_utf8_casefold(user->rec.login, -1), user);
    }
}

uf_set *uf_set_from_doc(xmlDoc *doc, const char *label, gboolean check_refs, GPtrArray *errors)
{
    uf_set *set = uf_set_new();
    guint errors_before = errors->len;
    const xmlNode *root = xmlDocGetRootElement(doc);

    for (const xmlNode *node = root->children; node != NULL; node = node->next) {
        if (uf_node_is(node, "user"))
            g_ptr_array_add(set->users, user_from_element(node));
        else if (uf_node_is(node, "group"))
            g_ptr_array_add(set->groups, group_from_element(node));
    }
    check_unique_users(set, label, errors);
    check_passwords(set, label, errors);
    GHashTable *group_ids = group_index(set, label, errors);
    if (check_refs)
        check_references(set, group_ids, label, errors);
    g_hash_table_unref(group_ids);

    if (errors->len > errors_before) {
        uf_set_unref(set);
        return NULL;
    }
    index_logins(set);
    return set;
}
