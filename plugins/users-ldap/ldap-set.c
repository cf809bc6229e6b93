/*
 * ldap-set.c - user sets built from LDAP entries, and their cache (ldap-set.h).
 *
 * Directory data is input from outside: every value is checked before it
 * becomes part of a record (valid UTF-8, no longer than max_value_length,
 * one value where one is expected), and what is left out is reported with
 * the entry's DN and the reason, never silently.
 */
#include <stdint.h>
#include <string.h>

#include "ldap-graph.h"
#include "ldap-set.h"

/* Version 2: users keep their direct groups beside the expanded ones, groups
 * their change stamp and parent groups (nested groups resolved locally).
 * Version 3: `enabled` is the account's state only; a user homed on another
 * server is no longer stored disabled (an incremental sync would keep such a
 * record as it is, so a version 2 cache is not reused). */
/* Version 4: a snapshot and delta records of the same shape (ldap-cache.h):
 * the snapshot's generation, which its deltas name, follows the version. */
#define UL_CACHE_VERSION 4u
#define UL_USER_TUPLE    "(sssmsmsmsmsmsmsmsmsmsbasasas)"
#define UL_GROUP_TUPLE   "(ssmsmsasas)"
#define UL_CACHE_TYPE                                                                              \
    "(utmsms"                                                                                      \
    "a" UL_USER_TUPLE "a" UL_GROUP_TUPLE ")"
/* The same tuples as g_variant_new/get formats: lists as GVariant values. */
#define UL_USER_ARGS  "(sssmsmsmsmsmsmsmsmsmsb@as@as@as)"
#define UL_GROUP_ARGS "(ssmsms@as@as)"

/* The bit of userAccountControl that AD sets on a disabled account. */
#define UL_ACCOUNTDISABLE 0x2

typedef struct ul_user {
    char *dn;
    char *dn_key; /* lower case, for matching memberOf and member values */
    char *id;
    char *login;
    char *display_name;
    char *given_name;
    char *surname;
    char *email;
    char *department;
    char *title;
    char *home_value;  /* the attribute's raw value, for write-back */
    char *home_server; /* parsed; NULL: none */
    char *stamp;
    gboolean enabled;
    GPtrArray *numbers; /* char *, NULL-terminated once sealed */
    GPtrArray *direct;  /* group keys the user is a member of itself */
    GPtrArray *groups;  /* `direct` and the groups they are in, nested */
} ul_user;

typedef struct ul_group {
    char *id; /* the group's DN in lower case: what memberOf values name */
    char *name;
    char *description;
    char *stamp;
    GPtrArray *members; /* char *: DN keys; NULL-terminated once sealed */
    GPtrArray *parents; /* char *: keys of the groups this one is in (memberOf) */
} ul_group;

struct ul_set {
    gint refs;
    GPtrArray *users;  /* ul_user *, each a reference */
    GPtrArray *groups; /* ul_group *, each a reference */
    char *max_stamp;   /* of the users */
    char *group_max_stamp;
    /* id -> ul_user *, built at the first lookup (write-backs, rare): an
     * incremental sync then copies pointers only, no hash table of every
     * user. */
    GMutex lock;
    GHashTable *by_id;
};

/* Which requested attribute fills which field, and the values of the entry
 * being read (see ul_fields_read). */
typedef struct ul_fields {
    guint count;
    const char **names; /* per field: the attribute, NULL when not mapped */
    int *first;         /* per field: the first field of the same attribute */
    BerVarray *values;  /* per field: the values of the current entry */
    int *by_position;   /* per attribute position: the field found there last */
    guint positions;
} ul_fields;

struct ul_builder {
    const ul_map *map;
    ul_fields user_fields;
    ul_fields group_fields;
    ul_reject_fn reject;
    void *reject_data;
    GPtrArray *users;
    GHashTable *by_id;
    GHashTable *by_dn_key;
    GHashTable *logins;
    GPtrArray *groups;
    char *max_stamp;
    char *group_max_stamp;
    /* Incremental syncs: group key -> GHashTable of the DN keys of its direct
     * members now (users and groups), for groups that changed. */
    GHashTable *changed;
};

/* ---- records ------------------------------------------------------------------- */

static void ul_user_clear(ul_user *user)
{
    g_free(user->dn);
    g_free(user->dn_key);
    g_free(user->id);
    g_free(user->login);
    g_free(user->display_name);
    g_free(user->given_name);
    g_free(user->surname);
    g_free(user->email);
    g_free(user->department);
    g_free(user->title);
    g_free(user->home_value);
    g_free(user->home_server);
    g_free(user->stamp);
    g_ptr_array_unref(user->numbers);
    g_ptr_array_unref(user->direct);
    g_ptr_array_unref(user->groups);
}

static ul_user *ul_user_new(void)
{
    ul_user *user = g_atomic_rc_box_new0(ul_user);
    user->numbers = g_ptr_array_new_with_free_func(g_free);
    user->direct = g_ptr_array_new_with_free_func(g_free);
    user->groups = g_ptr_array_new_with_free_func(g_free);
    return user;
}

static void ul_user_unref(gpointer user)
{
    g_atomic_rc_box_release_full(user, (GDestroyNotify)ul_user_clear);
}

static void ul_group_clear(ul_group *group)
{
    g_free(group->id);
    g_free(group->name);
    g_free(group->description);
    g_free(group->stamp);
    g_ptr_array_unref(group->members);
    g_ptr_array_unref(group->parents);
}

static ul_group *ul_group_new(void)
{
    ul_group *group = g_atomic_rc_box_new0(ul_group);
    group->members = g_ptr_array_new_with_free_func(g_free);
    group->parents = g_ptr_array_new_with_free_func(g_free);
    return group;
}

static void ul_group_unref(gpointer group)
{
    g_atomic_rc_box_release_full(group, (GDestroyNotify)ul_group_clear);
}

/* Ends the arrays with NULL, as ucd_user's string lists are. */
static void ul_seal(GPtrArray *array)
{
    if (array->len == 0 || g_ptr_array_index(array, array->len - 1) != NULL)
        g_ptr_array_add(array, NULL);
}

static gboolean ul_contains(GPtrArray *array, const char *value)
{
    for (guint i = 0; i < array->len; i++) {
        const char *item = g_ptr_array_index(array, i);
        if (item != NULL && strcmp(item, value) == 0)
            return TRUE;
    }
    return FALSE;
}

static gboolean ul_is_ascii(const char *text)
{
    for (const char *c = text; *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80)
            return FALSE;
    return TRUE;
}

/* `dn` (taken) in lower case: ASCII in place, without a copy (most DNs);
 * others through GLib's Unicode tables. */
static char *ul_dn_key_take(char *dn)
{
    if (ul_is_ascii(dn)) {
        for (char *c = dn; *c != '\0'; c++)
            *c = g_ascii_tolower(*c);
        return dn;
    }
    char *key = g_utf8_strdown(dn, -1);
    g_free(dn);
    return key;
}

static char *ul_dn_key(const char *dn)
{
    return ul_dn_key_take(g_strdup(dn));
}

/* Compares change stamps: numbers (uSNChanged) by value, others
 * (modifyTimestamp, entryCSN: fixed-width times) as text. */
static int ul_stamp_compare(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    gboolean numeric = strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb;
    if (numeric && la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static void ul_note_stamp(char **max, const char *stamp)
{
    if (stamp != NULL && (*max == NULL || ul_stamp_compare(stamp, *max) > 0)) {
        g_free(*max);
        *max = g_strdup(stamp);
    }
}

/* ---- reading values ------------------------------------------------------------- */

char *ul_guid_to_text(const unsigned char b[16])
{
    /* The byte order of AD's text form; -1: a dash. Written by hand: this runs
     * once per user of every full sync, where printf showed in profiles. */
    static const int order[] = {3,  2, 1, 0,  -1, 5,  4,  -1, 7,  6,
                                -1, 8, 9, -1, 10, 11, 12, 13, 14, 15};
    static const char hex[] = "0123456789abcdef";
    char *text = g_malloc(37);
    char *out = text;
    for (gsize i = 0; i < G_N_ELEMENTS(order); i++) {
        if (order[i] < 0) {
            *out++ = '-';
            continue;
        }
        *out++ = hex[b[order[i]] >> 4];
        *out++ = hex[b[order[i]] & 0xf];
    }
    *out = '\0';
    return text;
}

char *ul_parse_home_server(const char *value)
{
    if (value == NULL)
        return NULL;
    if (value[0] == '<') {
        /* AD's "<16,Homeserver>": a tag number, a comma, the name. */
        const char *comma = strchr(value, ',');
        const char *end = strrchr(value, '>');
        if (comma == NULL || end == NULL || end < comma)
            return NULL;
        char *name = g_strstrip(g_strndup(comma + 1, (gsize)(end - comma - 1)));
        if (*name == '\0') {
            g_free(name);
            return NULL;
        }
        return name;
    }
    char *name = g_strstrip(g_strdup(value));
    if (*name == '\0') {
        g_free(name);
        return NULL;
    }
    return name;
}

static void ul_reject(ul_builder *builder, const char *dn, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void ul_reject(ul_builder *builder, const char *dn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (builder->reject != NULL)
        builder->reject(dn, reason, builder->reject_data);
    g_free(reason);
}

/* A text value as a new string, or NULL (and the reason reported). */
static char *ul_text_value(ul_builder *builder, const char *dn, const char *attribute,
                           const struct berval *value)
{
    if (value->bv_len > builder->map->max_value_length) {
        ul_reject(builder, dn, "%s: value of %lu bytes is longer than %zu, left out", attribute,
                  (unsigned long)value->bv_len, builder->map->max_value_length);
        return NULL;
    }
    if (!g_utf8_validate(value->bv_val, (gssize)value->bv_len, NULL)) {
        ul_reject(builder, dn, "%s: value is not UTF-8 text, left out", attribute);
        return NULL;
    }
    return g_strndup(value->bv_val, value->bv_len);
}

/* ---- reading entries in one pass ------------------------------------------------ */

/* The fields of a user entry: the index of each in ul_builder.user_fields. */
enum {
    UL_F_ID,
    UL_F_LOGIN,
    UL_F_DISPLAY_NAME,
    UL_F_GIVEN_NAME,
    UL_F_SURNAME,
    UL_F_EMAIL,
    UL_F_DEPARTMENT,
    UL_F_TITLE,
    UL_F_CHANGE,
    UL_F_MEMBER_OF,
    UL_F_ACCOUNT_CONTROL,
    UL_F_HOME_SERVER,
    UL_F_NUMBERS /* the first of map->numbers; the others follow */
};

/* Groups: name, description, members, parent groups, change stamp. */
enum { UL_G_NAME, UL_G_DESCRIPTION, UL_G_MEMBERS, UL_G_PARENTS, UL_G_STAMP, UL_G_COUNT };

static void ul_fields_init(ul_fields *fields, const char *const *names, guint count)
{
    fields->count = count;
    fields->names = g_new0(const char *, count);
    fields->first = g_new0(int, count);
    fields->values = g_new0(BerVarray, count);
    for (guint f = 0; f < count; f++) {
        fields->names[f] = names[f] != NULL && *names[f] != '\0' ? names[f] : NULL;
        fields->first[f] = (int)f;
        for (guint e = 0; e < f && fields->names[f] != NULL; e++)
            if (fields->names[e] != NULL &&
                g_ascii_strcasecmp(fields->names[e], fields->names[f]) == 0) {
                fields->first[f] = (int)e;
                break;
            }
    }
}

static void ul_fields_clear(ul_fields *fields)
{
    g_free(fields->names);
    g_free(fields->first);
    g_free(fields->values);
    g_free(fields->by_position);
    memset(fields, 0, sizeof(*fields));
}

static gboolean ul_name_is(const char *name, const struct berval *attribute)
{
    return name != NULL && g_ascii_strncasecmp(name, attribute->bv_val, attribute->bv_len) == 0 &&
           name[attribute->bv_len] == '\0';
}

/* The field an attribute of an entry fills, or -1. A server sends the
 * attributes of every entry in the same order, so the field found at this
 * position last time is tried first: one comparison per attribute instead of
 * one per field. */
static int ul_fields_find(ul_fields *fields, guint position, const struct berval *attribute)
{
    if (position >= fields->positions) {
        guint grown = MAX(position + 1, fields->positions * 2);
        fields->by_position = g_renew(int, fields->by_position, grown);
        for (guint p = fields->positions; p < grown; p++)
            fields->by_position[p] = -1;
        fields->positions = grown;
    }
    int guess = fields->by_position[position];
    if (guess >= 0 && ul_name_is(fields->names[guess], attribute))
        return guess;
    for (guint f = 0; f < fields->count; f++)
        if (fields->first[f] == (int)f && ul_name_is(fields->names[f], attribute)) {
            fields->by_position[position] = (int)f;
            return (int)f;
        }
    return -1;
}

/* Reads the DN and the values of every field of `entry` in one pass over its
 * attributes (ldap_get_values_len would scan the entry once per field). The
 * values point into the message: valid until ul_fields_release, and the
 * message must outlive them. FALSE when the entry cannot be decoded. */
static gboolean ul_fields_read(ul_fields *fields, LDAP *ld, LDAPMessage *entry, struct berval *dn)
{
    BerElement *ber = NULL;
    memset(fields->values, 0, fields->count * sizeof(BerVarray));
    if (ldap_get_dn_ber(ld, entry, &ber, dn) != LDAP_SUCCESS) {
        if (ber != NULL)
            ber_free(ber, 0);
        return FALSE;
    }
    struct berval attribute;
    BerVarray values = NULL;
    guint position = 0;
    while (ldap_get_attribute_ber(ld, entry, ber, &attribute, &values) == LDAP_SUCCESS &&
           attribute.bv_val != NULL) {
        int f = ul_fields_find(fields, position++, &attribute);
        if (f >= 0 && fields->values[f] == NULL)
            fields->values[f] = values;
        else
            ber_memfree(values);
        values = NULL;
    }
    ber_free(ber, 0);
    /* Fields that name the same attribute share its values. */
    for (guint f = 0; f < fields->count; f++)
        if (fields->first[f] != (int)f)
            fields->values[f] = fields->values[fields->first[f]];
    return TRUE;
}

static void ul_fields_release(ul_fields *fields)
{
    for (guint f = 0; f < fields->count; f++) {
        if (fields->first[f] == (int)f)
            ber_memfree(fields->values[f]);
        fields->values[f] = NULL;
    }
}

static int ul_count(BerVarray values)
{
    int count = 0;
    while (values != NULL && values[count].bv_val != NULL)
        count++;
    return count;
}

/* The one value of a single-valued field; the first when the directory has
 * several (reported), NULL when it has none. */
static char *ul_single(ul_builder *builder, const char *dn, const char *attribute, BerVarray values)
{
    if (attribute == NULL || *attribute == '\0')
        return NULL;
    int count = ul_count(values);
    if (count > 1)
        ul_reject(builder, dn, "%s: %d values where one is expected, the first is used", attribute,
                  count);
    return count > 0 ? ul_text_value(builder, dn, attribute, &values[0]) : NULL;
}

/* Above this many values a hash set finds repeats, not a linear scan (AD
 * users in hundreds of groups, groups of thousands of members). */
#define UL_LINEAR_DEDUP_MAX 16

static void ul_multi(ul_builder *builder, const char *dn, const char *attribute, BerVarray values,
                     gboolean as_dn_key, GPtrArray *out)
{
    if (attribute == NULL || *attribute == '\0')
        return;
    int count = ul_count(values);
    GHashTable *seen = NULL;
    if (count + out->len > UL_LINEAR_DEDUP_MAX) {
        seen = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < out->len; i++)
            if (g_ptr_array_index(out, i) != NULL)
                g_hash_table_add(seen, g_ptr_array_index(out, i));
    }
    for (int i = 0; i < count; i++) {
        char *text = ul_text_value(builder, dn, attribute, &values[i]);
        if (text != NULL && as_dn_key)
            text = ul_dn_key_take(text);
        gboolean repeated = text == NULL || (seen != NULL ? g_hash_table_contains(seen, text)
                                                          : ul_contains(out, text));
        if (repeated) {
            g_free(text);
            continue;
        }
        g_ptr_array_add(out, text);
        if (seen != NULL)
            g_hash_table_add(seen, text);
    }
    if (seen != NULL)
        g_hash_table_unref(seen);
}

/* The user's id: a 16-byte objectGUID as GUID text, or a text id (entryUUID). */
static char *ul_id_value(ul_builder *builder, const char *dn, BerVarray values)
{
    const char *attribute = builder->map->id;
    int count = ul_count(values);
    gboolean guid = g_ascii_strcasecmp(attribute, "objectGUID") == 0;
    char *id = NULL;
    if (count != 1)
        ul_reject(builder, dn, "%s: %d values where exactly one is needed: entry skipped",
                  attribute, count);
    else if (guid && values[0].bv_len == 16)
        id = ul_guid_to_text((const unsigned char *)values[0].bv_val);
    else if (guid)
        ul_reject(builder, dn, "objectGUID: %lu bytes, not 16: entry skipped",
                  (unsigned long)values[0].bv_len);
    else if ((id = ul_text_value(builder, dn, attribute, &values[0])) == NULL)
        ul_reject(builder, dn, "%s: no usable id: entry skipped", attribute);
    return id;
}

/* Whether the account is usable here: not disabled in the directory, and
 * homed on this server. */
static void ul_judge(ul_builder *builder, BerVarray *values, ul_user *user)
{
    const ul_map *map = builder->map;
    gboolean disabled = FALSE;
    char *control =
        ul_single(builder, user->dn, map->account_control, values[UL_F_ACCOUNT_CONTROL]);
    if (control != NULL) {
        char *end = NULL;
        guint64 flags = g_ascii_strtoull(control, &end, 10);
        if (end == control || *end != '\0')
            ul_reject(builder, user->dn, "%s: \"%s\" is not a number, ignored",
                      map->account_control, control);
        else
            disabled = (flags & UL_ACCOUNTDISABLE) != 0;
        g_free(control);
    }
    if (map->home_server != NULL && *map->home_server != '\0') {
        GPtrArray *home = g_ptr_array_new_with_free_func(g_free);
        ul_multi(builder, user->dn, map->home_server, values[UL_F_HOME_SERVER], FALSE, home);
        /* extensionName is multi-valued and holds other things too: the
         * first value that names a server wins. */
        gboolean tagged_only = g_ascii_strcasecmp(map->home_server, "extensionName") == 0;
        for (guint i = 0; i < home->len && user->home_server == NULL; i++) {
            const char *value = g_ptr_array_index(home, i);
            if (tagged_only && value[0] != '<')
                continue;
            user->home_server = ul_parse_home_server(value);
            if (user->home_server != NULL)
                user->home_value = g_strdup(value);
        }
        g_ptr_array_unref(home);
    }
    /* `enabled` is the account's state, not whether the user is here: the
     * core compares home_server with its own [core] server_name, so there is
     * one name to get right. Only a user without any home server value is
     * this plugin's to place (unhomed_users_enabled). */
    gboolean placed = user->home_server != NULL || map->unhomed_enabled;
    user->enabled = !disabled && placed;
}

/* The id and login, checked for presence and uniqueness; FALSE (reported)
 * when the entry cannot be a user. */
static gboolean ul_identify(ul_builder *builder, BerVarray *values, ul_user *user)
{
    const ul_map *map = builder->map;
    user->id = ul_id_value(builder, user->dn, values[UL_F_ID]);
    user->login =
        user->id != NULL ? ul_single(builder, user->dn, map->login, values[UL_F_LOGIN]) : NULL;
    if (user->id != NULL && user->login == NULL)
        ul_reject(builder, user->dn, "%s: no usable login: entry skipped", map->login);
    else if (user->id != NULL && g_hash_table_contains(builder->by_id, user->id))
        ul_reject(builder, user->dn, "id %s repeats another entry's: entry skipped", user->id);
    else if (user->login != NULL && g_hash_table_contains(builder->logins, user->login))
        ul_reject(builder, user->dn, "login \"%s\" repeats another entry's: entry skipped",
                  user->login);
    else
        return user->id != NULL && user->login != NULL;
    return FALSE;
}

static void ul_user_fields(ul_builder *builder, BerVarray *values, ul_user *user)
{
    const ul_map *map = builder->map;
    const char *dn = user->dn;
    user->display_name = ul_single(builder, dn, map->display_name, values[UL_F_DISPLAY_NAME]);
    user->given_name = ul_single(builder, dn, map->given_name, values[UL_F_GIVEN_NAME]);
    user->surname = ul_single(builder, dn, map->surname, values[UL_F_SURNAME]);
    user->email = ul_single(builder, dn, map->email, values[UL_F_EMAIL]);
    user->department = ul_single(builder, dn, map->department, values[UL_F_DEPARTMENT]);
    user->title = ul_single(builder, dn, map->title, values[UL_F_TITLE]);
    user->stamp = ul_single(builder, dn, map->change, values[UL_F_CHANGE]);
    guint f = UL_F_NUMBERS;
    for (char **attribute = map->numbers; attribute != NULL && *attribute != NULL; attribute++)
        ul_multi(builder, dn, *attribute, values[f++], FALSE, user->numbers);
    ul_multi(builder, dn, map->member_of, values[UL_F_MEMBER_OF], TRUE, user->direct);
}

static void ul_user_fields_init(ul_builder *builder)
{
    const ul_map *map = builder->map;
    GPtrArray *names = g_ptr_array_new();
    const char *fixed[] = {map->id,      map->login,     map->display_name,    map->given_name,
                           map->surname, map->email,     map->department,      map->title,
                           map->change,  map->member_of, map->account_control, map->home_server};
    G_STATIC_ASSERT(G_N_ELEMENTS(fixed) == UL_F_NUMBERS);
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(names, (gpointer)fixed[i]);
    for (char **n = map->numbers; n != NULL && *n != NULL; n++)
        g_ptr_array_add(names, *n);
    ul_fields_init(&builder->user_fields, (const char *const *)names->pdata, names->len);
    g_ptr_array_unref(names);
}

gboolean ul_builder_add_user(ul_builder *builder, LDAP *ld, LDAPMessage *entry)
{
    ul_fields *fields = &builder->user_fields;
    struct berval dn = {0, NULL};
    ul_user *user = ul_user_new();
    if (!ul_fields_read(fields, ld, entry, &dn))
        dn.bv_len = 0;
    user->dn = g_strndup(dn.bv_val != NULL ? dn.bv_val : "", dn.bv_len);
    user->dn_key = ul_dn_key(user->dn);
    if (!ul_identify(builder, fields->values, user)) {
        ul_fields_release(fields);
        ul_user_unref(user);
        return FALSE;
    }
    ul_user_fields(builder, fields->values, user);
    ul_judge(builder, fields->values, user);
    ul_fields_release(fields);
    ul_note_stamp(&builder->max_stamp, user->stamp);

    g_ptr_array_add(builder->users, user);
    g_hash_table_insert(builder->by_id, user->id, user);
    g_hash_table_insert(builder->by_dn_key, user->dn_key, user);
    g_hash_table_add(builder->logins, user->login);
    return TRUE;
}

void ul_builder_add_group(ul_builder *builder, LDAP *ld, LDAPMessage *entry,
                          const char *name_attribute, const char *member_attribute,
                          const char *parent_attribute)
{
    ul_fields *fields = &builder->group_fields;
    const char *names[UL_G_COUNT] = {name_attribute, "description", member_attribute,
                                     parent_attribute, builder->map->change};
    gboolean same = fields->count == UL_G_COUNT;
    for (guint f = 0; same && f < UL_G_COUNT; f++)
        same = g_strcmp0(fields->names[f],
                         names[f] != NULL && *names[f] != '\0' ? names[f] : NULL) == 0;
    if (!same) {
        ul_fields_clear(fields);
        ul_fields_init(fields, names, UL_G_COUNT);
    }
    struct berval dn_value = {0, NULL};
    if (!ul_fields_read(fields, ld, entry, &dn_value) || dn_value.bv_val == NULL) {
        ul_fields_release(fields);
        return;
    }
    char *dn = g_strndup(dn_value.bv_val, dn_value.bv_len);
    ul_group *group = ul_group_new();
    group->id = ul_dn_key(dn);
    group->name = ul_single(builder, dn, name_attribute, fields->values[UL_G_NAME]);
    if (group->name == NULL)
        group->name = g_strdup(dn);
    group->description = ul_single(builder, dn, "description", fields->values[UL_G_DESCRIPTION]);
    group->stamp = ul_single(builder, dn, builder->map->change, fields->values[UL_G_STAMP]);
    ul_multi(builder, dn, member_attribute, fields->values[UL_G_MEMBERS], TRUE, group->members);
    ul_multi(builder, dn, parent_attribute, fields->values[UL_G_PARENTS], TRUE, group->parents);
    ul_fields_release(fields);
    g_free(dn);
    ul_note_stamp(&builder->group_max_stamp, group->stamp);
    ul_seal(group->members);
    ul_seal(group->parents);
    g_ptr_array_add(builder->groups, group);
}

void ul_builder_add_group_member(ul_builder *builder, const char *group_dn, const char *member_dn)
{
    char *key = ul_dn_key(group_dn);
    GHashTable *members = g_hash_table_lookup(builder->changed, key);
    if (members == NULL) {
        members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(builder->changed, key, members);
    } else {
        g_free(key);
    }
    if (member_dn != NULL)
        g_hash_table_add(members, ul_dn_key(member_dn));
}

ul_builder *ul_builder_new(const ul_map *map, ul_reject_fn reject, void *reject_data)
{
    ul_builder *builder = g_new0(ul_builder, 1);
    builder->map = map;
    builder->reject = reject;
    builder->reject_data = reject_data;
    builder->users = g_ptr_array_new_with_free_func(ul_user_unref);
    builder->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    builder->by_dn_key = g_hash_table_new(g_str_hash, g_str_equal);
    builder->logins = g_hash_table_new(g_str_hash, g_str_equal);
    builder->groups = g_ptr_array_new_with_free_func(ul_group_unref);
    builder->changed =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
    ul_user_fields_init(builder);
    return builder;
}

void ul_builder_free(ul_builder *builder)
{
    if (builder == NULL)
        return;
    g_ptr_array_unref(builder->users);
    g_hash_table_unref(builder->by_id);
    g_hash_table_unref(builder->by_dn_key);
    g_hash_table_unref(builder->logins);
    g_ptr_array_unref(builder->groups);
    g_hash_table_unref(builder->changed);
    g_free(builder->max_stamp);
    g_free(builder->group_max_stamp);
    ul_fields_clear(&builder->user_fields);
    ul_fields_clear(&builder->group_fields);
    g_free(builder);
}

guint ul_builder_user_count(const ul_builder *builder)
{
    return builder->users->len;
}

guint ul_builder_group_count(const ul_builder *builder)
{
    return builder->groups->len;
}

/* ---- memberships ------------------------------------------------------------------ */

static gboolean ul_from_members(const ul_map *map)
{
    return map->member_of == NULL || *map->member_of == '\0';
}

/* The nesting of `groups`: from their memberOf (parents), or from their
 * member lists where a member is itself one of the groups. Without
 * nested_groups an empty graph: direct memberships only. */
static ul_graph *ul_graph_of(const ul_map *map, GPtrArray *groups)
{
    ul_graph *graph = ul_graph_new();
    if (!map->nested_groups)
        return graph;
    GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint g = 0; g < groups->len; g++)
        g_hash_table_add(ids, ((ul_group *)g_ptr_array_index(groups, g))->id);
    for (guint g = 0; g < groups->len; g++) {
        ul_group *group = g_ptr_array_index(groups, g);
        for (guint p = 0; p < group->parents->len; p++)
            if (g_ptr_array_index(group->parents, p) != NULL)
                ul_graph_add_edge(graph, group->id, g_ptr_array_index(group->parents, p));
        for (guint m = 0; m < group->members->len; m++) {
            const char *member = g_ptr_array_index(group->members, m);
            if (member != NULL && g_hash_table_contains(ids, member))
                ul_graph_add_edge(graph, member, group->id);
        }
    }
    g_hash_table_unref(ids);
    return graph;
}

/* DN key -> GPtrArray of the keys of the groups whose member lists name it
 * (pointers into `groups`). */
static GHashTable *ul_member_index(GPtrArray *groups)
{
    GHashTable *index =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
    for (guint g = 0; g < groups->len; g++) {
        ul_group *group = g_ptr_array_index(groups, g);
        for (guint m = 0; m < group->members->len; m++) {
            char *member = g_ptr_array_index(group->members, m);
            if (member == NULL)
                continue;
            GPtrArray *of = g_hash_table_lookup(index, member);
            if (of == NULL) {
                of = g_ptr_array_new();
                g_hash_table_insert(index, member, of);
            }
            if (!ul_contains(of, group->id))
                g_ptr_array_add(of, group->id);
        }
    }
    return index;
}

static void ul_strings_into(GPtrArray *from, GPtrArray *out)
{
    for (guint i = 0; from != NULL && i < from->len; i++)
        if (g_ptr_array_index(from, i) != NULL)
            g_ptr_array_add(out, g_strdup(g_ptr_array_index(from, i)));
}

static gboolean ul_same_strings(GPtrArray *a, GPtrArray *b)
{
    guint la = a->len, lb = b->len;
    if (la > 0 && g_ptr_array_index(a, la - 1) == NULL)
        la--;
    if (lb > 0 && g_ptr_array_index(b, lb - 1) == NULL)
        lb--;
    if (la != lb)
        return FALSE;
    for (guint i = 0; i < la; i++)
        if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0)
            return FALSE;
    return TRUE;
}

/* `user` (just read, not shared yet) gets its expanded groups and is sealed. */
static void ul_user_expand(ul_user *user, ul_graph *graph)
{
    g_ptr_array_set_size(user->groups, 0);
    ul_seal(user->direct);
    ul_graph_expand(graph, user->direct, user->groups);
    ul_seal(user->numbers);
    ul_seal(user->groups);
}

static ul_user *ul_user_copy(const ul_user *user)
{
    ul_user *copy = ul_user_new();
    char **to[] = {&copy->dn,           &copy->dn_key,     &copy->id,         &copy->login,
                   &copy->display_name, &copy->given_name, &copy->surname,    &copy->email,
                   &copy->department,   &copy->title,      &copy->home_value, &copy->home_server,
                   &copy->stamp};
    char *const from[] = {user->dn,           user->dn_key,     user->id,         user->login,
                          user->display_name, user->given_name, user->surname,    user->email,
                          user->department,   user->title,      user->home_value, user->home_server,
                          user->stamp};
    G_STATIC_ASSERT(G_N_ELEMENTS(to) == G_N_ELEMENTS(from));
    for (gsize i = 0; i < G_N_ELEMENTS(to); i++)
        *to[i] = g_strdup(from[i]);
    copy->enabled = user->enabled;
    ul_strings_into(user->numbers, copy->numbers);
    ul_seal(copy->numbers);
    return copy;
}

/* ---- sets ------------------------------------------------------------------------ */

static ul_set *ul_set_new(void)
{
    ul_set *set = g_new0(ul_set, 1);
    set->refs = 1;
    set->users = g_ptr_array_new_with_free_func(ul_user_unref);
    set->groups = g_ptr_array_new_with_free_func(ul_group_unref);
    g_mutex_init(&set->lock);
    return set;
}

ul_set *ul_builder_finish(ul_builder *builder)
{
    GHashTable *index = ul_from_members(builder->map) ? ul_member_index(builder->groups) : NULL;
    ul_graph *graph = ul_graph_of(builder->map, builder->groups);
    ul_set *set = ul_set_new();
    for (guint i = 0; i < builder->users->len; i++) {
        ul_user *user = g_ptr_array_index(builder->users, i);
        if (index != NULL)
            ul_strings_into(g_hash_table_lookup(index, user->dn_key), user->direct);
        ul_user_expand(user, graph);
        g_ptr_array_add(set->users, g_atomic_rc_box_acquire(user));
    }
    if (index != NULL)
        g_hash_table_unref(index);
    ul_graph_free(graph);
    g_ptr_array_unref(set->groups);
    set->groups = g_steal_pointer(&builder->groups);
    builder->groups = g_ptr_array_new();
    set->max_stamp = g_steal_pointer(&builder->max_stamp);
    set->group_max_stamp = g_steal_pointer(&builder->group_max_stamp);
    ul_builder_free(builder);
    return set;
}

/* The groups of an incremental sync: `base`'s, with those read again
 * replacing theirs; with memberships from memberOf, the parents of groups
 * whose membership in a changed group came or went follow. */
static GPtrArray *ul_merge_groups(ul_builder *builder, const ul_set *base)
{
    GPtrArray *groups = g_ptr_array_new_full(base->groups->len, ul_group_unref);
    GHashTable *position = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint g = 0; g < base->groups->len; g++) {
        ul_group *group = g_ptr_array_index(base->groups, g);
        g_hash_table_insert(position, group->id, GUINT_TO_POINTER(groups->len + 1));
        g_ptr_array_add(groups, g_atomic_rc_box_acquire(group));
    }
    for (guint g = 0; g < builder->groups->len; g++) {
        ul_group *group = g_atomic_rc_box_acquire(g_ptr_array_index(builder->groups, g));
        guint at = GPOINTER_TO_UINT(g_hash_table_lookup(position, group->id));
        if (at > 0) {
            ul_group_unref(g_ptr_array_index(groups, at - 1));
            groups->pdata[at - 1] = group;
        } else {
            g_ptr_array_add(groups, group);
        }
    }
    g_hash_table_unref(position);
    if (ul_from_members(builder->map))
        return groups; /* the member lists read are the nesting */
    GHashTableIter iter;
    gpointer key, members;
    for (guint g = 0; g < groups->len; g++) {
        ul_group *group = g_ptr_array_index(groups, g);
        GPtrArray *parents = NULL;
        g_hash_table_iter_init(&iter, builder->changed);
        while (g_hash_table_iter_next(&iter, &key, &members)) {
            gboolean was = ul_contains(group->parents, key);
            gboolean is = g_hash_table_contains(members, group->id);
            if (was == is)
                continue;
            if (parents == NULL) {
                parents = g_ptr_array_new_with_free_func(g_free);
                ul_strings_into(group->parents, parents);
            }
            if (is) {
                g_ptr_array_add(parents, g_strdup(key));
            } else {
                for (guint p = 0; p < parents->len; p++)
                    if (strcmp(g_ptr_array_index(parents, p), key) == 0)
                        g_ptr_array_remove_index(parents, p--);
            }
        }
        if (parents == NULL)
            continue;
        ul_group *copy = ul_group_new();
        copy->id = g_strdup(group->id);
        copy->name = g_strdup(group->name);
        copy->description = g_strdup(group->description);
        copy->stamp = g_strdup(group->stamp);
        ul_strings_into(group->members, copy->members);
        ul_seal(copy->members);
        g_ptr_array_unref(copy->parents);
        copy->parents = parents;
        ul_seal(copy->parents);
        ul_group_unref(group);
        groups->pdata[g] = copy;
    }
    return groups;
}

/* A user's direct groups after an incremental sync that saw group changes:
 * from the member lists (`index`), or `direct` with the changed groups'
 * current members applied. */
static GPtrArray *ul_merge_direct(ul_builder *builder, const char *dn_key, GPtrArray *direct,
                                  GHashTable *index)
{
    GPtrArray *result = g_ptr_array_new_with_free_func(g_free);
    if (index != NULL) {
        ul_strings_into(g_hash_table_lookup(index, dn_key), result);
        return result;
    }
    ul_strings_into(direct, result);
    GHashTableIter iter;
    gpointer key, members;
    g_hash_table_iter_init(&iter, builder->changed);
    while (g_hash_table_iter_next(&iter, &key, &members)) {
        gboolean was = ul_contains(result, key);
        gboolean is = g_hash_table_contains(members, dn_key);
        if (is && !was)
            g_ptr_array_add(result, g_strdup(key));
        for (guint p = 0; !is && was && p < result->len; p++)
            if (strcmp(g_ptr_array_index(result, p), key) == 0)
                g_ptr_array_remove_index(result, p--);
    }
    return result;
}

static gboolean ul_group_equal(const ul_group *a, const ul_group *b)
{
    return g_strcmp0(a->name, b->name) == 0 && g_strcmp0(a->description, b->description) == 0 &&
           g_strcmp0(a->stamp, b->stamp) == 0 && ul_same_strings(a->members, b->members) &&
           ul_same_strings(a->parents, b->parents);
}

GPtrArray *ul_builder_changed_groups(ul_builder *builder, const ul_set *base)
{
    GHashTable *before = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint g = 0; g < base->groups->len; g++) {
        ul_group *group = g_ptr_array_index(base->groups, g);
        g_hash_table_insert(before, group->id, group);
    }
    GPtrArray *changed = g_ptr_array_new_with_free_func(g_free);
    for (guint g = 0; g < builder->groups->len; g++) {
        ul_group *group = g_ptr_array_index(builder->groups, g);
        ul_group *old = g_hash_table_lookup(before, group->id);
        if (old != NULL && ul_group_equal(group, old)) {
            g_ptr_array_remove_index(builder->groups, g--);
            continue;
        }
        g_ptr_array_add(changed, g_strdup(group->id));
    }
    g_hash_table_unref(before);
    return changed;
}

ul_set *ul_builder_merge(ul_builder *builder, const ul_set *base)
{
    const ul_map *map = builder->map;
    gboolean groups_changed = builder->groups->len > 0 || g_hash_table_size(builder->changed) > 0;
    if (builder->users->len == 0 && !groups_changed) {
        /* Nothing changed: the same set (the caller need not publish it). */
        ul_builder_free(builder);
        return ul_set_ref((ul_set *)base);
    }
    ul_set *set = ul_set_new();
    g_ptr_array_unref(set->groups);
    set->groups = groups_changed ? ul_merge_groups(builder, base) : g_ptr_array_ref(base->groups);
    ul_graph *graph = ul_graph_of(map, set->groups);
    /* Member lists are the memberships: re-read users keep theirs, unless
     * the groups changed. */
    GHashTable *index = ul_from_members(map) && (groups_changed || builder->users->len > 0)
                            ? ul_member_index(set->groups)
                            : NULL;
    GHashTable *merged = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < base->users->len; i++) {
        ul_user *user = g_ptr_array_index(base->users, i);
        ul_user *read =
            builder->users->len > 0 ? g_hash_table_lookup(builder->by_id, user->id) : NULL;
        if (read == NULL && !groups_changed) {
            g_ptr_array_add(set->users, g_atomic_rc_box_acquire(user));
            continue;
        }
        ul_user *next = read != NULL ? read : ul_user_copy(user);
        GPtrArray *direct =
            ul_merge_direct(builder, next->dn_key,
                            read != NULL && !ul_from_members(map) ? read->direct : user->direct,
                            groups_changed ? index : NULL);
        g_ptr_array_unref(next->direct);
        next->direct = direct;
        ul_user_expand(next, graph);
        if (read != NULL) {
            g_hash_table_add(merged, read->id);
            g_ptr_array_add(set->users, g_atomic_rc_box_acquire(read));
        } else if (ul_same_strings(next->groups, user->groups) &&
                   ul_same_strings(next->direct, user->direct)) {
            ul_user_unref(next);
            g_ptr_array_add(set->users, g_atomic_rc_box_acquire(user));
        } else {
            g_ptr_array_add(set->users, next);
        }
    }
    /* Users new to the set. */
    for (guint i = 0; i < builder->users->len; i++) {
        ul_user *user = g_ptr_array_index(builder->users, i);
        if (g_hash_table_contains(merged, user->id))
            continue;
        GPtrArray *direct = ul_merge_direct(builder, user->dn_key, user->direct, index);
        g_ptr_array_unref(user->direct);
        user->direct = direct;
        ul_user_expand(user, graph);
        g_ptr_array_add(set->users, g_atomic_rc_box_acquire(user));
    }
    g_hash_table_unref(merged);
    if (index != NULL)
        g_hash_table_unref(index);
    ul_graph_free(graph);
    set->max_stamp = g_strdup(base->max_stamp);
    ul_note_stamp(&set->max_stamp, builder->max_stamp);
    set->group_max_stamp = g_strdup(base->group_max_stamp);
    ul_note_stamp(&set->group_max_stamp, builder->group_max_stamp);
    ul_builder_free(builder);
    return set;
}

ul_set *ul_set_ref(ul_set *set)
{
    if (set != NULL)
        g_atomic_int_inc(&set->refs);
    return set;
}

void ul_set_unref(ul_set *set)
{
    if (set == NULL || !g_atomic_int_dec_and_test(&set->refs))
        return;
    if (set->by_id != NULL)
        g_hash_table_unref(set->by_id);
    g_ptr_array_unref(set->users);
    g_ptr_array_unref(set->groups);
    g_free(set->max_stamp);
    g_free(set->group_max_stamp);
    g_mutex_clear(&set->lock);
    g_free(set);
}

guint ul_set_user_count(const ul_set *set)
{
    return set != NULL ? set->users->len : 0;
}

guint ul_set_group_count(const ul_set *set)
{
    return set != NULL ? set->groups->len : 0;
}

const char *ul_set_max_stamp(const ul_set *set)
{
    return set != NULL ? set->max_stamp : NULL;
}

const char *ul_set_group_max_stamp(const ul_set *set)
{
    return set != NULL ? set->group_max_stamp : NULL;
}

static const ul_user *ul_set_find(const ul_set *set, const char *id)
{
    if (set == NULL || id == NULL)
        return NULL;
    ul_set *mutable_set = (ul_set *)set; /* the index is a cache, not content */
    g_mutex_lock(&mutable_set->lock);
    if (mutable_set->by_id == NULL) {
        mutable_set->by_id = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < set->users->len; i++) {
            ul_user *user = g_ptr_array_index(set->users, i);
            g_hash_table_insert(mutable_set->by_id, user->id, user);
        }
    }
    const ul_user *user = g_hash_table_lookup(mutable_set->by_id, id);
    g_mutex_unlock(&mutable_set->lock);
    return user;
}

const char *ul_set_user_dn(const ul_set *set, const char *id)
{
    const ul_user *user = ul_set_find(set, id);
    return user != NULL ? user->dn : NULL;
}

const char *ul_set_user_home_value(const ul_set *set, const char *id)
{
    const ul_user *user = ul_set_find(set, id);
    return user != NULL ? user->home_value : NULL;
}

int ul_set_foreach_user(const ul_set *set, ucd_user_cb cb, void *user_data)
{
    for (guint i = 0; i < set->users->len; i++) {
        const ul_user *u = g_ptr_array_index(set->users, i);
        const ucd_user record = {
            .struct_size = sizeof(record),
            .enabled = u->enabled ? 1 : 0,
            .id = u->id,
            .login = u->login,
            .display_name = u->display_name,
            .given_name = u->given_name,
            .surname = u->surname,
            .email = u->email,
            .department = u->department,
            .title = u->title,
            .home_server = u->home_server,
            .numbers = (const char *const *)u->numbers->pdata,
            .groups = (const char *const *)u->groups->pdata,
            .lines = NULL,
        };
        int stop = cb(&record, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

int ul_set_foreach_group(const ul_set *set, ucd_group_cb cb, void *user_data)
{
    for (guint i = 0; i < set->groups->len; i++) {
        const ul_group *g = g_ptr_array_index(set->groups, i);
        const ucd_group record = {
            .struct_size = sizeof(record),
            .id = g->id,
            .name = g->name,
            .description = g->description,
            .leaders = NULL,
        };
        int stop = cb(&record, user_data);
        if (stop != 0)
            return stop;
    }
    return 0;
}

/* ---- the cache --------------------------------------------------------------------- */

/* The cache is built from values, not with format strings: the per-call
 * parsing of g_variant_builder_add formats was most of its cost. */
static GVariant *ul_strv_variant(GPtrArray *array)
{
    gssize length = (gssize)array->len;
    if (length > 0 && g_ptr_array_index(array, length - 1) == NULL)
        length--; /* the NULL that seals the array */
    return g_variant_new_strv((const char *const *)array->pdata, length);
}

static GVariant *ul_maybe_string(const char *text)
{
    return g_variant_new_maybe(G_VARIANT_TYPE_STRING,
                               text != NULL ? g_variant_new_string(text) : NULL);
}

static GVariant *ul_user_variant(const ul_user *u)
{
    GVariant *fields[] = {
        g_variant_new_string(u->dn),       g_variant_new_string(u->id),
        g_variant_new_string(u->login),    ul_maybe_string(u->display_name),
        ul_maybe_string(u->given_name),    ul_maybe_string(u->surname),
        ul_maybe_string(u->email),         ul_maybe_string(u->department),
        ul_maybe_string(u->title),         ul_maybe_string(u->home_value),
        ul_maybe_string(u->home_server),   ul_maybe_string(u->stamp),
        g_variant_new_boolean(u->enabled), ul_strv_variant(u->numbers),
        ul_strv_variant(u->direct),        ul_strv_variant(u->groups),
    };
    return g_variant_new_tuple(fields, G_N_ELEMENTS(fields));
}

static GVariant *ul_group_variant(const ul_group *g)
{
    GVariant *fields[] = {g_variant_new_string(g->id),     g_variant_new_string(g->name),
                          ul_maybe_string(g->description), ul_maybe_string(g->stamp),
                          ul_strv_variant(g->members),     ul_strv_variant(g->parents)};
    return g_variant_new_tuple(fields, G_N_ELEMENTS(fields));
}

/* The record of `users` and `groups` (arrays of ul_user / ul_group) as the
 * cache stores it: a snapshot holds the whole set, a delta what changed. */
static GBytes *ul_record_bytes(const ul_set *set, guint64 generation, GPtrArray *users,
                               GPtrArray *groups)
{
    GVariant **user_values = g_new(GVariant *, users->len + 1);
    for (guint i = 0; i < users->len; i++)
        user_values[i] = ul_user_variant(g_ptr_array_index(users, i));
    GVariant **group_values = g_new(GVariant *, groups->len + 1);
    for (guint i = 0; i < groups->len; i++)
        group_values[i] = ul_group_variant(g_ptr_array_index(groups, i));
    GVariant *fields[] = {
        g_variant_new_uint32(UL_CACHE_VERSION),
        g_variant_new_uint64(generation),
        ul_maybe_string(set->max_stamp),
        ul_maybe_string(set->group_max_stamp),
        g_variant_new_array(G_VARIANT_TYPE(UL_USER_TUPLE), user_values, users->len),
        g_variant_new_array(G_VARIANT_TYPE(UL_GROUP_TUPLE), group_values, groups->len),
    };
    g_free(user_values);
    g_free(group_values);
    GVariant *record = g_variant_ref_sink(g_variant_new_tuple(fields, G_N_ELEMENTS(fields)));
    g_assert(g_variant_is_of_type(record, G_VARIANT_TYPE(UL_CACHE_TYPE)));
    GBytes *bytes = g_variant_get_data_as_bytes(record);
    g_variant_unref(record);
    return bytes;
}

GBytes *ul_set_snapshot(const ul_set *set, guint64 generation)
{
    return ul_record_bytes(set, generation, set->users, set->groups);
}

GBytes *ul_set_delta(const ul_set *from, const ul_set *to, guint64 generation, guint *users)
{
    /* An incremental sync keeps the order of the set it started from, shares
     * the records it did not change and appends new users: a pointer that
     * differs at the same place is a changed user. Anything else (fewer
     * users, another id at a place, a group gone) is not a delta. */
    if (to->users->len < from->users->len || to->groups->len < from->groups->len)
        return NULL;
    GPtrArray *changed = g_ptr_array_new();
    for (guint i = 0; i < to->users->len; i++) {
        const ul_user *next = g_ptr_array_index(to->users, i);
        const ul_user *old = i < from->users->len ? g_ptr_array_index(from->users, i) : NULL;
        if (next == old)
            continue;
        if (old != NULL && strcmp(old->id, next->id) != 0) {
            g_ptr_array_unref(changed);
            return NULL;
        }
        g_ptr_array_add(changed, (gpointer)next);
    }
    GHashTable *old_groups = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < from->groups->len; i++) {
        const ul_group *g = g_ptr_array_index(from->groups, i);
        g_hash_table_insert(old_groups, g->id, (gpointer)g);
    }
    GPtrArray *changed_groups = g_ptr_array_new();
    guint kept = 0;
    for (guint i = 0; i < to->groups->len; i++) {
        const ul_group *g = g_ptr_array_index(to->groups, i);
        const ul_group *old = g_hash_table_lookup(old_groups, g->id);
        kept += old != NULL ? 1 : 0;
        if (old != g)
            g_ptr_array_add(changed_groups, (gpointer)g);
    }
    g_hash_table_unref(old_groups);
    GBytes *bytes = NULL;
    if (kept == from->groups->len) /* no group gone */
        bytes = ul_record_bytes(to, generation, changed, changed_groups);
    *users = changed->len;
    g_ptr_array_unref(changed);
    g_ptr_array_unref(changed_groups);
    return bytes;
}

static void ul_strv_into(GVariant *strv, GPtrArray *out)
{
    GVariantIter iter;
    const char *item;
    g_variant_iter_init(&iter, strv);
    while (g_variant_iter_next(&iter, "&s", &item))
        g_ptr_array_add(out, g_strdup(item));
    ul_seal(out);
}

static ul_user *ul_user_from_variant(GVariant *tuple)
{
    ul_user *u = ul_user_new();
    GVariant *numbers = NULL, *direct = NULL, *groups = NULL;
    g_variant_get(tuple, UL_USER_ARGS, &u->dn, &u->id, &u->login, &u->display_name, &u->given_name,
                  &u->surname, &u->email, &u->department, &u->title, &u->home_value,
                  &u->home_server, &u->stamp, &u->enabled, &numbers, &direct, &groups);
    u->dn_key = ul_dn_key(u->dn);
    ul_strv_into(numbers, u->numbers);
    ul_strv_into(direct, u->direct);
    ul_strv_into(groups, u->groups);
    g_variant_unref(numbers);
    g_variant_unref(direct);
    g_variant_unref(groups);
    return u;
}

static ul_group *ul_group_from_variant(GVariant *tuple)
{
    ul_group *g = ul_group_new();
    GVariant *members = NULL, *parents = NULL;
    g_variant_get(tuple, UL_GROUP_ARGS, &g->id, &g->name, &g->description, &g->stamp, &members,
                  &parents);
    ul_strv_into(members, g->members);
    ul_strv_into(parents, g->parents);
    g_variant_unref(members);
    g_variant_unref(parents);
    return g;
}

/* A record in normal form (the file is input like any other: normal form
 * makes every access safe); NULL with `*error` when it is not of this
 * version. */
static GVariant *ul_record_open(GBytes *bytes, guint64 *generation, GError **error)
{
    GVariant *raw = g_variant_new_from_bytes(G_VARIANT_TYPE(UL_CACHE_TYPE), bytes, FALSE);
    GVariant *record = g_variant_get_normal_form(raw);
    g_variant_unref(raw);
    guint32 version = 0;
    g_variant_get_child(record, 0, "u", &version);
    if (version != UL_CACHE_VERSION) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cache version %u, not %u", version,
                    UL_CACHE_VERSION);
        g_variant_unref(record);
        return NULL;
    }
    g_variant_get_child(record, 1, "t", generation);
    return record;
}

ul_set *ul_set_from_snapshot(GBytes *bytes, guint64 *generation, GError **error)
{
    GVariant *cache = ul_record_open(bytes, generation, error);
    if (cache == NULL)
        return NULL;
    ul_set *set = ul_set_new();
    g_variant_get_child(cache, 2, "ms", &set->max_stamp);
    g_variant_get_child(cache, 3, "ms", &set->group_max_stamp);
    GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
    GVariant *users = g_variant_get_child_value(cache, 4);
    for (gsize i = 0; i < g_variant_n_children(users); i++) {
        GVariant *tuple = g_variant_get_child_value(users, i);
        ul_user *user = ul_user_from_variant(tuple);
        g_variant_unref(tuple);
        if (*user->id == '\0' || !g_hash_table_add(ids, user->id)) {
            ul_user_unref(user);
        } else {
            ul_seal(user->numbers);
            g_ptr_array_add(set->users, user);
        }
    }
    g_hash_table_unref(ids);
    g_variant_unref(users);
    GVariant *groups = g_variant_get_child_value(cache, 5);
    for (gsize i = 0; i < g_variant_n_children(groups); i++) {
        GVariant *tuple = g_variant_get_child_value(groups, i);
        g_ptr_array_add(set->groups, ul_group_from_variant(tuple));
        g_variant_unref(tuple);
    }
    g_variant_unref(groups);
    g_variant_unref(cache);
    return set;
}

/* Where each id of `array` (users or groups: both start with their id) is. */
static GHashTable *ul_positions(GPtrArray *array, gsize id_offset)
{
    GHashTable *at = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < array->len; i++)
        g_hash_table_insert(at, G_STRUCT_MEMBER(char *, g_ptr_array_index(array, i), id_offset),
                            GUINT_TO_POINTER(i + 1));
    return at;
}

gboolean ul_set_apply_delta(ul_set *set, GBytes *bytes, guint64 generation, guint *users,
                            gboolean *stale, GError **error)
{
    *stale = FALSE;
    *users = 0;
    guint64 of = 0;
    GVariant *delta = ul_record_open(bytes, &of, error);
    if (delta == NULL)
        return FALSE;
    if (of != generation) {
        *stale = TRUE;
        g_variant_unref(delta);
        return FALSE;
    }
    g_free(set->max_stamp);
    g_free(set->group_max_stamp);
    g_variant_get_child(delta, 2, "ms", &set->max_stamp);
    g_variant_get_child(delta, 3, "ms", &set->group_max_stamp);
    GHashTable *at = ul_positions(set->users, G_STRUCT_OFFSET(ul_user, id));
    GVariant *changed = g_variant_get_child_value(delta, 4);
    *users = (guint)g_variant_n_children(changed);
    for (gsize i = 0; i < g_variant_n_children(changed); i++) {
        GVariant *tuple = g_variant_get_child_value(changed, i);
        ul_user *user = ul_user_from_variant(tuple);
        g_variant_unref(tuple);
        ul_seal(user->numbers);
        guint place = GPOINTER_TO_UINT(g_hash_table_lookup(at, user->id));
        if (*user->id == '\0') {
            ul_user_unref(user);
        } else if (place > 0) {
            g_hash_table_remove(at, user->id); /* its key is the record it replaces */
            ul_user_unref(g_ptr_array_index(set->users, place - 1));
            g_ptr_array_index(set->users, place - 1) = user;
            g_hash_table_insert(at, user->id, GUINT_TO_POINTER(place));
        } else {
            g_ptr_array_add(set->users, user);
            g_hash_table_insert(at, user->id, GUINT_TO_POINTER(set->users->len));
        }
    }
    g_hash_table_unref(at);
    g_variant_unref(changed);
    at = ul_positions(set->groups, G_STRUCT_OFFSET(ul_group, id));
    changed = g_variant_get_child_value(delta, 5);
    for (gsize i = 0; i < g_variant_n_children(changed); i++) {
        GVariant *tuple = g_variant_get_child_value(changed, i);
        ul_group *group = ul_group_from_variant(tuple);
        g_variant_unref(tuple);
        guint place = GPOINTER_TO_UINT(g_hash_table_lookup(at, group->id));
        if (place > 0) {
            g_hash_table_remove(at, group->id);
            ul_group_unref(g_ptr_array_index(set->groups, place - 1));
            g_ptr_array_index(set->groups, place - 1) = group;
            g_hash_table_insert(at, group->id, GUINT_TO_POINTER(place));
        } else {
            g_ptr_array_add(set->groups, group);
            g_hash_table_insert(at, group->id, GUINT_TO_POINTER(set->groups->len));
        }
    }
    g_hash_table_unref(at);
    g_variant_unref(changed);
    g_variant_unref(delta);
    return TRUE;
}

char **ul_map_user_attributes(const ul_map *map)
{
    GPtrArray *attrs = g_ptr_array_new();
    const char *single[] = {
        map->id,        map->login,           map->display_name, map->given_name,
        map->surname,   map->email,           map->department,   map->title,
        map->member_of, map->account_control, map->change,       map->home_server};
    for (gsize i = 0; i < G_N_ELEMENTS(single); i++)
        if (single[i] != NULL && *single[i] != '\0')
            g_ptr_array_add(attrs, g_strdup(single[i]));
    for (char **n = map->numbers; n != NULL && *n != NULL; n++)
        g_ptr_array_add(attrs, g_strdup(*n));
    g_ptr_array_add(attrs, NULL);
    return (char **)g_ptr_array_free(attrs, FALSE);
}
