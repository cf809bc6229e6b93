/*
 * line-name.h - a line as an admin names it: "DRIVER/ADDRESS", or a bare
 * address that must name exactly one line of all drivers.
 */
#ifndef CORE_COMMANDS_LINE_NAME_H
#define CORE_COMMANDS_LINE_NAME_H

#include <glib.h>
#include <ucd/ucd.h>

/* The line `arg` names, looked up in the directory service `dir`: its driver
 * and address (g_free them) and capabilities. FALSE after replying why not:
 * "unknown line 'ARG' (see ucctl lines)", or, for an address several drivers
 * have, "line 'ARG' is on several drivers: D1/ARG, D2/ARG (name one as
 * DRIVER/ADDRESS)". */
gboolean line_name_resolve(const ucd_service *dir, const char *arg, char **driver, char **address,
                           uint64_t *capabilities, ucd_reply *r);

#endif /* CORE_COMMANDS_LINE_NAME_H */
