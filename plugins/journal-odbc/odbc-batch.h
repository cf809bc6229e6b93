/*
 * odbc-batch.h - how many records go into one transaction: batch_size,
 * halved when a batch's size is what fails, grown back after successes.
 *
 * Why: a driver or server may refuse a statement for its size alone
 * (psqlODBC loses track of a reply describing more than ~7,500 parameters,
 * MariaDB refuses packets beyond max_allowed_packet and drops the
 * connection, SQLSTATE 08S01), and no dialect cap knows every such limit.
 * But a connection lost for the network's sake fails with the same SQLSTATE,
 * and halving for that would shrink batches for good on a flapping link. So
 * a size is blamed only when the same failure (same SQLSTATE, same size)
 * repeats within the first batch written over a fresh connection, that is
 * right after a connect that worked (a batch may take several writes, and
 * records differ in size: the failing write need not be the first); or, for
 * failures that are not connection-class (SQLSTATE class 08), when it repeats
 * at all. A write with no answer in time (abandoned past its deadline, or
 * the server saying the statement or a lock wait timed out) counts the same
 * way, but only within that first batch: the connect answered within its
 * deadline, so the server is alive and it is the batch that is too slow to
 * write (seen: MariaDB's driver binding 12,500 parameters per statement for
 * more than 3 s on a loaded host; replay never drained without halving).
 * Later in a connection's life slowness is the server's (busy, stalling),
 * and a frozen server never gets this far: its connect is abandoned, which
 * also forgets a pending no-answer failure. A limit lowered that way
 * doubles again, up to batch_size, after JODBC_BATCH_REGROW_AFTER writes in a
 * row succeeded: a limit that was the server's for a while (a setting since
 * changed) is not kept forever, and one that still holds costs two failed
 * attempts per regrowth.
 */
#ifndef ODBC_BATCH_H
#define ODBC_BATCH_H

#include <glib.h>

#define JODBC_BATCH_REGROW_AFTER 10

typedef struct jodbc_batch_limit {
    guint batch_size; /* the configured size, the most ever written at once */
    guint limit;      /* records per transaction now */
    char *last_kind;  /* the last failure's kind (SQLSTATE), NULL after a success */
    guint last_size;  /* the size of that failed write */
    guint successes;  /* writes in a row that succeeded while limit < batch_size */
} jodbc_batch_limit;

/* Starts at `batch_size` (at least 1). */
void jodbc_batch_limit_init(jodbc_batch_limit *l, guint batch_size);
void jodbc_batch_limit_clear(jodbc_batch_limit *l);

/* What a failed write did to the limit. */
typedef enum jodbc_batch_verdict {
    JODBC_BATCH_KEPT = 0,
    JODBC_BATCH_HALVED,      /* the same failure twice at this size */
    JODBC_BATCH_HALVED_SLOW, /* no answer in time twice at this size */
} jodbc_batch_verdict;

/* A write of `size` records failed with `error` (a jodbc diagnostic,
 * "what: [SQLSTATE] message"); `fresh` when it was part of the first batch
 * written over a new connection, `abandoned` when it passed its deadline.
 * Halves the limit when this failure repeats the last one at the same size
 * (see above: fresh, or not connection-class; a write with no answer in time
 * only when fresh) and says why; JODBC_BATCH_KEPT otherwise. */
jodbc_batch_verdict jodbc_batch_limit_failed(jodbc_batch_limit *l, guint size, const char *error,
                                             gboolean fresh, gboolean abandoned);

/* A connect got no answer within its deadline: the server is frozen, not
 * slow at this size, so a write abandoned before does not count as the first
 * of two any more. */
void jodbc_batch_limit_connect_unanswered(jodbc_batch_limit *l);

/* A write succeeded. TRUE when the limit grew just now. */
gboolean jodbc_batch_limit_succeeded(jodbc_batch_limit *l);

#endif /* ODBC_BATCH_H */
