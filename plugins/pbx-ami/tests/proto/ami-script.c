/*
 * ami-script.c - the capture format reader (see ami-script.h).
 */
#include "ami-script.h"

#include <string.h>

typedef struct script_reader {
    GPtrArray *steps;
    GString *block;     /* the block being collected, wire form */
    ami_step_kind kind; /* of that block */
    gboolean next_sent; /* ">>> SENT" seen: the next block is the client's */
    char *section;
} script_reader;

static void step_free(gpointer data)
{
    ami_step *step = data;
    g_free(step->text);
    g_free(step->section);
    g_free(step);
}

static void add_step(script_reader *r, ami_step_kind kind, const char *text)
{
    ami_step *step = g_new0(ami_step, 1);
    step->kind = kind;
    step->text = g_strdup(text);
    step->section = g_strdup(r->section);
    g_ptr_array_add(r->steps, step);
}

static void flush_block(script_reader *r)
{
    if (r->block->len == 0) {
        return;
    }
    g_string_append(r->block, "\r\n");
    add_step(r, r->kind, r->block->str);
    g_string_truncate(r->block, 0);
}

static void add_block_line(script_reader *r, const char *line, gboolean sent)
{
    if (r->block->len == 0) {
        r->kind = (sent || r->next_sent) ? AMI_STEP_SENT : AMI_STEP_RECV;
        r->next_sent = FALSE;
    }
    g_string_append(r->block, line);
    g_string_append(r->block, "\r\n");
}

static void read_line(script_reader *r, const char *line)
{
    gsize len = strlen(line);
    if (g_str_has_prefix(line, "<<< BANNER ")) {
        flush_block(r);
        add_step(r, AMI_STEP_BANNER, line + strlen("<<< BANNER "));
    } else if (g_str_has_prefix(line, "=== ") && len > 8 && g_str_has_suffix(line, " ===")) {
        flush_block(r);
        g_free(r->section);
        r->section = g_strndup(line + 4, len - 8);
    } else if (strcmp(line, ">>> SENT") == 0) {
        flush_block(r);
        r->next_sent = TRUE;
    } else if (g_str_has_prefix(line, ">>> ")) {
        flush_block(r);
        add_block_line(r, line + 4, TRUE);
    } else if (line[0] == '\0') {
        flush_block(r);
    } else {
        add_block_line(r, line, FALSE);
    }
}

GPtrArray *ami_script_parse(const char *text)
{
    script_reader r = {.steps = g_ptr_array_new_with_free_func(step_free),
                       .block = g_string_new(NULL)};
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        g_strchomp(lines[i]); /* CR, and blanks nobody sends at a line end */
        read_line(&r, lines[i]);
    }
    flush_block(&r);
    g_string_free(r.block, TRUE);
    g_free(r.section);
    return r.steps;
}

GPtrArray *ami_script_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error)) {
        return NULL;
    }
    return ami_script_parse(text);
}

char *ami_script_read(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    return text;
}

char *ami_script_peer_stream(const GPtrArray *steps)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_BANNER) {
            g_string_append_printf(out, "%s\r\n", step->text);
        } else if (step->kind == AMI_STEP_RECV) {
            g_string_append(out, step->text);
        }
    }
    return g_string_free(out, FALSE);
}

guint ami_script_count(const GPtrArray *steps, ami_step_kind kind)
{
    guint n = 0;
    for (guint i = 0; i < steps->len; i++) {
        n += ((const ami_step *)g_ptr_array_index(steps, i))->kind == kind;
    }
    return n;
}

/* Login, then the resync the driver runs after it: `channels` are the
 * CoreShowChannel events (capture format blocks, may be ""), then the AstDB
 * reads of each of `lines` (DND then CF; none set). */
GString *ami_script_login_resync(const char *const *lines, const char *channels)
{
    GString *s = g_string_new("<<< BANNER Asterisk Call Manager/11.0.0\n\n"
                              ">>> SENT\nAction: Login\nActionID: 1\nUsername: ucd\n\n"
                              "Response: Success\nActionID: 1\nMessage: Authentication accepted\n\n"
                              ">>> SENT\nAction: CoreShowChannels\nActionID: 2\n\n"
                              "Response: Success\nActionID: 2\nEventList: start\n"
                              "Message: Channels will follow\n\n");
    g_string_append(s, channels);
    g_string_append(s, "Event: CoreShowChannelsComplete\nActionID: 2\nEventList: Complete\n"
                       "ListItems: 0\n\n"
                       ">>> SENT\nAction: ExtensionStateList\nActionID: 3\n\n"
                       "Response: Success\nActionID: 3\nEventList: start\n"
                       "Message: Extension Statuses will follow\n\n"
                       "Event: ExtensionStateListComplete\nActionID: 3\nEventList: Complete\n"
                       "ListItems: 0\n\n");
    for (const char *const *l = lines; *l != NULL; l++)
        for (int i = 0; i < 2; i++)
            g_string_append_printf(s,
                                   ">>> SENT\nAction: DBGet\nActionID: 9\nFamily: %s\nKey: %s\n\n"
                                   "Response: Error\nActionID: 9\n"
                                   "Message: Database entry not found\n\n",
                                   i == 0 ? "DND" : "CF", *l);
    return s;
}
