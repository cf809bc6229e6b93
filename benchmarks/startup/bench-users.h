/*
 * bench-users.h - a users-file document of N generated users for the
 * start-up benchmark: what a mid-sized company's file looks like (names,
 * e-mail, department, two phone numbers, two groups, one line each).
 */
#ifndef BENCH_USERS_H
#define BENCH_USERS_H

#include <glib.h>

/* Writes `count` users and 50 groups to `path` (replacing it). FALSE with
 * `*error` set when the file cannot be written. */
gboolean bench_write_users(const char *path, unsigned count, GError **error);

#endif /* BENCH_USERS_H */
