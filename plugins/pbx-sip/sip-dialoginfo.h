/*
 * sip-dialoginfo.h - application/dialog-info+xml (RFC 4235) documents.
 *
 * A SIP dialog-event NOTIFY carries one such document: the dialogs of one
 * monitored entity (a line) and their states. This module turns a body into
 * plain C structures; it keeps no state between documents (sip-line.h does).
 *
 * The body comes from the network, so the parser is defensive: bodies above
 * PSIP_DIALOGINFO_MAX_BYTES are refused unread, any DOCTYPE is refused (a
 * dialog-info document never needs one, and refusing it means no entity, internal
 * or external, is ever declared, expanded or fetched), the network is off, and
 * a document with more than PSIP_DIALOGINFO_MAX_DIALOGS dialogs is refused.
 */
#ifndef SIP_DIALOGINFO_H
#define SIP_DIALOGINFO_H

#include <glib.h>

#define PSIP_DIALOGINFO_NS          "urn:ietf:params:xml:ns:dialog-info"
#define PSIP_DIALOGINFO_MAX_BYTES   (64 * 1024)
#define PSIP_DIALOGINFO_MAX_DIALOGS 256

#define PSIP_DIALOGINFO_ERROR (psip_dialoginfo_error_quark())
typedef enum psip_dialoginfo_error {
    PSIP_DIALOGINFO_ERROR_TOO_LARGE,  /* body above PSIP_DIALOGINFO_MAX_BYTES */
    PSIP_DIALOGINFO_ERROR_MALFORMED,  /* not well-formed XML (truncated, garbage) */
    PSIP_DIALOGINFO_ERROR_DOCTYPE,    /* a DOCTYPE (entity declarations) was present */
    PSIP_DIALOGINFO_ERROR_WRONG_ROOT, /* root is not dialog-info in the RFC 4235 namespace */
    PSIP_DIALOGINFO_ERROR_INVALID,    /* a required attribute missing or not valid */
    PSIP_DIALOGINFO_ERROR_TOO_MANY,   /* more than PSIP_DIALOGINFO_MAX_DIALOGS dialogs */
} psip_dialoginfo_error;

/* Whether a document is the whole state of the entity or changes to it. */
typedef enum psip_doc_state {
    PSIP_DOC_FULL,
    PSIP_DOC_PARTIAL,
} psip_doc_state;

typedef enum psip_direction {
    PSIP_DIRECTION_UNSPECIFIED, /* the attribute is optional */
    PSIP_DIRECTION_INITIATOR,   /* the entity placed the call */
    PSIP_DIRECTION_RECIPIENT,   /* the entity is being called */
} psip_direction;

/* The dialog states of RFC 4235 section 3.7.1, plus two of ours. */
typedef enum psip_dialog_state {
    PSIP_DIALOG_NONE,    /* not a document value: "not on the line" in sip-line.h changes */
    PSIP_DIALOG_UNKNOWN, /* a <state> text this module does not know (kept in state_text) */
    PSIP_DIALOG_TRYING,
    PSIP_DIALOG_PROCEEDING,
    PSIP_DIALOG_EARLY,
    PSIP_DIALOG_CONFIRMED,
    PSIP_DIALOG_TERMINATED,
} psip_dialog_state;

/* One side of a dialog: <identity display="...">URI</identity> and
 * <target uri="..."/>. Every string may be NULL (all are optional). */
typedef struct psip_party {
    char *identity;         /* the URI, whitespace-trimmed */
    char *identity_display; /* the display name */
    char *target;           /* the target URI (the device contacted) */
} psip_party;

typedef struct psip_dialog {
    char *id; /* required by RFC 4235 */
    char *call_id;
    char *local_tag;
    char *remote_tag;
    psip_direction direction;
    psip_dialog_state state;
    char *state_text; /* the <state> text as sent, trimmed (e.g. "Trying") */
    char *event;      /* <state event="..."> (why it terminated), or NULL */
    int code;         /* <state code="..."> (a SIP response code), 0 when absent */
    psip_party local;
    psip_party remote;
} psip_dialog;

typedef struct psip_doc {
    guint64 version;
    psip_doc_state state;
    char *entity;       /* the monitored entity's URI */
    GPtrArray *dialogs; /* of psip_dialog *, in document order */
} psip_doc;

GQuark psip_dialoginfo_error_quark(void);

/* Parses one dialog-info body of `len` bytes (it need not be NUL-terminated).
 * Returns a new document (free with psip_doc_free) or NULL with `error` set
 * in PSIP_DIALOGINFO_ERROR. The root's version, state and entity attributes
 * are required and the version must be a non-negative decimal integer; each
 * <dialog> needs an id. Elements and attributes this module does not know are
 * ignored, as RFC 4235 asks. Thread-safe; no global libxml2 setting is changed. */
psip_doc *psip_dialoginfo_parse(const char *body, gsize len, GError **error);

void psip_doc_free(psip_doc *doc);

/* Maps a <state> text to a state, ignoring ASCII case (Kamailio writes
 * "Trying"); PSIP_DIALOG_UNKNOWN for anything else, NULL included. */
psip_dialog_state psip_dialog_state_from_text(const char *text);

/* The RFC 4235 name of a state ("trying", ...), "none" or "unknown". */
const char *psip_dialog_state_name(psip_dialog_state state);

/* "initiator", "recipient" or "unspecified". */
const char *psip_direction_name(psip_direction direction);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(psip_doc, psip_doc_free)

#endif
