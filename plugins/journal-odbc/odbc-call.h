/*
 * odbc-call.h - one database call (connect, write a batch, expire) on a
 * thread of its own, so that the writer keeps a deadline whatever the server
 * does.
 *
 * Why: an ODBC call blocks in the driver until the server answers, and a
 * frozen server (a paused VM, a path that drops packets, processes stopped
 * with SIGSTOP) never answers while its kernel keeps the TCP connection
 * alive. psqlODBC's query timeout is a server-side statement_timeout, so it
 * never fires then either. The writer starts the call here, waits for it
 * with its own deadline (jodbc_call_done, woken through `notify`), and past
 * the deadline abandons it: from then on the call owns the connection and
 * the records it was given, frees them when the driver eventually returns,
 * and touches nothing of the writer's any more. The plugin's code stays
 * mapped until the process exits (core/loader.c keeps every plugin
 * resident), so a call returning after the module was freed is safe.
 *
 * An abandoned write may still commit once the server wakes up; the same
 * records were spooled meanwhile, and replaying them is harmless (a
 * conversation's uuid is unique). Deadlocks between the abandoned and the
 * new transaction are resolved by the server (an error, retried).
 */
#ifndef ODBC_CALL_H
#define ODBC_CALL_H

#include <glib.h>

#include "odbc-db.h"

typedef struct jodbc_call jodbc_call;

/* A count of abandoned calls whose driver has not returned yet, one per
 * journal instance (a frozen server of one instance must not stop another
 * from connecting). Reference-counted: an abandoned call outlives the
 * instance that started it and decrements the count when it returns. */
typedef struct jodbc_stuck jodbc_stuck;
jodbc_stuck *jodbc_stuck_new(void);
void jodbc_stuck_unref(jodbc_stuck *stuck);
int jodbc_stuck_count(jodbc_stuck *stuck);

/* Where a call rings when it ends, unless it was abandoned: `cond` is
 * broadcast with `lock` held (the waiter waits on it with `lock`). `stuck`
 * counts the call while it is abandoned (the call takes a reference). */
typedef struct jodbc_notify {
    GMutex *lock;
    GCond *cond;
    jodbc_stuck *stuck;
} jodbc_notify;

/* Connects to `target` and prepares the schema (jodbc_open,
 * jodbc_prepare_schema). The target's strings are copied: an abandoned
 * connect outlives the caller's configuration. */
jodbc_call *jodbc_call_connect(const jodbc_target *target, const jodbc_notify *notify);
/* Opens a connection to `target` without touching the schema (a query
 * connection); finish gives it in `*db`. */
jodbc_call *jodbc_call_open(const jodbc_target *target, const jodbc_notify *notify);
/* jodbc_query_fetch: one page of `query` (copied, strings too). Finish it
 * with jodbc_call_finish_query. */
jodbc_call *jodbc_call_query(jodbc_db *db, const ucd_journal_query *query,
                             const jodbc_notify *notify);
/* Writes records->pdata[first .. first + count) in one transaction
 * (jodbc_write). Takes a reference to `records`: its elements must stay
 * valid until the call ended or was abandoned, and then the array's own
 * free function decides what becomes of them. */
jodbc_call *jodbc_call_write(jodbc_db *db, GPtrArray *records, guint first, guint count,
                             const jodbc_notify *notify);
/* jodbc_expire. */
jodbc_call *jodbc_call_expire(jodbc_db *db, int64_t cutoff_ms, unsigned limit,
                              const jodbc_notify *notify);

/* TRUE once the call returned from the driver. Lock-free: the writer reads
 * it with notify->lock held, and the call broadcasts with that lock, so no
 * wake-up is lost. */
gboolean jodbc_call_done(jodbc_call *call);

/* Waits on notify->cond (taking notify->lock) until the call is done or
 * g_get_monotonic_time() passes `deadline_us`; TRUE when it is done. For a
 * caller that waits for nothing else. */
gboolean jodbc_call_wait(jodbc_call *call, int64_t deadline_us);

/* Ends a call that is done, never with notify->lock held (it waits until the
 * call's thread has rung, so that the caller may free the notify lock and
 * cond right after): its result (a jodbc_result), `*error` (the
 * caller frees it), for a connect the new connection in `*db` (NULL on
 * failure), for an expire the count in `*deleted`. Frees the call. */
int jodbc_call_finish(jodbc_call *call, jodbc_db **db, unsigned *deleted, char **error);

/* Gives up on a call that is still running: TRUE, and the call owns its
 * connection (closed when the driver returns) and its reference to the
 * records; the caller must forget both and the call. FALSE when it ended
 * meanwhile: finish it as usual. */
gboolean jodbc_call_abandon(jodbc_call *call);

/* jodbc_call_finish for a query: its UCD_* result, the page (the caller
 * frees it; NULL on failure) and whether the connection should be dropped. */
int jodbc_call_finish_query(jodbc_call *call, jodbc_db **db, jodbc_page **page,
                            gboolean *connection_lost, char **error);

#endif /* ODBC_CALL_H */
