/*
 * bench-api-util.h - what the client API's benchmarks share: a free port,
 * the users file of numbered users, latency percentiles.
 */
#ifndef BENCH_API_UTIL_H
#define BENCH_API_UTIL_H

#include <glib.h>

/* A port nothing listens on now, on 127.0.0.1 (the kernel's choice). */
int bench_free_port(void);

/* Writes DIR/users.xml with `count` users u<FIRST>.. (id file:uN, login uN,
 * password `hash`, display name "User N", phone +49 89 452133-N, line N);
 * with `admin_group` the group is declared and the first user is in it.
 * Returns the file's path; `*lines` gets "FIRST;FIRST+1;..." for pbx-sim's
 * `lines` key. Both g_free. */
char *bench_write_users(const char *dir, int first, int count, const char *hash,
                        const char *admin_group, char **lines);

/* Sorts latencies (gint64 microseconds) in place. */
void bench_sort_us(GArray *us);
/* The `p` (0..1) percentile of sorted microseconds, in ms; 0 when empty. */
double bench_percentile_ms(GArray *sorted, double p);

#endif /* BENCH_API_UTIL_H */
