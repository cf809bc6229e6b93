/*
 * presence.c - `ucctl presence`: the presence of the users active here (all
 * users with --all), of one user, and setting or clearing a manual state,
 * through the presence service with the directory saying who is where.
 */
#include <string.h>

#include "control.h"
#include "model-commands-internal.h"

/* The presence columns ("with": who the user is on the phone with, as the
 * call model identified the remote party); the last two (shown for one user
 * and with --all) say whether the user is active on this server and which
 * home server the backend names. A row is read only as far as its reply's
 * columns go. */
static const char *const presence_cols[] = {"user", "login",    "state",      "manual",
                                            "line", "calendar", "note",       "until",
                                            "with", "active",   "home_server"};
#define PRESENCE_COLS       9
#define PRESENCE_WHERE_COLS 11

typedef struct {
    ucd_presence_info info;
    char *note;
    char *with;
} presence_copy;

static int keep_info(const ucd_presence_info *info, void *ud)
{
    presence_copy *p = ud;
    p->info = *info;
    p->note = g_strdup(info->note);
    if (info->party_name && info->party_company)
        p->with = g_strdup_printf("%s (%s)", info->party_name, info->party_company);
    else
        p->with = g_strdup(info->party_name ? info->party_name : info->party_company);
    return 1;
}

static void presence_row(const ucd_service *presence, const dir_user *u, ucd_reply *r)
{
    presence_copy p = {{0}, NULL, NULL};
    ((const ucd_presence_v1 *)presence->iface)->get(presence->impl, u->id, keep_info, &p);
    const ucd_presence_info *v = &p.info;
    char *until = local_time_text(v->until_ms);
    const char *row[] = {u->id,
                         or_empty(u->login),
                         ucd_presence_word(v->state),
                         v->manual_state ? ucd_presence_word(v->manual_state) : "",
                         ucd_presence_word(v->line_state),
                         v->calendar_state ? ucd_presence_word(v->calendar_state) : "",
                         or_empty(p.note),
                         until,
                         or_empty(p.with),
                         u->active_here ? "yes" : "no",
                         or_empty(u->home_server)};
    core_reply_row(r, row);
    g_free(until);
    g_free(p.note);
    g_free(p.with);
}

/* `presence USER`: one user, active here or not, with where the user is. */
static int presence_show(core_model_commands *c, const char *who, ucd_reply *r)
{
    ucd_service presence;
    if (!core_service(c, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, &presence, r))
        return UCD_E_UNAVAILABLE;
    dir_user *u = dir_user_get(c, who, r);
    if (!u)
        return UCD_E_NOT_FOUND;
    core_reply_columns(r, PRESENCE_WHERE_COLS, presence_cols);
    presence_row(&presence, u, r);
    dir_user_free(u);
    return UCD_OK;
}

static gboolean is_active_here(const ucd_directory_user *u, const void *arg)
{
    return u->active_here != 0;
}

/* `presence [--all] [--limit N] [--after LOGIN]`: the users active on this
 * server. A disabled user, or one homed on another server than [core]
 * server_name, has no presence here: such users are listed only with --all,
 * and then every row says where the user is. */
static int presence_list(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    gboolean all = FALSE;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"all", 'a', 0, G_OPTION_ARG_NONE, &all, "users not active here too", NULL},
        PAGE_ENTRIES(&page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    ucd_service presence;
    GPtrArray *users = NULL;
    if (g_strv_length(args) > 1)
        rc = command_fail(r, UCD_E_INVALID, "usage: presence [--all] [--limit N] [--after LOGIN]");
    else if (!page_ok(&page, r))
        rc = UCD_E_INVALID;
    else if (!core_service(c, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, &presence, r) ||
             !(users = dir_users_sorted(c, all ? NULL : is_active_here, NULL, r)))
        rc = UCD_E_UNAVAILABLE;
    g_strfreev(args);
    if (rc == UCD_OK) {
        guint start, end;
        dir_users_page(users, &page, &start, &end, r);
        core_reply_columns(r, all ? PRESENCE_WHERE_COLS : PRESENCE_COLS, presence_cols);
        for (guint i = start; i < end; i++)
            presence_row(&presence, users->pdata[i], r);
        g_ptr_array_free(users, TRUE);
    }
    g_free(page.after);
    return rc;
}

/* A manual state's word -> ucd_presence_state; -1 when it is none of the
 * states a user may set. */
static int manual_state(const char *word)
{
    static const uint32_t settable[] = {UCD_PRESENCE_AVAILABLE, UCD_PRESENCE_AWAY,
                                        UCD_PRESENCE_BUSY, UCD_PRESENCE_DND,
                                        UCD_PRESENCE_OUT_OF_OFFICE};
    for (size_t i = 0; i < G_N_ELEMENTS(settable); i++)
        if (strcmp(word, ucd_presence_word(settable[i])) == 0)
            return (int)settable[i];
    return -1;
}

static int presence_set(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    char *note = NULL, *until = NULL, **args = NULL;
    GOptionEntry entries[] = {
        {"note", 'n', 0, G_OPTION_ARG_STRING, &note, "free text", "TEXT"},
        {"until", 'u', 0, G_OPTION_ARG_STRING, &until, "end time or duration", "WHEN"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    int64_t until_ms = 0;
    int state = g_strv_length(args) == 3 ? manual_state(args[2]) : -1;
    dir_user *u = g_strv_length(args) == 3 ? dir_user_get(c, args[1], NULL) : NULL;
    ucd_service presence;
    if (g_strv_length(args) != 3) {
        rc =
            command_fail(r, UCD_E_INVALID,
                         "usage: presence set USER STATE [--note TEXT] [--until ISO8601|DURATION]");
    } else if (state < 0) {
        rc = command_fail(r, UCD_E_INVALID,
                          "unknown state '%s': available, away, busy, dnd or out_of_office",
                          args[2]);
    } else if (until && (until_ms = parse_until_ms(until)) < 0) {
        rc = command_fail(
            r, UCD_E_INVALID,
            "--until '%s': give a time (2026-03-01T17:00) or a duration (30m, 2h, 1d)", until);
    } else if (u && !u->active_here) {
        rc = command_fail(r, UCD_E_INVALID,
                          "user '%s' is not active on this server (disabled, or homed on another "
                          "server): no presence here",
                          args[1]);
    } else if (!core_service(c, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, &presence, r)) {
        rc = UCD_E_UNAVAILABLE;
    } else {
        rc = ((const ucd_presence_v1 *)presence.iface)
                 ->set_manual(presence.impl, NULL, args[1], (uint32_t)state, note, until_ms);
        if (rc == UCD_E_NOT_FOUND)
            core_reply_error(r, "unknown user '%s' (see ucctl users)", args[1]);
        else if (rc != UCD_OK)
            core_reply_error(r, "--until '%s' is not in the future", or_empty(until));
        else
            rc = presence_show(c, args[1], r);
    }
    dir_user_free(u);
    g_free(note);
    g_free(until);
    g_strfreev(args);
    return rc;
}

static int presence_clear(core_model_commands *c, const char *who, ucd_reply *r)
{
    ucd_service presence;
    if (!core_service(c, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR, &presence, r))
        return UCD_E_UNAVAILABLE;
    int rc = ((const ucd_presence_v1 *)presence.iface)->clear_manual(presence.impl, NULL, who);
    if (rc != UCD_OK)
        return command_fail(r, rc, "unknown user '%s' (see ucctl users)", who);
    return presence_show(c, who, r);
}

int cmd_presence(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    if (argc == 1 || argv[1][0] == '-')
        return presence_list(c, argc, argv, r);
    if (strcmp(argv[1], "set") == 0)
        return presence_set(c, argc - 1, argv + 1, r);
    if (strcmp(argv[1], "clear") == 0 && argc == 3)
        return presence_clear(c, argv[2], r);
    if (argc == 2)
        return presence_show(c, argv[1], r);
    return command_fail(r, UCD_E_INVALID,
                        "usage: presence [--all] [--limit N] [--after LOGIN] | presence USER | "
                        "presence set USER STATE [--note TEXT] [--until ISO8601|DURATION] | "
                        "presence clear USER");
}
