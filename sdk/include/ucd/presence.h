/*
 * ucd/presence.h - the presence service, "presence" major 1, provided by the
 * core.
 *
 * A user's presence is a merge of three sources: the lines (ringing, on the
 * phone, do-not-disturb, out of service), calendars (busy in a meeting, out of
 * office) and what the user set by hand (away, busy, do-not-disturb ...,
 * optionally until a time). The rules of the merge are written down in
 * docs/admin/model.md ("Presence"); this service gives each part and the
 * result, and sets and clears the manual part. Every change is published as
 * UCD_EVENT_PRESENCE (event.h). Only users active on this server have
 * presence here.
 *
 * Main loop only. Records are valid during the callback only.
 */
#ifndef UCD_PRESENCE_H
#define UCD_PRESENCE_H

#include <ucd/event.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_PRESENCE_SERVICE "presence"
#define UCD_PRESENCE_MAJOR   1
/* 1: who the user is on the phone with (party_*). */
#define UCD_PRESENCE_MINOR 1

typedef struct ucd_presence_info {
    uint32_t struct_size;
    uint32_t state;          /* ucd_presence_state: the merged result */
    uint32_t manual_state;   /* what the user set (UNKNOWN: nothing) */
    uint32_t line_state;     /* derived from the user's lines */
    uint32_t calendar_state; /* from calendar sources (UNKNOWN: nothing now) */
    uint32_t reserved;
    const char *user_id;
    const char *note; /* with the manual state, NULL when none */
    int64_t until_ms; /* end of the manual state, 0 = open-ended */
    /* Since presence 1.1 (check struct_size): who the user is on the phone
     * with, as the calls model identified the remote party (a connected
     * call before one that rings); NULL when not known or not on the
     * phone. Business information: show it where calls may be seen. */
    const char *party_name;
    const char *party_company;
} ucd_presence_info;

typedef int (*ucd_presence_info_cb)(const ucd_presence_info *info, void *user_data);

typedef struct ucd_presence_v1 {
    uint32_t struct_size;

    /* The presence of one user (id or login). UCD_E_NOT_FOUND for a user who
     * is unknown or not active here. */
    int (*get)(void *impl, const char *user, ucd_presence_info_cb cb, void *user_data);
    /* Every user active here, by login; stops when `cb` returns non-zero. */
    int (*foreach)(void *impl, ucd_presence_info_cb cb, void *user_data);
    /* Sets the manual presence of `user`: AVAILABLE, AWAY, BUSY, DND or
     * OUT_OF_OFFICE, with an optional note and end (0 = open-ended; else in
     * the future). `actor` is who asks: NULL for the system or an admin, else
     * a user id, checked with the permissions service (PERSONAL on `user`,
     * or `user` itself). Kept across restarts. UCD_OK, UCD_E_NOT_FOUND (user),
     * UCD_E_INVALID (state, note or time), UCD_E_DENIED (actor). */
    int (*set_manual)(void *impl, const char *actor, const char *user, uint32_t state,
                      const char *note, int64_t until_ms);
    /* Clears the manual presence; the same errors as set_manual. */
    int (*clear_manual)(void *impl, const char *actor, const char *user);
} ucd_presence_v1;

/* Words for states as ucctl, the logs and the state file write them:
 * "available", "on_phone", "out_of_office" ... */
static inline const char *ucd_presence_word(uint32_t state)
{
    static const char *const words[] = {"unknown", "available",     "away",
                                        "busy",    "on_phone",      "ringing",
                                        "dnd",     "out_of_office", "offline"};
    return state < sizeof words / sizeof words[0] ? words[state] : "unknown";
}

#ifdef __cplusplus
}
#endif
#endif /* UCD_PRESENCE_H */
