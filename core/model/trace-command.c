/*
 * trace-command.c - `ucctl trace LINE [--after SEQ] [--limit N]`
 * (trace-command.h). The line is named as for every other command
 * (commands/line-name.h, through the directory service); a first look shows
 * the latest entries, a poll with --after everything new, and the reply's
 * "seq" is where the next poll starts.
 */
#include "commands/command-args.h"
#include "commands/line-name.h"
#include "directory.h"
#include "trace.h"
#include "trace-command.h"

static void trace_row(uint64_t seq, int64_t time_ms, const char *text, void *ud)
{
    char seq_text[24], when[32];
    g_snprintf(seq_text, sizeof seq_text, "%" G_GUINT64_FORMAT, seq);
    char *t = local_time_text(time_ms);
    g_snprintf(when, sizeof when, "%s.%03d", t, (int)(time_ms % 1000));
    g_free(t);
    const char *row[] = {seq_text, when, text};
    core_reply_row(ud, row);
}

/* The model's line `arg` names, or NULL after replying why not. */
static const core_line *trace_line(core_model *m, const char *arg, ucd_reply *r)
{
    ucd_service dir = {.struct_size = sizeof dir};
    char *driver = NULL, *address = NULL;
    const core_line *line = NULL;
    if (core_modules_service_get(m->mods, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, "core",
                                 &dir) != UCD_OK)
        core_reply_error(r, "the core's directory service is not running");
    else if (line_name_resolve(&dir, arg, &driver, &address, NULL, r))
        line = core_model_line(m, driver, address);
    g_free(driver);
    g_free(address);
    return line;
}

static int cmd_trace(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    char *after = NULL, **args = NULL;
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
    const core_line *line = NULL;
    if (g_strv_length(args) != 2)
        rc = command_fail(r, UCD_E_INVALID, "usage: trace LINE [--after SEQ] [--limit N]");
    else if (after && !parse_uint(after, G_MAXUINT64, &after_seq))
        rc = command_fail(r, UCD_E_INVALID, "--after '%s' is not a sequence number", after);
    else if (!(line = trace_line(m, args[1], r)))
        rc = UCD_E_NOT_FOUND;
    if (rc == UCD_OK) {
        /* A first look shows the latest few; a poll (--after) everything new. */
        guint n = limit > 0 ? (guint)limit : after ? CORE_TRACE_CAPACITY : 20;
        static const char *const cols[] = {"seq", "time", "event"};
        core_reply_field(r, "line", line->address);
        core_reply_field(r, "driver", line->driver);
        core_reply_columns(r, G_N_ELEMENTS(cols), cols);
        uint64_t last = core_trace_query(m->trace, line, after_seq, n, after == NULL, trace_row, r);
        command_reply_count(r, "seq", last);
    }
    g_free(after);
    g_strfreev(args);
    return rc;
}

void core_model_register_trace_command(core_model *m, core_control *ctl)
{
    core_control_register(ctl, "core", "trace", "trace LINE [--after SEQ] [--limit N]",
                          "recent events of one line", cmd_trace, m);
}
