/*
 * jstore.h - the plumbing every journal store shares: the bounded in-memory
 * queue between store() and the store's writer thread, store() itself
 * (sanitize and copy outside the lock, refuse when full, log every refusal),
 * flush() waiting, status() filled and copied by struct_size, the common
 * counters and configuration keys, and the durability trail.
 *
 * What stays with each store: its writer loop, what it does when the
 * database fails (journal-sqlite keeps records in memory, journal-odbc
 * spools them), and how it describes its health.
 *
 * Locking: `lock` guards the fields below it. Functions ending in _locked
 * expect it held; the others take it themselves. The writer waits on `wake`
 * (jstore_wait_locked); flush() waits on `idle`, which
 * jstore_batch_done_locked broadcasts.
 *
 * The durability trail: "durable UUID database|spool" at debug level, one
 * line per record right after it became durable (committed, or fsync'd to a
 * spool). The fault tests read exactly these lines to know which records a
 * store acknowledged before it was killed.
 */
#ifndef UCD_JSTORE_H
#define UCD_JSTORE_H

#include <stdint.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "jrec.h"

/* The configuration keys of jstore_read_config, for a store's key table;
 * `batch_default` is the batch_size default as a string. (Formatted by
 * hand: clang-format cannot lay out a macro of initializers readably.) */
// clang-format off
#define JSTORE_CONFIG_KEYS(batch_default)                                                          \
    {"private_numbers", UCD_CONFIG_STRING, 0, "mask",                                              \
     "remote number of a private call: keep, mask (last 4 digits x) or drop"},                     \
    {"max_pending", UCD_CONFIG_INT, 0, "100000",                                                   \
     "records kept in memory while the database is slow or failing"},                              \
    {"commit_interval", UCD_CONFIG_DURATION, 0, "100ms", "commit at least this often"},            \
    {"batch_size", UCD_CONFIG_INT, 0, batch_default, "records per transaction at most"},           \
    {"retention_days", UCD_CONFIG_INT, 0, "0",                                                     \
     "delete conversations older than this many days; 0 keeps them forever"}
// clang-format on

/* What a store adds to the shared journal service (jstore_register). Each
 * function gets the store's own state, jstore.owner. */
typedef struct jstore_hooks {
    /* status(), with the lock held: TRUE when records reach durable storage
     * now; writes the detail line. */
    gboolean (*describe_locked)(void *owner, char *detail, size_t size);
    /* query(), with `query` and `cb` already checked. */
    int (*query)(void *owner, const ucd_journal_query *query, ucd_journal_record_cb cb,
                 void *user_data, char *next_cursor, size_t next_cursor_size);
    /* What flush() returns when it timed out, with the lock held:
     * UCD_E_BUSY (slow) or UCD_E_UNAVAILABLE (failing). NULL: UCD_E_BUSY. */
    int (*flush_timeout_locked)(void *owner);
    /* Help texts of the common counters (jstore_register makes them). */
    const char *stored_help, *pending_help, *rejected_help;
} jstore_hooks;

/* The services a journal store provides, for its descriptor's .provides. */
extern const ucd_service_decl jstore_provides[];

typedef struct jstore {
    ucd_plugin *self;
    const ucd_host *host;
    void *owner; /* the store's own state: given to the writer and describe */

    /* Read by jstore_read_config. */
    jrec_privacy privacy;
    int64_t max_pending, batch_size, commit_interval_ms, retention_days;
    /* Set by the owner before start: records the sanitizer refuses are
     * queued (flagged `rejected`) for the writer to keep aside, instead of
     * being counted and freed by store(). */
    gboolean keep_rejected;

    GMutex lock;               /* guards everything below */
    GCond wake;                /* the writer waits on it: records, flushes, stop */
    GCond idle;                /* flush() waits on it */
    GQueue queue;              /* jrec_record *, accepted, not yet taken by the writer */
    guint in_flight;           /* taken by the writer (jstore_take_locked), not yet settled */
    int64_t in_flight_oldest;  /* the earliest start_ms among them */
    uint64_t spooled;          /* acknowledged, in the owner's spool, not in the database */
    int64_t spooled_oldest_ms; /* the first spooled record's start, 0 when none */
    uint64_t stored;           /* records in the database, for status() */
    GThread *writer;
    gboolean running, writer_waiting;
    int flush_waiters;
    char detail[600]; /* status()'s detail points here */
    const jstore_hooks *hooks;

    ucd_counter *stored_counter, *pending_counter, *rejected_counter;
} jstore;

/* One counter of a table for jstore_counters_new: made with these values and
 * written to the `ucd_counter *` at `offset` in the owner's struct. */
typedef struct jstore_counter {
    size_t offset;
    const char *name;
    uint32_t kind; /* UCD_COUNTER_* */
    const char *help;
} jstore_counter;

/* The wall clock in milliseconds, as record times are. */
int64_t jstore_now_ms(void);

/* Prepares `s` (lock, conditions, empty queue) for the module `self` of
 * `host`; `owner` is handed to the writer thread and the describe function.
 * jstore_clear() undoes it. */
void jstore_init(jstore *s, ucd_plugin *self, const ucd_host *host, void *owner);
/* Frees what is still queued and the lock and conditions. The writer must
 * be stopped (jstore_stop). */
void jstore_clear(jstore *s);

/* Reads the integer key `key` into `*value`, refusing (config_error) a
 * value below `min`. Returns UCD_OK or what config_error returned. */
int jstore_read_int(jstore *s, const char *key, int64_t min, int64_t *value);
/* Reads the keys of JSTORE_CONFIG_KEYS into `s`. Returns UCD_OK, or an
 * error after config_error named the bad key. */
int jstore_read_config(jstore *s);

/* Registers the journal service (UCD_JOURNAL_SERVICE, major
 * UCD_JOURNAL_MAJOR): store(), status() and flush() are jstore's, with
 * `hooks` (static, kept) for what differs, and query() is the store's.
 * Then makes the common counters: "stored" (monotonic), "pending" (gauge)
 * and "rejected" (monotonic, counted by store() for a full queue and for
 * bad input unless keep_rejected). Returns what service_register returned. */
int jstore_register(jstore *s, const jstore_hooks *hooks);
/* Makes the counters of `table` (`count` entries) for the owner `base`. */
void jstore_counters_new(jstore *s, void *base, const jstore_counter *table, size_t count);

/* Records in memory (queued or in flight): what max_pending bounds and
 * flush() waits for. */
uint64_t jstore_memory_locked(const jstore *s);
/* Records accepted but not in the database: memory and spool. */
uint64_t jstore_pending_locked(const jstore *s);
/* Sets the "pending" gauge to jstore_pending_locked(). */
void jstore_update_pending_locked(jstore *s);

/* The writer's wait: on `wake` until `deadline_ms` (wall clock, as
 * jstore_now_ms) or a signal, with writer_waiting set meanwhile so that
 * store() knows to signal. Returns at once when the deadline has passed. */
void jstore_wait_locked(jstore *s, int64_t deadline_ms);

/* Moves up to `max` queued records, in order, to the end of `batch` and
 * counts them in flight. Returns how many. */
guint jstore_take_locked(jstore *s, GPtrArray *batch, guint max);
/* Ends a batch the writer took: its first `settled` records are durable (or
 * kept aside) and are freed; the rest go back to the head of the queue, in
 * order, to wait for the next attempt. Empties `batch` (without calling its
 * free function), clears the in-flight count, updates the
 * pending gauge and wakes flush(). */
void jstore_batch_done_locked(jstore *s, GPtrArray *batch, guint settled);

/* The durability trail for `count` records that just became durable in
 * `where` ("database" or "spool"); nothing when debug logging is off. */
void jstore_log_durable(const jstore *s, jrec_record *const *records, guint count,
                        const char *where);

/* The journal's store(): refuses with UCD_E_BUSY (logged with the uuid,
 * counted as rejected) when max_pending records are in memory; otherwise
 * copies the record through the sanitizer (jrec_copy, outside the lock, so
 * the writer keeps going), logs what the sanitizer changed or why it refused
 * the record, queues the copy and wakes the writer. A refused record returns
 * UCD_E_INVALID (see keep_rejected for where it goes). */
int jstore_store(jstore *s, const ucd_journal_record *record);

/* The journal's status(): stored, pending, the oldest pending record's
 * start (spool, in flight, queue head) and, from hooks->describe_locked,
 * health and detail; copied into `status` as far as its struct_size allows. */
int jstore_status(jstore *s, ucd_journal_status *status);

/* The journal's flush(): waits up to `timeout_ms` until no record is in
 * memory (all durable or spooled), waking the writer first (a failing
 * writer retries at once while a flush waits). UCD_OK when that happened;
 * at the timeout, or at once when no writer runs and records are in
 * memory, what hooks->flush_timeout_locked says. */
int jstore_flush(jstore *s, uint32_t timeout_ms);

/* Starts the writer thread `name` running `writer(owner)`, with `running`
 * set. */
void jstore_start(jstore *s, const char *name, GThreadFunc writer);
/* Clears `running`, wakes the writer and waits for it to end. FALSE when
 * no writer ran. */
gboolean jstore_stop(jstore *s);

#endif /* UCD_JSTORE_H */
