/*
 * routes-journal-csv.c - GET /journal.csv: the conversations GET /journal
 * would page through, with the same filters, visibility and masking, as one
 * CSV download (routes-journal-csv.h says how cells are written).
 *
 * The file is built in a work item, page by page through the journal's
 * cursor (routes-journal.h's scan), and sent whole: at most
 * JOURNAL_CSV_MAX_ROWS rows, newest first; a bigger result is cut there
 * and the answer's X-Journal-Next header holds the journal's cursor, which
 * the next download takes as ?after= (as a page of GET /journal would).
 */
#include <string.h>

#include "routes-journal-csv.h"
#include "routes-model.h"
#include "routes-journal.h"

void journal_csv_cell(GString *out, const char *text)
{
    if (text == NULL || *text == '\0')
        return;
    gboolean formula = strchr("=+-@\t\r", text[0]) != NULL;
    gboolean quote = strpbrk(text, ",\"\r\n") != NULL;
    if (quote)
        g_string_append_c(out, '"');
    if (formula)
        g_string_append_c(out, '\'');
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *c);
    }
    if (quote)
        g_string_append_c(out, '"');
}

static const char *const columns[] = {"uuid",
                                      "start",
                                      "start_ms",
                                      "answer",
                                      "end",
                                      "duration_s",
                                      "direction",
                                      "outcome",
                                      "private",
                                      "source_number",
                                      "source_e164",
                                      "source_name",
                                      "requested_number",
                                      "requested_e164",
                                      "destination_number",
                                      "destination_e164",
                                      "destination_name",
                                      "transferred_by",
                                      "forward_reason",
                                      "picked_up_by",
                                      "end_cause",
                                      "tags",
                                      "memo",
                                      "participant_users",
                                      "participant_lines",
                                      "driver_instance"};

void journal_csv_header(GString *out)
{
    for (guint i = 0; i < G_N_ELEMENTS(columns); i++) {
        if (i)
            g_string_append_c(out, ',');
        journal_csv_cell(out, columns[i]);
    }
    g_string_append(out, "\r\n");
}

/* The participants' user ids or lines, ';'-separated, in the record's
 * order (an empty entry for a participant without one). */
static char *participant_list(const ucd_journal_record *r, gboolean lines)
{
    GString *s = g_string_new(NULL);
    for (guint32 i = 0; r->participants && i < r->participant_count; i++) {
        const ucd_journal_participant *p = journal_participant(r, i);
        const char *value = lines ? p->line : p->user_id;
        g_string_append_printf(s, "%s%s", i ? ";" : "", value ? value : "");
    }
    return g_string_free(s, FALSE);
}

void journal_csv_row(GString *out, const ucd_journal_record *r, gboolean masked)
{
    char start[40], answer[40], end[40], start_ms[24], duration[24];
    g_snprintf(start_ms, sizeof start_ms, "%" G_GINT64_FORMAT, r->start_ms);
    g_snprintf(duration, sizeof duration, "%" G_GINT64_FORMAT,
               r->end_ms > r->start_ms ? (r->end_ms - r->start_ms) / 1000 : 0);
    char *users = participant_list(r, FALSE);
    char *lines = participant_list(r, TRUE);
    const char *cells[] = {r->uuid,
                           routes_iso_time(r->start_ms, start, sizeof start),
                           start_ms,
                           routes_iso_time(r->answer_ms, answer, sizeof answer),
                           routes_iso_time(r->end_ms, end, sizeof end),
                           duration,
                           ucd_call_direction_word(r->direction),
                           journal_outcome_word(r->outcome),
                           (r->flags & UCD_JOURNAL_FLAG_PRIVATE) ? "true" : "false",
                           masked ? JOURNAL_MASKED_NUMBER : r->source_number,
                           masked ? NULL : r->source_e164,
                           masked ? NULL : r->source_name,
                           r->requested_number,
                           r->requested_e164,
                           r->destination_number,
                           r->destination_e164,
                           r->destination_name,
                           r->transferred_by,
                           r->forward_reason,
                           r->picked_up_by,
                           journal_end_cause_word(r),
                           r->tags,
                           r->memo,
                           users,
                           lines,
                           r->driver_instance};
    G_STATIC_ASSERT(G_N_ELEMENTS(cells) == G_N_ELEMENTS(columns));
    for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
        if (i)
            g_string_append_c(out, ',');
        journal_csv_cell(out, cells[i]);
    }
    g_string_append(out, "\r\n");
    g_free(users);
    g_free(lines);
}

/* ---- the route ---- */

typedef struct csv_job {
    journal_request *req;
    GString *text;
    guint rows;
} csv_job;

static int add_row(const ucd_journal_record *r, gboolean masked, void *data)
{
    csv_job *job = data;
    journal_csv_row(job->text, r, masked);
    job->rows++;
    return 0;
}

static void csv_work(void *data)
{
    csv_job *job = data;
    journal_csv_header(job->text);
    journal_scan(job->req, JOURNAL_CSV_MAX_ROWS, add_row, job);
}

static void csv_done(void *data)
{
    csv_job *job = data;
    journal_request *req = job->req;
    api_ctx *ctx = req->ctx;
    if (req->result != UCD_OK) {
        journal_scan_error(req);
        g_string_free(job->text, TRUE);
    } else {
        if (req->next[0]) {
            ctx->host->log(ctx->self, UCD_LOG_INFO,
                           "journal.csv: cut at %u rows; the rest follows with "
                           "after=X-Journal-Next",
                           job->rows);
            api_call_set_header(req->call, "X-Journal-Next", req->next);
        }
        GDateTime *now = g_date_time_new_now_utc();
        char *name = g_date_time_format(now, "journal-%Y%m%dT%H%M%SZ.csv");
        g_date_time_unref(now);
        gsize length = job->text->len;
        GBytes *bytes = g_bytes_new_take(g_string_free(job->text, FALSE), length);
        api_call_respond_file(req->call, "text/csv; charset=utf-8; header=present", bytes, name);
        g_free(name);
    }
    journal_request_free(req);
    g_free(job);
}

static void journal_csv(api_call *call, gpointer data)
{
    journal_request *req = journal_request_new(call, 0);
    if (req == NULL)
        return;
    csv_job *job = g_new0(csv_job, 1);
    job->req = req;
    job->text = g_string_sized_new(64 * 1024);
    journal_submit(req, csv_work, csv_done, job);
}

const api_route_def journal_csv_route = {
    "GET",
    "/journal.csv",
    UCD_HTTP_ROLE_USER,
    "journal:read",
    "{\"summary\":\"Finished conversations as CSV\",\"description\":\"The conversations GET "
    "/journal pages through (same filters, visibility and masking), newest first, as one "
    "RFC 4180 file (UTF-8, CRLF, a header row) sent as an attachment. At most 100000 rows "
    "(a fixed limit): a longer result is cut there and the header X-Journal-Next holds the "
    "cursor to pass as after for the rest. Cells a spreadsheet "
    "would evaluate (starting with = + - @, TAB or CR) get a leading single quote, so "
    "E.164 numbers read '+4930...; participant_users and participant_lines list the "
    "participants in order, ';'-separated.\",\"parameters\":["
    "{\"name\":\"user\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"number\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"outcome\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"from\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"to\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"after\",\"in\":\"query\",\"description\":\"X-Journal-Next of a cut "
    "download\",\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"the CSV file\",\"headers\":{"
    "\"X-Journal-Next\":{\"description\":\"only when the file was cut: the cursor of the "
    "rest\",\"schema\":{\"type\":\"string\"}},"
    "\"Content-Disposition\":{\"schema\":{\"type\":\"string\",\"example\":"
    "\"attachment; filename=\\\"journal-20260301T080000Z.csv\\\"\"}}},\"content\":{\"text/csv\":"
    "{\"schema\":{\"type\":\"string\"}}}},\"400\":{\"description\":\"a bad filter\"},"
    "\"422\":{\"description\":\"a leader who sees more than 1000 users asked without "
    "user\"},\"503\":{\"description\":\"no journal runs, or one older than journal "
    "1.2\"}}}",
    journal_csv};
