/*
 * users-events.h - the bus events every users backend publishes alike.
 * Header only (plugins/common/include, nothing to link).
 */
#ifndef UCD_USERS_EVENTS_H
#define UCD_USERS_EVENTS_H

#include <ucd/ucd.h>

/* Publishes UCD_CHANGE_RESYNCED for `backend` (the module id): the core then
 * re-reads every user and group. Any thread. */
static inline void users_publish_resynced(const ucd_host *host, ucd_plugin *self,
                                          const char *backend)
{
    const ucd_user_changed_event changed = {
        .struct_size = sizeof(changed),
        .change = UCD_CHANGE_RESYNCED,
        .backend = backend,
    };
    const ucd_event event = {
        .struct_size = sizeof(event),
        .type = UCD_EVENT_USER_CHANGED,
        .payload = &changed,
    };
    host->publish(self, &event);
}

#endif /* UCD_USERS_EVENTS_H */
