/*
 * auth-ratelimit.c - failed logins per login and per address
 * (auth-ratelimit.h).
 *
 * Each login and each address that failed recently has an entry: the times
 * of its last failures (at most `limit` are kept: older ones cannot matter,
 * as only the newest `limit` decide) and how many attempts are in flight.
 * Memory stays bounded however many addresses an attacker uses: an entry
 * holds at most `limit` times, and entries with nothing in the window are
 * dropped when touched and by a sweep every AUTH_SWEEP_EVERY operations.
 * Logins are case-folded, so "Alice" and "alice" share one budget.
 */
#include "auth-ratelimit.h"

#define AUTH_SWEEP_EVERY 1024

typedef struct limit_entry {
    GArray *failures; /* gint64 ms, oldest first */
    guint pending;
} limit_entry;

struct auth_ratelimit {
    guint limit;
    gint64 window_ms;
    auth_clock_fn clock;
    gpointer clock_data;
    GHashTable *entries; /* "l:LOGIN" / "a:ADDRESS" -> limit_entry */
    guint operations;
};

static gint64 monotonic_ms(gpointer data)
{
    (void)data;
    return g_get_monotonic_time() / 1000;
}

static void entry_free(gpointer data)
{
    limit_entry *e = data;
    g_array_free(e->failures, TRUE);
    g_free(e);
}

auth_ratelimit *auth_ratelimit_new(guint limit, gint64 window_ms, auth_clock_fn clock,
                                   gpointer clock_data)
{
    auth_ratelimit *rl = g_new0(auth_ratelimit, 1);
    rl->limit = limit;
    rl->window_ms = window_ms > 0 ? window_ms : 60000;
    rl->clock = clock ? clock : monotonic_ms;
    rl->clock_data = clock_data;
    rl->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    return rl;
}

void auth_ratelimit_free(auth_ratelimit *rl)
{
    if (rl == NULL)
        return;
    g_hash_table_destroy(rl->entries);
    g_free(rl);
}

static char *login_key(const char *login)
{
    char *folded =
        g_utf8_validate(login, -1, NULL) ? g_utf8_casefold(login, -1) : g_ascii_strdown(login, -1);
    char *key = g_strconcat("l:", folded, NULL);
    g_free(folded);
    return key;
}

static char *address_key(const char *address)
{
    return g_strconcat("a:", address ? address : "", NULL);
}

/* Drops the failures that left the window. */
static void expire(auth_ratelimit *rl, limit_entry *e, gint64 now)
{
    guint old = 0;
    while (old < e->failures->len && g_array_index(e->failures, gint64, old) <= now - rl->window_ms)
        old++;
    if (old > 0)
        g_array_remove_range(e->failures, 0, old);
}

static gboolean entry_idle(const limit_entry *e)
{
    return e->pending == 0 && e->failures->len == 0;
}

static gboolean sweep_one(gpointer key, gpointer value, gpointer data)
{
    (void)key;
    auth_ratelimit *rl = data;
    expire(rl, value, rl->clock(rl->clock_data));
    return entry_idle(value);
}

static void maybe_sweep(auth_ratelimit *rl)
{
    if (++rl->operations % AUTH_SWEEP_EVERY == 0)
        g_hash_table_foreach_remove(rl->entries, sweep_one, rl);
}

/* The seconds until `key` may try again, 0 when it may now. */
static guint blocked_for(auth_ratelimit *rl, const char *key, gint64 now)
{
    limit_entry *e = g_hash_table_lookup(rl->entries, key);
    if (e == NULL)
        return 0;
    expire(rl, e, now);
    guint failures = e->failures->len;
    if (failures + e->pending < rl->limit)
        return 0;
    if (failures < rl->limit)
        return 1; /* only attempts in flight fill it: they end soon */
    /* the failure that must leave the window is the limit-th newest */
    gint64 decisive = g_array_index(e->failures, gint64, failures - rl->limit);
    gint64 wait_ms = decisive + rl->window_ms - now;
    return MAX(1, (guint)((wait_ms + 999) / 1000));
}

static limit_entry *entry_for(auth_ratelimit *rl, char *key)
{
    limit_entry *e = g_hash_table_lookup(rl->entries, key);
    if (e == NULL) {
        e = g_new0(limit_entry, 1);
        e->failures = g_array_new(FALSE, FALSE, sizeof(gint64));
        g_hash_table_insert(rl->entries, key, e);
    } else {
        g_free(key);
    }
    return e;
}

gboolean auth_ratelimit_begin(auth_ratelimit *rl, const char *login, const char *address,
                              guint *retry_after)
{
    if (rl->limit == 0)
        return TRUE;
    maybe_sweep(rl);
    gint64 now = rl->clock(rl->clock_data);
    char *lkey = login_key(login);
    char *akey = address_key(address);
    guint wait = MAX(blocked_for(rl, lkey, now), blocked_for(rl, akey, now));
    if (wait > 0) {
        g_free(lkey);
        g_free(akey);
        if (retry_after)
            *retry_after = wait;
        return FALSE;
    }
    entry_for(rl, lkey)->pending++;
    entry_for(rl, akey)->pending++;
    return TRUE;
}

/* Ends one attempt on the entry `key`: a failure is recorded (only the
 * newest `limit` kept), a success of a login forgets its failures. */
static void end_one(auth_ratelimit *rl, char *key, auth_attempt outcome, gboolean forget,
                    gint64 now)
{
    limit_entry *e = g_hash_table_lookup(rl->entries, key);
    if (e == NULL) {
        g_free(key);
        return;
    }
    if (e->pending > 0)
        e->pending--;
    if (outcome == AUTH_ATTEMPT_FAILED) {
        g_array_append_val(e->failures, now);
        if (e->failures->len > rl->limit)
            g_array_remove_range(e->failures, 0, e->failures->len - rl->limit);
    } else if (outcome == AUTH_ATTEMPT_SUCCEEDED && forget) {
        g_array_set_size(e->failures, 0);
    }
    expire(rl, e, now);
    if (entry_idle(e))
        g_hash_table_remove(rl->entries, key);
    g_free(key);
}

void auth_ratelimit_end(auth_ratelimit *rl, const char *login, const char *address,
                        auth_attempt outcome)
{
    if (rl->limit == 0)
        return;
    gint64 now = rl->clock(rl->clock_data);
    end_one(rl, login_key(login), outcome, TRUE, now);
    end_one(rl, address_key(address), outcome, FALSE, now);
}

guint auth_ratelimit_size(auth_ratelimit *rl)
{
    return g_hash_table_size(rl->entries);
}
