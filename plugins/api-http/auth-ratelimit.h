/*
 * auth-ratelimit.h - failed logins limited per login and per client address.
 *
 * A sliding window: a login (or an address) that failed `limit` times in the
 * last `window_ms` is refused until the oldest of those failures leaves the
 * window, and the answer says how long that is (Retry-After). Attempts still
 * being checked count as failures until they end, so a burst of parallel
 * guesses gets no more tries than a patient guesser. A success forgets the
 * login's failures (not the address's: one right password from an address
 * does not excuse its guesses at other logins). Main loop only.
 */
#ifndef AUTH_RATELIMIT_H
#define AUTH_RATELIMIT_H

#include <glib.h>

typedef struct auth_ratelimit auth_ratelimit;

/* A monotonic clock in milliseconds; tests inject their own. */
typedef gint64 (*auth_clock_fn)(gpointer data);

typedef enum auth_attempt {
    AUTH_ATTEMPT_FAILED,    /* a wrong password or an unknown login */
    AUTH_ATTEMPT_SUCCEEDED, /* the password was right */
    AUTH_ATTEMPT_NEUTRAL,   /* not a guess: the backend was down, has no passwords ... */
} auth_attempt;

/* `limit` failures per `window_ms` (limit 0: no limit); `clock` NULL uses
 * g_get_monotonic_time. */
auth_ratelimit *auth_ratelimit_new(guint limit, gint64 window_ms, auth_clock_fn clock,
                                   gpointer clock_data);
void auth_ratelimit_free(auth_ratelimit *limit);

/* Starts an attempt of `login` from `address`. FALSE when either is over
 * its limit, with the seconds until the next attempt may succeed (at least
 * 1) in `retry_after`; then nothing was started. TRUE: end it with
 * auth_ratelimit_end. */
gboolean auth_ratelimit_begin(auth_ratelimit *limit, const char *login, const char *address,
                              guint *retry_after);
/* Ends an attempt that auth_ratelimit_begin started. */
void auth_ratelimit_end(auth_ratelimit *limit, const char *login, const char *address,
                        auth_attempt outcome);

/* How many logins and addresses it currently remembers (for tests: it
 * forgets those with nothing left in the window). */
guint auth_ratelimit_size(auth_ratelimit *limit);

#endif /* AUTH_RATELIMIT_H */
