/*
 * trace-command.c - `ucctl trace LINE [--after SEQ] [--limit N]`
 * (trace-command.h). The line is named as for every other command
 * (line-name.h, through the directory service); a first look shows the
 * latest entries, a poll with --after everything new, and the reply's "seq"
 * is where the next poll starts.
 */
#include "trace-command.h"
#include "command-args.h"
#include "line-name.h"

/* How far back a first look goes without --limit. */
#define TRACE_FIRST_LOOK 20

/* The reply as it is being written: the line's fields and the columns go
 * out before the first row, or after the query when there is none, so a line
 * the model does not know gets its error alone. (The directory is the model's,
 * so that takes a line removed between the two look-ups.) */
typedef struct trace_reply {
    ucd_reply *r;
    const char *driver, *address;
    gboolean header_sent;
} trace_reply;

static void trace_header(trace_reply *tr)
{
    static const char *const cols[] = {"seq", "time", "event"};
    if (tr->header_sent)
        return;
    tr->header_sent = TRUE;
    core_reply_field(tr->r, "line", tr->address);
    core_reply_field(tr->r, "driver", tr->driver);
    core_reply_columns(tr->r, G_N_ELEMENTS(cols), cols);
}

static void trace_row(uint64_t seq, int64_t time_ms, const char *text, void *ud)
{
    trace_reply *tr = ud;
    trace_header(tr);
    char seq_text[24], when[32];
    g_snprintf(seq_text, sizeof seq_text, "%" G_GUINT64_FORMAT, seq);
    char *t = local_time_text(time_ms);
    g_snprintf(when, sizeof when, "%s.%03d", t, (int)(time_ms % 1000));
    g_free(t);
    const char *row[] = {seq_text, when, text};
    core_reply_row(tr->r, row);
}

/* The driver and address of the line `arg` names, or FALSE after replying
 * why not. */
static gboolean trace_line_name(core_model *m, const char *arg, char **driver, char **address,
                                ucd_reply *r)
{
    ucd_service dir = {.struct_size = sizeof dir};
    if (core_modules_service_get(core_model_modules(m), UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR,
                                 "core", &dir) != UCD_OK) {
        core_reply_error(r, "the core's directory service is not running");
        return FALSE;
    }
    return line_name_resolve(&dir, arg, driver, address, NULL, r);
}

static int cmd_trace(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    char *after = NULL, **args = NULL, *driver = NULL, *address = NULL;
    int limit = -1;
    GOptionEntry entries[] = {
        {"after", 0, 0, G_OPTION_ARG_STRING, &after, "entries after SEQ only", "SEQ"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "at most N entries", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    guint64 after_seq = 0;
    int rc = UCD_OK;
    if (g_strv_length(args) != 2)
        rc = command_fail(r, UCD_E_INVALID, "usage: trace LINE [--after SEQ] [--limit N]");
    else if (after && !parse_uint(after, G_MAXUINT64, &after_seq))
        rc = command_fail(r, UCD_E_INVALID, "--after '%s' is not a sequence number", after);
    else if (!trace_line_name(m, args[1], &driver, &address, r))
        rc = UCD_E_NOT_FOUND;
    if (rc == UCD_OK) {
        /* A first look shows the latest few; a poll (--after) everything new
         * (limit 0). */
        guint n = limit > 0 ? (guint)limit : after ? 0 : TRACE_FIRST_LOOK;
        trace_reply tr = {r, driver, address, FALSE};
        uint64_t last = 0;
        rc = core_model_trace_line(m, driver, address, after_seq, n, after == NULL, trace_row, &tr,
                                   &last);
        if (rc == UCD_OK) {
            trace_header(&tr);
            command_reply_count(r, "seq", last);
        } else {
            core_reply_error(r, "unknown line '%s' (see ucctl lines)", args[1]);
        }
    }
    g_free(driver);
    g_free(address);
    g_free(after);
    g_strfreev(args);
    return rc;
}

void core_model_register_trace_command(core_model *m, core_control *ctl)
{
    core_control_register(ctl, "core", "trace", "trace LINE [--after SEQ] [--limit N]",
                          "recent events of one line", cmd_trace, m);
}
