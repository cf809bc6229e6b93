/*
 * ucd/event.h - the events that travel on ucd's bus.
 *
 * An event is a small header (ucd_event) plus a typed payload. Publishing copies
 * the event and everything its pointers reach into one block owned by the bus,
 * so a publisher may pass stack memory and free its strings right after
 * host->publish() returns. A subscriber receives a pointer valid only for the
 * duration of its callback; it copies what it wants to keep.
 *
 * Data flows one way: PBX drivers publish line and call events, the core turns
 * them into presence, and journals, exporters and clients subscribe. A plugin
 * never reaches back into the publisher through the event.
 *
 * Strings are UTF-8 and NUL-terminated; NULL means "not known". Times are UTC
 * milliseconds since 1970 (0 = not known). Payload structs are size-prefixed
 * and append-only like every struct in the SDK; fill struct_size with sizeof().
 */
#ifndef UCD_EVENT_H
#define UCD_EVENT_H

#include <string.h>

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Event types. Values are bit positions, so a filter can name several types in
 * one mask: UCD_EVENT_MASK(UCD_EVENT_CALL_STATE) | UCD_EVENT_MASK(...). New types
 * are appended (minor ABI bump); a subscriber ignores types it does not know. */
typedef enum ucd_event_type {
    UCD_EVENT_LINE_STATE = 0,   /* payload: ucd_line_state_event */
    UCD_EVENT_CALL_STATE = 1,   /* payload: ucd_call_state_event */
    UCD_EVENT_PRESENCE = 2,     /* payload: ucd_presence_event */
    UCD_EVENT_USER_CHANGED = 3, /* payload: ucd_user_changed_event */
    UCD_EVENT_APPOINTMENT = 4,  /* payload: ucd_appointment_event */
    UCD_EVENT_MODULE_STATE = 5, /* payload: ucd_module_state_event (published by the core) */
    UCD_EVENT_CUSTOM = 6,       /* payload: ucd_custom_event (plugin-defined) */
    /* Since host 1.4, published by the core only: */
    UCD_EVENT_CONVERSATION_ENDED = 7, /* payload: ucd_conversation_event */
    UCD_EVENT_DIRECTORY = 8,          /* payload: ucd_directory_event */
    /* Since host 1.6, published by the core only: */
    UCD_EVENT_CALL_PARTY = 9,  /* payload: ucd_call_party_event */
    UCD_EVENT_TYPE_COUNT_ = 10 /* not a type: the count in this host version */
} ucd_event_type;

#define UCD_EVENT_MASK(type) (UINT64_C(1) << (type))
#define UCD_EVENT_MASK_ALL   UINT64_MAX

/* ---- Line state: the device address on a PBX ------------------------------ */
typedef enum ucd_line_state {
    UCD_LINE_UNKNOWN = 0,
    UCD_LINE_IDLE = 1,
    UCD_LINE_RINGING = 2,        /* an inbound call is offered */
    UCD_LINE_DIALING = 3,        /* an outbound call is being set up */
    UCD_LINE_BUSY = 4,           /* at least one call is connected */
    UCD_LINE_HELD = 5,           /* every call on the line is on hold */
    UCD_LINE_OUT_OF_SERVICE = 6, /* unregistered, unplugged, link to the PBX lost */
} ucd_line_state;

typedef struct ucd_line_state_event {
    uint32_t struct_size;
    uint32_t state;              /* ucd_line_state */
    const char *driver_instance; /* module id of the PBX driver: "pbx-sim:office" */
    const char *line;            /* line address as the driver knows it: "201", "PJSIP/alice" */
    uint32_t dnd;                /* 1 when do-not-disturb is on */
    const char *forward_to;      /* unconditional forward destination, NULL when off */
} ucd_line_state_event;

/* ---- Call state: one leg of a call as a PBX reports it -------------------- */
typedef enum ucd_call_state {
    UCD_CALL_IDLE = 0,
    UCD_CALL_DIALING = 1,  /* we are calling out; remote not yet alerted */
    UCD_CALL_RINGBACK = 2, /* remote is being alerted (outbound) */
    UCD_CALL_OFFERING = 3, /* inbound, ringing on this line */
    UCD_CALL_CONNECTED = 4,
    UCD_CALL_HELD = 5, /* held by this line */
    UCD_CALL_CONFERENCED = 6,
    UCD_CALL_TRANSFERRED = 7, /* leg left this line because it was transferred */
    UCD_CALL_DISCONNECTED = 8 /* final; the leg is gone */
} ucd_call_state;

typedef enum ucd_call_direction {
    UCD_DIR_UNKNOWN = 0,
    UCD_DIR_INBOUND = 1,
    UCD_DIR_OUTBOUND = 2,
    UCD_DIR_INTERNAL = 3,
} ucd_call_direction;

/* Why a leg reached its current state; meaningful mostly on DISCONNECTED,
 * TRANSFERRED and OFFERING (forwarded, picked up). */
typedef enum ucd_call_cause {
    UCD_CAUSE_NONE = 0,
    UCD_CAUSE_NORMAL = 1,
    UCD_CAUSE_BUSY = 2,
    UCD_CAUSE_NO_ANSWER = 3,
    UCD_CAUSE_REJECTED = 4,
    UCD_CAUSE_FAILED = 5, /* network or number error */
    UCD_CAUSE_FORWARDED = 6,
    UCD_CAUSE_PICKED_UP = 7, /* answered by another line (pickup) */
    UCD_CAUSE_TRANSFERRED = 8,
    UCD_CAUSE_VOICEMAIL = 9,
    UCD_CAUSE_LINK_LOST = 10, /* the link to the PBX dropped; the real outcome is unknown */
    UCD_CAUSE_BLOCKED = 11,
} ucd_call_cause;

typedef struct ucd_call_state_event {
    uint32_t struct_size;
    uint32_t state;              /* ucd_call_state */
    uint32_t prev_state;         /* ucd_call_state before this event */
    uint32_t direction;          /* ucd_call_direction, seen from `line` */
    uint32_t cause;              /* ucd_call_cause */
    uint32_t flags;              /* UCD_CALL_FLAG_* */
    const char *driver_instance; /* module id of the PBX driver */
    const char *line;            /* the line this leg is on */
    const char *call_id;         /* the leg's id, unique within the driver instance */
    const char *conversation_id; /* groups legs of one conversation (transfer, pickup, consult);
                                    equals call_id for a call of one leg */
    const char *remote_number;   /* raw, as the PBX sent it */
    const char *remote_name;
    const char *requested_number; /* originally dialled number when it differs (forward, pickup) */
    const char *related_line;     /* the other line involved: transferred by, picked up by ... */
    /* Since ABI 1.1 (zero from an older publisher): */
    uint32_t forward_reason; /* ucd_forward_reason, with UCD_CAUSE_FORWARDED */
    uint32_t reserved;
} ucd_call_state_event;

/* Why a call was forwarded (ucd_call_state_event.forward_reason, ABI 1.1). */
typedef enum ucd_forward_reason {
    UCD_FORWARD_REASON_NONE = 0,
    UCD_FORWARD_REASON_UNCONDITIONAL = 1,
    UCD_FORWARD_REASON_BUSY = 2,
    UCD_FORWARD_REASON_NO_ANSWER = 3,
    UCD_FORWARD_REASON_DEFLECT = 4, /* sent on by hand while ringing */
} ucd_forward_reason;

enum {
    UCD_CALL_FLAG_PRIVATE = 1u << 0, /* the remote number is withheld (CLIR) */
};

/* ---- Presence of a user ---------------------------------------------------- */
typedef enum ucd_presence_state {
    UCD_PRESENCE_UNKNOWN = 0,
    UCD_PRESENCE_AVAILABLE = 1,
    UCD_PRESENCE_AWAY = 2,
    UCD_PRESENCE_BUSY = 3,     /* set by hand or from a calendar */
    UCD_PRESENCE_ON_PHONE = 4, /* a line is in a call */
    UCD_PRESENCE_RINGING = 5,  /* a line rings */
    UCD_PRESENCE_DND = 6,      /* do not disturb */
    UCD_PRESENCE_OUT_OF_OFFICE = 7,
    UCD_PRESENCE_OFFLINE = 8,
} ucd_presence_state;

typedef struct ucd_presence_event {
    uint32_t struct_size;
    uint32_t state; /* ucd_presence_state: the merged result */
    uint32_t prev_state;
    uint32_t manual_state; /* what the user set by hand (UNKNOWN = nothing) */
    uint32_t line_state;   /* ucd_presence_state derived from the user's lines */
    uint32_t calendar_state;
    const char *user_id;
    const char *note; /* free text with the manual state */
    int64_t until_ms; /* end of the manual state, 0 = open-ended */
    /* Since host 1.6 (zero from an older core): who the user is on the
     * phone with, the remote party the calls model identified (a connected
     * call before one that rings); NULL when not known or not on the phone.
     * The event goes out when it changes, too. */
    const char *party_name;
    const char *party_company;
} ucd_presence_event;

/* ---- A user record changed in a user backend ------------------------------ */
typedef enum ucd_change {
    UCD_CHANGE_ADDED = 1,
    UCD_CHANGE_MODIFIED = 2,
    UCD_CHANGE_REMOVED = 3,
    UCD_CHANGE_RESYNCED = 4, /* many records changed: re-read everything */
} ucd_change;

typedef struct ucd_user_changed_event {
    uint32_t struct_size;
    uint32_t change;     /* ucd_change */
    const char *user_id; /* NULL with UCD_CHANGE_RESYNCED */
    const char *backend; /* module id of the user backend */
} ucd_user_changed_event;

/* ---- An appointment from a calendar source -------------------------------- */
typedef enum ucd_show_as {
    UCD_SHOW_FREE = 0,
    UCD_SHOW_TENTATIVE = 1,
    UCD_SHOW_BUSY = 2,
    UCD_SHOW_OUT_OF_OFFICE = 3,
} ucd_show_as;

typedef struct ucd_appointment_event {
    uint32_t struct_size;
    uint32_t change;  /* ucd_change */
    uint32_t show_as; /* ucd_show_as */
    const char *user_id;
    const char *uid;     /* the appointment's id in its calendar */
    const char *subject; /* NULL when the user's calendar is private */
    int64_t start_ms;
    int64_t end_ms;
    const char *source; /* module id of the calendar source */
} ucd_appointment_event;

/* ---- A module changed state (published by the core) ----------------------- */
typedef enum ucd_module_state {
    UCD_MODULE_LOADED = 0,
    UCD_MODULE_INITIALIZED = 1,
    UCD_MODULE_RUNNING = 2,
    UCD_MODULE_STOPPED = 3,
    UCD_MODULE_DECLINED = 4,
    UCD_MODULE_FAILED = 5,
    UCD_MODULE_DISABLED = 6,
} ucd_module_state;

typedef struct ucd_module_state_event {
    uint32_t struct_size;
    uint32_t state;      /* ucd_module_state */
    const char *module;  /* module id: "pbx-sim:office" */
    const char *message; /* the reason for DECLINED or FAILED */
} ucd_module_state_event;

/* ---- A conversation ended (published by the core, host 1.4) ---------------
 *
 * The calls model (service "calls", calls.h) turns legs into conversations;
 * when the last leg of one is gone it hands the finished record to every
 * running journal store and publishes it here: the same record, field for
 * field, that journal.h's store() receives. Subject: the record's uuid. */
typedef struct ucd_journal_record ucd_journal_record; /* journal.h */

typedef struct ucd_conversation_event {
    uint32_t struct_size;
    uint32_t reserved;
    const ucd_journal_record *record; /* include <ucd/journal.h> to read it */
} ucd_conversation_event;

/* ---- The directory changed (published by the core, host 1.4) --------------
 *
 * The directory service (directory.h) re-reads the users backends when they
 * report changes and keeps lines assigned to users; after each pass it
 * publishes one event per user, group or line that appeared, changed or went
 * (UCD_CHANGE_RESYNCED with kind and id NULL when too many changed to list:
 * re-read everything). Subject: the id. */
typedef enum ucd_directory_kind {
    UCD_DIRECTORY_USER = 1,
    UCD_DIRECTORY_GROUP = 2,
    UCD_DIRECTORY_LINE = 3,
} ucd_directory_kind;

typedef struct ucd_directory_event {
    uint32_t struct_size;
    uint32_t change; /* ucd_change */
    uint32_t kind;   /* ucd_directory_kind; 0 with UCD_CHANGE_RESYNCED */
    uint32_t reserved;
    const char *id; /* user id, group id, or "DRIVER/ADDRESS" of a line */
} ucd_directory_event;

/* ---- Who a call's remote party is (published by the core, host 1.6) --------
 *
 * A PBX sends a number and at best the name of its own phonebook. The calls
 * model (calls.h) identifies each leg's remote number once: a colleague of
 * the directory, else the best contact of the contact store (contacts.h).
 * It publishes this event right after the call event that brought a number
 * whose party is known, and again when a pickup, forward or transfer brings
 * a number that names someone else or nobody (then every party_* member is
 * NULL). A withheld number (UCD_CALL_FLAG_PRIVATE) names nobody. The same
 * values are the leg's party_* in the calls service. Subject: the line. */
typedef struct ucd_call_party_event {
    uint32_t struct_size;
    uint32_t flags;              /* UCD_CALL_FLAG_* of the leg */
    const char *driver_instance; /* module id of the PBX driver */
    const char *line;            /* the line the leg is on */
    const char *call_id;
    const char *conversation_id;
    const char *user_id;       /* the line's user, NULL when none */
    const char *remote_number; /* raw, as the PBX sent it */
    const char *party_name;
    const char *party_company;
    const char *party_source;  /* "directory", or the contact source's module id */
    const char *party_user_id; /* with "directory": the user */
} ucd_call_party_event;

/* ---- Plugin-defined events ------------------------------------------------- */
typedef struct ucd_custom_event {
    uint32_t struct_size;
    uint32_t reserved;
    const char *name; /* "acme.crm.lookup"; filter on it with the subject */
    const void *data; /* copied byte for byte: no pointers inside, please */
    uint64_t length;
} ucd_custom_event;

/* ---- The event header ------------------------------------------------------ */
typedef struct ucd_event {
    uint32_t struct_size;
    uint32_t type;       /* ucd_event_type */
    uint64_t seq;        /* set by the bus: strictly increasing per bus */
    int64_t time_ms;     /* set by the bus when 0 */
    const char *source;  /* set by the bus: module id of the publisher, "core" */
    const char *subject; /* what the event is about, for filtering: the line address,
                            user id, call id or custom name; NULL = derived by the bus
                            (line for line/call events, user id for presence, user and
                            appointment events, module id, custom name, the uuid of an
                            ended conversation, the id of a directory change, the line
                            of a call party) */
    const void *payload; /* the ucd_*_event struct for `type` */
} ucd_event;

/* A subscription filter. A NULL filter, or zero/NULL members, match everything. */
typedef struct ucd_event_filter {
    uint32_t struct_size;
    uint32_t flags;      /* UCD_SUBSCRIBE_* */
    uint64_t type_mask;  /* UCD_EVENT_MASK() bits; 0 = every type */
    const char *subject; /* exact match on ucd_event.subject; NULL = any */
    const char *source;  /* exact match on the publisher's module id; NULL = any */
    uint32_t queue_size; /* this subscriber's queue bound; 0 = the core's default */
    uint32_t reserved;   /* must be 0: makes the tail explicit, so the next member
                            added changes struct_size (added in ABI 1.1, same layout) */
} ucd_event_filter;

enum {
    /* Deliver on a thread of its own rather than on the main loop: for a
     * subscriber that may block (a database write). Its callback then runs on
     * that thread, never concurrently with itself. */
    UCD_SUBSCRIBE_OWN_THREAD = 1u << 0,
};

/* Called once per matching event. `event` is valid until the callback returns. */
typedef void (*ucd_event_cb)(const ucd_event *event, void *user_data);

/* ---- Words for the enums above ----------------------------------------------
 *
 * The words ucctl, the core's trace ring and the journal records write for
 * these enums ("connected", "link_lost", "out_of_service" ...), here so that
 * every plugin writes the same ones. A value newer than these headers gives
 * "unknown" (for a forward reason: NULL). */

/* "idle", "dialing", "ringback", "offering", "connected", "held",
 * "conferenced", "transferred", "disconnected". */
static inline const char *ucd_call_state_word(uint32_t state)
{
    static const char *const words[] = {"idle",        "dialing",     "ringback",
                                        "offering",    "connected",   "held",
                                        "conferenced", "transferred", "disconnected"};
    return state < sizeof words / sizeof words[0] ? words[state] : "unknown";
}

/* "unknown", "inbound", "outbound", "internal". */
static inline const char *ucd_call_direction_word(uint32_t direction)
{
    static const char *const words[] = {"unknown", "inbound", "outbound", "internal"};
    return direction < sizeof words / sizeof words[0] ? words[direction] : "unknown";
}

/* "none", "normal", "busy", "no_answer", "rejected", "failed", "forwarded",
 * "picked_up", "transferred", "voicemail", "link_lost", "blocked". */
static inline const char *ucd_call_cause_word(uint32_t cause)
{
    static const char *const words[] = {"none",        "normal",    "busy",      "no_answer",
                                        "rejected",    "failed",    "forwarded", "picked_up",
                                        "transferred", "voicemail", "link_lost", "blocked"};
    return cause < sizeof words / sizeof words[0] ? words[cause] : "unknown";
}

/* The cause a word of ucd_call_cause_word() names ("none" is
 * UCD_CAUSE_NONE); -1 for NULL or any other word. */
static inline int ucd_call_cause_from_word(const char *word)
{
    for (uint32_t cause = UCD_CAUSE_NONE; word != NULL && cause <= UCD_CAUSE_BLOCKED; cause++) {
        if (strcmp(ucd_call_cause_word(cause), word) == 0)
            return (int)cause;
    }
    return -1;
}

/* "unconditional", "busy", "no_answer", "deflect"; NULL for
 * UCD_FORWARD_REASON_NONE (not forwarded) and for a value newer than these
 * headers, as the journal record's forward_reason. */
static inline const char *ucd_forward_reason_word(uint32_t reason)
{
    static const char *const words[] = {NULL, "unconditional", "busy", "no_answer", "deflect"};
    return reason < sizeof words / sizeof words[0] ? words[reason] : NULL;
}

/* The reason a word of ucd_forward_reason_word() names; -1 for NULL or any
 * other word. */
static inline int ucd_forward_reason_from_word(const char *word)
{
    for (uint32_t reason = UCD_FORWARD_REASON_UNCONDITIONAL;
         word != NULL && reason <= UCD_FORWARD_REASON_DEFLECT; reason++) {
        if (strcmp(ucd_forward_reason_word(reason), word) == 0)
            return (int)reason;
    }
    return -1;
}

/* "unknown", "idle", "ringing", "dialing", "busy", "held",
 * "out_of_service". */
static inline const char *ucd_line_state_word(uint32_t state)
{
    static const char *const words[] = {"unknown", "idle", "ringing",       "dialing",
                                        "busy",    "held", "out_of_service"};
    return state < sizeof words / sizeof words[0] ? words[state] : "unknown";
}

#ifdef __cplusplus
}
#endif
#endif /* UCD_EVENT_H */
