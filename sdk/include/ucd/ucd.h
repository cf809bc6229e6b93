/*
 * ucd/ucd.h - includes the whole plugin SDK. Read plugin.h first, then host.h
 * and event.h; the kind headers (pbx.h, users.h, journal.h, calendar.h,
 * exporter.h) each describe one versioned service interface.
 */
#ifndef UCD_UCD_H
#define UCD_UCD_H

#include <ucd/plugin.h>
#include <ucd/event.h>
#include <ucd/host.h>
#include <ucd/pbx.h>
#include <ucd/users.h>
#include <ucd/journal.h>
#include <ucd/calendar.h>
#include <ucd/exporter.h>
#include <ucd/numbers.h>

#endif /* UCD_UCD_H */
