/*
 * permissions.c - permission levels between users (see permissions.h for the
 * resolution rules, docs/admin/permissions.md for the admin's view).
 *
 * Everything a query needs is a hash lookup: the viewer's groups, membership
 * of the subject in each, and one nested table (subject -> viewer -> rule) per
 * kind of pair rule, so a query allocates nothing.
 */
#include <string.h>

#include "permissions.h"

#define STATE_FILE_NAME "permissions.state"
#define STATE_FILE_MODE 0640

GQuark core_perm_error_quark(void)
{
    return g_quark_from_static_string("core-permissions-error-quark");
}

/* ---- Names ------------------------------------------------------------------ */

static const char *const level_names[] = {"blocked", "public",   "business",
                                          "team",    "personal", NULL};

static const struct {
    const char *name;
    core_perm_level level;
} capabilities[] = {
    [CORE_CAP_SEE_PRESENCE] = {"see_presence", CORE_PERM_PUBLIC},
    [CORE_CAP_SEE_CONTACT] = {"see_contact", CORE_PERM_PUBLIC},
    [CORE_CAP_SEE_CALLS] = {"see_calls", CORE_PERM_BUSINESS},
    [CORE_CAP_SEE_APPOINTMENTS] = {"see_appointments", CORE_PERM_BUSINESS},
    [CORE_CAP_PICKUP] = {"pickup", CORE_PERM_TEAM},
    [CORE_CAP_SET_PRESENCE] = {"set_presence", CORE_PERM_PERSONAL},
    [CORE_CAP_SET_FORWARDING] = {"set_forwarding", CORE_PERM_PERSONAL},
};

static const char *const source_names[] = {
    [CORE_PERM_SRC_DEFAULT] = "default",
    [CORE_PERM_SRC_GROUP] = "group",
    [CORE_PERM_SRC_LEADER] = "leader",
    [CORE_PERM_SRC_ADMIN_PAIR] = "admin",
    [CORE_PERM_SRC_USER_GRANT] = "user",
    [CORE_PERM_SRC_SELF] = "self",
    [CORE_PERM_SRC_UNKNOWN_USER] = "unknown-user",
};

const char *core_perm_level_name(core_perm_level level)
{
    return (unsigned)level <= CORE_PERM_PERSONAL ? level_names[level] : "invalid";
}

gboolean core_perm_level_parse(const char *name, core_perm_level *level)
{
    for (int i = 0; name && level_names[i]; i++) {
        if (g_ascii_strcasecmp(name, level_names[i]) == 0) {
            *level = (core_perm_level)i;
            return TRUE;
        }
    }
    return FALSE;
}

core_perm_level core_perm_cap_level(core_perm_cap cap)
{
    /* An unknown capability needs more than any level gives. */
    return (unsigned)cap < G_N_ELEMENTS(capabilities) ? capabilities[cap].level
                                                      : CORE_PERM_PERSONAL + 1;
}

const char *core_perm_cap_name(core_perm_cap cap)
{
    return (unsigned)cap < G_N_ELEMENTS(capabilities) ? capabilities[cap].name : "invalid";
}

const char *core_perm_source_name(core_perm_source source)
{
    return (unsigned)source < G_N_ELEMENTS(source_names) ? source_names[source] : "invalid";
}

static gboolean is_runtime_kind(core_perm_source kind)
{
    return kind == CORE_PERM_SRC_LEADER || kind == CORE_PERM_SRC_ADMIN_PAIR ||
           kind == CORE_PERM_SRC_USER_GRANT;
}

/* Keys of a hash table sorted by strcmp, so listings and the state file come
 * out in a stable order. Free with g_free (the keys stay the table's). */
static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_keys(GHashTable *table, guint *count)
{
    const char **keys = (const char **)g_hash_table_get_keys_as_array(table, count);

    qsort(keys, *count, sizeof *keys, compare_strings);
    return keys;
}

/* ---- The directory snapshot ------------------------------------------------- */

struct core_perm_directory {
    gint refs;
    GHashTable *user_groups;   /* user id -> set of group ids */
    GHashTable *user_sorted;   /* user id -> GPtrArray of its group ids, sorted */
    GHashTable *group_leaders; /* group id -> set of user ids */
};

static GHashTable *new_string_set(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

core_perm_directory *core_perm_directory_new(void)
{
    core_perm_directory *dir = g_new0(core_perm_directory, 1);

    dir->refs = 1;
    dir->user_groups =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
    dir->user_sorted =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    dir->group_leaders =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
    return dir;
}

core_perm_directory *core_perm_directory_ref(core_perm_directory *dir)
{
    if (dir)
        g_atomic_int_inc(&dir->refs);
    return dir;
}

void core_perm_directory_unref(core_perm_directory *dir)
{
    if (!dir || !g_atomic_int_dec_and_test(&dir->refs))
        return;
    g_hash_table_unref(dir->user_groups);
    g_hash_table_unref(dir->user_sorted);
    g_hash_table_unref(dir->group_leaders);
    g_free(dir);
}

/* The set stored under `key`, created empty when missing. */
static GHashTable *set_in(GHashTable *table, const char *key)
{
    GHashTable *set = g_hash_table_lookup(table, key);

    if (!set) {
        set = new_string_set();
        g_hash_table_insert(table, g_strdup(key), set);
    }
    return set;
}

static void insert_sorted_unique(GPtrArray *array, const char *value)
{
    guint at = 0;

    while (at < array->len && strcmp(g_ptr_array_index(array, at), value) < 0)
        at++;
    if (at < array->len && strcmp(g_ptr_array_index(array, at), value) == 0)
        return;
    g_ptr_array_insert(array, (gint)at, g_strdup(value));
}

void core_perm_directory_add_user(core_perm_directory *dir, const char *user_id,
                                  const char *const *groups)
{
    g_return_if_fail(dir && user_id);
    GHashTable *set = set_in(dir->user_groups, user_id);
    GPtrArray *sorted = g_hash_table_lookup(dir->user_sorted, user_id);

    if (!sorted) {
        sorted = g_ptr_array_new_with_free_func(g_free);
        g_hash_table_insert(dir->user_sorted, g_strdup(user_id), sorted);
    }
    for (size_t i = 0; groups && groups[i]; i++) {
        g_hash_table_add(set, g_strdup(groups[i]));
        insert_sorted_unique(sorted, groups[i]);
        set_in(dir->group_leaders, groups[i]);
    }
}

void core_perm_directory_add_group(core_perm_directory *dir, const char *group_id,
                                   const char *const *leaders)
{
    g_return_if_fail(dir && group_id);
    GHashTable *set = set_in(dir->group_leaders, group_id);

    for (size_t i = 0; leaders && leaders[i]; i++)
        g_hash_table_add(set, g_strdup(leaders[i]));
}

gboolean core_perm_directory_has_user(const core_perm_directory *dir, const char *user_id)
{
    return dir && user_id && g_hash_table_contains(dir->user_groups, user_id);
}

gboolean core_perm_directory_has_group(const core_perm_directory *dir, const char *group_id)
{
    return dir && group_id && g_hash_table_contains(dir->group_leaders, group_id);
}

gboolean core_perm_directory_is_member(const core_perm_directory *dir, const char *user_id,
                                       const char *group_id)
{
    GHashTable *set = dir && user_id ? g_hash_table_lookup(dir->user_groups, user_id) : NULL;

    return set && group_id && g_hash_table_contains(set, group_id);
}

gboolean core_perm_directory_is_leader(const core_perm_directory *dir, const char *user_id,
                                       const char *group_id)
{
    GHashTable *set = dir && group_id ? g_hash_table_lookup(dir->group_leaders, group_id) : NULL;

    return set && user_id && g_hash_table_contains(set, user_id);
}

/* The viewer's groups, sorted (NULL for an unknown user). */
static GPtrArray *directory_groups(const core_perm_directory *dir, const char *user_id)
{
    return dir ? g_hash_table_lookup(dir->user_sorted, user_id) : NULL;
}

/* ---- Configuration ------------------------------------------------------------ */

static const ucd_config_key permission_keys[] = {
    {"default", UCD_CONFIG_STRING, 0, "public",
     "the level every user has on every other: blocked, public, business, team, personal"},
    {"groups", UCD_CONFIG_LIST, 0, NULL,
     "GROUP_ID=LEVEL entries: members of the group see each other at least at LEVEL"},
    {NULL},
};

typedef struct config_level {
    core_perm_level level;
    char *where;
} config_level;

typedef struct perm_config {
    config_level fallback; /* [permissions] default; where NULL when not set */
    GHashTable *groups;    /* group id -> config_level */
} perm_config;

static void config_level_free(gpointer data)
{
    config_level *c = data;

    g_free(c->where);
    g_free(c);
}

static void perm_config_free(perm_config *c)
{
    if (!c)
        return;
    g_free(c->fallback.where);
    g_hash_table_unref(c->groups);
    g_free(c);
}

static void add_error(GPtrArray *errors, const char *where, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void add_error(GPtrArray *errors, const char *where, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(errors, g_strdup_printf("%s: %s", where, msg));
    g_free(msg);
}

static gboolean parse_default(core_section *sec, perm_config *c, GPtrArray *errors)
{
    const char *value = NULL;
    char *where = core_section_where(sec, "default");
    gboolean ok = TRUE;

    core_section_string(sec, "default", &value);
    if (!core_perm_level_parse(value, &c->fallback.level)) {
        char *names = g_strjoinv(", ", (char **)level_names);

        add_error(errors, where, "[permissions] default: '%s' is not one of %s", value, names);
        g_free(names);
        ok = FALSE;
    }
    g_free(where);
    return ok;
}

/* One `groups` entry, "GROUP_ID=LEVEL" with optional blanks around either. */
static gboolean parse_group_entry(const char *entry, const char *where, perm_config *c,
                                  GPtrArray *errors)
{
    char **parts = g_strsplit(entry, "=", 2);
    core_perm_level level;
    gboolean ok = FALSE;

    if (!parts[0] || !parts[1] || !*g_strstrip(parts[0])) {
        add_error(errors, where, "[permissions] groups: '%s' is not GROUP_ID=LEVEL", entry);
    } else if (!core_perm_level_parse(g_strstrip(parts[1]), &level)) {
        char *names = g_strjoinv(", ", (char **)level_names);

        add_error(errors, where, "[permissions] groups: '%s': '%s' is not one of %s", entry,
                  parts[1], names);
        g_free(names);
    } else if (g_hash_table_contains(c->groups, parts[0])) {
        add_error(errors, where, "[permissions] groups: group '%s' is listed twice", parts[0]);
    } else {
        config_level *cl = g_new0(config_level, 1);

        cl->level = level;
        cl->where = g_strdup(where);
        g_hash_table_insert(c->groups, g_strdup(parts[0]), cl);
        ok = TRUE;
    }
    g_strfreev(parts);
    return ok;
}

static gboolean parse_groups(core_section *sec, perm_config *c, GPtrArray *errors)
{
    const char *const *items = NULL;
    size_t count = 0;
    char *where;
    gboolean ok = TRUE;

    if (core_section_list(sec, "groups", &items, &count) != UCD_OK)
        return TRUE;
    where = core_section_where(sec, "groups");
    for (size_t i = 0; i < count; i++)
        ok = parse_group_entry(items[i], where, c, errors) && ok;
    g_free(where);
    return ok;
}

/* The [permissions] section as typed values, or NULL after appending errors. */
static perm_config *perm_config_load(core_config *cfg, GPtrArray *errors)
{
    core_section *sec = core_section_bind(cfg, "permissions", permission_keys,
                                          sizeof(ucd_config_key), NULL, errors);
    perm_config *c;
    gboolean ok;

    if (!sec)
        return NULL;
    c = g_new0(perm_config, 1);
    c->groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, config_level_free);
    ok = parse_default(sec, c, errors);
    ok = parse_groups(sec, c, errors) && ok;
    /* Only a default the file sets has a place; the built-in one has none. */
    c->fallback.where = core_config_where(cfg, "permissions", "default");
    core_section_free(sec);
    if (!ok) {
        perm_config_free(c);
        return NULL;
    }
    return c;
}

int core_permissions_check_config(core_config *cfg, GPtrArray *errors)
{
    guint before = errors->len;

    perm_config_free(perm_config_load(cfg, errors));
    return (int)(errors->len - before);
}

/* ---- Runtime rules --------------------------------------------------------------- */

typedef struct runtime_rule {
    core_perm_level level;
    char *set_by; /* NULL: an admin */
} runtime_rule;

static runtime_rule *runtime_rule_new(core_perm_level level, const char *set_by)
{
    runtime_rule *r = g_new0(runtime_rule, 1);

    r->level = level;
    r->set_by = g_strdup(set_by);
    return r;
}

static void runtime_rule_free(gpointer data)
{
    runtime_rule *r = data;

    if (!r)
        return;
    g_free(r->set_by);
    g_free(r);
}

static GHashTable *new_rule_table(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, runtime_rule_free);
}

static GHashTable *new_pair_table(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                 (GDestroyNotify)g_hash_table_unref);
}

struct core_permissions {
    perm_config *config;
    core_perm_directory *dir;
    GHashTable *leader_rules; /* group id -> runtime_rule */
    GHashTable *admin_pairs;  /* subject -> (viewer -> runtime_rule) */
    GHashTable *user_grants;  /* subject -> (viewer -> runtime_rule) */
    char *state_file;         /* NULL: rules live in memory only */
    core_perm_directory_fn directory_fn;
    void *directory_data;
};

static GHashTable *pair_table(core_permissions *p, core_perm_source kind)
{
    return kind == CORE_PERM_SRC_ADMIN_PAIR ? p->admin_pairs : p->user_grants;
}

/* The runtime rule of `kind` for `target` (group or subject) and `viewer`. */
static runtime_rule *rule_lookup(core_permissions *p, core_perm_source kind, const char *target,
                                 const char *viewer)
{
    GHashTable *viewers;

    if (kind == CORE_PERM_SRC_LEADER)
        return g_hash_table_lookup(p->leader_rules, target);
    viewers = g_hash_table_lookup(pair_table(p, kind), target);
    return viewers ? g_hash_table_lookup(viewers, viewer) : NULL;
}

/* Stores `rule` (taking it), replacing any rule in its place. */
static void rule_insert(core_permissions *p, core_perm_source kind, const char *target,
                        const char *viewer, runtime_rule *rule)
{
    GHashTable *viewers;

    if (kind == CORE_PERM_SRC_LEADER) {
        g_hash_table_replace(p->leader_rules, g_strdup(target), rule);
        return;
    }
    viewers = g_hash_table_lookup(pair_table(p, kind), target);
    if (!viewers) {
        viewers = new_rule_table();
        g_hash_table_insert(pair_table(p, kind), g_strdup(target), viewers);
    }
    g_hash_table_replace(viewers, g_strdup(viewer), rule);
}

static void rule_remove(core_permissions *p, core_perm_source kind, const char *target,
                        const char *viewer)
{
    GHashTable *viewers;

    if (kind == CORE_PERM_SRC_LEADER) {
        g_hash_table_remove(p->leader_rules, target);
        return;
    }
    viewers = g_hash_table_lookup(pair_table(p, kind), target);
    if (viewers && g_hash_table_remove(viewers, viewer) && g_hash_table_size(viewers) == 0)
        g_hash_table_remove(pair_table(p, kind), target);
}

/* ---- Walking the rules ------------------------------------------------------------ */

static core_perm_rule config_rule(core_perm_source source, const char *group,
                                  const config_level *cl)
{
    return (core_perm_rule){
        .source = source, .level = cl->level, .group = group, .where = cl->where};
}

static core_perm_rule runtime_as_rule(core_perm_source kind, const char *target, const char *viewer,
                                      const runtime_rule *r)
{
    core_perm_rule rule = {.source = kind, .level = r->level, .set_by = r->set_by};

    if (kind == CORE_PERM_SRC_LEADER) {
        rule.group = target;
    } else {
        rule.subject = target;
        rule.viewer = viewer;
    }
    return rule;
}

static void foreach_pair_rule(core_permissions *p, core_perm_source kind, core_perm_rule_cb cb,
                              void *user_data)
{
    GHashTable *table = pair_table(p, kind);
    guint n_subjects, n_viewers;
    const char **subjects = sorted_keys(table, &n_subjects);

    for (guint i = 0; i < n_subjects; i++) {
        GHashTable *viewers = g_hash_table_lookup(table, subjects[i]);
        const char **names = sorted_keys(viewers, &n_viewers);

        for (guint j = 0; j < n_viewers; j++) {
            core_perm_rule rule = runtime_as_rule(kind, subjects[i], names[j],
                                                  g_hash_table_lookup(viewers, names[j]));
            cb(&rule, user_data);
        }
        g_free(names);
    }
    g_free(subjects);
}

static void foreach_runtime_rule(core_permissions *p, core_perm_rule_cb cb, void *user_data)
{
    guint count;
    const char **groups = sorted_keys(p->leader_rules, &count);

    for (guint i = 0; i < count; i++) {
        core_perm_rule rule = runtime_as_rule(CORE_PERM_SRC_LEADER, groups[i], NULL,
                                              g_hash_table_lookup(p->leader_rules, groups[i]));
        cb(&rule, user_data);
    }
    g_free(groups);
    foreach_pair_rule(p, CORE_PERM_SRC_ADMIN_PAIR, cb, user_data);
    foreach_pair_rule(p, CORE_PERM_SRC_USER_GRANT, cb, user_data);
}

void core_permissions_foreach_rule(core_permissions *p, core_perm_rule_cb cb, void *user_data)
{
    g_return_if_fail(p && cb);
    core_perm_rule fallback = config_rule(CORE_PERM_SRC_DEFAULT, NULL, &p->config->fallback);
    guint count;
    const char **groups = sorted_keys(p->config->groups, &count);

    cb(&fallback, user_data);
    for (guint i = 0; i < count; i++) {
        core_perm_rule rule = config_rule(CORE_PERM_SRC_GROUP, groups[i],
                                          g_hash_table_lookup(p->config->groups, groups[i]));
        cb(&rule, user_data);
    }
    g_free(groups);
    foreach_runtime_rule(p, cb, user_data);
}

/* ---- Resolution ---------------------------------------------------------------------- */

typedef struct resolution {
    core_perm_level level;
    core_perm_rule decided;
    gboolean any; /* a rule was considered yet */
    core_perm_rule_cb each;
    void *user_data;
} resolution;

/* A later rule decides only when it is strictly higher, so among rules that
 * reach the same level the first in the documented order is named. */
static void consider(resolution *r, const core_perm_rule *rule)
{
    if (r->each)
        r->each(rule, r->user_data);
    if (!r->any || rule->level > r->level) {
        r->level = rule->level;
        r->decided = *rule;
        r->any = TRUE;
    }
}

/* Considers the config level, then the leader rule, of every group that
 * holds both users, in two passes to keep the documented order. */
static void consider_groups(core_permissions *p, resolution *r, const char *viewer,
                            const char *subject)
{
    GPtrArray *groups = directory_groups(p->dir, viewer);

    for (int pass = 0; groups && pass < 2; pass++) {
        for (guint i = 0; i < groups->len; i++) {
            const char *group = g_ptr_array_index(groups, i);
            const config_level *cl;
            const runtime_rule *lr;

            if (!core_perm_directory_is_member(p->dir, subject, group))
                continue;
            if (pass == 0 && (cl = g_hash_table_lookup(p->config->groups, group))) {
                core_perm_rule rule = config_rule(CORE_PERM_SRC_GROUP, group, cl);
                consider(r, &rule);
            } else if (pass == 1 && (lr = g_hash_table_lookup(p->leader_rules, group))) {
                core_perm_rule rule = runtime_as_rule(CORE_PERM_SRC_LEADER, group, NULL, lr);
                consider(r, &rule);
            }
        }
    }
}

/* Considers the pair rule of `kind`; returns it (NULL when there is none). */
static const runtime_rule *consider_pair(core_permissions *p, resolution *r, core_perm_source kind,
                                         const char *viewer, const char *subject)
{
    const runtime_rule *pr = rule_lookup(p, kind, subject, viewer);

    if (pr) {
        core_perm_rule rule = runtime_as_rule(kind, subject, viewer, pr);
        consider(r, &rule);
    }
    return pr;
}

/* Decides at once with a rule that overrides all others. */
static void decide_outright(resolution *r, const core_perm_rule *rule)
{
    r->any = FALSE;
    consider(r, rule);
}

/* Resolves viewer/subject; without user grants this is the admin minimum. */
static void resolve(core_permissions *p, resolution *r, const char *viewer, const char *subject,
                    gboolean with_user_grants)
{
    const runtime_rule *admin = rule_lookup(p, CORE_PERM_SRC_ADMIN_PAIR, subject, viewer);

    if (!core_perm_directory_has_user(p->dir, viewer) ||
        !core_perm_directory_has_user(p->dir, subject)) {
        core_perm_rule rule = {.source = CORE_PERM_SRC_UNKNOWN_USER, .level = CORE_PERM_BLOCKED};
        decide_outright(r, &rule);
    } else if (strcmp(viewer, subject) == 0) {
        core_perm_rule rule = {.source = CORE_PERM_SRC_SELF, .level = CORE_PERM_PERSONAL};
        decide_outright(r, &rule);
    } else if (admin && admin->level == CORE_PERM_BLOCKED) {
        core_perm_rule rule = runtime_as_rule(CORE_PERM_SRC_ADMIN_PAIR, subject, viewer, admin);
        decide_outright(r, &rule);
    } else {
        core_perm_rule fallback = config_rule(CORE_PERM_SRC_DEFAULT, NULL, &p->config->fallback);

        consider(r, &fallback);
        consider_groups(p, r, viewer, subject);
        consider_pair(p, r, CORE_PERM_SRC_ADMIN_PAIR, viewer, subject);
        if (with_user_grants)
            consider_pair(p, r, CORE_PERM_SRC_USER_GRANT, viewer, subject);
    }
}

core_perm_level core_permissions_explain(core_permissions *p, const char *viewer,
                                         const char *subject, core_perm_rule *decided,
                                         core_perm_rule_cb each, void *user_data)
{
    g_return_val_if_fail(p && viewer && subject, CORE_PERM_BLOCKED);
    resolution r = {.each = each, .user_data = user_data};

    resolve(p, &r, viewer, subject, TRUE);
    if (decided)
        *decided = r.decided;
    return r.level;
}

core_perm_level core_permissions_level(core_permissions *p, const char *viewer, const char *subject)
{
    return core_permissions_explain(p, viewer, subject, NULL, NULL, NULL);
}

gboolean core_permissions_allows(core_permissions *p, const char *viewer, const char *subject,
                                 core_perm_cap cap)
{
    return core_permissions_level(p, viewer, subject) >= core_perm_cap_level(cap);
}

/* The level an admin gives every member of `group`: what a leader may only raise. */
static core_perm_level admin_group_level(core_permissions *p, const char *group)
{
    const config_level *cl = g_hash_table_lookup(p->config->groups, group);
    core_perm_level level = p->config->fallback.level;

    return cl && cl->level > level ? cl->level : level;
}

/* ---- The state file ---------------------------------------------------------------- */

typedef struct state_writer {
    GKeyFile *kf;
    guint count;
} state_writer;

static void write_rule(const core_perm_rule *rule, void *user_data)
{
    state_writer *w = user_data;
    char *group = g_strdup_printf("rule %u", ++w->count);

    g_key_file_set_string(w->kf, group, "kind", core_perm_source_name(rule->source));
    if (rule->group)
        g_key_file_set_string(w->kf, group, "group", rule->group);
    if (rule->subject)
        g_key_file_set_string(w->kf, group, "subject", rule->subject);
    if (rule->viewer)
        g_key_file_set_string(w->kf, group, "viewer", rule->viewer);
    g_key_file_set_string(w->kf, group, "level", core_perm_level_name(rule->level));
    if (rule->set_by)
        g_key_file_set_string(w->kf, group, "set_by", rule->set_by);
    g_free(group);
}

/* Writes every runtime rule; g_file_set_contents_full writes a temporary file
 * and renames it over the old one, so a crash leaves the old or the new file,
 * never half of one. */
static gboolean save_state(core_permissions *p, GError **error)
{
    state_writer w = {.kf = g_key_file_new()};
    GError *err = NULL;
    gsize length;
    char *data;
    gboolean ok;

    if (!p->state_file) {
        g_key_file_free(w.kf);
        return TRUE;
    }
    g_key_file_set_comment(w.kf, NULL, NULL,
                           " ucd permission rules, written by ucd: change them with "
                           "`ucctl permissions grant|clear`",
                           NULL);
    foreach_runtime_rule(p, write_rule, &w);
    data = g_key_file_to_data(w.kf, &length, NULL);
    ok = g_file_set_contents_full(p->state_file, data, (gssize)length,
                                  G_FILE_SET_CONTENTS_CONSISTENT, STATE_FILE_MODE, &err);
    if (!ok) {
        g_set_error(error, CORE_PERM_ERROR, UCD_FAIL, "cannot save the rules to %s: %s",
                    p->state_file, err->message);
        g_error_free(err);
    }
    g_free(data);
    g_key_file_free(w.kf);
    return ok;
}

/* Reads one [rule N] group of the state file into p. */
static gboolean load_rule(core_permissions *p, GKeyFile *kf, const char *group, GPtrArray *errors)
{
    g_autofree char *kind_name = g_key_file_get_string(kf, group, "kind", NULL);
    g_autofree char *level_name = g_key_file_get_string(kf, group, "level", NULL);
    g_autofree char *target = NULL;
    g_autofree char *viewer = NULL;
    g_autofree char *set_by = g_key_file_get_string(kf, group, "set_by", NULL);
    core_perm_level level;
    core_perm_source kind;

    if (g_strcmp0(kind_name, "leader") == 0) {
        kind = CORE_PERM_SRC_LEADER;
        target = g_key_file_get_string(kf, group, "group", NULL);
    } else if (g_strcmp0(kind_name, "admin") == 0 || g_strcmp0(kind_name, "user") == 0) {
        kind = kind_name[0] == 'a' ? CORE_PERM_SRC_ADMIN_PAIR : CORE_PERM_SRC_USER_GRANT;
        target = g_key_file_get_string(kf, group, "subject", NULL);
        viewer = g_key_file_get_string(kf, group, "viewer", NULL);
    } else {
        add_error(errors, p->state_file, "[%s] kind: '%s' is not leader, admin or user", group,
                  kind_name ? kind_name : "");
        return FALSE;
    }
    if (!target || !*target || (kind != CORE_PERM_SRC_LEADER && (!viewer || !*viewer))) {
        add_error(errors, p->state_file, "[%s]: a %s rule needs %s", group, kind_name,
                  kind == CORE_PERM_SRC_LEADER ? "a group" : "a subject and a viewer");
        return FALSE;
    }
    if (!core_perm_level_parse(level_name, &level)) {
        add_error(errors, p->state_file, "[%s] level: '%s' is not a level", group,
                  level_name ? level_name : "");
        return FALSE;
    }
    rule_insert(p, kind, target, viewer, runtime_rule_new(level, set_by));
    return TRUE;
}

static gboolean load_state(core_permissions *p, GPtrArray *errors)
{
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    gboolean ok = TRUE;
    char **groups;

    if (!g_key_file_load_from_file(kf, p->state_file, G_KEY_FILE_NONE, &err)) {
        ok = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!ok)
            add_error(errors, p->state_file, "cannot read the permission rules: %s", err->message);
        g_error_free(err);
        g_key_file_free(kf);
        return ok;
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (size_t i = 0; groups[i]; i++)
        ok = load_rule(p, kf, groups[i], errors) && ok;
    g_strfreev(groups);
    g_key_file_free(kf);
    return ok;
}

/* ---- Life cycle ------------------------------------------------------------------------ */

core_permissions *core_permissions_new(core_config *cfg, const char *state_dir, GPtrArray *errors)
{
    g_return_val_if_fail(cfg && errors, NULL);
    perm_config *config = perm_config_load(cfg, errors);
    core_permissions *p;

    if (!config)
        return NULL;
    p = g_new0(core_permissions, 1);
    p->config = config;
    p->dir = core_perm_directory_new();
    p->leader_rules = new_rule_table();
    p->admin_pairs = new_pair_table();
    p->user_grants = new_pair_table();
    if (state_dir)
        p->state_file = g_build_filename(state_dir, STATE_FILE_NAME, NULL);
    if (p->state_file && !load_state(p, errors)) {
        core_permissions_free(p);
        return NULL;
    }
    return p;
}

void core_permissions_free(core_permissions *p)
{
    if (!p)
        return;
    perm_config_free(p->config);
    core_perm_directory_unref(p->dir);
    g_hash_table_unref(p->leader_rules);
    g_hash_table_unref(p->admin_pairs);
    g_hash_table_unref(p->user_grants);
    g_free(p->state_file);
    g_free(p);
}

gboolean core_permissions_apply_config(core_permissions *p, core_config *cfg, GPtrArray *errors)
{
    g_return_val_if_fail(p && cfg && errors, FALSE);
    perm_config *config = perm_config_load(cfg, errors);

    if (!config)
        return FALSE;
    perm_config_free(p->config);
    p->config = config;
    return TRUE;
}

void core_permissions_set_directory(core_permissions *p, core_perm_directory *dir)
{
    g_return_if_fail(p);
    core_perm_directory *old = p->dir;

    p->dir = dir ? core_perm_directory_ref(dir) : core_perm_directory_new();
    core_perm_directory_unref(old);
}

core_perm_directory *core_permissions_directory(core_permissions *p)
{
    g_return_val_if_fail(p, NULL);
    return core_perm_directory_ref(p->dir);
}

void core_permissions_set_directory_source(core_permissions *p, core_perm_directory_fn fn,
                                           void *user_data)
{
    g_return_if_fail(p);
    p->directory_fn = fn;
    p->directory_data = user_data;
}

void core_permissions_refresh_directory(core_permissions *p)
{
    core_perm_directory *dir;

    g_return_if_fail(p);
    if (!p->directory_fn)
        return;
    dir = p->directory_fn(p->directory_data);
    if (dir) {
        core_permissions_set_directory(p, dir);
        core_perm_directory_unref(dir);
    }
}

const char *core_permissions_state_file(core_permissions *p)
{
    return p ? p->state_file : NULL;
}

/* ---- Who may set what ---------------------------------------------------------------------- */

static gboolean refuse(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean refuse(GError **error, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (error)
        *error = g_error_new_valist(CORE_PERM_ERROR, code, fmt, ap);
    va_end(ap);
    return FALSE;
}

/* The arguments make a rule of `kind` at all. */
static gboolean check_shape(core_perm_source kind, const char *target, const char *viewer,
                            GError **error)
{
    if (!is_runtime_kind(kind))
        return refuse(error, UCD_E_INVALID,
                      "only leader, admin and user rules can be changed at run time; "
                      "the default and group levels are set in [permissions]");
    if (!target || !*target)
        return refuse(error, UCD_E_INVALID, "a %s rule needs %s", core_perm_source_name(kind),
                      kind == CORE_PERM_SRC_LEADER ? "a group" : "a subject");
    if (kind != CORE_PERM_SRC_LEADER && (!viewer || !*viewer))
        return refuse(error, UCD_E_INVALID, "a %s rule needs a viewer",
                      core_perm_source_name(kind));
    if (kind != CORE_PERM_SRC_LEADER && strcmp(target, viewer) == 0)
        return refuse(error, UCD_E_INVALID, "%s always sees themself at personal", target);
    return TRUE;
}

static gboolean check_known(core_permissions *p, core_perm_source kind, const char *target,
                            const char *viewer, GError **error)
{
    if (kind == CORE_PERM_SRC_LEADER) {
        if (!core_perm_directory_has_group(p->dir, target))
            return refuse(error, UCD_E_NOT_FOUND, "unknown group '%s'", target);
        return TRUE;
    }
    if (!core_perm_directory_has_user(p->dir, target))
        return refuse(error, UCD_E_NOT_FOUND, "unknown user '%s'", target);
    if (!core_perm_directory_has_user(p->dir, viewer))
        return refuse(error, UCD_E_NOT_FOUND, "unknown user '%s'", viewer);
    return TRUE;
}

/* Whether `actor` may change (set or clear) a rule of `kind` on `target`. */
static gboolean check_actor(core_permissions *p, const char *actor, core_perm_source kind,
                            const char *target, GError **error)
{
    if (!actor)
        return TRUE;
    switch (kind) {
    case CORE_PERM_SRC_LEADER:
        if (!core_perm_directory_is_leader(p->dir, actor, target))
            return refuse(error, UCD_E_DENIED, "%s is not a leader of group %s", actor, target);
        return TRUE;
    case CORE_PERM_SRC_USER_GRANT:
        if (strcmp(actor, target) != 0)
            return refuse(error, UCD_E_DENIED,
                          "%s may only grant access to their own data, not to %s's", actor, target);
        return TRUE;
    default:
        return refuse(error, UCD_E_DENIED, "only an admin may change admin pair rules");
    }
}

/* Whether `level` is a level this rule may have when `actor` sets it. */
static gboolean check_level(core_permissions *p, const char *actor, core_perm_source kind,
                            const char *target, const char *viewer, core_perm_level level,
                            GError **error)
{
    resolution minimum = {0};

    if ((unsigned)level > CORE_PERM_PERSONAL)
        return refuse(error, UCD_E_INVALID, "%d is not a level", (int)level);
    if (kind != CORE_PERM_SRC_ADMIN_PAIR && level == CORE_PERM_BLOCKED)
        return refuse(error, UCD_E_INVALID,
                      "a %s rule only raises levels, so blocked would change nothing; "
                      "clear the rule instead",
                      core_perm_source_name(kind));
    if (!actor || kind == CORE_PERM_SRC_ADMIN_PAIR)
        return TRUE;
    if (kind == CORE_PERM_SRC_LEADER) {
        core_perm_level floor = admin_group_level(p, target);

        if (level < floor)
            return refuse(error, UCD_E_INVALID,
                          "a leader may only raise the level of group %s, which an admin set "
                          "to %s",
                          target, core_perm_level_name(floor));
        return TRUE;
    }
    resolve(p, &minimum, viewer, target, FALSE);
    if (minimum.level == CORE_PERM_BLOCKED && minimum.decided.source == CORE_PERM_SRC_ADMIN_PAIR)
        return refuse(error, UCD_E_DENIED, "an admin blocked %s from seeing %s", viewer, target);
    if (level < minimum.level)
        return refuse(error, UCD_E_INVALID,
                      "a grant may only raise: %s already sees %s at %s (set by an admin)", viewer,
                      target, core_perm_level_name(minimum.level));
    return TRUE;
}

/* Keeps the change only once the state file has it. */
static gboolean store(core_permissions *p, core_perm_source kind, const char *target,
                      const char *viewer, runtime_rule *rule, GError **error)
{
    const runtime_rule *old = rule_lookup(p, kind, target, viewer);
    runtime_rule *undo = old ? runtime_rule_new(old->level, old->set_by) : NULL;

    if (rule)
        rule_insert(p, kind, target, viewer, rule);
    else
        rule_remove(p, kind, target, viewer);
    if (save_state(p, error)) {
        runtime_rule_free(undo);
        return TRUE;
    }
    if (undo)
        rule_insert(p, kind, target, viewer, undo);
    else
        rule_remove(p, kind, target, viewer);
    return FALSE;
}

gboolean core_permissions_set(core_permissions *p, const char *actor, core_perm_source kind,
                              const char *target, const char *viewer, core_perm_level level,
                              GError **error)
{
    g_return_val_if_fail(p, FALSE);
    if (kind == CORE_PERM_SRC_LEADER)
        viewer = NULL;
    if (!check_shape(kind, target, viewer, error) || !check_known(p, kind, target, viewer, error) ||
        !check_actor(p, actor, kind, target, error) ||
        !check_level(p, actor, kind, target, viewer, level, error))
        return FALSE;
    return store(p, kind, target, viewer, runtime_rule_new(level, actor), error);
}

gboolean core_permissions_clear(core_permissions *p, const char *actor, core_perm_source kind,
                                const char *target, const char *viewer, GError **error)
{
    g_return_val_if_fail(p, FALSE);
    if (kind == CORE_PERM_SRC_LEADER)
        viewer = NULL;
    if (!check_shape(kind, target, viewer, error) || !check_actor(p, actor, kind, target, error))
        return FALSE;
    if (!rule_lookup(p, kind, target, viewer)) {
        if (kind == CORE_PERM_SRC_LEADER)
            return refuse(error, UCD_E_NOT_FOUND, "no leader rule for group %s", target);
        return refuse(error, UCD_E_NOT_FOUND, "no %s rule for %s seeing %s",
                      core_perm_source_name(kind), viewer, target);
    }
    return store(p, kind, target, viewer, NULL, error);
}
