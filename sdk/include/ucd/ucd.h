/*
 * ucd/ucd.h - includes the whole plugin SDK. Read plugin.h first, then host.h
 * and event.h. Each other header describes one versioned service interface:
 * those plugins provide (pbx.h, users.h, journal.h, calendar.h, exporter.h,
 * http.h, contacts.h) and those the core provides (numbers.h, directory.h, calls.h,
 * presence.h, permissions.h, control.h).
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
#include <ucd/directory.h>
#include <ucd/calls.h>
#include <ucd/presence.h>
#include <ucd/permissions.h>
#include <ucd/http.h>
#include <ucd/control.h>
#include <ucd/contacts.h>

#endif /* UCD_UCD_H */
