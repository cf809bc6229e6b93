/*
 * test-permissions.c - core/model/permissions.c: every resolution rule and
 * their interplay, who may set what, the state file, config errors with
 * file:line, and the ucctl commands.
 *
 * The directory used throughout (leaders in brackets):
 *   sales   = alice, bob, carol     [carol]
 *   support = bob, carol, dave      [dave]
 *   erin: no group. mallory: not in the directory at all.
 */
#include "model/permissions.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct fixture {
    char *dir;       /* temporary directory */
    char *conf_file; /* DIR/ucd.conf */
    char *state_dir; /* DIR/state */
    GPtrArray *errors;
    core_config *cfg;
    core_permissions *p;
} fixture;

static core_perm_directory *make_directory(void)
{
    core_perm_directory *dir = core_perm_directory_new();
    const char *const sales[] = {"sales", NULL};
    const char *const both[] = {"sales", "support", NULL};
    const char *const support[] = {"support", NULL};
    const char *const carol[] = {"carol", NULL};
    const char *const dave[] = {"dave", NULL};

    core_perm_directory_add_user(dir, "alice", sales);
    core_perm_directory_add_user(dir, "bob", both);
    core_perm_directory_add_user(dir, "carol", both);
    core_perm_directory_add_user(dir, "dave", support);
    core_perm_directory_add_user(dir, "erin", NULL);
    core_perm_directory_add_group(dir, "sales", carol);
    core_perm_directory_add_group(dir, "support", dave);
    return dir;
}

static char *errors_text(GPtrArray *errors)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < errors->len; i++)
        g_string_append_printf(s, "%s\n", (const char *)g_ptr_array_index(errors, i));
    return g_string_free(s, FALSE);
}

/* Writes `conf` as the main config file and loads it (asserting no errors). */
static void fixture_config(fixture *f, const char *conf)
{
    GError *err = NULL;

    g_file_set_contents(f->conf_file, conf, -1, &err);
    g_assert_no_error(err);
    core_config_free(f->cfg);
    f->cfg = core_config_load(f->conf_file, NULL, f->errors);
    g_assert_nonnull(f->cfg);
}

static void fixture_init(fixture *f, const char *conf)
{
    GError *err = NULL;

    memset(f, 0, sizeof *f);
    f->dir = g_dir_make_tmp("ucd-perm-XXXXXX", &err);
    g_assert_no_error(err);
    f->conf_file = g_build_filename(f->dir, "ucd.conf", NULL);
    f->state_dir = g_build_filename(f->dir, "state", NULL);
    g_assert_cmpint(g_mkdir(f->state_dir, 0700), ==, 0);
    f->errors = g_ptr_array_new_with_free_func(g_free);
    fixture_config(f, conf);
}

/* Creates the permissions object from the fixture's config and state dir,
 * with the test directory installed. */
static core_permissions *fixture_open(fixture *f)
{
    core_perm_directory *dir = make_directory();

    core_permissions_free(f->p);
    f->p = core_permissions_new(f->cfg, f->state_dir, f->errors);
    if (!f->p) {
        char *text = errors_text(f->errors);
        g_test_message("errors:\n%s", text);
        g_free(text);
    }
    g_assert_nonnull(f->p);
    core_permissions_set_directory(f->p, dir);
    core_perm_directory_unref(dir);
    return f->p;
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            remove_tree(child);
        else
            g_remove(child);
        g_free(child);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(path);
}

static void fixture_clear(fixture *f)
{
    core_permissions_free(f->p);
    core_config_free(f->cfg);
    remove_tree(f->dir);
    g_ptr_array_unref(f->errors);
    g_free(f->conf_file);
    g_free(f->state_dir);
    g_free(f->dir);
}

static core_perm_level level_of(fixture *f, const char *viewer, const char *subject)
{
    return core_permissions_level(f->p, viewer, subject);
}

static core_perm_rule decided(fixture *f, const char *viewer, const char *subject)
{
    core_perm_rule rule;

    core_permissions_explain(f->p, viewer, subject, &rule, NULL, NULL);
    return rule;
}

/* Sets a rule and asserts success. */
static void set_ok(fixture *f, const char *actor, core_perm_source kind, const char *target,
                   const char *viewer, core_perm_level level)
{
    GError *err = NULL;

    g_assert_true(core_permissions_set(f->p, actor, kind, target, viewer, level, &err));
    g_assert_no_error(err);
}

/* Sets a rule, asserts refusal with `code` and a message containing `words`. */
static void set_refused(fixture *f, const char *actor, core_perm_source kind, const char *target,
                        const char *viewer, core_perm_level level, int code, const char *words)
{
    GError *err = NULL;

    g_assert_false(core_permissions_set(f->p, actor, kind, target, viewer, level, &err));
    g_assert_error(err, CORE_PERM_ERROR, code);
    if (!strstr(err->message, words))
        g_error("message '%s' lacks '%s'", err->message, words);
    g_error_free(err);
}

/* ---- resolution ------------------------------------------------------------------------ */

static void test_default_only(void)
{
    fixture f;

    fixture_init(&f, "[core]\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_PUBLIC);
    core_perm_rule why = decided(&f, "alice", "erin");
    g_assert_cmpint(why.source, ==, CORE_PERM_SRC_DEFAULT);
    g_assert_null(why.where); /* the built-in default */

    fixture_config(&f, "[permissions]\n"
                       "default = Business\n"); /* line 2 */
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "erin", "dave"), ==, CORE_PERM_BUSINESS);
    why = decided(&f, "erin", "dave");
    g_assert_cmpint(why.source, ==, CORE_PERM_SRC_DEFAULT);
    char *where = g_strdup_printf("%s:2", f.conf_file);
    g_assert_cmpstr(why.where, ==, where);
    g_free(where);

    fixture_config(&f, "[permissions]\ndefault = blocked\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_BLOCKED);
    fixture_clear(&f);
}

static void test_group(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ngroups = sales=team\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);
    g_assert_cmpint(level_of(&f, "bob", "alice"), ==, CORE_PERM_TEAM);
    /* dave shares no group with alice, and erin none with anyone. */
    g_assert_cmpint(level_of(&f, "alice", "dave"), ==, CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "erin", "alice"), ==, CORE_PERM_PUBLIC);
    core_perm_rule why = decided(&f, "alice", "bob");
    g_assert_cmpint(why.source, ==, CORE_PERM_SRC_GROUP);
    g_assert_cmpstr(why.group, ==, "sales");
    fixture_clear(&f);
}

static void test_group_never_lowers_default(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = business\ngroups = sales = blocked\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_BUSINESS);
    g_assert_cmpint(decided(&f, "alice", "bob").source, ==, CORE_PERM_SRC_DEFAULT);
    fixture_clear(&f);
}

typedef struct seen {
    GString *text;
} seen;

static void note_rule(const core_perm_rule *rule, void *user_data)
{
    seen *s = user_data;

    g_string_append_printf(s->text, "%s:%s:%s ", core_perm_source_name(rule->source),
                           rule->group ? rule->group : "-", core_perm_level_name(rule->level));
}

static void test_two_groups_max(void)
{
    fixture f;
    seen s = {g_string_new(NULL)};

    fixture_init(&f, "[permissions]\ngroups = support=team; sales=business\n");
    fixture_open(&f);
    /* bob and carol share both groups: the higher level wins. */
    g_assert_cmpint(level_of(&f, "bob", "carol"), ==, CORE_PERM_TEAM);
    g_assert_cmpstr(decided(&f, "bob", "carol").group, ==, "support");
    /* alice and bob share sales only; bob and dave support only. */
    g_assert_cmpint(level_of(&f, "bob", "alice"), ==, CORE_PERM_BUSINESS);
    g_assert_cmpint(level_of(&f, "dave", "bob"), ==, CORE_PERM_TEAM);
    /* Every applying rule is reported in the documented order. */
    core_permissions_explain(f.p, "bob", "carol", NULL, note_rule, &s);
    g_assert_cmpstr(s.text->str, ==, "default:-:public group:sales:business group:support:team ");
    g_string_free(s.text, TRUE);
    fixture_clear(&f);
}

static void test_leader_raise(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ngroups = sales=business\n");
    fixture_open(&f);
    set_ok(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_PERSONAL);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_PERSONAL);
    core_perm_rule why = decided(&f, "alice", "bob");
    g_assert_cmpint(why.source, ==, CORE_PERM_SRC_LEADER);
    g_assert_cmpstr(why.group, ==, "sales");
    g_assert_cmpstr(why.set_by, ==, "carol");
    /* Only members of sales are raised. */
    g_assert_cmpint(level_of(&f, "alice", "dave"), ==, CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "dave", "bob"), ==, CORE_PERM_PUBLIC);
    /* Equal to the admin's level is accepted (it matters if the admin lowers it later). */
    set_ok(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_BUSINESS);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_BUSINESS);
    fixture_clear(&f);
}

static void test_leader_cannot_lower(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = business\ngroups = sales=team\n");
    fixture_open(&f);
    set_refused(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_BUSINESS, UCD_E_INVALID,
                "admin set to team");
    /* The default also binds a leader of a group with no `groups` entry. */
    set_refused(&f, "dave", CORE_PERM_SRC_LEADER, "support", NULL, CORE_PERM_PUBLIC, UCD_E_INVALID,
                "admin set to business");
    set_refused(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_BLOCKED, UCD_E_INVALID,
                "clear the rule instead");
    /* An admin's leader rule below the config level changes nothing. */
    set_ok(&f, NULL, CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);
    fixture_clear(&f);
}

static void test_user_raise(void)
{
    fixture f;

    fixture_init(&f, "[core]\n");
    fixture_open(&f);
    set_ok(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_PERSONAL);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_PERSONAL);
    core_perm_rule why = decided(&f, "alice", "bob");
    g_assert_cmpint(why.source, ==, CORE_PERM_SRC_USER_GRANT);
    g_assert_cmpstr(why.subject, ==, "bob");
    g_assert_cmpstr(why.viewer, ==, "alice");
    g_assert_cmpstr(why.set_by, ==, "bob");
    /* A grant goes one way only. */
    g_assert_cmpint(level_of(&f, "bob", "alice"), ==, CORE_PERM_PUBLIC);
    g_assert_true(core_permissions_allows(f.p, "alice", "bob", CORE_CAP_SET_FORWARDING));
    g_assert_false(core_permissions_allows(f.p, "bob", "alice", CORE_CAP_SEE_CALLS));
    fixture_clear(&f);
}

static void test_user_cannot_lower(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ngroups = sales=team\n");
    fixture_open(&f);
    set_refused(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_BUSINESS,
                UCD_E_INVALID, "alice already sees bob at team");
    set_refused(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_BLOCKED,
                UCD_E_INVALID, "clear the rule instead");
    /* A leader's raise is part of the minimum a user may not undercut. */
    set_ok(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_PERSONAL);
    set_refused(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_TEAM, UCD_E_INVALID,
                "already sees bob at personal");
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_PERSONAL);
    /* A grant made earlier never lowers what an admin raised later. */
    set_ok(&f, "erin", CORE_PERM_SRC_USER_GRANT, "erin", "alice", CORE_PERM_BUSINESS);
    fixture_config(&f, "[permissions]\ndefault = team\n");
    g_assert_true(core_permissions_apply_config(f.p, f.cfg, f.errors));
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_TEAM);
    fixture_clear(&f);
}

static void test_admin_pair(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ngroups = sales=team\n");
    fixture_open(&f);
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "erin", "alice", CORE_PERM_BUSINESS);
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_BUSINESS);
    g_assert_cmpint(decided(&f, "alice", "erin").source, ==, CORE_PERM_SRC_ADMIN_PAIR);
    g_assert_null(decided(&f, "alice", "erin").set_by);
    g_assert_cmpint(level_of(&f, "erin", "alice"), ==, CORE_PERM_PUBLIC);
    /* A pair rule below a group level is a minimum, not a cap. */
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);
    /* And the user may only raise above it. */
    set_refused(&f, "erin", CORE_PERM_SRC_USER_GRANT, "erin", "alice", CORE_PERM_PUBLIC,
                UCD_E_INVALID, "alice already sees erin at business");
    set_ok(&f, "erin", CORE_PERM_SRC_USER_GRANT, "erin", "alice", CORE_PERM_TEAM);
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_TEAM);
    fixture_clear(&f);
}

static void test_admin_blocked_absolute(void)
{
    fixture f;
    seen s = {g_string_new(NULL)};

    fixture_init(&f, "[permissions]\ndefault = business\ngroups = sales=personal\n");
    fixture_open(&f);
    set_ok(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_PERSONAL);
    set_ok(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_PERSONAL);
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", CORE_PERM_BLOCKED);
    /* Neither the group, the leader nor bob's earlier grant lifts it. */
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_BLOCKED);
    g_assert_false(core_permissions_allows(f.p, "alice", "bob", CORE_CAP_SEE_PRESENCE));
    core_permissions_explain(f.p, "alice", "bob", NULL, note_rule, &s);
    g_assert_cmpstr(s.text->str, ==, "admin:-:blocked ");
    set_refused(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_PERSONAL,
                UCD_E_DENIED, "an admin blocked alice from seeing bob");
    /* It goes one way. */
    g_assert_cmpint(level_of(&f, "bob", "alice"), ==, CORE_PERM_PERSONAL);
    /* Cleared, the other rules apply again. */
    g_assert_true(
        core_permissions_clear(f.p, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", NULL));
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_PERSONAL);
    g_string_free(s.text, TRUE);
    fixture_clear(&f);
}

static void test_self(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = blocked\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "erin", "erin"), ==, CORE_PERM_PERSONAL);
    g_assert_cmpint(decided(&f, "erin", "erin").source, ==, CORE_PERM_SRC_SELF);
    g_assert_true(core_permissions_allows(f.p, "erin", "erin", CORE_CAP_SET_PRESENCE));
    set_refused(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "erin", "erin", CORE_PERM_BLOCKED,
                UCD_E_INVALID, "always sees themself");
    set_refused(&f, "erin", CORE_PERM_SRC_USER_GRANT, "erin", "erin", CORE_PERM_TEAM, UCD_E_INVALID,
                "always sees themself");
    fixture_clear(&f);
}

static void test_unknown_users(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = personal\n");
    fixture_open(&f);
    g_assert_cmpint(level_of(&f, "mallory", "alice"), ==, CORE_PERM_BLOCKED);
    g_assert_cmpint(level_of(&f, "alice", "mallory"), ==, CORE_PERM_BLOCKED);
    g_assert_cmpint(level_of(&f, "mallory", "mallory"), ==, CORE_PERM_BLOCKED);
    g_assert_cmpint(decided(&f, "mallory", "alice").source, ==, CORE_PERM_SRC_UNKNOWN_USER);
    set_refused(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "alice", "mallory", CORE_PERM_TEAM,
                UCD_E_NOT_FOUND, "unknown user 'mallory'");
    set_refused(&f, NULL, CORE_PERM_SRC_LEADER, "marketing", NULL, CORE_PERM_TEAM, UCD_E_NOT_FOUND,
                "unknown group 'marketing'");
    /* Without a directory nobody is known. */
    core_permissions_set_directory(f.p, NULL);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_BLOCKED);
    fixture_clear(&f);
}

static void test_capabilities(void)
{
    static const struct {
        core_perm_cap cap;
        core_perm_level least;
    } table[] = {
        {CORE_CAP_SEE_PRESENCE, CORE_PERM_PUBLIC},
        {CORE_CAP_SEE_CONTACT, CORE_PERM_PUBLIC},
        {CORE_CAP_SEE_CALLS, CORE_PERM_BUSINESS},
        {CORE_CAP_SEE_APPOINTMENTS, CORE_PERM_BUSINESS},
        {CORE_CAP_PICKUP, CORE_PERM_TEAM},
        {CORE_CAP_SET_PRESENCE, CORE_PERM_PERSONAL},
        {CORE_CAP_SET_FORWARDING, CORE_PERM_PERSONAL},
    };
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = blocked\n");
    fixture_open(&f);
    for (int level = CORE_PERM_PUBLIC; level <= CORE_PERM_PERSONAL; level++) {
        core_perm_level l = (core_perm_level)level;

        core_permissions_clear(f.p, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", NULL);
        set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", l);
        for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
            g_assert_cmpint(core_permissions_allows(f.p, "alice", "bob", table[i].cap), ==,
                            l >= table[i].least);
    }
    core_perm_level parsed;
    g_assert_true(core_perm_level_parse("TEAM", &parsed));
    g_assert_cmpint(parsed, ==, CORE_PERM_TEAM);
    g_assert_false(core_perm_level_parse("boss", &parsed));
    fixture_clear(&f);
}

/* ---- who may set what --------------------------------------------------------------------- */

static void test_who_may_set(void)
{
    fixture f;
    GError *err = NULL;

    fixture_init(&f, "[core]\n");
    fixture_open(&f);
    /* Admin pair rules: admins only. */
    set_refused(&f, "bob", CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", CORE_PERM_TEAM, UCD_E_DENIED,
                "only an admin");
    /* Leader rules: the group's leaders (or an admin). */
    set_refused(&f, "alice", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_TEAM, UCD_E_DENIED,
                "alice is not a leader of group sales");
    set_refused(&f, "carol", CORE_PERM_SRC_LEADER, "support", NULL, CORE_PERM_TEAM, UCD_E_DENIED,
                "carol is not a leader of group support");
    set_ok(&f, "dave", CORE_PERM_SRC_LEADER, "support", NULL, CORE_PERM_TEAM);
    set_ok(&f, NULL, CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_TEAM);
    /* User grants: only of one's own data (or an admin). */
    set_refused(&f, "alice", CORE_PERM_SRC_USER_GRANT, "bob", "alice", CORE_PERM_TEAM, UCD_E_DENIED,
                "alice may only grant access to their own data");
    set_ok(&f, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "erin", CORE_PERM_TEAM);
    set_ok(&f, NULL, CORE_PERM_SRC_USER_GRANT, "dave", "erin", CORE_PERM_BUSINESS);
    /* Runtime setters cannot touch the config rules. */
    set_refused(&f, NULL, CORE_PERM_SRC_DEFAULT, "x", NULL, CORE_PERM_TEAM, UCD_E_INVALID,
                "set in [permissions]");

    /* Clearing follows the same rules. */
    g_assert_false(
        core_permissions_clear(f.p, "erin", CORE_PERM_SRC_USER_GRANT, "bob", "erin", &err));
    g_assert_error(err, CORE_PERM_ERROR, UCD_E_DENIED);
    g_clear_error(&err);
    g_assert_false(
        core_permissions_clear(f.p, "carol", CORE_PERM_SRC_LEADER, "support", NULL, &err));
    g_assert_error(err, CORE_PERM_ERROR, UCD_E_DENIED);
    g_clear_error(&err);
    g_assert_true(
        core_permissions_clear(f.p, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "erin", &err));
    g_assert_true(core_permissions_clear(f.p, "dave", CORE_PERM_SRC_LEADER, "support", NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpint(level_of(&f, "erin", "bob"), ==, CORE_PERM_PUBLIC);
    g_assert_cmpint(level_of(&f, "dave", "bob"), ==, CORE_PERM_PUBLIC);
    g_assert_false(
        core_permissions_clear(f.p, "bob", CORE_PERM_SRC_USER_GRANT, "bob", "erin", &err));
    g_assert_error(err, CORE_PERM_ERROR, UCD_E_NOT_FOUND);
    g_clear_error(&err);
    fixture_clear(&f);
}

/* ---- the state file ------------------------------------------------------------------------- */

typedef struct rule_list {
    GString *text;
} rule_list;

static void list_rule(const core_perm_rule *rule, void *user_data)
{
    rule_list *l = user_data;

    g_string_append_printf(l->text, "%s %s g=%s s=%s v=%s by=%s\n",
                           core_perm_source_name(rule->source), core_perm_level_name(rule->level),
                           rule->group ? rule->group : "", rule->subject ? rule->subject : "",
                           rule->viewer ? rule->viewer : "", rule->set_by ? rule->set_by : "");
}

static char *all_rules(core_permissions *p)
{
    rule_list l = {g_string_new(NULL)};

    core_permissions_foreach_rule(p, list_rule, &l);
    return g_string_free(l.text, FALSE);
}

static void test_persistence_round_trip(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ngroups = sales=business\n");
    fixture_open(&f);
    set_ok(&f, "carol", CORE_PERM_SRC_LEADER, "sales", NULL, CORE_PERM_TEAM);
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "dave", CORE_PERM_BLOCKED);
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "erin", "alice", CORE_PERM_BUSINESS);
    set_ok(&f, "erin", CORE_PERM_SRC_USER_GRANT, "erin", "bob", CORE_PERM_PERSONAL);
    set_ok(&f, "dave", CORE_PERM_SRC_USER_GRANT, "dave", "erin", CORE_PERM_TEAM);
    g_assert_true(
        core_permissions_clear(f.p, "dave", CORE_PERM_SRC_USER_GRANT, "dave", "erin", NULL));
    char *before = all_rules(f.p);
    g_assert_true(g_file_test(core_permissions_state_file(f.p), G_FILE_TEST_IS_REGULAR));

    fixture_open(&f); /* a fresh object reads the state file */
    char *after = all_rules(f.p);
    g_assert_cmpstr(after, ==, before);
    g_assert_nonnull(strstr(after, "leader team g=sales s= v= by=carol\n"));
    g_assert_nonnull(strstr(after, "admin blocked g= s=bob v=dave by=\n"));
    g_assert_null(strstr(after, "s=dave v=erin"));
    g_assert_cmpint(level_of(&f, "dave", "bob"), ==, CORE_PERM_BLOCKED);
    g_assert_cmpint(level_of(&f, "bob", "erin"), ==, CORE_PERM_PERSONAL);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);
    g_free(before);
    g_free(after);
    fixture_clear(&f);
}

static void test_persistence_failures(void)
{
    fixture f;
    GError *err = NULL;

    fixture_init(&f, "[core]\n");
    fixture_open(&f);
    set_ok(&f, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", CORE_PERM_TEAM);
    /* The state directory disappears: a change is refused and not kept. */
    char *file = g_strdup(core_permissions_state_file(f.p));
    g_assert_cmpint(g_remove(file), ==, 0);
    g_assert_cmpint(g_rmdir(f.state_dir), ==, 0);
    g_assert_false(core_permissions_set(f.p, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice",
                                        CORE_PERM_BLOCKED, &err));
    g_assert_error(err, CORE_PERM_ERROR, UCD_FAIL);
    g_assert_nonnull(strstr(err->message, "cannot save the rules"));
    g_clear_error(&err);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);
    g_assert_false(
        core_permissions_clear(f.p, NULL, CORE_PERM_SRC_ADMIN_PAIR, "bob", "alice", &err));
    g_clear_error(&err);
    g_assert_cmpint(level_of(&f, "alice", "bob"), ==, CORE_PERM_TEAM);

    /* A damaged state file stops the start, naming the file. */
    g_assert_cmpint(g_mkdir(f.state_dir, 0700), ==, 0);
    g_file_set_contents(file, "[rule 1]\nkind=admin\nsubject=bob\nviewer=alice\nlevel=boss\n", -1,
                        &err);
    g_assert_no_error(err);
    core_permissions_free(f.p);
    f.p = core_permissions_new(f.cfg, f.state_dir, f.errors);
    g_assert_null(f.p);
    g_assert_cmpuint(f.errors->len, ==, 1);
    char *expected = g_strdup_printf("%s: [rule 1] level: 'boss' is not a level", file);
    g_assert_cmpstr(g_ptr_array_index(f.errors, 0), ==, expected);
    g_free(expected);
    g_free(file);
    fixture_clear(&f);
}

/* ---- configuration errors ------------------------------------------------------------------- */

static void assert_config_errors(const char *conf, const char *const *expected)
{
    fixture f;
    guint n = g_strv_length((char **)expected);

    fixture_init(&f, conf);
    g_assert_cmpint(core_permissions_check_config(f.cfg, f.errors), ==, (int)n);
    g_assert_null(core_permissions_new(f.cfg, f.state_dir, f.errors));
    g_assert_cmpuint(f.errors->len, ==, 2 * n);
    for (guint i = 0; i < n; i++) {
        char *want = g_strconcat(f.conf_file, expected[i], NULL);

        if (strcmp(g_ptr_array_index(f.errors, i), want) != 0)
            g_error("error %u: got '%s', want '%s'", i, (char *)g_ptr_array_index(f.errors, i),
                    want);
        g_free(want);
    }
    fixture_clear(&f);
}

static void test_config_errors(void)
{
    const char *const bad_default[] = {
        ":3: [permissions] default: 'boss' is not one of blocked, public, business, team, "
        "personal",
        NULL};
    const char *const bad_groups[] = {
        ":2: [permissions] groups: 'sales' is not GROUP_ID=LEVEL",
        ":2: [permissions] groups: 'x=chief': 'chief' is not one of blocked, public, business, "
        "team, personal",
        ":2: [permissions] groups: group 'support' is listed twice", NULL};

    assert_config_errors("[permissions]\n"
                         "\n"
                         "default = boss\n",
                         bad_default);
    assert_config_errors("[permissions]\n"
                         "groups = sales;x=chief;support=team;support=public;=team\n",
                         (const char *const[]){
                             bad_groups[0],
                             bad_groups[1],
                             bad_groups[2],
                             ":2: [permissions] groups: '=team' is not GROUP_ID=LEVEL",
                             NULL,
                         });
}

static void test_config_unknown_key(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = team\ndefualt = team\n");
    g_assert_cmpint(core_permissions_check_config(f.cfg, f.errors), ==, 1);
    char *prefix = g_strdup_printf("%s:3: ", f.conf_file);
    const char *msg = g_ptr_array_index(f.errors, 0);
    g_assert_true(g_str_has_prefix(msg, prefix));
    g_assert_nonnull(strstr(msg, "defualt"));
    g_free(prefix);
    fixture_clear(&f);
}

static void test_config_reload_keeps_old_on_error(void)
{
    fixture f;

    fixture_init(&f, "[permissions]\ndefault = team\n");
    fixture_open(&f);
    fixture_config(&f, "[permissions]\ndefault = chief\n");
    g_assert_false(core_permissions_apply_config(f.p, f.cfg, f.errors));
    g_assert_cmpuint(f.errors->len, ==, 1);
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_TEAM);
    fixture_config(&f, "[permissions]\ndefault = business\n");
    g_assert_true(core_permissions_apply_config(f.p, f.cfg, f.errors));
    g_assert_cmpint(level_of(&f, "alice", "erin"), ==, CORE_PERM_BUSINESS);
    fixture_clear(&f);
}

/* ---- ucctl commands ----------------------------------------------------------------------------
 */

typedef struct cli {
    fixture f;
    GMainContext *ctx;
    char *socket;
    core_control *ctl;
    int directory_calls;
} cli;

static core_perm_directory *directory_source(void *user_data)
{
    cli *c = user_data;

    c->directory_calls++;
    return make_directory();
}

static void cli_init(cli *c, const char *conf)
{
    GError *err = NULL;

    fixture_init(&c->f, conf);
    c->f.p = core_permissions_new(c->f.cfg, c->f.state_dir, c->f.errors);
    g_assert_nonnull(c->f.p);
    c->ctx = g_main_context_new();
    c->socket = g_build_filename(c->f.dir, "ucd.sock", NULL);
    c->ctl = core_control_new(c->ctx, c->socket, &err);
    g_assert_no_error(err);
    c->directory_calls = 0;
    core_permissions_register_commands(c->ctl, c->f.p, directory_source, c);
}

static void cli_clear(cli *c)
{
    core_control_free(c->ctl);
    g_main_context_unref(c->ctx);
    g_free(c->socket);
    fixture_clear(&c->f);
}

/* Runs a command (NULL-terminated words) and returns the parsed response. */
static JsonObject *run(cli *c, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;

    va_start(ap, c);
    while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
        argc++;
    va_end(ap);
    char *json = core_control_execute(c->ctl, argc, argv);
    JsonNode *node = json_from_string(json, NULL);
    g_assert_nonnull(node);
    JsonObject *obj = json_object_ref(json_node_get_object(node));
    json_node_unref(node);
    g_free(json);
    return obj;
}

static const char *field(JsonObject *response, const char *name)
{
    JsonArray *fields = json_object_get_array_member(response, "fields");

    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return json_object_get_string_member(f, "value");
    }
    return NULL;
}

static void assert_ok(JsonObject *response)
{
    if (!json_object_get_boolean_member(response, "ok"))
        g_error("command failed: %s", json_object_get_string_member(response, "error"));
}

static void assert_refused(JsonObject *response, const char *words)
{
    g_assert_false(json_object_get_boolean_member(response, "ok"));
    const char *error = json_object_get_string_member(response, "error");
    if (!strstr(error, words))
        g_error("error '%s' lacks '%s'", error, words);
    json_object_unref(response);
}

/* The rows of a table response as "a|b|c" lines. */
static char *rows_text(JsonObject *response)
{
    JsonArray *rows = json_object_get_array_member(response, "rows");
    GString *s = g_string_new(NULL);

    for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        for (guint j = 0; j < json_array_get_length(row); j++)
            g_string_append_printf(s, "%s%s", j ? "|" : "", json_array_get_string_element(row, j));
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}

static void test_commands_show_and_grant(void)
{
    cli c;
    JsonObject *r;

    cli_init(&c, "[permissions]\ngroups = sales=business\n");
    r = run(&c, "permissions", "show", "alice", "bob", NULL);
    assert_ok(r);
    g_assert_cmpint(c.directory_calls, ==, 1);
    g_assert_cmpstr(field(r, "level"), ==, "business");
    g_assert_nonnull(strstr(field(r, "decided_by"), "group rule (members of group sales"));
    g_assert_cmpstr(field(r, "allows"), ==,
                    "see_presence, see_contact, see_calls, see_appointments");
    char *rows = rows_text(r);
    char *expected = g_strdup_printf("default|public|everyone|built-in|\n"
                                     "group|business|members of group sales|%s:2|yes\n",
                                     c.f.conf_file);
    g_assert_cmpstr(rows, ==, expected);
    g_free(rows);
    g_free(expected);
    json_object_unref(r);

    /* As a user, with that user's checks. */
    assert_refused(run(&c, "permissions", "grant", "bob", "alice", "public", "--as", "user", NULL),
                   "a grant may only raise");
    assert_refused(run(&c, "permissions", "grant", "alice", "sales", "team", "--as=leader", NULL),
                   "alice is not a leader of group sales");
    r = run(&c, "permissions", "grant", "bob", "alice", "personal", "--as", "user", NULL);
    assert_ok(r);
    json_object_unref(r);
    r = run(&c, "permissions", "show", "alice", "bob", NULL);
    g_assert_cmpstr(field(r, "level"), ==, "personal");
    g_assert_nonnull(strstr(field(r, "decided_by"), "user rule (alice sees bob, bob)"));
    json_object_unref(r);

    /* As an admin (the default), BLOCKED is absolute. */
    r = run(&c, "permissions", "grant", "bob", "alice", "blocked", NULL);
    assert_ok(r);
    json_object_unref(r);
    r = run(&c, "permissions", "show", "alice", "bob", NULL);
    g_assert_cmpstr(field(r, "level"), ==, "blocked");
    g_assert_cmpstr(field(r, "allows"), ==, "");
    json_object_unref(r);

    /* Bad input gets a reason. */
    assert_refused(run(&c, "permissions", "grant", "bob", "alice", "boss", NULL),
                   "'boss' is not a level");
    assert_refused(run(&c, "permissions", "grant", "bob", "alice", "team", "--as", "root", NULL),
                   "--as 'root' is not admin, leader or user");
    assert_refused(run(&c, "permissions", "grant", "bob", "alice", "team", "--bogus", NULL),
                   "--bogus");
    assert_refused(run(&c, "permissions", "show", "alice", NULL), "usage");
    assert_refused(run(&c, "permissions", "frobnicate", NULL), "usage");
    assert_refused(run(&c, "permissions", "grant", "mallory", "alice", "team", NULL),
                   "unknown user 'mallory'");
    cli_clear(&c);
}

static void test_commands_clear_and_list(void)
{
    cli c;
    JsonObject *r;

    cli_init(&c, "[permissions]\ngroups = sales=business\n");
    json_object_unref(
        run(&c, "permissions", "grant", "carol", "sales", "team", "--as", "leader", NULL));
    json_object_unref(run(&c, "permissions", "grant", "erin", "dave", "team", NULL));
    json_object_unref(
        run(&c, "permissions", "grant", "bob", "erin", "personal", "--as", "user", NULL));

    r = run(&c, "permissions", "list", NULL);
    assert_ok(r);
    char *rows = rows_text(r);
    char *expected = g_strdup_printf("default|public|everyone|built-in\n"
                                     "group|business|members of group sales|%s:2\n"
                                     "leader|team|members of group sales|carol\n"
                                     "admin|team|dave sees erin|admin\n"
                                     "user|personal|erin sees bob|bob\n",
                                     c.f.conf_file);
    g_assert_cmpstr(rows, ==, expected);
    g_free(rows);
    g_free(expected);
    json_object_unref(r);

    /* dave is in support only: the sales rules do not concern him. */
    r = run(&c, "permissions", "list", "dave", NULL);
    rows = rows_text(r);
    g_assert_cmpstr(rows, ==,
                    "default|public|everyone|built-in\n"
                    "admin|team|dave sees erin|admin\n");
    g_free(rows);
    json_object_unref(r);

    assert_refused(run(&c, "permissions", "clear", "erin", "dave", "--as", "user", NULL),
                   "no user rule for dave seeing erin");
    assert_refused(run(&c, "permissions", "clear", "bob", "sales", "--as", "leader", NULL),
                   "bob is not a leader of group sales");
    r = run(&c, "permissions", "clear", "carol", "sales", "--as", "leader", NULL);
    assert_ok(r);
    json_object_unref(r);
    r = run(&c, "permissions", "clear", "erin", "dave", NULL);
    assert_ok(r);
    json_object_unref(r);
    r = run(&c, "permissions", "list", NULL);
    rows = rows_text(r);
    g_assert_null(strstr(rows, "leader|"));
    g_assert_null(strstr(rows, "admin|"));
    g_assert_nonnull(strstr(rows, "user|personal|erin sees bob|bob\n"));
    g_free(rows);
    json_object_unref(r);
    cli_clear(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/permissions/default-only", test_default_only);
    g_test_add_func("/permissions/group", test_group);
    g_test_add_func("/permissions/group-never-lowers-default", test_group_never_lowers_default);
    g_test_add_func("/permissions/two-groups-max", test_two_groups_max);
    g_test_add_func("/permissions/leader-raise", test_leader_raise);
    g_test_add_func("/permissions/leader-cannot-lower", test_leader_cannot_lower);
    g_test_add_func("/permissions/user-raise", test_user_raise);
    g_test_add_func("/permissions/user-cannot-lower", test_user_cannot_lower);
    g_test_add_func("/permissions/admin-pair", test_admin_pair);
    g_test_add_func("/permissions/admin-blocked-absolute", test_admin_blocked_absolute);
    g_test_add_func("/permissions/self", test_self);
    g_test_add_func("/permissions/unknown-users", test_unknown_users);
    g_test_add_func("/permissions/capabilities", test_capabilities);
    g_test_add_func("/permissions/who-may-set", test_who_may_set);
    g_test_add_func("/permissions/persistence-round-trip", test_persistence_round_trip);
    g_test_add_func("/permissions/persistence-failures", test_persistence_failures);
    g_test_add_func("/permissions/config-errors", test_config_errors);
    g_test_add_func("/permissions/config-unknown-key", test_config_unknown_key);
    g_test_add_func("/permissions/config-reload", test_config_reload_keeps_old_on_error);
    g_test_add_func("/permissions/commands-show-grant", test_commands_show_and_grant);
    g_test_add_func("/permissions/commands-clear-list", test_commands_clear_and_list);
    return g_test_run();
}
