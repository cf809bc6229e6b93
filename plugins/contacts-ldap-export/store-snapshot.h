/*
 * store-snapshot.h - what contacts-store holds, read from its SQLite file
 * (read-only, in one read transaction: every source's current generation as
 * one consistent picture, while the store goes on writing).
 *
 * The store publishes no event when it swaps a source's copy, and its
 * "contacts" service has no way to list everything (an SDK change). Its
 * file does: the `sources` table names each source's generation and the id
 * range of its contacts (plugins/contacts-store/store-db.h, schema version
 * 1), and a new generation is written in one transaction, so a reader sees
 * the old copy or the new one. The exporter polls the generations
 * (store_snapshot_fingerprint) and reads the contacts only when they moved.
 */
#ifndef CONTACTS_LDAP_EXPORT_STORE_SNAPSHOT_H
#define CONTACTS_LDAP_EXPORT_STORE_SNAPSHOT_H

#include <glib.h>
#include <stdint.h>

/* The store's schema this file reads (contacts-store's STORE_DB_SCHEMA_VERSION). */
#define STORE_SNAPSHOT_SCHEMA 1

typedef struct snapshot_number {
    uint32_t kind;    /* ucd_contact_number_kind */
    const char *raw;  /* as the source has it */
    const char *e164; /* "+49891234567", "" when the store did not understand it */
} snapshot_number;

/* One contact of the store. Strings are NULL when the field is empty; all
 * valid during the callback only. */
typedef struct snapshot_contact {
    const char *source; /* the source's module id: "contacts-csv:crm" */
    const char *source_id;
    const char *display_name, *given_name, *surname, *company, *department, *email, *address,
        *crm_link;
    guint n_numbers;
    const snapshot_number *numbers;
} snapshot_contact;

typedef struct store_snapshot store_snapshot;

/* Opens the store's file at `path` read-only and starts a read transaction.
 * NULL with `*error` set; `*missing` (may be NULL) TRUE when the file is not
 * there at all (the store has not written it yet). */
store_snapshot *store_snapshot_open(const char *path, gboolean *missing, char **error);

/* The generation of every source in `sources` (NULL: every source) as one
 * string, "contacts-csv:crm=4;contacts-sql:erp=2", equal for two reads
 * exactly when no exported source was swapped between them. NULL with
 * `*error` set. g_free it. */
char *store_snapshot_fingerprint(store_snapshot *snap, const char *const *sources, char **error);

/* Calls `cb` for every contact of the sources in `sources` (NULL: all), in
 * the store's order, until it returns FALSE (then FALSE is returned with
 * `*error` NULL). FALSE with `*error` set when the file cannot be read. */
gboolean store_snapshot_foreach(store_snapshot *snap, const char *const *sources,
                                gboolean (*cb)(const snapshot_contact *contact, void *data),
                                void *data, char **error);

/* Ends the read transaction and closes the file. NULL is fine. */
void store_snapshot_close(store_snapshot *snap);

#endif /* CONTACTS_LDAP_EXPORT_STORE_SNAPSHOT_H */
