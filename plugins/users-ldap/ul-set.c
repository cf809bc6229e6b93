/*
 * ul-set.c - user sets built from LDAP entries, and their cache (ul-set.h).
 *
 * Directory data is input from outside: every value is checked before it
 * becomes part of a record (valid UTF-8, no longer than max_value_length,
 * one value where one is expected), and what is left out is reported with
 * the entry's DN and the reason, never silently.
 */
#include <stdint.h>
#include <string.h>

#include "ul-set.h"

#define UL_CACHE_VERSION 1u
#define UL_USER_TUPLE    "(sssmsmsmsmsmsmsmsmsmsbasas)"
#define UL_GROUP_TUPLE   "(ssmsas)"
#define UL_CACHE_TYPE                                                                              \
    "(ums"                                                                                         \
    "a" UL_USER_TUPLE "a" UL_GROUP_TUPLE ")"
/* The same tuples as g_variant_new/get formats: lists as GVariant values. */
#define UL_USER_ARGS  "(sssmsmsmsmsmsmsmsmsmsb@as@as)"
#define UL_GROUP_ARGS "(ssms@as)"

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
    GPtrArray *groups;
} ul_user;

typedef struct ul_group {
    char *id; /* the group's DN in lower case: what memberOf values name */
    char *name;
    char *description;
    GPtrArray *members; /* char *: DN keys; NULL-terminated once sealed */
} ul_group;

struct ul_set {
    gint refs;
    GPtrArray *users;  /* ul_user *, each a reference */
    GHashTable *by_id; /* id -> ul_user * */
    GPtrArray *groups; /* ul_group * */
    char *max_stamp;
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
    g_ptr_array_unref(user->groups);
}

static ul_user *ul_user_new(void)
{
    ul_user *user = g_atomic_rc_box_new0(ul_user);
    user->numbers = g_ptr_array_new_with_free_func(g_free);
    user->groups = g_ptr_array_new_with_free_func(g_free);
    return user;
}

static void ul_user_unref(gpointer user)
{
    g_atomic_rc_box_release_full(user, (GDestroyNotify)ul_user_clear);
}

static void ul_group_free(gpointer data)
{
    ul_group *group = data;
    g_free(group->id);
    g_free(group->name);
    g_free(group->description);
    g_ptr_array_unref(group->members);
    g_free(group);
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

/* Groups: name, description, members. */
enum { UL_G_NAME, UL_G_DESCRIPTION, UL_G_MEMBERS, UL_G_COUNT };

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
    gboolean here = user->home_server == NULL
                        ? map->unhomed_enabled
                        : g_ascii_strcasecmp(user->home_server, map->server_name) == 0;
    user->enabled = !disabled && here;
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
    ul_multi(builder, dn, map->member_of, values[UL_F_MEMBER_OF], TRUE, user->groups);
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
                          const char *name_attribute, const char *member_attribute)
{
    ul_fields *fields = &builder->group_fields;
    const char *names[UL_G_COUNT] = {name_attribute, "description", member_attribute};
    if (fields->count == 0 || g_strcmp0(fields->names[UL_G_NAME], names[UL_G_NAME]) != 0 ||
        g_strcmp0(fields->names[UL_G_MEMBERS], names[UL_G_MEMBERS]) != 0) {
        ul_fields_clear(fields);
        ul_fields_init(fields, names, UL_G_COUNT);
    }
    struct berval dn_value = {0, NULL};
    if (!ul_fields_read(fields, ld, entry, &dn_value) || dn_value.bv_val == NULL) {
        ul_fields_release(fields);
        return;
    }
    char *dn = g_strndup(dn_value.bv_val, dn_value.bv_len);
    ul_group *group = g_new0(ul_group, 1);
    group->id = ul_dn_key(dn);
    group->members = g_ptr_array_new_with_free_func(g_free);
    group->name = ul_single(builder, dn, name_attribute, fields->values[UL_G_NAME]);
    if (group->name == NULL)
        group->name = g_strdup(dn);
    group->description = ul_single(builder, dn, "description", fields->values[UL_G_DESCRIPTION]);
    ul_multi(builder, dn, member_attribute, fields->values[UL_G_MEMBERS], TRUE, group->members);
    ul_fields_release(fields);
    g_free(dn);
    g_ptr_array_add(builder->groups, group);
}

void ul_builder_add_membership(ul_builder *builder, const char *user_dn, const char *group_dn)
{
    char *key = ul_dn_key(user_dn);
    ul_user *user = g_hash_table_lookup(builder->by_dn_key, key);
    g_free(key);
    char *group_key = ul_dn_key(group_dn);
    if (user != NULL && !ul_contains(user->groups, group_key))
        g_ptr_array_add(user->groups, group_key);
    else
        g_free(group_key);
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
    builder->groups = g_ptr_array_new_with_free_func(ul_group_free);
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
    if (builder->groups != NULL)
        g_ptr_array_unref(builder->groups);
    g_free(builder->max_stamp);
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

/* ---- sets ------------------------------------------------------------------------ */

static ul_set *ul_set_new(void)
{
    ul_set *set = g_new0(ul_set, 1);
    set->refs = 1;
    set->users = g_ptr_array_new_with_free_func(ul_user_unref);
    set->by_id = g_hash_table_new(g_str_hash, g_str_equal);
    set->groups = g_ptr_array_new_with_free_func(ul_group_free);
    return set;
}

static void ul_set_add(ul_set *set, ul_user *user)
{
    g_ptr_array_add(set->users, user);
    g_hash_table_insert(set->by_id, user->id, user);
}

/* Group objects' member lists become the users' groups. */
static void ul_apply_group_members(ul_builder *builder)
{
    for (guint g = 0; g < builder->groups->len; g++) {
        ul_group *group = g_ptr_array_index(builder->groups, g);
        for (guint m = 0; m < group->members->len; m++) {
            ul_user *user =
                g_hash_table_lookup(builder->by_dn_key, g_ptr_array_index(group->members, m));
            if (user != NULL && !ul_contains(user->groups, group->id))
                g_ptr_array_add(user->groups, g_strdup(group->id));
        }
    }
}

ul_set *ul_builder_finish(ul_builder *builder)
{
    if (builder->map->member_of == NULL || *builder->map->member_of == '\0')
        ul_apply_group_members(builder);
    ul_set *set = ul_set_new();
    for (guint i = 0; i < builder->users->len; i++) {
        ul_user *user = g_ptr_array_index(builder->users, i);
        ul_seal(user->numbers);
        ul_seal(user->groups);
        ul_set_add(set, g_atomic_rc_box_acquire(user));
    }
    for (guint g = 0; g < builder->groups->len; g++)
        ul_seal(((ul_group *)g_ptr_array_index(builder->groups, g))->members);
    g_ptr_array_unref(set->groups);
    set->groups = builder->groups;
    builder->groups = NULL;
    set->max_stamp = g_steal_pointer(&builder->max_stamp);
    ul_builder_free(builder);
    return set;
}

static ul_group *ul_group_copy(const ul_group *group)
{
    ul_group *copy = g_new0(ul_group, 1);
    copy->id = g_strdup(group->id);
    copy->name = g_strdup(group->name);
    copy->description = g_strdup(group->description);
    copy->members = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < group->members->len; i++)
        g_ptr_array_add(copy->members, g_strdup(g_ptr_array_index(group->members, i)));
    return copy;
}

ul_set *ul_builder_merge(ul_builder *builder, const ul_set *base)
{
    ul_set *set = ul_set_new();
    for (guint i = 0; i < base->users->len; i++) {
        ul_user *user = g_ptr_array_index(base->users, i);
        ul_user *changed = g_hash_table_lookup(builder->by_id, user->id);
        if (changed == NULL)
            ul_set_add(set, g_atomic_rc_box_acquire(user));
    }
    for (guint i = 0; i < builder->users->len; i++) {
        ul_user *user = g_ptr_array_index(builder->users, i);
        ul_seal(user->numbers);
        ul_seal(user->groups);
        ul_set_add(set, g_atomic_rc_box_acquire(user));
    }
    for (guint g = 0; g < base->groups->len; g++)
        g_ptr_array_add(set->groups, ul_group_copy(g_ptr_array_index(base->groups, g)));
    set->max_stamp = g_strdup(base->max_stamp);
    ul_note_stamp(&set->max_stamp, builder->max_stamp);
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
    g_hash_table_unref(set->by_id);
    g_ptr_array_unref(set->users);
    g_ptr_array_unref(set->groups);
    g_free(set->max_stamp);
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

const char *ul_set_user_dn(const ul_set *set, const char *id)
{
    const ul_user *user = set != NULL ? g_hash_table_lookup(set->by_id, id) : NULL;
    return user != NULL ? user->dn : NULL;
}

const char *ul_set_user_home_value(const ul_set *set, const char *id)
{
    const ul_user *user = set != NULL ? g_hash_table_lookup(set->by_id, id) : NULL;
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
        ul_strv_variant(u->groups),
    };
    return g_variant_new_tuple(fields, G_N_ELEMENTS(fields));
}

static GVariant *ul_group_variant(const ul_group *g)
{
    GVariant *fields[] = {g_variant_new_string(g->id), g_variant_new_string(g->name),
                          ul_maybe_string(g->description), ul_strv_variant(g->members)};
    return g_variant_new_tuple(fields, G_N_ELEMENTS(fields));
}

gboolean ul_set_save(const ul_set *set, const char *path, GError **error)
{
    GVariant **users = g_new(GVariant *, set->users->len + 1);
    for (guint i = 0; i < set->users->len; i++)
        users[i] = ul_user_variant(g_ptr_array_index(set->users, i));
    GVariant **groups = g_new(GVariant *, set->groups->len + 1);
    for (guint i = 0; i < set->groups->len; i++)
        groups[i] = ul_group_variant(g_ptr_array_index(set->groups, i));
    GVariant *fields[] = {
        g_variant_new_uint32(UL_CACHE_VERSION),
        ul_maybe_string(set->max_stamp),
        g_variant_new_array(G_VARIANT_TYPE(UL_USER_TUPLE), users, set->users->len),
        g_variant_new_array(G_VARIANT_TYPE(UL_GROUP_TUPLE), groups, set->groups->len),
    };
    g_free(users);
    g_free(groups);
    GVariant *cache = g_variant_ref_sink(g_variant_new_tuple(fields, G_N_ELEMENTS(fields)));
    g_assert(g_variant_is_of_type(cache, G_VARIANT_TYPE(UL_CACHE_TYPE)));
    gboolean ok =
        g_file_set_contents_full(path, g_variant_get_data(cache), (gssize)g_variant_get_size(cache),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
    g_variant_unref(cache);
    return ok;
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
    GVariant *numbers = NULL, *groups = NULL;
    g_variant_get(tuple, UL_USER_ARGS, &u->dn, &u->id, &u->login, &u->display_name, &u->given_name,
                  &u->surname, &u->email, &u->department, &u->title, &u->home_value,
                  &u->home_server, &u->stamp, &u->enabled, &numbers, &groups);
    u->dn_key = ul_dn_key(u->dn);
    ul_strv_into(numbers, u->numbers);
    ul_strv_into(groups, u->groups);
    g_variant_unref(numbers);
    g_variant_unref(groups);
    return u;
}

static ul_group *ul_group_from_variant(GVariant *tuple)
{
    ul_group *g = g_new0(ul_group, 1);
    GVariant *members = NULL;
    g->members = g_ptr_array_new_with_free_func(g_free);
    g_variant_get(tuple, UL_GROUP_ARGS, &g->id, &g->name, &g->description, &members);
    ul_strv_into(members, g->members);
    g_variant_unref(members);
    return g;
}

ul_set *ul_set_load(const char *path, GError **error)
{
    char *bytes = NULL;
    gsize size = 0;
    if (!g_file_get_contents(path, &bytes, &size, error))
        return NULL;
    GVariant *raw =
        g_variant_new_from_data(G_VARIANT_TYPE(UL_CACHE_TYPE), bytes, size, FALSE, g_free, bytes);
    /* The file is input like any other: normal form makes every access safe. */
    GVariant *cache = g_variant_get_normal_form(raw);
    g_variant_unref(raw);
    guint32 version = 0;
    g_variant_get_child(cache, 0, "u", &version);
    if (version != UL_CACHE_VERSION) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: cache version %u, not %u", path,
                    version, UL_CACHE_VERSION);
        g_variant_unref(cache);
        return NULL;
    }
    ul_set *set = ul_set_new();
    g_variant_get_child(cache, 1, "ms", &set->max_stamp);
    GVariant *users = g_variant_get_child_value(cache, 2);
    for (gsize i = 0; i < g_variant_n_children(users); i++) {
        GVariant *tuple = g_variant_get_child_value(users, i);
        ul_user *user = ul_user_from_variant(tuple);
        g_variant_unref(tuple);
        if (*user->id == '\0' || g_hash_table_contains(set->by_id, user->id))
            ul_user_unref(user);
        else
            ul_set_add(set, user);
    }
    g_variant_unref(users);
    GVariant *groups = g_variant_get_child_value(cache, 3);
    for (gsize i = 0; i < g_variant_n_children(groups); i++) {
        GVariant *tuple = g_variant_get_child_value(groups, i);
        g_ptr_array_add(set->groups, ul_group_from_variant(tuple));
        g_variant_unref(tuple);
    }
    g_variant_unref(groups);
    g_variant_unref(cache);
    return set;
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
