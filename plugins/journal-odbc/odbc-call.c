/*
 * odbc-call.c - database calls on threads of their own (odbc-call.h).
 *
 * One short-lived thread per call: a batch is committed every
 * commit_interval at most, so the cost of a thread is nothing beside the
 * round trip, and a thread that is stuck in the driver can simply be left
 * behind, which a long-lived worker could not.
 *
 * Ownership: the call holds two references, the caller's and the thread's.
 * `lock` guards `abandoned`, `done` and the notification: the thread rings
 * the writer only while the writer still waits for it, so an abandoned call
 * never touches the writer's memory. jodbc_call_finish takes `lock` too
 * before it returns: `done` is set before the ring, and without that the
 * caller could see `done`, finish and free the notify lock and cond while
 * the thread is still about to use them.
 */
#include "odbc-call.h"

#include <string.h>

typedef enum call_kind { CALL_CONNECT, CALL_OPEN, CALL_WRITE, CALL_EXPIRE, CALL_QUERY } call_kind;

struct jodbc_stuck {
    gint refs;
    gint count;
};

struct jodbc_call {
    gint refs;
    GMutex lock;
    gint done; /* atomic */
    gboolean abandoned;
    jodbc_notify notify;
    call_kind kind;

    /* inputs */
    jodbc_target target; /* connect: its strings are the copies below */
    char *connection, *password, *prefix;
    GPtrArray *records;
    guint first, count;
    int64_t cutoff_ms;
    unsigned limit;
    ucd_journal_query query; /* its strings are the copies below */
    char *user_id, *number, *after, *uuid;
    char **users, **lines; /* the participant filter's names */

    /* outputs; db is an input too for write and expire */
    jodbc_db *db;
    int rc;
    unsigned deleted;
    jodbc_page *page;
    gboolean lost;
    char *error;
};

jodbc_stuck *jodbc_stuck_new(void)
{
    jodbc_stuck *s = g_new0(jodbc_stuck, 1);
    s->refs = 1;
    return s;
}

void jodbc_stuck_unref(jodbc_stuck *stuck)
{
    if (stuck != NULL && g_atomic_int_dec_and_test(&stuck->refs))
        g_free(stuck);
}

int jodbc_stuck_count(jodbc_stuck *stuck)
{
    return g_atomic_int_get(&stuck->count);
}

static void call_unref(jodbc_call *c)
{
    if (!g_atomic_int_dec_and_test(&c->refs))
        return;
    /* Only an abandoned call still holds a connection here. */
    jodbc_close(c->db);
    if (c->records != NULL)
        g_ptr_array_unref(c->records);
    if (c->password != NULL)
        memset(c->password, 0, strlen(c->password));
    g_free(c->password);
    g_free(c->connection);
    g_free(c->prefix);
    g_free(c->user_id);
    g_free(c->number);
    g_free(c->after);
    g_free(c->uuid);
    g_strfreev(c->users);
    g_strfreev(c->lines);
    jodbc_page_free(c->page);
    jodbc_stuck_unref(c->notify.stuck);
    g_free(c->error);
    g_mutex_clear(&c->lock);
    g_free(c);
}

static void run(jodbc_call *c)
{
    switch (c->kind) {
    case CALL_CONNECT:
        c->db = jodbc_open(&c->target, &c->error);
        c->rc = c->db != NULL ? jodbc_prepare_schema(c->db, &c->error) : JODBC_E_CONNECTION;
        if (c->rc != JODBC_OK)
            g_clear_pointer(&c->db, jodbc_close);
        break;
    case CALL_OPEN:
        c->db = jodbc_open(&c->target, &c->error);
        c->rc = c->db != NULL ? JODBC_OK : JODBC_E_CONNECTION;
        break;
    case CALL_WRITE:
        c->rc = jodbc_write(c->db, (jrec_record *const *)c->records->pdata + c->first, c->count,
                            &c->error);
        break;
    case CALL_EXPIRE:
        c->rc = jodbc_expire(c->db, c->cutoff_ms, c->limit, &c->deleted, &c->error);
        break;
    case CALL_QUERY:
        c->rc = jodbc_query_fetch(c->db, &c->query, &c->page, &c->lost, &c->error);
        break;
    }
}

static gpointer call_thread(gpointer data)
{
    jodbc_call *c = data;
    run(c);
    g_mutex_lock(&c->lock);
    g_atomic_int_set(&c->done, 1);
    if (c->abandoned) {
        g_atomic_int_add(&c->notify.stuck->count, -1);
    } else {
        g_mutex_lock(c->notify.lock);
        g_cond_broadcast(c->notify.cond);
        g_mutex_unlock(c->notify.lock);
    }
    g_mutex_unlock(&c->lock);
    call_unref(c);
    return NULL;
}

static jodbc_call *call_new(call_kind kind, jodbc_db *db, const jodbc_notify *notify)
{
    jodbc_call *c = g_new0(jodbc_call, 1);
    c->refs = 1;
    g_mutex_init(&c->lock);
    c->kind = kind;
    c->db = db;
    c->notify = *notify;
    g_atomic_int_inc(&notify->stuck->refs);
    return c;
}

static jodbc_call *call_start(jodbc_call *c)
{
    g_atomic_int_inc(&c->refs);
    GError *error = NULL;
    GThread *thread = g_thread_try_new("journal-odbc-db", call_thread, c, &error);
    if (thread != NULL) {
        g_thread_unref(thread);
        return c;
    }
    /* No thread to be had (out of memory or threads): run it here, without
     * a deadline rather than not at all. */
    g_error_free(error);
    call_thread(c);
    return c;
}

static jodbc_call *call_connect(call_kind kind, const jodbc_target *target,
                                const jodbc_notify *notify)
{
    jodbc_call *c = call_new(kind, NULL, notify);
    c->connection = g_strdup(target->connection);
    c->password = g_strdup(target->password);
    c->prefix = g_strdup(target->prefix);
    c->target = *target;
    c->target.connection = c->connection;
    c->target.password = c->password;
    c->target.prefix = c->prefix;
    return call_start(c);
}

jodbc_call *jodbc_call_connect(const jodbc_target *target, const jodbc_notify *notify)
{
    return call_connect(CALL_CONNECT, target, notify);
}

jodbc_call *jodbc_call_open(const jodbc_target *target, const jodbc_notify *notify)
{
    return call_connect(CALL_OPEN, target, notify);
}

/* `count` names (a valid participant filter: jrec_query_read) as a
 * NULL-terminated copy; NULL for none. */
static char **copy_names(const char *const *names, uint32_t count)
{
    if (count == 0)
        return NULL;
    char **copy = g_new0(char *, count + 1);
    for (uint32_t i = 0; i < count; i++)
        copy[i] = g_strdup(names[i]);
    return copy;
}

jodbc_call *jodbc_call_query(jodbc_db *db, const ucd_journal_query *query,
                             const jodbc_notify *notify)
{
    jodbc_call *c = call_new(CALL_QUERY, db, notify);
    memcpy(&c->query, query, MIN(query->struct_size, sizeof(c->query)));
    c->query.struct_size = sizeof(c->query);
    c->query.user_id = c->user_id = g_strdup(c->query.user_id);
    c->query.number = c->number = g_strdup(c->query.number);
    c->query.after = c->after = g_strdup(c->query.after);
    c->query.uuid = c->uuid = g_strdup(c->query.uuid);
    c->users = copy_names(c->query.participant_users, c->query.participant_user_count);
    c->lines = copy_names(c->query.participant_lines, c->query.participant_line_count);
    c->query.participant_users = (const char *const *)c->users;
    c->query.participant_lines = (const char *const *)c->lines;
    return call_start(c);
}

jodbc_call *jodbc_call_write(jodbc_db *db, GPtrArray *records, guint first, guint count,
                             const jodbc_notify *notify)
{
    jodbc_call *c = call_new(CALL_WRITE, db, notify);
    c->records = g_ptr_array_ref(records);
    c->first = first;
    c->count = count;
    return call_start(c);
}

jodbc_call *jodbc_call_expire(jodbc_db *db, int64_t cutoff_ms, unsigned limit,
                              const jodbc_notify *notify)
{
    jodbc_call *c = call_new(CALL_EXPIRE, db, notify);
    c->cutoff_ms = cutoff_ms;
    c->limit = limit;
    return call_start(c);
}

gboolean jodbc_call_done(jodbc_call *call)
{
    return g_atomic_int_get(&call->done) != 0;
}

gboolean jodbc_call_wait(jodbc_call *call, int64_t deadline_us)
{
    g_mutex_lock(call->notify.lock);
    while (!jodbc_call_done(call) &&
           g_cond_wait_until(call->notify.cond, call->notify.lock, deadline_us))
        ;
    g_mutex_unlock(call->notify.lock);
    return jodbc_call_done(call);
}

/* The thread rings the notify cond after `done`, under `lock`: once we
 * held it, the thread is past the ring and the caller may free the notify
 * lock and cond. Never with the notify lock held (the thread takes it inside
 * `lock`). */
static void wait_rung(jodbc_call *call)
{
    g_mutex_lock(&call->lock);
    g_mutex_unlock(&call->lock);
}

int jodbc_call_finish(jodbc_call *call, jodbc_db **db, unsigned *deleted, char **error)
{
    g_return_val_if_fail(jodbc_call_done(call), JODBC_E_CONNECTION);
    wait_rung(call);
    int rc = call->rc;
    if (db != NULL)
        *db = call->db;
    if (deleted != NULL)
        *deleted = call->deleted;
    *error = g_steal_pointer(&call->error);
    call->db = NULL; /* the caller's (again) */
    call_unref(call);
    return rc;
}

gboolean jodbc_call_abandon(jodbc_call *call)
{
    g_mutex_lock(&call->lock);
    gboolean abandoned = !jodbc_call_done(call);
    if (abandoned) {
        call->abandoned = TRUE;
        g_atomic_int_inc(&call->notify.stuck->count);
    }
    g_mutex_unlock(&call->lock);
    if (abandoned)
        call_unref(call);
    return abandoned;
}

int jodbc_call_finish_query(jodbc_call *call, jodbc_db **db, jodbc_page **page,
                            gboolean *connection_lost, char **error)
{
    g_return_val_if_fail(jodbc_call_done(call), UCD_E_UNAVAILABLE);
    wait_rung(call);
    *page = g_steal_pointer(&call->page);
    *connection_lost = call->lost;
    return jodbc_call_finish(call, db, NULL, error);
}
