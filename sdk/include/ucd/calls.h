/*
 * ucd/calls.h - the calls service, "calls" major 1, provided by the core.
 *
 * The core's call model: the live legs every PBX driver reports, grouped into
 * conversations (a transfer, a pickup, a consultation is one conversation with
 * several participants), each leg's line and user resolved through the
 * directory. When a conversation ends the core hands its record to every
 * journal store and publishes it as UCD_EVENT_CONVERSATION_ENDED (event.h),
 * so a plugin that counts calls subscribes to that event and needs nothing
 * else.
 *
 * Call control goes through control(): by line or by user, with the line's
 * capability checked and the permission of whoever asks (`actor`) checked
 * here, in one place, with one set of errors, before the driver is asked.
 *
 * Main loop only. Records are valid during the callback only.
 */
#ifndef UCD_CALLS_H
#define UCD_CALLS_H

#include <ucd/event.h>
#include <ucd/journal.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_CALLS_SERVICE "calls"
#define UCD_CALLS_MAJOR   1
/* 1: the identified remote party of a leg (party_*). */
#define UCD_CALLS_MINOR 1

/* One live leg: a call on one of our lines. */
typedef struct ucd_call_leg {
    uint32_t struct_size;
    uint32_t state;              /* ucd_call_state */
    uint32_t direction;          /* ucd_call_direction, seen from the line */
    uint32_t flags;              /* UCD_CALL_FLAG_* */
    const char *driver;          /* module id of the PBX driver */
    const char *line;            /* the line's address on that driver */
    const char *user_id;         /* the line's user, NULL when none */
    const char *call_id;         /* the leg's id, unique within the driver */
    const char *conversation_id; /* the driver's id for the conversation */
    const char *uuid;            /* the conversation's uuid, as its journal record will carry */
    const char *remote_number;   /* raw, as the PBX sent it */
    const char *remote_name;
    int64_t since_ms; /* when the leg reached its current state */
    /* Since calls 1.1 (check struct_size): who remote_number is, as the core
     * identified it, once per remote number: the directory's user owning
     * it (or an internal call's other line), else the best contact of the
     * contact store (contacts.h). NULL when unknown or withheld. */
    const char *party_name;
    const char *party_company;
    const char *party_source;  /* "directory", or the contact source's module id */
    const char *party_user_id; /* with "directory": the user */
} ucd_call_leg;

typedef int (*ucd_call_leg_cb)(const ucd_call_leg *leg, void *user_data);

/* Call-control actions: each needs the line capability named beside it. */
typedef enum ucd_call_action {
    UCD_CALL_DIAL = 1,             /* number; DIAL */
    UCD_CALL_ANSWER = 2,           /* call_id; ANSWER */
    UCD_CALL_HANGUP = 3,           /* call_id; HANGUP */
    UCD_CALL_HOLD = 4,             /* call_id; HOLD */
    UCD_CALL_RETRIEVE = 5,         /* call_id; HOLD */
    UCD_CALL_TRANSFER = 6,         /* call_id, number; TRANSFER_BLIND */
    UCD_CALL_CONSULT_TRANSFER = 7, /* call_id (held), other_call_id (active); TRANSFER_CONSULT */
    UCD_CALL_DEFLECT = 8,          /* call_id, number; DEFLECT */
    UCD_CALL_PICKUP = 9,           /* target (a line or a user whose call rings); PICKUP */
    UCD_CALL_DTMF = 10,            /* call_id, digits; DTMF */
    UCD_CALL_FORWARD = 11,         /* forward_type, number (NULL clears); FORWARD */
    UCD_CALL_DND = 12,             /* on; DND */
} ucd_call_action;

/* What to do, on which line. Members an action does not use are ignored. */
typedef struct ucd_call_request {
    uint32_t struct_size;
    uint32_t action; /* ucd_call_action */
    /* Who asks: NULL for the system or an admin (ucctl), else a user id or
     * login. A user may act on their own lines; on another user's line only
     * PICKUP (permission TEAM on that user) and FORWARD and DND (PERSONAL). */
    const char *actor;
    /* The line: "DRIVER/ADDRESS", or an address unique over all drivers. When
     * NULL, `user`'s line: the first of their lines, in directory order, that
     * has the action's capability (for ANSWER, HANGUP ... the line the call is
     * on). One of line and user is needed. */
    const char *line;
    const char *user; /* id or login */
    const char *call_id;
    const char *other_call_id;
    const char *number; /* as dialled from the line's location */
    const char *target;
    const char *digits;
    uint32_t forward_type; /* ucd_forward_type (pbx.h) */
    uint32_t on;           /* DND: 1 on, 0 off */
} ucd_call_request;

/* What came of a request. */
typedef struct ucd_call_result {
    uint32_t struct_size;
    uint32_t reserved;
    char driver[128];  /* the driver asked, "" when none was */
    char line[128];    /* the line acted on, its address */
    char call_id[128]; /* DIAL: the new leg's id when the driver says */
    char message[256]; /* on failure: what is wrong, for people ("line 201 (pbx-sim:office)
                          does not support pickup (capability 'pickup')") */
} ucd_call_result;

typedef struct ucd_calls_v1 {
    uint32_t struct_size;

    /* Every live leg; `user` (id or login) NULL: of everyone, else of that
     * user's lines. Order: driver, line, then call id. */
    int (*foreach_leg)(void *impl, const char *user, ucd_call_leg_cb cb, void *user_data);
    /* Every open conversation as the journal record it would be if it ended
     * now (end_ms 0, end_cause 0); `user` as in foreach_leg. */
    int (*foreach_conversation)(void *impl, const char *user, ucd_journal_record_cb cb,
                                void *user_data);
    /* Runs a call-control request. UCD_OK once the driver accepted it (what
     * then happens arrives as call events); else UCD_E_INVALID (request),
     * UCD_E_NOT_FOUND (line, user, call), UCD_E_UNSUPPORTED (capability),
     * UCD_E_DENIED (actor's permission, or the PBX refused),
     * UCD_E_UNAVAILABLE (driver or PBX down), UCD_E_BUSY; `result` (may be
     * NULL) says which and why. */
    int (*control)(void *impl, const ucd_call_request *request, ucd_call_result *result);
} ucd_calls_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_CALLS_H */
