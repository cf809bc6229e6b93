/*
 * calls.c - `ucctl calls`: the live legs of every line, from the calls
 * service, with how many legs and open conversations there are.
 *
 * Calls are listed by line (driver, then address), then call id; the line
 * ("DRIVER/ADDRESS") is the page cursor, so a page holds every leg of the
 * lines it shows.
 */
#include <string.h>

#include <ucd/event.h>

#include "control.h"
#include "model-commands-internal.h"

typedef struct {
    char *driver, *line, *call_id, *conversation, *remote, *party, *since;
    uint32_t state, direction;
} call_row;

static void call_row_free(gpointer p)
{
    call_row *c = p;
    g_free(c->driver);
    g_free(c->line);
    g_free(c->call_id);
    g_free(c->conversation);
    g_free(c->remote);
    g_free(c->party);
    g_free(c->since);
    g_free(c);
}

/* "Name, Company (source)" of the identified remote party (a company's own
 * entry is named after it: said once); "" when none. */
static char *party_text(const ucd_call_leg *leg)
{
    GString *t = g_string_new(leg->party_name);
    if (leg->party_company && g_strcmp0(leg->party_company, leg->party_name) != 0)
        g_string_append_printf(t, "%s%s", t->len ? ", " : "", leg->party_company);
    if (t->len && leg->party_source)
        g_string_append_printf(t, " (%s)", leg->party_source);
    return g_string_free(t, FALSE);
}

static int add_call_row(const ucd_call_leg *leg, void *ud)
{
    call_row *row = g_new0(call_row, 1);
    row->driver = g_strdup(leg->driver);
    row->line = g_strdup(leg->line);
    row->call_id = g_strdup(or_empty(leg->call_id));
    row->conversation = g_strdup(leg->uuid);
    row->state = leg->state;
    row->direction = leg->direction;
    row->remote =
        leg->remote_name && leg->remote_number
            ? g_strdup_printf("%s (%s)", leg->remote_number, leg->remote_name)
            : g_strdup(leg->remote_number ? leg->remote_number : or_empty(leg->remote_name));
    row->since = local_time_text(leg->since_ms);
    row->party = party_text(leg);
    g_ptr_array_add(ud, row);
    return 0;
}

static gint by_call_row(gconstpointer a, gconstpointer b)
{
    const call_row *x = *(const call_row *const *)a, *y = *(const call_row *const *)b;
    int c = strcmp(x->driver, y->driver);
    if (!c)
        c = strcmp(x->line, y->line);
    return c ? c : strcmp(x->call_id, y->call_id);
}

static int call_cmp_cursor(gconstpointer item, const char *cursor)
{
    const call_row *row = item;
    return page_cmp_line(row->driver, row->line, cursor);
}

static char *call_cursor(gconstpointer item)
{
    const call_row *row = item;
    return g_strconcat(row->driver, "/", row->line, NULL);
}

static int count_record(const ucd_journal_record *record, void *ud)
{
    (*(guint *)ud)++;
    return 0;
}

int cmd_calls(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model_commands *c = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    ucd_service s;
    if (!parse_page(argc, argv, &page, "calls [--limit N] [--after DRIVER/ADDRESS]", r))
        return UCD_E_INVALID;
    if (!core_service(c, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, &s, r)) {
        g_free(page.after);
        return UCD_E_UNAVAILABLE;
    }
    const ucd_calls_v1 *calls = s.iface;
    GPtrArray *rows = g_ptr_array_new_with_free_func(call_row_free);
    calls->foreach_leg(s.impl, NULL, add_call_row, rows);
    g_ptr_array_sort(rows, by_call_row);
    guint open = 0;
    calls->foreach_conversation(s.impl, NULL, count_record, &open);
    guint start, end;
    char *next;
    core_page_window(rows, &page, call_cmp_cursor, call_cursor, &start, &end, &next);
    page_reply_next(r, next);
    command_reply_count(r, "live_legs", rows->len);
    command_reply_count(r, "open_conversations", open);
    static const char *const cols[] = {"driver",    "line",   "call",  "conversation", "state",
                                       "direction", "remote", "party", "since"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const call_row *row = rows->pdata[i];
        const char *cells[] = {row->driver,
                               row->line,
                               row->call_id,
                               or_empty(row->conversation),
                               ucd_call_state_word(row->state),
                               ucd_call_direction_word(row->direction),
                               row->remote,
                               row->party,
                               row->since};
        core_reply_row(r, cells);
    }
    g_ptr_array_free(rows, TRUE);
    g_free(page.after);
    return UCD_OK;
}
