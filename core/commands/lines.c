/*
 * lines.c - `ucctl lines` (every line of every PBX driver, its state, user
 * and calls) and `ucctl caps LINE` (what a line can do), from the directory
 * and calls services.
 *
 * A line is named "DRIVER/ADDRESS", or by a bare address that must name
 * exactly one line. Lines are listed by driver, then address, and
 * "DRIVER/ADDRESS" is the page cursor (a driver id has no '/'; an address
 * may).
 */
#include <string.h>

#include <ucd/event.h>

#include "control.h"
#include "line-name.h"
#include "model-commands-internal.h"

typedef struct {
    char *driver, *address, *number, *name, *forward_to, *user_id;
    uint32_t state;
    gboolean dnd;
} line_row;

static void line_row_free(gpointer p)
{
    line_row *l = p;
    g_free(l->driver);
    g_free(l->address);
    g_free(l->number);
    g_free(l->name);
    g_free(l->forward_to);
    g_free(l->user_id);
    g_free(l);
}

static int add_line(const ucd_directory_line *line, void *ud)
{
    line_row *l = g_new0(line_row, 1);
    l->driver = g_strdup(line->driver);
    l->address = g_strdup(line->address);
    l->number = g_strdup(line->number);
    l->name = g_strdup(line->name);
    l->forward_to = g_strdup(line->forward_to);
    l->user_id = g_strdup(line->user_id);
    l->state = line->state;
    l->dnd = line->dnd != 0;
    g_ptr_array_add(ud, l);
    return 0;
}

static gint by_line(gconstpointer a, gconstpointer b)
{
    const line_row *x = *(const line_row *const *)a, *y = *(const line_row *const *)b;
    int c = strcmp(x->driver, y->driver);
    return c ? c : strcmp(x->address, y->address);
}

static int line_cmp_cursor(gconstpointer item, const char *cursor)
{
    const line_row *l = item;
    return page_cmp_line(l->driver, l->address, cursor);
}

static char *line_cursor(gconstpointer item)
{
    const line_row *l = item;
    return g_strconcat(l->driver, "/", l->address, NULL);
}

/* "DRIVER\037ADDRESS": a key no driver id or address contains. */
static char *line_key(const char *driver, const char *address)
{
    return g_strconcat(driver, "\037", address, NULL);
}

static int count_leg(const ucd_call_leg *leg, void *ud)
{
    switch (leg->state) {
    case UCD_CALL_OFFERING:
    case UCD_CALL_DIALING:
    case UCD_CALL_RINGBACK:
    case UCD_CALL_CONNECTED:
    case UCD_CALL_HELD:
    case UCD_CALL_CONFERENCED: {
        char *key = line_key(leg->driver, leg->line);
        GHashTable *counts = ud;
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, key));
        g_hash_table_replace(counts, key, GUINT_TO_POINTER(n + 1));
        break;
    }
    default:
        break;
    }
    return 0;
}

static int keep_login(const ucd_directory_user *u, void *ud)
{
    *(char **)ud = g_strdup(u->login && *u->login ? u->login : u->id);
    return 1;
}

int cmd_lines(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    ucd_service dir_s, calls_s;
    if (!parse_page(argc, argv, &page, "lines [--limit N] [--after DRIVER/ADDRESS]", r))
        return UCD_E_INVALID;
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &dir_s, r) ||
        !core_service(c, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, &calls_s, r)) {
        g_free(page.after);
        return UCD_E_UNAVAILABLE;
    }
    const ucd_directory_v1 *dir = dir_s.iface;
    GPtrArray *lines = g_ptr_array_new_with_free_func(line_row_free);
    dir->foreach_line(dir_s.impl, NULL, add_line, lines);
    g_ptr_array_sort(lines, by_line);
    GHashTable *calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ((const ucd_calls_v1 *)calls_s.iface)->foreach_leg(calls_s.impl, NULL, count_leg, calls);
    guint start, end;
    char *next;
    core_page_window(lines, &page, line_cmp_cursor, line_cursor, &start, &end, &next);
    page_reply_next(r, next);
    static const char *const cols[] = {"driver", "line", "number",  "name", "state",
                                       "user",   "dnd",  "forward", "calls"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const line_row *l = lines->pdata[i];
        char *key = line_key(l->driver, l->address), *user = NULL, count[16];
        g_snprintf(count, sizeof count, "%u", GPOINTER_TO_UINT(g_hash_table_lookup(calls, key)));
        if (l->user_id)
            dir->get_user(dir_s.impl, l->user_id, keep_login, &user);
        const char *row[] = {l->driver,
                             l->address,
                             or_empty(l->number),
                             or_empty(l->name),
                             ucd_line_state_word(l->state),
                             or_empty(user),
                             l->dnd ? "on" : "off",
                             or_empty(l->forward_to),
                             count};
        core_reply_row(r, row);
        g_free(user);
        g_free(key);
    }
    g_hash_table_destroy(calls);
    g_ptr_array_free(lines, TRUE);
    g_free(page.after);
    return UCD_OK;
}

/* ---- caps ------------------------------------------------------------------------- */

/* In the order of the UCD_PBX_CAP_* bits (pbx.h). */
static const char *const cap_words[] = {
    "monitor", "dial",   "answer", "hangup",  "hold", "transfer_blind", "transfer_consult",
    "deflect", "pickup", "dtmf",   "forward", "dnd",  "conference",
};

int cmd_caps(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    ucd_service dir_s;
    if (argc != 2)
        return command_fail(r, UCD_E_INVALID, "usage: caps LINE");
    if (!core_service(c, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &dir_s, r))
        return UCD_E_UNAVAILABLE;
    char *driver = NULL, *address = NULL;
    uint64_t caps = 0;
    if (!line_name_resolve(&dir_s, argv[1], &driver, &address, &caps, r))
        return UCD_E_NOT_FOUND;
    core_reply_field(r, "line", address);
    core_reply_field(r, "driver", driver);
    static const char *const cols[] = {"capability", "supported"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (size_t i = 0; i < G_N_ELEMENTS(cap_words); i++) {
        const char *row[] = {cap_words[i], caps & (UINT64_C(1) << i) ? "yes" : "no"};
        core_reply_row(r, row);
    }
    g_free(driver);
    g_free(address);
    return UCD_OK;
}
