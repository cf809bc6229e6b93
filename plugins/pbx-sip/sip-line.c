/*
 * sip-line.c - the dialog state of one monitored line (see sip-line.h).
 */
#include "sip-line.h"

/* What the line remembers of one dialog. */
typedef struct tracked_dialog {
    char *key;
    char *call_id;
    psip_dialog_state state;
    psip_direction direction;
    char *remote_identity;
    char *remote_display;
    char *end_event; /* the terminated state's event and code, when given */
    int end_code;
    guint64 seen_in;   /* the apply round that last listed it */
    gboolean answered; /* it was confirmed once: its end is final */
} tracked_dialog;

struct psip_line {
    GPtrArray *dialogs; /* of tracked_dialog *, in order of first appearance */
    GHashTable *by_key; /* key -> tracked_dialog * (borrowed from `dialogs`) */
    gboolean has_version;
    guint64 version; /* the last applied document's version */
    gboolean needs_resync;
    guint64 round; /* counts applied documents, for the full-document sweep */
    /* Keys of answered dialogs that ended and were then forgotten, oldest
     * first, at most PSIP_LINE_MAX_DIALOGS: a late document still listing
     * one live must not bring it back (see apply_dialog). */
    GQueue *ended_order;
    GHashTable *ended; /* key -> TRUE, the same keys as `ended_order` */
};

static void tracked_free(gpointer data)
{
    tracked_dialog *dialog = data;
    g_free(dialog->key);
    g_free(dialog->call_id);
    g_free(dialog->remote_identity);
    g_free(dialog->remote_display);
    g_free(dialog->end_event);
    g_free(dialog);
}

static void change_free(gpointer data)
{
    psip_line_change *change = data;
    g_free(change->key);
    g_free(change->call_id);
    g_free(change->remote_identity);
    g_free(change->remote_display);
    g_free(change->event);
    g_free(change);
}

GPtrArray *psip_line_changes_new(void)
{
    return g_ptr_array_new_with_free_func(change_free);
}

psip_line *psip_line_new(void)
{
    psip_line *line = g_new0(psip_line, 1);
    line->dialogs = g_ptr_array_new_with_free_func(tracked_free);
    line->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    line->ended_order = g_queue_new();
    line->ended = g_hash_table_new(g_str_hash, g_str_equal);
    return line;
}

void psip_line_free(psip_line *line)
{
    if (line == NULL) {
        return;
    }
    g_hash_table_unref(line->by_key);
    g_ptr_array_unref(line->dialogs);
    g_hash_table_unref(line->ended);
    g_queue_free_full(line->ended_order, g_free);
    g_free(line);
}

static const char *dialog_key(const psip_dialog *dialog)
{
    return dialog->call_id != NULL && dialog->call_id[0] != '\0' ? dialog->call_id : dialog->id;
}

static void record_change(GPtrArray *changes, const tracked_dialog *dialog, psip_dialog_state to,
                          psip_change_reason reason)
{
    if (changes == NULL) {
        return;
    }
    psip_line_change *change = g_new0(psip_line_change, 1);
    change->key = g_strdup(dialog->key);
    change->call_id = g_strdup(dialog->call_id);
    change->from = dialog->state;
    change->to = to;
    change->direction = dialog->direction;
    change->remote_identity = g_strdup(dialog->remote_identity);
    change->remote_display = g_strdup(dialog->remote_display);
    change->reason = reason;
    if (to == PSIP_DIALOG_TERMINATED && reason == PSIP_CHANGE_REPORTED) {
        change->event = g_strdup(dialog->end_event);
        change->code = dialog->end_code;
    }
    g_ptr_array_add(changes, change);
}

/* Forked calls give several dialogs one call-id; the call is as far as its
 * furthest live branch, and over only when every branch is. */
static gboolean supersedes(const psip_dialog *candidate, const psip_dialog *current)
{
    if (candidate->state == PSIP_DIALOG_UNKNOWN) {
        return FALSE;
    }
    if (current->state == PSIP_DIALOG_UNKNOWN || current->state == PSIP_DIALOG_TERMINATED) {
        return TRUE;
    }
    return candidate->state != PSIP_DIALOG_TERMINATED && candidate->state > current->state;
}

/* key -> the document's dialog that speaks for that key. */
static GHashTable *pick_by_key(const psip_doc *doc)
{
    GHashTable *picked = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < doc->dialogs->len; i++) {
        const psip_dialog *dialog = g_ptr_array_index(doc->dialogs, i);
        const psip_dialog *current = g_hash_table_lookup(picked, dialog_key(dialog));
        if (current == NULL || supersedes(dialog, current)) {
            g_hash_table_insert(picked, (gpointer)dialog_key(dialog), (gpointer)dialog);
        }
    }
    return picked;
}

static tracked_dialog *track(psip_line *line, const psip_dialog *dialog)
{
    tracked_dialog *tracked = g_new0(tracked_dialog, 1);
    tracked->key = g_strdup(dialog_key(dialog));
    tracked->call_id = g_strdup(dialog->call_id);
    tracked->state = PSIP_DIALOG_NONE;
    g_ptr_array_add(line->dialogs, tracked);
    g_hash_table_insert(line->by_key, tracked->key, tracked);
    return tracked;
}

/* Later documents may add what earlier ones left out (Kamailio's first
 * "Trying" for a caller can lack the remote side); never erase what we know. */
static void update_details(tracked_dialog *tracked, const psip_dialog *dialog)
{
    if (dialog->direction != PSIP_DIRECTION_UNSPECIFIED) {
        tracked->direction = dialog->direction;
    }
    if (dialog->remote.identity != NULL) {
        g_free(tracked->remote_identity);
        tracked->remote_identity = g_strdup(dialog->remote.identity);
    }
    if (dialog->remote.identity_display != NULL) {
        g_free(tracked->remote_display);
        tracked->remote_display = g_strdup(dialog->remote.identity_display);
    }
    if (dialog->state == PSIP_DIALOG_TERMINATED) {
        g_free(tracked->end_event);
        tracked->end_event = g_strdup(dialog->event);
        tracked->end_code = dialog->code;
    }
}

/* A call that was answered and then ended is over for good: its call-id
 * names no other call. Dialogs without a call-id are Asterisk's hint
 * documents, which name the extension and reuse it from call to call; a
 * dialog that ended unanswered may be one branch of a call whose other
 * branch still answers under the same call-id. */
static gboolean ended_for_good(const tracked_dialog *dialog)
{
    return dialog->state == PSIP_DIALOG_TERMINATED && dialog->answered && dialog->call_id != NULL &&
           dialog->call_id[0] != '\0';
}

/* RFC 4235's dialog states only move forward (trying, proceeding, early,
 * confirmed, terminated). A dialog said to be back in an earlier state is
 * old news from a server that reordered its publications: Kamailio, after
 * dlg.end_dlg, sometimes sends "early" after "confirmed"; and when two
 * dialogs of one line end together, its workers may number a document
 * built before the first end after the one built after it, so the higher
 * version still shows the ended call confirmed (ended_for_good). */
static gboolean moves_backwards(const tracked_dialog *dialog, psip_dialog_state to)
{
    psip_dialog_state from = dialog->state;
    if (ended_for_good(dialog))
        return to != PSIP_DIALOG_TERMINATED;
    gboolean live = from >= PSIP_DIALOG_TRYING && from <= PSIP_DIALOG_CONFIRMED;
    return live && to >= PSIP_DIALOG_TRYING && to < from;
}

/* Remembers that the dialog `key` ended, as it is forgotten. */
static void remember_ended(psip_line *line, const char *key)
{
    if (g_hash_table_contains(line->ended, key))
        return;
    if (g_queue_get_length(line->ended_order) >= PSIP_LINE_MAX_DIALOGS) {
        char *oldest = g_queue_pop_head(line->ended_order);
        g_hash_table_remove(line->ended, oldest);
        g_free(oldest);
    }
    char *copy = g_strdup(key);
    g_queue_push_tail(line->ended_order, copy);
    g_hash_table_add(line->ended, copy);
}

static void apply_dialog(psip_line *line, const psip_dialog *dialog, GPtrArray *changes)
{
    tracked_dialog *tracked = g_hash_table_lookup(line->by_key, dialog_key(dialog));
    if (tracked == NULL) {
        if (dialog->state == PSIP_DIALOG_UNKNOWN) {
            return; /* nothing to tell the driver about a dialog we cannot place */
        }
        if (g_hash_table_contains(line->ended, dialog_key(dialog))) {
            return; /* it ended and was forgotten: a late document, not a new call */
        }
        if (line->dialogs->len >= PSIP_LINE_MAX_DIALOGS) {
            line->needs_resync = TRUE;
            return;
        }
        tracked = track(line, dialog);
        if (dialog->state == PSIP_DIALOG_TERMINATED) {
            tracked->state = PSIP_DIALOG_TERMINATED; /* ended before we knew it: silent */
        }
    }
    tracked->seen_in = line->round;
    update_details(tracked, dialog);
    if (dialog->state != PSIP_DIALOG_UNKNOWN && dialog->state != tracked->state &&
        !moves_backwards(tracked, dialog->state)) {
        record_change(changes, tracked, dialog->state, PSIP_CHANGE_REPORTED);
        tracked->state = dialog->state;
        tracked->answered |= dialog->state == PSIP_DIALOG_CONFIRMED;
    }
}

/* Removes the dialogs `drop` selects, keeping the order of the others. */
static void remove_dialogs(psip_line *line,
                           gboolean (*drop)(const psip_line *, const tracked_dialog *))
{
    guint kept = 0;
    for (guint i = 0; i < line->dialogs->len; i++) {
        tracked_dialog *dialog = g_ptr_array_index(line->dialogs, i);
        if (drop(line, dialog)) {
            if (ended_for_good(dialog))
                remember_ended(line, dialog->key);
            g_hash_table_remove(line->by_key, dialog->key);
            tracked_free(dialog);
        } else {
            line->dialogs->pdata[kept++] = dialog;
        }
    }
    g_ptr_array_set_free_func(line->dialogs, NULL);
    g_ptr_array_set_size(line->dialogs, kept);
    g_ptr_array_set_free_func(line->dialogs, tracked_free);
}

static gboolean not_in_this_round(const psip_line *line, const tracked_dialog *dialog)
{
    return dialog->seen_in != line->round;
}

static gboolean ended_before_this_round(const psip_line *line, const tracked_dialog *dialog)
{
    return dialog->state == PSIP_DIALOG_TERMINATED && dialog->seen_in != line->round;
}

/* A full document is the whole truth: live dialogs it omits have ended. */
static void sweep_after_full(psip_line *line, GPtrArray *changes)
{
    for (guint i = 0; i < line->dialogs->len; i++) {
        tracked_dialog *dialog = g_ptr_array_index(line->dialogs, i);
        if (dialog->seen_in != line->round && dialog->state != PSIP_DIALOG_TERMINATED) {
            record_change(changes, dialog, PSIP_DIALOG_TERMINATED, PSIP_CHANGE_VANISHED);
            dialog->state = PSIP_DIALOG_TERMINATED; /* remembered as ended, below */
        }
    }
    remove_dialogs(line, not_in_this_round);
}

/* Ended dialogs are kept only to recognise them while documents still list
 * them; with partial documents alone nothing would ever drop them, so past
 * the limit those the last document did not mention go. */
static void prune_ended(psip_line *line)
{
    if (line->dialogs->len >= PSIP_LINE_MAX_DIALOGS / 2) {
        remove_dialogs(line, ended_before_this_round);
    }
}

static void check_version(psip_line *line, const psip_doc *doc)
{
    if (doc->state == PSIP_DOC_FULL) {
        line->needs_resync = FALSE;
    } else if (!line->has_version || doc->version != line->version + 1) {
        line->needs_resync = TRUE;
    }
    line->has_version = TRUE;
    line->version = doc->version;
}

/* A document numbered below the last applied one arrived late, but it may
 * still be newer for some calls: Kamailio's presence workers send over UDP
 * from several processes and number documents in another order than they
 * built them, so version 3 ("confirmed", built first) can arrive before
 * version 2 ("terminated", built last). Dropping the late one whole lost
 * the call's end for good, as nothing is sent again until the line changes.
 * So its calls may move forward (states only do, RFC 4235), and nothing
 * else: it makes no new call (one it lists may be long over and forgotten)
 * and ends none by leaving it out (one may have begun after it was built).
 * Dialogs without a call-id (Asterisk's hints, which reuse their id and go
 * back to idle) never take a late document. */
static void catch_up_late(psip_line *line, const psip_doc *doc, GPtrArray *changes)
{
    GHashTable *picked = pick_by_key(doc);
    for (guint i = 0; i < doc->dialogs->len; i++) {
        const psip_dialog *dialog = g_ptr_array_index(doc->dialogs, i);
        if (g_hash_table_lookup(picked, dialog_key(dialog)) != dialog || dialog->call_id == NULL ||
            dialog->call_id[0] == '\0') {
            continue;
        }
        tracked_dialog *tracked = g_hash_table_lookup(line->by_key, dialog_key(dialog));
        if (tracked == NULL || dialog->state == PSIP_DIALOG_UNKNOWN ||
            dialog->state <= tracked->state) {
            continue;
        }
        update_details(tracked, dialog);
        record_change(changes, tracked, dialog->state, PSIP_CHANGE_REPORTED);
        tracked->state = dialog->state;
        tracked->answered |= dialog->state == PSIP_DIALOG_CONFIRMED;
    }
    g_hash_table_unref(picked);
}

psip_line_result psip_line_apply(psip_line *line, const psip_doc *doc, GPtrArray *changes)
{
    g_return_val_if_fail(line != NULL && doc != NULL, PSIP_LINE_STALE);
    if (line->has_version && doc->version <= line->version) {
        catch_up_late(line, doc, changes);
        return PSIP_LINE_STALE;
    }
    check_version(line, doc);
    line->round++;
    GHashTable *picked = pick_by_key(doc);
    for (guint i = 0; i < doc->dialogs->len; i++) {
        const psip_dialog *dialog = g_ptr_array_index(doc->dialogs, i);
        if (g_hash_table_lookup(picked, dialog_key(dialog)) == dialog) {
            apply_dialog(line, dialog, changes);
        }
    }
    g_hash_table_unref(picked);
    if (doc->state == PSIP_DOC_FULL) {
        sweep_after_full(line, changes);
    } else {
        prune_ended(line);
    }
    return PSIP_LINE_APPLIED;
}

gboolean psip_line_needs_resync(const psip_line *line)
{
    return line->needs_resync;
}

void psip_line_new_subscription(psip_line *line)
{
    line->has_version = FALSE;
    line->version = 0;
}

void psip_line_end_all(psip_line *line, GPtrArray *changes)
{
    for (guint i = 0; i < line->dialogs->len; i++) {
        tracked_dialog *dialog = g_ptr_array_index(line->dialogs, i);
        if (dialog->state != PSIP_DIALOG_TERMINATED) {
            record_change(changes, dialog, PSIP_DIALOG_TERMINATED, PSIP_CHANGE_LINK_LOST);
        }
    }
    g_hash_table_remove_all(line->by_key);
    g_ptr_array_set_size(line->dialogs, 0);
}

psip_dialog_state psip_line_dialog_state(const psip_line *line, const char *key)
{
    const tracked_dialog *dialog = g_hash_table_lookup(line->by_key, key);
    return dialog != NULL ? dialog->state : PSIP_DIALOG_NONE;
}

guint psip_line_live_count(const psip_line *line)
{
    guint live = 0;
    for (guint i = 0; i < line->dialogs->len; i++) {
        const tracked_dialog *dialog = g_ptr_array_index(line->dialogs, i);
        live += dialog->state != PSIP_DIALOG_TERMINATED;
    }
    return live;
}

/* ---- why a dialog ended --------------------------------------------------------------- */

psip_end_cause psip_end_cause_of_code(int code)
{
    switch (code) {
    case 486:
    case 600:
        return PSIP_END_BUSY;
    case 603:
        return PSIP_END_REJECTED;
    case 408:
    case 480:
    case 487:
        return PSIP_END_NO_ANSWER;
    default:
        return code >= 400 ? PSIP_END_FAILED : PSIP_END_NONE;
    }
}

/* RFC 4235 "replaced": a Replaces INVITE (RFC 3891) took the dialog over. A
 * dialog still ringing was taken by another phone (call pickup); an answered
 * one was handed on (attended transfer). */
static psip_end_cause cause_of_event(const char *event, psip_dialog_state from)
{
    if (event == NULL)
        return PSIP_END_NONE;
    if (g_ascii_strcasecmp(event, "rejected") == 0)
        return PSIP_END_REJECTED;
    if (g_ascii_strcasecmp(event, "cancelled") == 0 || g_ascii_strcasecmp(event, "timeout") == 0)
        return PSIP_END_NO_ANSWER;
    if (g_ascii_strcasecmp(event, "error") == 0)
        return PSIP_END_FAILED;
    if (g_ascii_strcasecmp(event, "replaced") == 0)
        return from == PSIP_DIALOG_CONFIRMED ? PSIP_END_TRANSFERRED : PSIP_END_PICKED_UP;
    return PSIP_END_NONE; /* local-bye, remote-bye, or unknown */
}

psip_end_cause psip_line_change_end_cause(const psip_line_change *change)
{
    if (change->to != PSIP_DIALOG_TERMINATED)
        return PSIP_END_NONE;
    if (change->reason == PSIP_CHANGE_LINK_LOST)
        return PSIP_END_LINK_LOST;
    psip_end_cause cause = psip_end_cause_of_code(change->code);
    if (cause == PSIP_END_NONE)
        cause = cause_of_event(change->event, change->from);
    if (cause != PSIP_END_NONE)
        return cause;
    if (change->direction == PSIP_DIRECTION_RECIPIENT && change->from != PSIP_DIALOG_CONFIRMED &&
        change->code == 0 && change->reason == PSIP_CHANGE_REPORTED)
        return PSIP_END_NO_ANSWER;
    return PSIP_END_NORMAL;
}
