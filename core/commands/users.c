/*
 * users.c - `ucctl users`: the directory's users in pages, one user in
 * full, and the subcommands that reach a users backend (users-backend.c).
 */
#include <string.h>

#include <ucd/event.h>

#include "control.h"
#include "model-commands-internal.h"

static gboolean in_group(const ucd_directory_user *u, const void *group)
{
    return u->groups && g_strv_contains(u->groups, group);
}

static int users_list(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    char *group = NULL, **args = NULL;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    GOptionEntry entries[] = {
        {"group", 'g', 0, G_OPTION_ARG_STRING, &group, "members of GROUP only", "G"},
        PAGE_ENTRIES(&page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    GPtrArray *users = NULL;
    if (g_strv_length(args) > 1)
        rc = command_fail(r, UCD_E_INVALID,
                          "usage: users [list] [--group G] [--limit N] [--after LOGIN]");
    else if (!page_ok(&page, r))
        rc = UCD_E_INVALID;
    else if (!(users = dir_users_sorted(c, group ? in_group : NULL, group, r)))
        rc = UCD_E_UNAVAILABLE;
    if (rc == UCD_OK) {
        guint start, end;
        dir_users_page(users, &page, &start, &end, r);
        static const char *const cols[] = {"id",     "login", "name",    "numbers",
                                           "groups", "lines", "enabled", "backend"};
        core_reply_columns(r, G_N_ELEMENTS(cols), cols);
        for (guint i = start; i < end; i++) {
            const dir_user *u = users->pdata[i];
            char *numbers = g_strjoinv(",", u->numbers);
            char *groups = g_strjoinv(",", u->groups);
            char *lines = g_strjoinv(",", u->lines);
            const char *row[] = {
                u->id, or_empty(u->login),        or_empty(u->display_name), numbers, groups,
                lines, u->enabled ? "yes" : "no", or_empty(u->backend)};
            core_reply_row(r, row);
            g_free(numbers);
            g_free(groups);
            g_free(lines);
        }
        g_ptr_array_free(users, TRUE);
    }
    g_free(group);
    g_free(page.after);
    g_strfreev(args);
    return rc;
}

static int keep_state(const ucd_directory_line *line, void *ud)
{
    *(uint32_t *)ud = line->state;
    return 1;
}

/* "DRIVER/ADDRESS (state)" of one of the user's lines. */
static char *line_text(const ucd_service *dir, const char *line)
{
    const ucd_directory_v1 *d = dir->iface;
    const char *slash = strchr(line, '/');
    uint32_t state = UCD_LINE_UNKNOWN;
    if (slash) {
        char *driver = g_strndup(line, (gsize)(slash - line));
        d->get_line(dir->impl, driver, slash + 1, keep_state, &state);
        g_free(driver);
    }
    return g_strdup_printf("%s (%s)", line, ucd_line_state_word(state));
}

static int keep_presence(const ucd_presence_info *info, void *ud)
{
    *(uint32_t *)ud = info->state;
    return 1;
}

static int users_show(core_model_commands *c, const char *who, ucd_reply *r)
{
    ucd_service dir, presence;
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &dir, r) ||
        !core_service(c, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, &presence, r))
        return UCD_E_UNAVAILABLE;
    dir_user *u = dir_user_get(c, who, r);
    if (!u)
        return UCD_E_NOT_FOUND;
    const struct {
        const char *name, *value;
    } text_fields[] = {
        {"id", u->id},
        {"login", u->login},
        {"display_name", u->display_name},
        {"given_name", u->given_name},
        {"surname", u->surname},
        {"email", u->email},
        {"department", u->department},
        {"title", u->title},
        {"home_server", u->home_server},
        {"backend", u->backend},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(text_fields); i++)
        core_reply_field(r, text_fields[i].name, text_fields[i].value);
    core_reply_field(r, "enabled", u->enabled ? "yes" : "no");
    for (guint i = 0; u->numbers[i]; i++) {
        const char *e164 = i < g_strv_length(u->e164) ? u->e164[i] : "";
        char *v = *e164 && strcmp(e164, u->numbers[i])
                      ? g_strdup_printf("%s (%s)", u->numbers[i], e164)
                      : g_strdup(u->numbers[i]);
        core_reply_field(r, "number", v);
        g_free(v);
    }
    char *groups = g_strjoinv(", ", u->groups);
    core_reply_field(r, "groups", groups);
    g_free(groups);
    for (guint i = 0; u->lines[i]; i++) {
        char *v = line_text(&dir, u->lines[i]);
        core_reply_field(r, "line", v);
        g_free(v);
    }
    uint32_t state = UCD_PRESENCE_UNKNOWN;
    ((const ucd_presence_v1 *)presence.iface)->get(presence.impl, u->id, keep_presence, &state);
    core_reply_field(r, "presence", ucd_presence_word(state));
    dir_user_free(u);
    return UCD_OK;
}

int cmd_users(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    const char *sub = argc > 1 ? argv[1] : "list";
    if (argc == 1 || g_str_has_prefix(sub, "-"))
        return users_list(c, argc, argv, r);
    if (strcmp(sub, "list") == 0)
        return users_list(c, argc - 1, argv + 1, r);
    if (strcmp(sub, "show") == 0 && argc == 3)
        return users_show(c, argv[2], r);
    if (strcmp(sub, "import") == 0 && argc == 3)
        return users_import(c, argv[2], r);
    if (strcmp(sub, "sync") == 0)
        return users_sync(c, argc - 1, argv + 1, r);
    if (strcmp(sub, "move") == 0)
        return users_move(c, argc - 1, argv + 1, r);
    if (strcmp(sub, "set-numbers") == 0)
        return users_set_numbers(c, argc - 1, argv + 1, r);
    if (strcmp(sub, "sync-status") == 0 && argc == 2)
        return users_sync_status(c, r);
    return command_fail(r, UCD_E_INVALID, "usage: %s", USERS_USAGE);
}
