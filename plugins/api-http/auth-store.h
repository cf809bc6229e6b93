/*
 * auth-store.h - the sessions and API keys of the client API, in memory and
 * in an SQLite file in the module's state directory.
 *
 * Every lookup answers from memory: a request never waits for the disk.
 * Every change is made in memory at once and written to the file through a
 * host work queue, in order, so the main loop never waits either and the
 * file catches up a moment later. The file holds SHA-256 hashes of tokens
 * and keys, never the tokens themselves. Times are milliseconds since the
 * epoch (wall clock: they outlive a restart). Main loop only.
 */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <glib.h>
#include <ucd/ucd.h>

typedef struct auth_store auth_store;

/* One login's session: an access token and a refresh token. */
typedef struct auth_session {
    char *id; /* not secret: listed, logged, named by DELETE /auth/sessions/{id} */
    char *user_id;
    char *access_hash;
    char *refresh_hash;
    gint64 created;
    gint64 access_expires;
    gint64 refresh_expires;
    gint64 last_used;
    char *address;            /* the client's at login */
    char *user_agent;         /* NULL when the client sent none */
    gint64 last_used_written; /* what the file has, so use is written once a minute */
} auth_session;

/* An integration's API key. */
typedef struct auth_key {
    char *name;
    char *hash;
    char **scopes; /* NULL-terminated */
    char **users;  /* NULL-terminated user ids, maybe empty */
    gint64 created;
    char *created_by;
    gint64 last_used; /* 0: never */
    gint64 last_used_written;
} auth_key;

/* Opens (creating it, mode 0600) the file at `path` and reads it into
 * memory; writes go through a work queue of `self`. NULL and `error` when
 * the file cannot be opened or is not a store. Blocking: call it at init or
 * start. */
auth_store *auth_store_open(const ucd_host *host, ucd_plugin *self, const char *path,
                            GError **error);

/* Waits for the pending writes, frees the queue and closes the file. Call
 * it in the module's stop hook at the latest: the core frees a queue the
 * module still holds after stop. */
void auth_store_close(auth_store *store);

/* Adds a session (taken, every member set but last_used_written). */
void auth_store_add_session(auth_store *store, auth_session *session);
/* A session by id, by the hash of its access token, of its refresh token;
 * NULL when none. Valid until the store changes it. */
const auth_session *auth_store_session(auth_store *store, const char *id);
const auth_session *auth_store_session_by_access(auth_store *store, const char *hash);
const auth_session *auth_store_session_by_refresh(auth_store *store, const char *hash);
/* Gives session `id` new tokens and expiry times (refresh: the old tokens
 * stop working at once). FALSE when there is no such session. */
gboolean auth_store_rotate(auth_store *store, const char *id, const char *access_hash,
                           const char *refresh_hash, gint64 access_expires, gint64 refresh_expires);
/* Notes that session `id` was used at `now`; written at most once a minute. */
void auth_store_touch_session(auth_store *store, const char *id, gint64 now);
/* Ends a session. FALSE when there was none. */
gboolean auth_store_remove_session(auth_store *store, const char *id);
/* Ends every session of `user_id`; returns how many. */
guint auth_store_remove_user_sessions(auth_store *store, const char *user_id);
/* The sessions of `user_id` (NULL: everyone's), oldest first: a new array
 * of const auth_session *, valid until the store changes. */
GPtrArray *auth_store_sessions(auth_store *store, const char *user_id);
/* Ends the sessions whose refresh token expired before `now`; returns how
 * many. */
guint auth_store_purge(auth_store *store, gint64 now);

/* Adds a key (taken). FALSE (and the key freed) when the name is taken. */
gboolean auth_store_add_key(auth_store *store, auth_key *key);
const auth_key *auth_store_key(auth_store *store, const char *name);
const auth_key *auth_store_key_by_hash(auth_store *store, const char *hash);
void auth_store_touch_key(auth_store *store, const char *name, gint64 now);
gboolean auth_store_remove_key(auth_store *store, const char *name);
/* Every key by name: a new array of const auth_key *. */
GPtrArray *auth_store_keys(auth_store *store);

void auth_session_free(auth_session *session);
void auth_key_free(auth_key *key);

#endif /* AUTH_STORE_H */
