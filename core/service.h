/*
 * service.h - life as a system service: systemd notification and dropping root.
 */
#ifndef CORE_SERVICE_H
#define CORE_SERVICE_H

#include <glib.h>

/* Sends READY=1 with a STATUS= line (no-op outside systemd). */
void core_service_ready(const char *status);
/* Sends RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects. */
void core_service_reloading(void);
/* Sends STOPPING=1. */
void core_service_stopping(void);
/* Sends STATUS=. */
void core_service_status(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Switches to `user` (and `group`, or the user's primary group) when running
 * as root, after verifying the switch cannot be undone. Returns FALSE with
 * *error set when the user or group does not exist or the switch fails. When
 * not root: TRUE if `user` is NULL or already the current user, else FALSE. */
gboolean core_service_drop_privileges(const char *user, const char *group, char **error);

/* Creates `dir` (and parents) with `mode`, owned by `user`/`group` when root
 * and a user is given, so the daemon can still write it after dropping root. */
gboolean core_service_make_dir(const char *dir, int mode, const char *user, const char *group,
                               char **error);

#endif /* CORE_SERVICE_H */
