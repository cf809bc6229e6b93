/*
 * ldap-sync.c - one comparison of the base's entries with the store's
 * (ldap-sync.h).
 *
 * The search only reads and notes what to do; the writes follow once it
 * has ended, so no operation is sent while a page is being received on the
 * same connection. Deletes are sent first (an entry renamed in the source
 * is a delete and an add), then replacements, then adds, up to IN_FLIGHT at
 * a time. A modify replaces only
 * the attributes whose values differ (as sets: LDAP keeps no order), each
 * with all its wanted values; an attribute no longer wanted is replaced by
 * none, which removes it.
 */
#include "ldap-sync.h"

#include <string.h>

#include "export-entry.h"

/* After this many refused operations and none accepted, the server refuses
 * them all (no write access, a schema without inetOrgPerson): stop. */
#define REFUSED_GIVE_UP 100

typedef struct pending_modify {
    char *dn;
    const export_entry *entry;
    guint32 changed; /* bit per export_attr */
} pending_modify;

typedef struct sync_run {
    GHashTable *wanted;
    GHashTable *present; /* uid (the wanted entry's) -> itself */
    GPtrArray *deletes;  /* DN */
    GArray *modifies;    /* pending_modify */
    const gint *cancel;
    ldap_sync_stats *stats;
} sync_run;

void ldap_sync_stats_clear(ldap_sync_stats *stats)
{
    g_free(stats->first_failure);
    memset(stats, 0, sizeof *stats);
}

/* The value of `dn`'s first RDN when it is uid=VALUE alone, else NULL. */
static char *uid_of(const char *dn)
{
    LDAPDN parsed = NULL;
    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || parsed == NULL)
        return NULL;
    char *uid = NULL;
    LDAPRDN rdn = parsed[0];
    if (rdn != NULL && rdn[0] != NULL && rdn[1] == NULL &&
        g_ascii_strncasecmp(rdn[0]->la_attr.bv_val, "uid", rdn[0]->la_attr.bv_len) == 0 &&
        rdn[0]->la_attr.bv_len == 3)
        uid = g_strndup(rdn[0]->la_value.bv_val, rdn[0]->la_value.bv_len);
    ldap_dnfree(parsed);
    return uid;
}

static gboolean same_values(const export_entry *entry, export_attr attr, struct berval **have)
{
    guint n_have = 0, n_want = export_entry_count(entry, attr);
    while (have != NULL && have[n_have] != NULL)
        n_have++;
    if (n_want != n_have)
        return FALSE;
    for (guint i = 0; i < n_want; i++) {
        const char *value = export_entry_value(entry, attr, i);
        size_t len = strlen(value);
        gboolean found = FALSE;
        for (guint j = 0; j < n_have && !found; j++)
            found = have[j]->bv_len == len && memcmp(have[j]->bv_val, value, len) == 0;
        if (!found)
            return FALSE;
    }
    return TRUE;
}

static gboolean on_entry(LDAP *ld, LDAPMessage *message, void *data)
{
    sync_run *run = data;
    if (g_atomic_int_get(run->cancel))
        return FALSE;
    char *dn = ldap_get_dn(ld, message);
    char *uid = dn != NULL ? uid_of(dn) : NULL;
    if (uid == NULL) { /* not one of ours */
        ldap_memfree(dn);
        return TRUE;
    }
    run->stats->found++;
    const export_entry *entry = g_hash_table_lookup(run->wanted, uid);
    if (entry == NULL) {
        g_ptr_array_add(run->deletes, g_strdup(dn));
    } else {
        g_hash_table_add(run->present, (gpointer)entry->uid);
        pending_modify pending = {.entry = entry};
        for (int a = 0; a < EXPORT_ATTR_COUNT; a++) {
            struct berval **have = ldap_get_values_len(ld, message, export_attr_names[a]);
            if (!same_values(entry, a, have))
                pending.changed |= 1u << a;
            ldap_value_free_len(have);
        }
        if (pending.changed != 0) {
            pending.dn = g_strdup(dn);
            g_array_append_val(run->modifies, pending);
        } else {
            run->stats->unchanged++;
        }
    }
    g_free(uid);
    ldap_memfree(dn);
    return TRUE;
}

/* A result that means the connection, not the entry, failed. */
static gboolean connection_failed(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED;
}

/* Counts a write's result; FALSE (with `*error`) when the run must stop.
 * `diag` is the server's message, may be NULL. */
static gboolean note_result(int rc, const char *diag, const char *what, const char *dn,
                            guint64 *done, ldap_sync_stats *stats, char **error)
{
    if (rc == LDAP_SUCCESS) {
        (*done)++;
        return TRUE;
    }
    char *why = diag != NULL && *diag != '\0'
                    ? g_strdup_printf("%s (%s)", ldap_err2string(rc), diag)
                    : g_strdup(ldap_err2string(rc));
    if (connection_failed(rc)) {
        *error = g_strdup_printf("%s %s: %s", what, dn, why);
        g_free(why);
        return FALSE;
    }
    stats->failed++;
    if (stats->first_failure == NULL)
        stats->first_failure = g_strdup_printf("%s %s: %s", what, dn, why);
    g_free(why);
    if (stats->failed >= REFUSED_GIVE_UP && stats->added + stats->modified + stats->deleted == 0) {
        *error = g_strdup_printf("the server refused the first %d operations; the first: %s",
                                 REFUSED_GIVE_UP, stats->first_failure);
        return FALSE;
    }
    return TRUE;
}

/* ---- writes, several in flight ----
 * A write's time is mostly its round trip (the socket, slapd handing it to
 * a thread and back), so up to IN_FLIGHT of them are sent before the first
 * answer is awaited. The writes of one run name distinct DNs (a DN is
 * deleted, modified or added, never two of these), so their order does not
 * matter. */
#define IN_FLIGHT 32

typedef struct in_flight {
    const char *what; /* "add", "modify", "delete" */
    char *dn;
    guint64 *done; /* the counter a success adds to */
} in_flight;

typedef struct writer {
    LDAP *ld;
    int timeout_s;
    GHashTable *sent; /* msgid -> in_flight * */
    ldap_sync_stats *stats;
    char **error;
} writer;

static void in_flight_free(gpointer p)
{
    in_flight *f = p;
    g_free(f->dn);
    g_free(f);
}

/* Waits for one answer. */
static gboolean collect_one(writer *w)
{
    struct timeval timeout = {.tv_sec = w->timeout_s, .tv_usec = 0};
    LDAPMessage *message = NULL;
    int type = ldap_result(w->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &timeout, &message);
    if (type <= 0) { /* -1: the connection failed; 0: no answer in time */
        int rc = LDAP_TIMEOUT;
        if (type < 0)
            ldap_get_option(w->ld, LDAP_OPT_RESULT_CODE, &rc);
        ldap_msgfree(message);
        *w->error = g_strdup_printf("waiting for the answers to %u writes: %s",
                                    g_hash_table_size(w->sent), ldap_err2string(rc));
        return FALSE;
    }
    gpointer key = GINT_TO_POINTER(ldap_msgid(message));
    in_flight *f = g_hash_table_lookup(w->sent, key);
    int code = LDAP_OTHER;
    char *diag = NULL;
    if (ldap_parse_result(w->ld, message, &code, NULL, &diag, NULL, NULL, 1) != LDAP_SUCCESS)
        code = LDAP_OTHER; /* the message is freed either way */
    gboolean go_on = TRUE;
    if (f != NULL) { /* else not ours: an unsolicited notice */
        go_on = note_result(code, diag, f->what, f->dn, f->done, w->stats, w->error);
        g_hash_table_remove(w->sent, key);
    }
    ldap_memfree(diag);
    return go_on;
}

/* Notes a write just sent (`rc` and `msgid` of ldap_*_ext), then waits
 * for answers while IN_FLIGHT are out. */
static gboolean sent(writer *w, int rc, int msgid, const char *what, const char *dn, guint64 *done)
{
    if (rc != LDAP_SUCCESS)
        return note_result(rc, NULL, what, dn, done, w->stats, w->error);
    in_flight *f = g_new(in_flight, 1);
    *f = (in_flight){what, g_strdup(dn), done};
    g_hash_table_insert(w->sent, GINT_TO_POINTER(msgid), f);
    while (g_hash_table_size(w->sent) >= IN_FLIGHT)
        if (!collect_one(w))
            return FALSE;
    return TRUE;
}

/* `mods` for the attributes of `entry` in `mask`, REPLACE or ADD. */
static LDAPMod **build_mods(const export_entry *entry, guint32 mask, int op, LDAPMod *storage,
                            GPtrArray *to_free)
{
    LDAPMod **mods = g_new0(LDAPMod *, EXPORT_ATTR_COUNT + 3);
    int n = 0;
    for (int a = 0; a < EXPORT_ATTR_COUNT; a++) {
        if (!(mask & (1u << a)))
            continue;
        guint count = export_entry_count(entry, a);
        if (op == LDAP_MOD_ADD && count == 0)
            continue;
        char **list = g_new0(char *, count + 1);
        for (guint i = 0; i < count; i++)
            list[i] = (char *)export_entry_value(entry, a, i);
        g_ptr_array_add(to_free, list);
        storage[n] = (LDAPMod){.mod_op = op,
                               .mod_type = (char *)export_attr_names[a],
                               .mod_values = count > 0 ? list : NULL};
        mods[n] = &storage[n];
        n++;
    }
    g_ptr_array_add(to_free, mods);
    return mods;
}

static int add_entry(LDAP *ld, const char *dn, const export_entry *entry, int *msgid)
{
    static char *classes[] = {"top", "person", "organizationalPerson", "inetOrgPerson", NULL};
    LDAPMod storage[EXPORT_ATTR_COUNT + 2];
    GPtrArray *to_free = g_ptr_array_new_with_free_func(g_free);
    LDAPMod **mods = build_mods(entry, G_MAXUINT32, LDAP_MOD_ADD, storage, to_free);
    int n = 0;
    while (mods[n] != NULL)
        n++;
    char *uid[] = {(char *)entry->uid, NULL};
    storage[n] =
        (LDAPMod){.mod_op = LDAP_MOD_ADD, .mod_type = "objectClass", .mod_values = classes};
    storage[n + 1] = (LDAPMod){.mod_op = LDAP_MOD_ADD, .mod_type = "uid", .mod_values = uid};
    mods[n] = &storage[n];
    mods[n + 1] = &storage[n + 1];
    int rc = ldap_add_ext(ld, dn, mods, NULL, NULL, msgid); /* encoded now: mods may go */
    g_ptr_array_unref(to_free);
    return rc;
}

static int modify_entry(LDAP *ld, const pending_modify *pending, int *msgid)
{
    LDAPMod storage[EXPORT_ATTR_COUNT + 2];
    GPtrArray *to_free = g_ptr_array_new_with_free_func(g_free);
    LDAPMod **mods =
        build_mods(pending->entry, pending->changed, LDAP_MOD_REPLACE, storage, to_free);
    int rc = ldap_modify_ext(ld, pending->dn, mods, NULL, NULL, msgid);
    g_ptr_array_unref(to_free);
    return rc;
}

static gboolean cancelled(const gint *cancel, char **error)
{
    if (!g_atomic_int_get(cancel))
        return FALSE;
    *error = g_strdup("stopped");
    return TRUE;
}

static gboolean send_all(writer *w, const char *base, sync_run *run)
{
    ldap_sync_stats *stats = run->stats;
    int msgid = 0, rc;
    for (guint i = 0; i < run->deletes->len; i++) {
        const char *dn = g_ptr_array_index(run->deletes, i);
        if (cancelled(run->cancel, w->error))
            return FALSE;
        rc = ldap_delete_ext(w->ld, dn, NULL, NULL, &msgid);
        if (!sent(w, rc, msgid, "delete", dn, &stats->deleted))
            return FALSE;
    }
    for (guint i = 0; i < run->modifies->len; i++) {
        const pending_modify *pending = &g_array_index(run->modifies, pending_modify, i);
        if (cancelled(run->cancel, w->error))
            return FALSE;
        rc = modify_entry(w->ld, pending, &msgid);
        if (!sent(w, rc, msgid, "modify", pending->dn, &stats->modified))
            return FALSE;
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, run->wanted);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const export_entry *entry = value;
        if (g_hash_table_contains(run->present, entry->uid))
            continue;
        if (cancelled(run->cancel, w->error))
            return FALSE;
        char *dn = export_entry_dn(entry, base);
        rc = add_entry(w->ld, dn, entry, &msgid);
        gboolean go_on = sent(w, rc, msgid, "add", dn, &stats->added);
        g_free(dn);
        if (!go_on)
            return FALSE;
    }
    while (g_hash_table_size(w->sent) > 0)
        if (!collect_one(w))
            return FALSE;
    return TRUE;
}

static gboolean apply(LDAP *ld, const ul_server_config *server, const char *base, sync_run *run,
                      char **error)
{
    writer w = {
        .ld = ld,
        .timeout_s = server->timeout_s,
        .sent = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, in_flight_free),
        .stats = run->stats,
        .error = error,
    };
    gboolean ok = send_all(&w, base, run);
    g_hash_table_unref(w.sent); /* answers still due are lost with the connection */
    return ok;
}

static void pending_modify_clear(gpointer p)
{
    g_free(((pending_modify *)p)->dn);
}

gboolean ldap_sync_run(LDAP *ld, const ul_server_config *server, const char *base,
                       GHashTable *wanted, const gint *cancel, ldap_sync_stats *stats, char **error)
{
    sync_run run = {
        .wanted = wanted,
        .present = g_hash_table_new(g_str_hash, g_str_equal),
        .deletes = g_ptr_array_new_with_free_func(g_free),
        .modifies = g_array_new(FALSE, FALSE, sizeof(pending_modify)),
        .cancel = cancel,
        .stats = stats,
    };
    g_array_set_clear_func(run.modifies, pending_modify_clear);
    stats->wanted = g_hash_table_size(wanted);
    const char *attrs[EXPORT_ATTR_COUNT + 2];
    memcpy(attrs, export_attr_names, sizeof(char *) * EXPORT_ATTR_COUNT);
    attrs[EXPORT_ATTR_COUNT] = "uid";
    attrs[EXPORT_ATTR_COUNT + 1] = NULL;
    gboolean ok = ul_ldap_search(ld, server, base, LDAP_SCOPE_ONELEVEL, "(uid=*)", (char **)attrs,
                                 TRUE, on_entry, NULL, &run, cancel, error);
    if (ok)
        ok = apply(ld, server, base, &run, error);
    g_hash_table_unref(run.present);
    g_ptr_array_unref(run.deletes);
    g_array_unref(run.modifies);
    return ok;
}
