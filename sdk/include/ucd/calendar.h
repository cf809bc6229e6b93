/*
 * ucd/calendar.h - the calendar source interface, service "calendar" major 1.
 *
 * A calendar source replicates users' appointments from a groupware server
 * (CalDAV, Exchange, ...) so that presence can show "in a meeting until 15:00".
 * It publishes UCD_EVENT_APPOINTMENT when an appointment that matters now or
 * soon is added, changed or removed, and answers range queries through the
 * table below. Private appointments are reported with subject NULL.
 *
 * No plugin provides this service yet: the interface is written down for the
 * calendar sources to come (the calendar issue brings the first one), and
 * nothing in ucd calls it today. Do not rely on it: a module that requires
 * "calendar" is declined for want of a provider. Presence's calendar part
 * comes from UCD_EVENT_APPOINTMENT events alone, which no shipped plugin
 * publishes yet.
 */
#ifndef UCD_CALENDAR_H
#define UCD_CALENDAR_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_CALENDAR_SERVICE "calendar"
#define UCD_CALENDAR_MAJOR   1
#define UCD_CALENDAR_MINOR 0

typedef struct ucd_appointment {
    uint32_t struct_size;
    uint32_t show_as; /* ucd_show_as (event.h) */
    const char *uid;
    const char *user_id;
    const char *subject; /* NULL when private */
    const char *location;
    int64_t start_ms;
    int64_t end_ms;
    uint32_t all_day;
    uint32_t is_private;
} ucd_appointment;

typedef int (*ucd_appointment_cb)(const ucd_appointment *appointment, void *user_data);

typedef struct ucd_calendar_v1 {
    uint32_t struct_size;

    /* Appointments of `user_id` overlapping [from_ms, to_ms), from the
     * replicated copy (never a network round trip), in start order. */
    int (*foreach_appointment)(void *impl, const char *user_id, int64_t from_ms, int64_t to_ms,
                               ucd_appointment_cb cb, void *user_data);
    /* Starts a replication run now; UCD_E_BUSY while one runs. */
    int (*sync)(void *impl);
} ucd_calendar_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_CALENDAR_H */
