/*
 * pjsip-scenarios.h - hand-written PJSIP calls (events as "Name: value|..."
 * strings for replay_message()), NULL-terminated.
 */
#ifndef PJSIP_SCENARIOS_H
#define PJSIP_SCENARIOS_H

extern const char *const pjsip_basic[];
extern const char *const pjsip_busy[];
extern const char *const pjsip_noanswer[];
extern const char *const pjsip_blind_transfer[];
extern const char *const pjsip_attended_transfer[];
extern const char *const pjsip_pickup[];
extern const char *const pjsip_hold[];

#endif /* PJSIP_SCENARIOS_H */
