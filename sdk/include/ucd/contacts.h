/*
 * ucd/contacts.h - the contact directory: sources ("contact-source" major 1)
 * and the store ("contacts" major 1).
 *
 * "Who is calling?" is answered from a local replica, never by asking a
 * source live on each call. A contact source (contacts-csv, contacts-sql,
 * contacts-ldap, contacts-xml, contacts-carddav) only knows how to read its
 * source from start to end; the store (contacts-store, one per server)
 * decides when: at start, on its schedule, on `ucctl directory replicate
 * NAME`. It hands the source a sink, the source pushes every contact into
 * it, and the store swaps the source's new copy in only when the source
 * said it read everything and the copy is not suspiciously small. Readers
 * never wait for a replication, and a failed one changes nothing: the last
 * good copy stays.
 *
 * A source provides "contact-source"; the store requires nothing of it but
 * this interface, and finds every running source by that service:
 *
 *     static const ucd_service_decl provides[] = {
 *         UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
 *                     UCD_CONTACT_SOURCE_MINOR, 0),
 *         {NULL, 0, 0, 0, 0}};
 *
 * Every other plugin (the core's caller identification, the client API, a
 * CRM link) uses the store's "contacts" service: lookup by number, search.
 */
#ifndef UCD_CONTACTS_H
#define UCD_CONTACTS_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_CONTACT_SOURCE_SERVICE "contact-source"
#define UCD_CONTACT_SOURCE_MAJOR   1
#define UCD_CONTACT_SOURCE_MINOR   0

#define UCD_CONTACTS_SERVICE "contacts"
#define UCD_CONTACTS_MAJOR   1
#define UCD_CONTACTS_MINOR   0

/* What a number is for, as the source says (a field map names it). */
typedef enum ucd_contact_number_kind {
    UCD_CONTACT_NUMBER_OTHER = 0,
    UCD_CONTACT_NUMBER_BUSINESS = 1,
    UCD_CONTACT_NUMBER_MOBILE = 2,
    UCD_CONTACT_NUMBER_HOME = 3,
    UCD_CONTACT_NUMBER_FAX = 4,
} ucd_contact_number_kind;

typedef struct ucd_contact_number {
    uint32_t struct_size;
    uint32_t kind;   /* ucd_contact_number_kind */
    const char *raw; /* as the source stores it: "089 1234567", "+49 (89) 123456-0" */
} ucd_contact_number;

/* One contact, in the one shape every source maps its fields to. Every
 * string is UTF-8 (a source converts its encoding first) or NULL when the
 * source has no such field. Valid during the call it is handed to only. */
typedef struct ucd_contact {
    uint32_t struct_size;
    uint32_t n_numbers;
    const char *source_id; /* stable within its source: a row key, a DN, a vCard UID */
    const char *display_name;
    const char *given_name;
    const char *surname;
    const char *company;
    const char *department;
    const char *email;
    const char *address;               /* one line or several, as the source has it */
    const char *crm_link;              /* a URL, the source's template already filled in */
    const ucd_contact_number *numbers; /* n_numbers of them */
} ucd_contact;

/* ---- sources ------------------------------------------------------------------- */

/* What a source pushes its contacts into during replicate(). Every function
 * may be called from the thread replicate() runs on, and only during it. */
typedef struct ucd_contact_sink {
    uint32_t struct_size;
    /* Takes a copy of `contact`. UCD_OK, UCD_E_INVALID when the contact is
     * unusable (no name and no number: the store has already counted it as a
     * warning), or another error when the store cannot go on (its disk is
     * full): replicate() then stops and returns that error. */
    int (*add)(void *sink_impl, const ucd_contact *contact);
    /* A record the source skipped: `where` says where it was ("contacts.csv
     * line 812", a DN), `problem` what is wrong with it. Logged and counted;
     * the replication goes on. */
    void (*skipped)(void *sink_impl, const char *where, const char *problem);
    /* How far the source is; `total` 0 when it cannot know. For
     * `ucctl directory replicate NAME --progress`. */
    void (*progress)(void *sink_impl, uint64_t done, uint64_t total);
    /* Non-zero once the store wants the replication to stop (the module or
     * the daemon is stopping): replicate() should then return UCD_E_BUSY
     * soon; the store keeps its last good copy. */
    int (*cancelled)(void *sink_impl);
} ucd_contact_sink;

/* How the store should treat a source: read by the source from its own
 * configuration section (the keys are the same for every source:
 * `priority`, `replicate_every`, `min_ratio`, `switchboard`), so an admin
 * writes them beside the source's other keys. */
typedef struct ucd_contact_source_info {
    uint32_t struct_size;
    int32_t priority;         /* lower wins when two sources know a number; default 100 */
    uint32_t replicate_every; /* seconds between scheduled replications; 0: only on demand */
    uint32_t min_ratio;       /* percent: a copy smaller than this share of the last good
                                 one is refused as suspicious; 0 accepts any size */
    uint32_t switchboard;     /* non-zero: a number ending in "-0" or "0" after a
                                 separator stands for all extensions behind it
                                 (longest-prefix match) */
} ucd_contact_source_info;

typedef struct ucd_contact_source_v1 {
    uint32_t struct_size;

    /* Fills `out` (its struct_size set by the caller) from the source's
     * configuration. Main loop. */
    void (*info)(void *impl, ucd_contact_source_info *out);

    /* Reads the whole source and hands each contact to `sink`. Runs on a
     * worker thread of the store's, never on the main loop, and never twice
     * at once for one source. UCD_OK only when every record was read (a
     * record skipped with sink->skipped still counts as read); any other
     * result, with `*error` set to a message that names what failed (file
     * and line, server and error), makes the store keep its last good copy.
     * The message is freed by the store with free(). */
    int (*replicate)(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error);
} ucd_contact_source_v1;

/* ---- the store ------------------------------------------------------------------ */

/* A contact found in the store: the contact as replicated, plus where it
 * came from. Valid during the callback only. */
typedef struct ucd_contact_hit {
    uint32_t struct_size;
    int32_t priority;   /* the source's */
    const char *source; /* the source's module id: "contacts-csv:crm" */
    const ucd_contact *contact;
    const char *matched_number; /* the contact's number that matched, as stored (lookup) */
    uint32_t matched_kind;      /* its ucd_contact_number_kind */
    uint32_t prefix_match;      /* non-zero: matched a switchboard number's prefix */
} ucd_contact_hit;

typedef int (*ucd_contact_hit_cb)(const ucd_contact_hit *hit, void *user_data); /* non-zero stops */

typedef struct ucd_contacts_v1 {
    uint32_t struct_size;

    /* Calls `cb` for the contacts that own `number` (any raw form: it is
     * normalized by the number service for the driver module `context`,
     * NULL = the default location), best first: exact E.164 matches by
     * source priority, then switchboard prefix matches, longest first.
     * `sources`, when not NULL, is a NULL-terminated list of source module
     * ids the caller may see (a directory profile); others are left out.
     * UCD_OK when at least one was found, UCD_E_NOT_FOUND when none,
     * UCD_E_INVALID when `number` is not a number. Any thread; answers from
     * memory and never blocks on a replication. */
    int (*lookup)(void *impl, const char *context, const char *number, const char *const *sources,
                  ucd_contact_hit_cb cb, void *user_data);

    /* Full-text search: every word of `query` must match a word of any
     * field by prefix ("mül gmb" finds "Müller GmbH"); digits also match
     * numbers. At most `limit` hits (0: 50) in relevance order. `sources` as
     * for lookup. UCD_OK (also for no hit) or UCD_E_INVALID for an empty
     * query. Any thread; may read the store's disk. */
    int (*search)(void *impl, const char *query, const char *const *sources, uint32_t limit,
                  ucd_contact_hit_cb cb, void *user_data);
} ucd_contacts_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_CONTACTS_H */
