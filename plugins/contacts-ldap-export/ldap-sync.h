/*
 * ldap-sync.h - makes the entries one level below a base DN what the store
 * wants: reads what is there (one paged search), then deletes what is no
 * longer wanted, replaces the attributes that differ and adds what is
 * missing. Nothing outside the base is read or written, and below it only
 * entries named uid=... (the exporter's) are: an organizationalUnit or any
 * other entry an admin puts there is left alone.
 *
 * Stopping halfway (the server goes away) loses nothing: the next run
 * compares again and does the rest. Blocking: call it from a work item.
 */
#ifndef CONTACTS_LDAP_EXPORT_LDAP_SYNC_H
#define CONTACTS_LDAP_EXPORT_LDAP_SYNC_H

#include <glib.h>
#include <ldap.h>

#include "ldap-client.h"

typedef struct ldap_sync_stats {
    guint64 wanted;    /* entries the store wants */
    guint64 found;     /* the exporter's entries the search found */
    guint64 unchanged; /* found and equal */
    guint64 added, modified, deleted;
    guint64 failed;      /* single operations the server refused */
    char *first_failure; /* the first of them: DN and the server's reason */
} ldap_sync_stats;

/* Brings the uid=... entries one level below `base` in line with `wanted`
 * (uid -> export_entry *; not changed). TRUE when the whole comparison ran
 * (single refused operations are in `stats->failed`); FALSE with `*error`
 * set when it had to stop (the search failed, the connection went away, or
 * `*cancel` became non-zero). */
gboolean ldap_sync_run(LDAP *ld, const ul_server_config *server, const char *base,
                       GHashTable *wanted, const gint *cancel, ldap_sync_stats *stats,
                       char **error);

void ldap_sync_stats_clear(ldap_sync_stats *stats);

#endif /* CONTACTS_LDAP_EXPORT_LDAP_SYNC_H */
