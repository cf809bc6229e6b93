/*
 * pjsip-scenarios.c - hand-written PJSIP calls for the model tests, made of
 * the fields Asterisk documents for each event (a channel snapshot: Channel,
 * ChannelState, CallerIDNum/Name, ConnectedLineNum/Name, Exten, Uniqueid,
 * Linkedid; DialBegin/DialEnd with Dest* snapshots; BlindTransfer with
 * the Transferer and Transferee prefixes; AttendedTransfer with
 * OrigTransferer, SecondTransferer, Transferee, TransferTarget; Pickup with
 * Target).
 * Lines: PJSIP/alice = 201, PJSIP/bob = 202, PJSIP/carol = 203.
 * Only real captures can say what Asterisk really sends in what order; these
 * stand in until recorded ones cover each case.
 */
#include "pjsip-scenarios.h"

#include <stddef.h>

/* Snapshots: channel NAME, Uniqueid ID, Linkedid LINK, state, caller id,
 * connected line, Exten. */
#define ALICE1(state, conn)                                                                        \
    "Channel: PJSIP/alice-00000001|Uniqueid: 100.1|Linkedid: 100.1|"                               \
    "ChannelState: " state "|CallerIDNum: 201|CallerIDName: Alice|" conn "|Exten: 202"
#define BOB2(state)                                                                                \
    "Channel: PJSIP/bob-00000002|Uniqueid: 100.2|Linkedid: 100.1|"                                 \
    "ChannelState: " state "|CallerIDNum: 202|CallerIDName: Bob|"                                  \
    "ConnectedLineNum: 201|ConnectedLineName: Alice|Exten: s"
#define DEST_BOB2(state)                                                                           \
    "DestChannel: PJSIP/bob-00000002|DestUniqueid: 100.2|"                                         \
    "DestLinkedid: 100.1|DestChannelState: " state "|DestCallerIDNum: 202|"                        \
    "DestConnectedLineNum: 201|DestConnectedLineName: Alice"
#define CONN_NONE "ConnectedLineNum: <unknown>|ConnectedLineName: <unknown>"
#define CONN_BOB  "ConnectedLineNum: 202|ConnectedLineName: Bob"

/* alice calls bob; bob rings. */
#define RINGING_CALL                                                                               \
    "Event: Newchannel|" ALICE1("4", CONN_NONE), "Event: Newchannel|" BOB2("0"),                   \
        "Event: DialBegin|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("0") "|DialString: bob",          \
        "Event: Newstate|" BOB2("5"),                                                              \
        "Event: DialState|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("5") "|DialStatus: RINGING"

/* ... and bob answers: both in bridge b1. */
#define CONNECTED_CALL                                                                             \
    RINGING_CALL, "Event: Newstate|" BOB2("6"),                                                    \
        "Event: DialEnd|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("6") "|DialStatus: ANSWER",         \
        "Event: Newstate|" ALICE1("6", CONN_BOB),                                                  \
        "Event: BridgeEnter|BridgeUniqueid: b1|" BOB2("6"),                                        \
        "Event: BridgeEnter|BridgeUniqueid: b1|" ALICE1("6", CONN_BOB)

const char *const pjsip_basic[] = {
    CONNECTED_CALL,
    "Event: BridgeLeave|BridgeUniqueid: b1|" ALICE1("6", CONN_BOB),
    "Event: Hangup|" ALICE1("6", CONN_BOB) "|Cause: 16",
    "Event: BridgeLeave|BridgeUniqueid: b1|" BOB2("6"),
    "Event: Hangup|" BOB2("6") "|Cause: 16",
    NULL,
};

const char *const pjsip_busy[] = {
    RINGING_CALL,
    "Event: Hangup|" BOB2("5") "|Cause: 17",
    "Event: DialEnd|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("5") "|DialStatus: BUSY",
    "Event: Hangup|" ALICE1("4", CONN_NONE) "|Cause: 17",
    NULL,
};

const char *const pjsip_noanswer[] = {
    RINGING_CALL,
    "Event: DialEnd|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("5") "|DialStatus: NOANSWER",
    "Event: Hangup|" BOB2("5") "|Cause: 16",
    "Event: Hangup|" ALICE1("4", CONN_NONE) "|Cause: 16",
    NULL,
};

#define CAROL3(state, link)                                                                        \
    "Channel: PJSIP/carol-00000003|Uniqueid: 100.3|Linkedid: " link "|"                            \
    "ChannelState: " state "|CallerIDNum: 203|CallerIDName: Carol|"                                \
    "ConnectedLineNum: 201|ConnectedLineName: Alice|Exten: s"

/* bob sends alice to 203 (carol) blind; alice's channel dials carol. */
const char *const pjsip_blind_transfer[] = {
    CONNECTED_CALL,
    "Event: BlindTransfer|Result: Success|TransfererChannel: PJSIP/bob-00000002|"
    "TransfererUniqueid: 100.2|TransfereeChannel: PJSIP/alice-00000001|"
    "TransfereeUniqueid: 100.1|BridgeUniqueid: b1|Context: internal|Extension: 203",
    "Event: BridgeLeave|BridgeUniqueid: b1|" BOB2("6"),
    "Event: Hangup|" BOB2("6") "|Cause: 16",
    "Event: BridgeLeave|BridgeUniqueid: b1|" ALICE1("6", CONN_BOB),
    "Event: Newchannel|" CAROL3("0", "100.1"),
    "Event: DialBegin|" ALICE1(
        "6", CONN_BOB) "|DestChannel: PJSIP/carol-00000003|"
                       "DestUniqueid: 100.3|DestLinkedid: 100.1|DestChannelState: 0",
    "Event: Newstate|" CAROL3("5", "100.1"),
    "Event: Newstate|" CAROL3("6", "100.1"),
    "Event: DialEnd|" ALICE1("6", CONN_BOB) "|DestChannel: PJSIP/carol-00000003|"
                                            "DestUniqueid: 100.3|DialStatus: ANSWER",
    "Event: BridgeEnter|BridgeUniqueid: b2|" CAROL3("6", "100.1"),
    "Event: BridgeEnter|BridgeUniqueid: b2|" ALICE1("6", CONN_BOB),
    "Event: Hangup|" CAROL3("6", "100.1") "|Cause: 16",
    "Event: Hangup|" ALICE1("6", CONN_BOB) "|Cause: 16",
    NULL,
};

/* bob holds alice, calls carol (a new Linkedid), then transfers. */
#define BOB4(state)                                                                                \
    "Channel: PJSIP/bob-00000004|Uniqueid: 200.4|Linkedid: 200.4|"                                 \
    "ChannelState: " state "|CallerIDNum: 202|CallerIDName: Bob|"                                  \
    "ConnectedLineNum: <unknown>|ConnectedLineName: <unknown>|Exten: 203"
#define CAROL5(state)                                                                              \
    "Channel: PJSIP/carol-00000005|Uniqueid: 200.5|Linkedid: 200.4|"                               \
    "ChannelState: " state "|CallerIDNum: 203|CallerIDName: Carol|"                                \
    "ConnectedLineNum: 202|ConnectedLineName: Bob|Exten: s"
#define DEST_CAROL5(state)                                                                         \
    "DestChannel: PJSIP/carol-00000005|DestUniqueid: 200.5|"                                       \
    "DestLinkedid: 200.4|DestChannelState: " state

const char *const pjsip_attended_transfer[] = {
    CONNECTED_CALL,
    "Event: Hold|" BOB2("6") "|MusicClass: default",
    "Event: Newchannel|" BOB4("4"),
    "Event: Newchannel|" CAROL5("0"),
    "Event: DialBegin|" BOB4("4") "|" DEST_CAROL5("0") "|DialString: carol",
    "Event: Newstate|" CAROL5("5"),
    "Event: Newstate|" CAROL5("6"),
    "Event: DialEnd|" BOB4("4") "|" DEST_CAROL5("6") "|DialStatus: ANSWER",
    "Event: Newstate|" BOB4("6"),
    "Event: BridgeEnter|BridgeUniqueid: b2|" CAROL5("6"),
    "Event: BridgeEnter|BridgeUniqueid: b2|" BOB4("6"),
    "Event: AttendedTransfer|Result: Success|OrigTransfererChannel: PJSIP/bob-00000002|"
    "OrigTransfererUniqueid: 100.2|OrigBridgeUniqueid: b1|"
    "SecondTransfererChannel: PJSIP/bob-00000004|SecondTransfererUniqueid: 200.4|"
    "SecondBridgeUniqueid: b2|TransfereeChannel: PJSIP/alice-00000001|"
    "TransfereeUniqueid: 100.1|TransferTargetChannel: PJSIP/carol-00000005|"
    "TransferTargetUniqueid: 200.5|DestType: Bridge|DestBridgeUniqueid: b1",
    "Event: BridgeLeave|BridgeUniqueid: b2|" BOB4("6"),
    "Event: Hangup|" BOB4("6") "|Cause: 16",
    "Event: BridgeLeave|BridgeUniqueid: b1|" BOB2("6"),
    "Event: Hangup|" BOB2("6") "|Cause: 16",
    "Event: BridgeLeave|BridgeUniqueid: b2|" CAROL5("6"),
    "Event: BridgeEnter|BridgeUniqueid: b1|" CAROL5("6"),
    "Event: Hangup|" ALICE1("6", CONN_BOB) "|Cause: 16",
    "Event: Hangup|" CAROL5("6") "|Cause: 16",
    NULL,
};

/* bob rings; carol dials *8 and takes the call. */
#define CAROL6(state, conn)                                                                        \
    "Channel: PJSIP/carol-00000006|Uniqueid: 300.6|Linkedid: 300.6|"                               \
    "ChannelState: " state "|CallerIDNum: 203|CallerIDName: Carol|" conn "|Exten: *8"

const char *const pjsip_pickup[] = {
    RINGING_CALL,
    "Event: Newchannel|" CAROL6("4", CONN_NONE),
    "Event: Newstate|" CAROL6("6", "ConnectedLineNum: 201|ConnectedLineName: Alice"),
    "Event: Pickup|" CAROL6(
        "6", "ConnectedLineNum: 201|ConnectedLineName: Alice") "|"
                                                               "TargetChannel: "
                                                               "PJSIP/bob-00000002|TargetUniqueid: "
                                                               "100.2|TargetLinkedid: 100.1",
    "Event: Hangup|" BOB2("5") "|Cause: 26",
    "Event: DialEnd|" ALICE1("4", CONN_NONE) "|" DEST_BOB2("5") "|DialStatus: ANSWER",
    "Event: Newstate|" ALICE1("6", "ConnectedLineNum: 203|ConnectedLineName: Carol"),
    "Event: BridgeEnter|BridgeUniqueid: b3|" ALICE1(
        "6", "ConnectedLineNum: 203|ConnectedLineName: Carol"),
    "Event: BridgeEnter|BridgeUniqueid: b3|" CAROL6(
        "6", "ConnectedLineNum: 201|ConnectedLineName: Alice"),
    "Event: Hangup|" CAROL6("6", "ConnectedLineNum: 201|ConnectedLineName: Alice") "|Cause: 16",
    "Event: Hangup|" ALICE1("6", "ConnectedLineNum: 203|ConnectedLineName: Carol") "|Cause: 16",
    NULL,
};

/* alice puts bob on hold and takes him back; bob hangs up. */
const char *const pjsip_hold[] = {
    CONNECTED_CALL,
    "Event: Hold|" ALICE1("6", CONN_BOB) "|MusicClass: default",
    "Event: Hold|" ALICE1("6", CONN_BOB) "|MusicClass: default",
    "Event: Unhold|" ALICE1("6", CONN_BOB),
    "Event: Hangup|" BOB2("6") "|Cause: 16",
    "Event: Hangup|" ALICE1("6", CONN_BOB) "|Cause: 16",
    NULL,
};
