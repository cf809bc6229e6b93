/*
 * ucd/pbx.h - the PBX driver interface, service "pbx" major 1.
 *
 * A PBX driver links ucd to one phone system (or a simulation of one). It
 * reports what happens on its lines by publishing UCD_EVENT_LINE_STATE and
 * UCD_EVENT_CALL_STATE events (event.h) and offers call control through the
 * function table below, registered with
 *     host->service_register(self, UCD_PBX_SERVICE, UCD_PBX_MAJOR, &table, state);
 *
 * Call control is asynchronous: a function returns UCD_OK once the request was
 * accepted by the driver (sent to the PBX), and the outcome arrives as call
 * state events. A line that cannot do an operation answers UCD_E_UNSUPPORTED,
 * and says so beforehand in capabilities(), so clients can grey the button out.
 * Unknown lines or calls are UCD_E_NOT_FOUND. Every function runs on the main
 * loop and must not block.
 */
#ifndef UCD_PBX_H
#define UCD_PBX_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_PBX_SERVICE "pbx"
#define UCD_PBX_MAJOR   1
#define UCD_PBX_MINOR 0

/* What a line can do: the bits of capabilities(). */
enum {
    UCD_PBX_CAP_MONITOR = 1u << 0, /* line and call state events */
    UCD_PBX_CAP_DIAL = 1u << 1,    /* make a call from the line */
    UCD_PBX_CAP_ANSWER = 1u << 2,
    UCD_PBX_CAP_HANGUP = 1u << 3,
    UCD_PBX_CAP_HOLD = 1u << 4, /* hold and retrieve */
    UCD_PBX_CAP_TRANSFER_BLIND = 1u << 5,
    UCD_PBX_CAP_TRANSFER_CONSULT = 1u << 6,
    UCD_PBX_CAP_DEFLECT = 1u << 7, /* send a ringing call elsewhere */
    UCD_PBX_CAP_PICKUP = 1u << 8,
    UCD_PBX_CAP_DTMF = 1u << 9,
    UCD_PBX_CAP_FORWARD = 1u << 10, /* set and clear call forwarding */
    UCD_PBX_CAP_DND = 1u << 11,
    UCD_PBX_CAP_CONFERENCE = 1u << 12,
};

/* Forwarding types for set_forward(). */
typedef enum ucd_forward_type {
    UCD_FORWARD_UNCONDITIONAL = 0,
    UCD_FORWARD_BUSY = 1,
    UCD_FORWARD_NO_ANSWER = 2,
} ucd_forward_type;

/* One line as list_lines() reports it. */
typedef struct ucd_pbx_line {
    uint32_t struct_size;
    uint32_t state;        /* ucd_line_state, as the driver knows it now */
    const char *address;   /* "201", "PJSIP/alice": what call control takes */
    const char *number;    /* the number callers dial to reach it, when known */
    const char *name;      /* a label from the PBX or the configuration */
    uint64_t capabilities; /* UCD_PBX_CAP_* */
} ucd_pbx_line;

typedef int (*ucd_pbx_line_cb)(const ucd_pbx_line *line, void *user_data); /* non-zero stops */

typedef struct ucd_pbx_v1 {
    uint32_t struct_size; /* sizeof(ucd_pbx_v1) as the driver was built */

    /* The lines this driver instance monitors, with their current state. */
    int (*list_lines)(void *impl, ucd_pbx_line_cb cb, void *user_data);
    /* UCD_PBX_CAP_* bits for `line`; 0 for an unknown line. */
    uint64_t (*capabilities)(void *impl, const char *line);

    /* Makes a call from `line` to `number`. When `call_id` is not NULL, the id of
     * the new leg is written there (at most `call_id_size` bytes, NUL included). */
    int (*dial)(void *impl, const char *line, const char *number, char *call_id,
                size_t call_id_size);
    int (*answer)(void *impl, const char *line, const char *call_id);
    int (*hangup)(void *impl, const char *line, const char *call_id);
    int (*hold)(void *impl, const char *line, const char *call_id);
    int (*retrieve)(void *impl, const char *line, const char *call_id);
    /* Transfers `call_id` to `number` without consultation. */
    int (*transfer_blind)(void *impl, const char *line, const char *call_id, const char *number);
    /* Connects the held call with the active consultation call and leaves. */
    int (*transfer_consult)(void *impl, const char *line, const char *held_call_id,
                            const char *active_call_id);
    /* Sends a ringing call to `number` (deflect, "call forward during alerting"). */
    int (*deflect)(void *impl, const char *line, const char *call_id, const char *number);
    /* Takes a call ringing on `target_line` to `line`. */
    int (*pickup)(void *impl, const char *line, const char *target_line);
    int (*send_dtmf)(void *impl, const char *line, const char *call_id, const char *digits);
    /* Sets forwarding of `type` to `number`; number NULL clears it. */
    int (*set_forward)(void *impl, const char *line, uint32_t type, const char *number);
    int (*set_dnd)(void *impl, const char *line, int on);
} ucd_pbx_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_PBX_H */
