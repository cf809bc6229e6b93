/*
 * ami-model.h - Asterisk's channels and device states turned into ucd lines
 * and legs.
 *
 * Asterisk reports channels (one per call leg on a device, and two per Local
 * channel), bridges, dials, transfers and device/hint states. A ucd line is a
 * device ("PJSIP/alice", "SIP/201", "Custom:alice") or a hint ("300@ext-local")
 * the configuration maps to a line address. The model follows every channel
 * it is told about (so a Local channel chain can be followed to a monitored
 * device), and reports changes only for channels on monitored devices: one
 * ucd leg per such channel, keyed by its Uniqueid.
 *
 * Conversations: every leg of one call shares a Linkedid, but a transfer or a
 * pickup joins channels with different Linkedids. The model keeps the first
 * conversation id it gave a Linkedid and carries it over when two calls are
 * joined (BlindTransfer, AttendedTransfer, Pickup, a bridge shared by both), so
 * a transferred call stays one conversation - the complaint about Asterisk's
 * own CDRs this driver must not repeat.
 *
 * Event order across channels is not stable in Asterisk (a Hangup may come
 * before the BridgeLeave of the other side, DeviceStateChange repeats): the
 * model derives each leg's state from that channel's own events and never
 * assumes an order between channels. Unknown events are ignored.
 *
 * The model knows nothing of sockets or the ucd host: the driver feeds it
 * messages and publishes what the callbacks report. States, directions and
 * causes are the ucd SDK's enums (ucd/event.h).
 */
#ifndef AMI_MODEL_H
#define AMI_MODEL_H

#include <glib.h>
#include <stdint.h>

#include "ami-message.h"

/* One leg changed state: what the driver publishes as UCD_EVENT_CALL_STATE.
 * Strings live until the callback returns; NULL = not known. */
typedef struct pami_leg_change {
    const char *line;            /* the line address (from the configuration) */
    const char *leg_id;          /* the channel's Uniqueid */
    const char *channel;         /* the channel name: "PJSIP/alice-00000012" */
    const char *conversation_id; /* stable across transfers and pickups */
    uint32_t state;              /* ucd_call_state */
    uint32_t prev_state;         /* ucd_call_state */
    uint32_t direction;          /* ucd_call_direction seen from the line */
    uint32_t cause;              /* ucd_call_cause */
    uint32_t forward_reason;     /* ucd_forward_reason */
    uint32_t flags;              /* UCD_CALL_FLAG_* (private: caller withheld) */
    const char *remote_number;
    const char *remote_name;
    const char *requested_number; /* the number dialled when it differs from the line's */
    const char *related_line;     /* the other monitored line: transferred by, picked up from */
    int64_t time_ms;
} pami_leg_change;

/* A line's own state changed (device or hint state, or derived from its legs). */
typedef struct pami_line_change {
    const char *line;
    uint32_t state; /* ucd_line_state */
    uint32_t prev_state;
} pami_line_change;

typedef struct pami_model_callbacks {
    void (*leg)(const pami_leg_change *change, void *user_data);
    void (*line)(const pami_line_change *change, void *user_data);
    void *user_data;
} pami_model_callbacks;

typedef struct pami_model pami_model;

pami_model *pami_model_new(const pami_model_callbacks *callbacks);
void pami_model_free(pami_model *m);

/* Maps a device ("PJSIP/alice"; compared case-insensitively with the channel
 * name up to its last '-') or a hint ("300@ext-local"; from ExtensionStatus
 * Exten@Context) to the line `line`. A line may have one device and one hint.
 * FALSE when the device or hint is already mapped to another line. */
gboolean pami_model_map_device(pami_model *m, const char *device, const char *line);
gboolean pami_model_map_hint(pami_model *m, const char *hint, const char *line);

/* Pickup feature codes: a channel whose dialled number starts with one of
 * `codes` (NULL-terminated, copied; NULL or empty = none) is held back - no
 * leg is reported - until a Pickup event makes it the leg that took the
 * picked call (then one leg, in the picked call's conversation), or it dials
 * someone (a code that was a call after all: reported from then on). One that
 * hangs up without either (nothing to pick up) is never reported: a feature
 * code is not a call. The default is FreePBX's: "*8" (pickup in the group)
 * and "**" (directed pickup, "**202"). */
void pami_model_set_pickup_codes(pami_model *m, const char *const *codes);

/* The channel that will get `uniqueid` (an Originate's ChannelId) runs a
 * pickup: held back as a pickup-code call is. */
void pami_model_expect_pickup(pami_model *m, const char *uniqueid);

/* The channel that will get `uniqueid` (the ChannelId of a click-to-dial
 * Originate to `number`, may be NULL) is the line's own outgoing call, though
 * its phone rings first: from its first event on, outbound, or internal when
 * `number` is another line's address (it is also the requested number). Without
 * this the model can tell only from the Originate's DialBegin, which a real
 * Asterisk may send after the phone's Ringing. */
void pami_model_expect_originate(pami_model *m, const char *uniqueid, const char *number);

/* The Originate that would have made channel `uniqueid` failed without a
 * channel: its expectation (pickup or dial) is dropped. */
void pami_model_forget_expectation(pami_model *m, const char *uniqueid);

/* Feeds one event (Newchannel, Newstate, NewCallerid, NewConnectedLine,
 * DialBegin, DialEnd, BridgeEnter, BridgeLeave, Hold, Unhold, Hangup,
 * BlindTransfer, AttendedTransfer, Pickup, DeviceStateChange, ExtensionStatus,
 * and during a resync CoreShowChannel). `now_ms` stamps the changes. */
void pami_model_event(pami_model *m, const pami_message *event, int64_t now_ms);

/* The link to Asterisk is down: every line reports UCD_LINE_OUT_OF_SERVICE;
 * legs are kept (their outcome is unknown until the resync). */
void pami_model_link_down(pami_model *m, int64_t now_ms);

/* Resync after (re)connecting: begin, then feed the CoreShowChannel and
 * ExtensionStatus (ExtensionStateList) events through pami_model_event(),
 * then end. A leg the model knew that is no longer among the channels ended
 * while the link was down: it is reported DISCONNECTED with
 * UCD_CAUSE_LINK_LOST. Channels new to the model become legs. Lines leave
 * OUT_OF_SERVICE. */
void pami_model_resync_begin(pami_model *m);
void pami_model_resync_end(pami_model *m, int64_t now_ms);

/* For call control: the channel name of a leg on `line` (NULL when the leg is
 * unknown or not on that line), and the channel bridged with it or being
 * dialled by it (NULL when none). Strings live until the next model call. */
const char *pami_model_leg_channel(const pami_model *m, const char *line, const char *leg_id);
const char *pami_model_leg_peer_channel(const pami_model *m, const char *line, const char *leg_id);

/* The channel of a leg ringing on `line` (for pickup), or NULL. */
const char *pami_model_ringing_channel(const pami_model *m, const char *line);

/* The line's current state (UCD_LINE_UNKNOWN for an unmapped line). */
uint32_t pami_model_line_state(const pami_model *m, const char *line);

/* Live legs on all lines (for tests and `ucctl calls`). */
guint pami_model_leg_count(const pami_model *m);

#endif /* AMI_MODEL_H */
