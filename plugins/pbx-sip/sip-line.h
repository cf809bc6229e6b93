/*
 * sip-line.h - the dialog state of ONE monitored line, fed with documents.
 *
 * The driver subscribes to a line's dialog events and passes every parsed
 * NOTIFY body (sip-dialoginfo.h) to psip_line_apply(). The line checks the
 * document's version, tracks the line's dialogs by call-id and reports each
 * dialog whose state changed as a psip_line_change, which the driver turns into
 * ucd call and line events. No SIP stack and no ucd host are involved here.
 *
 * Versions (RFC 4235 section 4.1): within one subscription every document is
 * numbered one above the previous. A document numbered at or below the last
 * applied one is a duplicate or arrived out of order and is ignored. A full
 * document replaces the line's state (dialogs it no longer lists have ended);
 * a partial one applies on top, and when it does not follow the last version
 * (or no full document came first) the line needs a resync: the driver should
 * refresh the subscription so the server sends full state again.
 *
 * Dialogs are keyed by call-id (the dialog id when a document gives none).
 * Servers such as Kamailio keep finished dialogs in their documents for about
 * 15 s, so a document may list several dialogs in any order; ended ones are
 * remembered, terminated, until a full document drops them, so they are
 * reported once. A dialog first seen already terminated (Kamailio's idle
 * "dummy" dialog, or one that ended before we subscribed) is not reported.
 */
#ifndef SIP_LINE_H
#define SIP_LINE_H

#include "sip-dialoginfo.h"

/* The line tracks at most this many dialogs; beyond it new dialogs are not
 * tracked and the line asks for a resync (a flood, not a real phone line). */
#define PSIP_LINE_MAX_DIALOGS 1024

typedef struct psip_line psip_line;

typedef enum psip_line_result {
    PSIP_LINE_APPLIED, /* the document was applied (check psip_line_needs_resync) */
    PSIP_LINE_STALE,   /* version at or below the last applied: only moves calls forward */
} psip_line_result;

/* Why a dialog changed state. */
typedef enum psip_change_reason {
    PSIP_CHANGE_REPORTED,  /* the document gave the new state */
    PSIP_CHANGE_VANISHED,  /* a full document no longer listed a live dialog */
    PSIP_CHANGE_LINK_LOST, /* psip_line_end_all(): the driver lost the server */
} psip_change_reason;

/* One dialog's state change. `from` is PSIP_DIALOG_NONE for a dialog new to
 * the line, or PSIP_DIALOG_TERMINATED when a call-id that had ended comes
 * back (both mean "a new call"). Identity fields are the latest known ones and
 * may be NULL. */
typedef struct psip_line_change {
    char *key;     /* call-id, else the dialog id */
    char *call_id; /* may be NULL */
    psip_dialog_state from;
    psip_dialog_state to;
    psip_direction direction;
    char *remote_identity; /* the remote party's URI */
    char *remote_display;  /* its display name */
    psip_change_reason reason;
    /* Why a dialog terminated, as the document said (to = terminated and
     * reason REPORTED only): the <state> event ("rejected", "cancelled",
     * "replaced", "local-bye", "remote-bye", "error", "timeout"; NULL when
     * absent) and code (a SIP status; 0 when absent). */
    char *event;
    int code;
} psip_line_change;

/* A new line with no dialogs and no version yet (the first document should be
 * full; a partial one first applies but asks for a resync). */
psip_line *psip_line_new(void);

void psip_line_free(psip_line *line);

/* Applies one parsed document. When `changes` is not NULL (an array made by
 * psip_line_changes_new()), every dialog state change is appended to it in
 * document order, ended-by-omission ones last. Returns PSIP_LINE_STALE when the
 * version says the document arrived late; then it only moves calls the line
 * tracks further forward (Kamailio numbers documents out of the order it
 * built them in): it starts none and ends none by omission. Dialogs whose
 * <state> this module does not know keep their previous state (a full document
 * listing one does not end it), and so does a live dialog said to be back in
 * an earlier state (confirmed -> early: states only move forward). */
psip_line_result psip_line_apply(psip_line *line, const psip_doc *doc, GPtrArray *changes);

/* TRUE after a partial document that did not follow the last applied version
 * (or came before any full one), or when the dialog limit was hit; cleared by
 * the next full document. The driver should refresh the subscription. */
gboolean psip_line_needs_resync(const psip_line *line);

/* The driver made a new subscription for this line (after an error, or the old
 * one expired): its documents are numbered afresh, so the last version is
 * forgotten. Dialogs are kept; the first full document of the new
 * subscription ends those it no longer lists. */
void psip_line_new_subscription(psip_line *line);

/* Ends every live dialog with reason PSIP_CHANGE_LINK_LOST (appended to
 * `changes` when not NULL) and forgets all dialogs: the server is gone, so
 * what it last said can no longer be trusted to end. */
void psip_line_end_all(psip_line *line, GPtrArray *changes);

/* The state the line holds for a call-id (or dialog id), PSIP_DIALOG_NONE when
 * it tracks no such dialog. */
psip_dialog_state psip_line_dialog_state(const psip_line *line, const char *key);

/* How many tracked dialogs are not terminated. */
guint psip_line_live_count(const psip_line *line);

/* Why a call ended, in SIP terms the driver maps to its own causes. */
typedef enum psip_end_cause {
    PSIP_END_NONE,        /* the change is not an end */
    PSIP_END_NORMAL,      /* hung up after it was answered, or nothing said otherwise */
    PSIP_END_BUSY,        /* 486 Busy Here, 600 Busy Everywhere */
    PSIP_END_NO_ANSWER,   /* 480/408/487, event cancelled/timeout, a callee never answered */
    PSIP_END_REJECTED,    /* 603 Decline, event rejected */
    PSIP_END_FAILED,      /* any other 4xx-6xx, event error */
    PSIP_END_PICKED_UP,   /* event replaced while ringing: answered elsewhere (pickup) */
    PSIP_END_TRANSFERRED, /* event replaced once answered: attended transfer */
    PSIP_END_LINK_LOST,   /* psip_line_end_all */
} psip_end_cause;

/* The cause of a change to terminated, from its reason, the terminated
 * state's code and event (RFC 4235 section 3.7.1) and the state it ended from:
 * a SIP code decides first (486/600 busy, 603 rejected, 480/408/487 no answer,
 * other >= 400 failed), then the event (rejected; cancelled/timeout no answer;
 * error failed; replaced: picked up while ringing, transferred once
 * confirmed), then a callee that never reached confirmed is no answer;
 * everything else (local-bye, remote-bye, vanished from a full document) is
 * normal. PSIP_END_NONE when `change` does not end a dialog. */
psip_end_cause psip_line_change_end_cause(const psip_line_change *change);

/* The cause a final SIP status says by itself: 486/600 busy, 603 rejected,
 * 408/480/487 no answer, any other >= 400 failed; PSIP_END_NONE below 400. */
psip_end_cause psip_end_cause_of_code(int code);

/* An empty array of psip_line_change * that frees its elements. */
GPtrArray *psip_line_changes_new(void);

#endif
