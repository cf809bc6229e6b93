/*
 * bench-api-util.h - what the client API's benchmarks share: a free port,
 * the users file of numbered users, latency percentiles, requests and a
 * login with libsoup, and libsoup alone as a reference server.
 */
#ifndef BENCH_API_UTIL_H
#define BENCH_API_UTIL_H

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

/* A port nothing listens on now, on 127.0.0.1 (the kernel's choice). */
int bench_free_port(void);

/* Writes DIR/users.xml with `count` users u<FIRST>.. (id file:uN, login uN,
 * password `hash`, display name "User N", phone +49 89 452133-N, line N);
 * with `admin_group` the group is declared and the first user is in it.
 * Returns the file's path; `*lines` gets "FIRST;FIRST+1;..." for pbx-sim's
 * `lines` key. Both g_free. */
char *bench_write_users(const char *dir, int first, int count, const char *hash,
                        const char *admin_group, char **lines);

/* The 1, 5 and 15 minute load averages, "3.97 4.56 4.06" (g_free; "?"
 * when /proc/loadavg cannot be read): the conditions of every figure. */
char *bench_load_text(void);

/* Sorts latencies (gint64 microseconds) in place. */
void bench_sort_us(GArray *us);
/* The `p` (0..1) percentile of sorted microseconds, in ms; 0 when empty. */
double bench_percentile_ms(GArray *sorted, double p);

/* One request with libsoup (setting up, not measured): the body; any
 * status but 200 fails the benchmark, naming the request. `token` (NULL:
 * none) goes as Bearer, `json` (NULL: none) as the body. */
GBytes *bench_fetch(SoupSession *session, const char *method, const char *url, const char *token,
                    const char *json);
/* `bytes` parsed as a JSON object (the root into *root, to unref). */
JsonObject *bench_parse_object(GBytes *bytes, JsonNode **root);
/* Logs user uN in on api-http at 127.0.0.1:`port`: the access token
 * (g_free). */
char *bench_login(SoupSession *session, int port, int user, const char *password);

/* libsoup alone (bench-soup-static, UCD_SOUP_STATIC_BIN) serving `file` on
 * a port of its own (into *port): the ceiling of a server on libsoup's one
 * main loop. Stop it with g_subprocess_force_exit. */
GSubprocess *bench_start_soup_static(const char *file, int *port);

#endif /* BENCH_API_UTIL_H */
