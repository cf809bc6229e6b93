/*
 * odbc-batch.c - records per transaction (odbc-batch.h).
 */
#include "odbc-batch.h"

#include <string.h>

void jodbc_batch_limit_init(jodbc_batch_limit *l, guint batch_size)
{
    memset(l, 0, sizeof(*l));
    l->batch_size = MAX(1, batch_size);
    l->limit = l->batch_size;
}

void jodbc_batch_limit_clear(jodbc_batch_limit *l)
{
    g_clear_pointer(&l->last_kind, g_free);
}

/* What makes two failures "the same way": the first SQLSTATE in a
 * diagnostic ("what: [08S01] message"), or the whole text when it has none.
 * Not the message: a driver words the same failure differently from one
 * attempt to the next (MariaDB: "Got a packet bigger than
 * 'max_allowed_packet' bytes", then "Server has gone away"). */
static char *failure_kind(const char *error)
{
    const char *open = strstr(error, ": [");
    if (open != NULL && strlen(open) >= 9 && open[8] == ']')
        return g_strndup(open + 3, 5);
    return g_strdup(error);
}

/* SQLSTATE class 08: the connection failed, which the network does too. */
static gboolean connection_class(const char *kind)
{
    return strlen(kind) == 5 && kind[0] == '0' && kind[1] == '8';
}

/* The server answered, but only that time ran out: the statement's timeout
 * (ODBC HYT00, PostgreSQL 57014, MariaDB's max_statement_time 70100) or a
 * lock wait (PostgreSQL 55P03; MariaDB says HY000, so its message is the
 * sign). Counted like a write abandoned past its deadline. */
static gboolean timed_out(const char *kind, const char *error)
{
    static const char *const states[] = {"HYT00", "HYT01", "57014", "70100", "55P03"};
    for (guint i = 0; i < G_N_ELEMENTS(states); i++)
        if (strcmp(kind, states[i]) == 0)
            return TRUE;
    return strstr(error, "Lock wait timeout") != NULL;
}

/* The kind every write gets that had no answer in time, abandoned or told
 * so by the server: two of them are "the same way" whichever they were. */
#define NO_ANSWER_KIND "no answer in time"

jodbc_batch_verdict jodbc_batch_limit_failed(jodbc_batch_limit *l, guint size, const char *error,
                                             gboolean fresh, gboolean abandoned)
{
    if (error == NULL)
        error = "";
    char *kind = failure_kind(error);
    gboolean slow = abandoned || timed_out(kind, error);
    if (slow) {
        g_free(kind);
        /* Too slow on a connection that had already written a batch: a
         * server busy or stalling for a while, no sign of the size. It does
         * not count, nor as the first of two. */
        kind = fresh ? g_strdup(NO_ANSWER_KIND) : NULL;
    }
    gboolean same = kind != NULL && size > 1 && size == l->last_size && l->last_kind != NULL &&
                    strcmp(l->last_kind, kind) == 0;
    gboolean halve = same && (fresh || !connection_class(kind));
    if (halve)
        l->limit = MAX(1, size / 2);
    l->successes = 0;
    g_free(l->last_kind);
    l->last_kind = kind;
    l->last_size = size;
    if (!halve)
        return JODBC_BATCH_KEPT;
    return slow ? JODBC_BATCH_HALVED_SLOW : JODBC_BATCH_HALVED;
}

void jodbc_batch_limit_connect_unanswered(jodbc_batch_limit *l)
{
    if (l->last_kind != NULL && strcmp(l->last_kind, NO_ANSWER_KIND) == 0)
        g_clear_pointer(&l->last_kind, g_free);
}

gboolean jodbc_batch_limit_succeeded(jodbc_batch_limit *l)
{
    g_clear_pointer(&l->last_kind, g_free);
    if (l->limit >= l->batch_size)
        return FALSE;
    if (++l->successes < JODBC_BATCH_REGROW_AFTER)
        return FALSE;
    l->successes = 0;
    l->limit = MIN(l->batch_size, l->limit * 2);
    return TRUE;
}
