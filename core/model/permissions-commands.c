/*
 * permissions-commands.c - `ucctl permissions show|grant|clear|list`.
 *
 * The control socket is an admin's tool, so commands act as an admin; `--as
 * leader` or `--as user` makes the GRANTER the acting user, with the checks
 * that user would meet in a client (useful to answer "why may Bob not...").
 */
#include <string.h>

#include "permissions.h"

#define USAGE                                                                                      \
    "permissions show VIEWER SUBJECT | grant GRANTER TO LEVEL [--as admin|leader|user] | "         \
    "clear GRANTER TO [--as admin|leader|user] | list [USER]"
#define HELP "permission levels between users: what a viewer may see and do of a subject, and why"

/* ---- Describing rules ---------------------------------------------------------------- */

/* "group sales", "bob grants alice", ... : what a rule is about. */
static char *rule_scope(const core_perm_rule *rule)
{
    switch (rule->source) {
    case CORE_PERM_SRC_DEFAULT:
        return g_strdup("everyone");
    case CORE_PERM_SRC_GROUP:
    case CORE_PERM_SRC_LEADER:
        return g_strdup_printf("members of group %s", rule->group);
    case CORE_PERM_SRC_ADMIN_PAIR:
    case CORE_PERM_SRC_USER_GRANT:
        return g_strdup_printf("%s sees %s", rule->viewer, rule->subject);
    case CORE_PERM_SRC_SELF:
        return g_strdup("a user sees themself");
    default:
        return g_strdup("viewer or subject not in the directory");
    }
}

/* Where a rule comes from: the config file:line or who set it. */
static const char *rule_origin(const core_perm_rule *rule)
{
    switch (rule->source) {
    case CORE_PERM_SRC_DEFAULT:
        return rule->where ? rule->where : "built-in";
    case CORE_PERM_SRC_GROUP:
        return rule->where ? rule->where : "";
    case CORE_PERM_SRC_LEADER:
    case CORE_PERM_SRC_ADMIN_PAIR:
    case CORE_PERM_SRC_USER_GRANT:
        return rule->set_by ? rule->set_by : "admin";
    default:
        return "";
    }
}

static void reply_rule_row(ucd_reply *reply, const core_perm_rule *rule, const char *extra)
{
    char *scope = rule_scope(rule);
    const char *row[] = {core_perm_source_name(rule->source),
                         core_perm_level_name(rule->level),
                         scope,
                         rule_origin(rule),
                         extra,
                         NULL};

    core_reply_row(reply, row);
    g_free(scope);
}

/* ---- show ---------------------------------------------------------------------------- */

typedef struct explain_rows {
    ucd_reply *reply;
    GPtrArray *rules; /* copies of the rules considered, shallow */
} explain_rows;

static void collect_rule(const core_perm_rule *rule, void *user_data)
{
    explain_rows *rows = user_data;

    g_ptr_array_add(rows->rules, g_memdup2(rule, sizeof *rule));
}

static gboolean same_rule(const core_perm_rule *a, const core_perm_rule *b)
{
    return a->source == b->source && a->level == b->level && g_strcmp0(a->group, b->group) == 0 &&
           g_strcmp0(a->subject, b->subject) == 0 && g_strcmp0(a->viewer, b->viewer) == 0;
}

static char *allowed_capabilities(core_perm_level level)
{
    GString *s = g_string_new(NULL);

    for (int cap = CORE_CAP_SEE_PRESENCE; cap <= CORE_CAP_SET_FORWARDING; cap++) {
        if (level < core_perm_cap_level((core_perm_cap)cap))
            continue;
        g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                               core_perm_cap_name((core_perm_cap)cap));
    }
    return g_string_free(s, FALSE);
}

static int cmd_show(core_permissions *p, int argc, const char *const *argv, ucd_reply *reply)
{
    static const char *const columns[] = {"source", "level", "rule", "from", "decided"};
    explain_rows rows = {.reply = reply, .rules = g_ptr_array_new_with_free_func(g_free)};
    core_perm_rule decided;
    core_perm_level level;
    char *scope, *caps, *why;
    const char *origin;

    if (argc != 4) {
        core_reply_error(reply, "usage: permissions show VIEWER SUBJECT");
        g_ptr_array_free(rows.rules, TRUE);
        return UCD_E_INVALID;
    }
    level = core_permissions_explain(p, argv[2], argv[3], &decided, collect_rule, &rows);
    scope = rule_scope(&decided);
    origin = rule_origin(&decided);
    why = g_strdup_printf("%s rule (%s%s%s)", core_perm_source_name(decided.source), scope,
                          *origin ? ", " : "", origin);
    caps = allowed_capabilities(level);
    core_reply_field(reply, "viewer", argv[2]);
    core_reply_field(reply, "subject", argv[3]);
    core_reply_field(reply, "level", core_perm_level_name(level));
    core_reply_field(reply, "decided_by", why);
    core_reply_field(reply, "allows", caps);
    core_reply_columns(reply, G_N_ELEMENTS(columns), columns);
    for (guint i = 0; i < rows.rules->len; i++) {
        const core_perm_rule *rule = g_ptr_array_index(rows.rules, i);
        reply_rule_row(reply, rule, same_rule(rule, &decided) ? "yes" : "");
    }
    g_free(scope);
    g_free(why);
    g_free(caps);
    g_ptr_array_free(rows.rules, TRUE);
    return UCD_OK;
}

/* ---- grant and clear ------------------------------------------------------------------- */

typedef struct change_request {
    core_perm_source kind;
    const char *actor;  /* NULL: admin */
    const char *target; /* the group (leader) or the subject */
    const char *viewer; /* NULL for a leader rule */
} change_request;

/* Splits "--as ROLE" (or "--as=ROLE") out of argv with GOption. Returns the
 * remaining arguments (argv[0] is kept), or NULL after a reply error. */
static char **parse_role(int argc, const char *const *argv, char **role, ucd_reply *reply)
{
    GOptionEntry entries[] = {
        {"as", 0, 0, G_OPTION_ARG_STRING, role, "act as admin, leader or user", "ROLE"},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new(NULL);
    char **args = g_new0(char *, (gsize)argc + 1);
    GError *err = NULL;

    for (int i = 0; i < argc; i++)
        args[i] = g_strdup(argv[i]);
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse_strv(ctx, &args, &err)) {
        core_reply_error(reply, "permissions: %s", err->message);
        g_error_free(err);
        g_strfreev(args);
        args = NULL;
    }
    g_option_context_free(ctx);
    return args;
}

/* Fills *req from "GRANTER TO" (args[2], args[3]) and the role. */
static gboolean parse_change(char **args, const char *role, change_request *req, ucd_reply *reply)
{
    const char *granter = args[2], *to = args[3];

    if (!role || strcmp(role, "admin") == 0) {
        *req = (change_request){CORE_PERM_SRC_ADMIN_PAIR, NULL, granter, to};
    } else if (strcmp(role, "user") == 0) {
        *req = (change_request){CORE_PERM_SRC_USER_GRANT, granter, granter, to};
    } else if (strcmp(role, "leader") == 0) {
        /* The leader raises a group: TO names the group. */
        *req = (change_request){CORE_PERM_SRC_LEADER, granter, to, NULL};
    } else {
        core_reply_error(reply, "permissions: --as '%s' is not admin, leader or user", role);
        return FALSE;
    }
    return TRUE;
}

static int error_code(const GError *err)
{
    return err->domain == CORE_PERM_ERROR ? err->code : UCD_FAIL;
}

static int reply_refusal(ucd_reply *reply, GError *err)
{
    int rc = error_code(err);

    core_reply_error(reply, "%s", err->message);
    g_error_free(err);
    return rc;
}

static void reply_change(ucd_reply *reply, const char *what, const change_request *req)
{
    if (req->kind == CORE_PERM_SRC_LEADER)
        core_reply_text(reply, "%s: leader rule for group %s (by %s)\n", what, req->target,
                        req->actor);
    else
        core_reply_text(reply, "%s: %s rule, %s sees %s\n", what, core_perm_source_name(req->kind),
                        req->viewer, req->target);
}

static int cmd_grant(core_permissions *p, int argc, const char *const *argv, ucd_reply *reply)
{
    char *role = NULL;
    char **args = parse_role(argc, argv, &role, reply);
    change_request req;
    core_perm_level level;
    GError *err = NULL;
    int rc = UCD_E_INVALID;

    if (!args)
        goto out;
    if (g_strv_length(args) != 5) {
        core_reply_error(reply,
                         "usage: permissions grant GRANTER TO LEVEL [--as admin|leader|user]");
    } else if (!core_perm_level_parse(args[4], &level)) {
        core_reply_error(reply,
                         "permissions: '%s' is not a level (blocked, public, business, "
                         "team, personal)",
                         args[4]);
    } else if (parse_change(args, role, &req, reply)) {
        if (core_permissions_set(p, req.actor, req.kind, req.target, req.viewer, level, &err)) {
            reply_change(reply, core_perm_level_name(level), &req);
            rc = UCD_OK;
        } else {
            rc = reply_refusal(reply, err);
        }
    }
out:
    g_strfreev(args);
    g_free(role);
    return rc;
}

static int cmd_clear(core_permissions *p, int argc, const char *const *argv, ucd_reply *reply)
{
    char *role = NULL;
    char **args = parse_role(argc, argv, &role, reply);
    change_request req;
    GError *err = NULL;
    int rc = UCD_E_INVALID;

    if (!args)
        goto out;
    if (g_strv_length(args) != 4) {
        core_reply_error(reply, "usage: permissions clear GRANTER TO [--as admin|leader|user]");
    } else if (parse_change(args, role, &req, reply)) {
        if (core_permissions_clear(p, req.actor, req.kind, req.target, req.viewer, &err)) {
            reply_change(reply, "cleared", &req);
            rc = UCD_OK;
        } else {
            rc = reply_refusal(reply, err);
        }
    }
out:
    g_strfreev(args);
    g_free(role);
    return rc;
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct list_filter {
    core_perm_directory *dir;
    const char *user; /* NULL: every rule */
    ucd_reply *reply;
} list_filter;

/* A rule concerns `user` when it names them or a group they are in. */
static gboolean rule_concerns(const list_filter *f, const core_perm_rule *rule)
{
    if (!f->user || rule->source == CORE_PERM_SRC_DEFAULT)
        return TRUE;
    if (rule->group)
        return core_perm_directory_is_member(f->dir, f->user, rule->group) ||
               g_strcmp0(rule->set_by, f->user) == 0;
    return g_strcmp0(rule->subject, f->user) == 0 || g_strcmp0(rule->viewer, f->user) == 0 ||
           g_strcmp0(rule->set_by, f->user) == 0;
}

static void list_rule(const core_perm_rule *rule, void *user_data)
{
    list_filter *f = user_data;

    if (rule_concerns(f, rule))
        reply_rule_row(f->reply, rule, NULL);
}

/* `list USER` tests group membership in the same snapshot p resolves with. */
static int cmd_list(core_permissions *p, core_perm_directory *dir, int argc,
                    const char *const *argv, ucd_reply *reply)
{
    static const char *const columns[] = {"source", "level", "rule", "from"};
    list_filter f = {.dir = dir, .user = argc > 2 ? argv[2] : NULL, .reply = reply};

    if (argc > 3) {
        core_reply_error(reply, "usage: permissions list [USER]");
        return UCD_E_INVALID;
    }
    core_reply_columns(reply, G_N_ELEMENTS(columns), columns);
    core_permissions_foreach_rule(p, list_rule, &f);
    return UCD_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static int cmd_permissions(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_permissions *p = user_data;
    const char *sub = argc > 1 ? argv[1] : "";
    core_perm_directory *dir;
    int rc;

    core_permissions_refresh_directory(p);
    if (strcmp(sub, "show") == 0)
        return cmd_show(p, argc, argv, reply);
    if (strcmp(sub, "grant") == 0)
        return cmd_grant(p, argc, argv, reply);
    if (strcmp(sub, "clear") == 0)
        return cmd_clear(p, argc, argv, reply);
    if (strcmp(sub, "list") == 0) {
        dir = core_permissions_directory(p);
        rc = cmd_list(p, dir, argc, argv, reply);
        core_perm_directory_unref(dir);
        return rc;
    }
    core_reply_error(reply, "usage: %s", USAGE);
    return UCD_E_INVALID;
}

void core_permissions_register_commands(core_control *ctl, core_permissions *p,
                                        core_perm_directory_fn directory, void *user_data)
{
    g_return_if_fail(ctl && p);
    core_permissions_set_directory_source(p, directory, user_data);
    core_control_register(ctl, "core", "permissions", USAGE, HELP, cmd_permissions, p);
}
