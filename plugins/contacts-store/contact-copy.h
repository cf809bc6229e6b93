/*
 * contact-copy.h - one source's contacts in memory: the copy a replication
 * builds, the store writes to its database and the number index points into.
 *
 * A copy is built once (by a replication's sink, or from the database at
 * start) and never changes afterwards, so any thread may read it without a
 * lock while it is referenced. The strings of all contacts live in one
 * arena; a contact is a row of offsets into it. That keeps a million contacts
 * in a few allocations (docs/PERFORMANCE.md gives the bytes per contact) and
 * lets a lookup hand out a whole contact without asking the database.
 */
#ifndef CONTACTS_STORE_CONTACT_COPY_H
#define CONTACTS_STORE_CONTACT_COPY_H

#include <glib.h>
#include <stdint.h>
#include <ucd/contacts.h>

/* Numbers a contact may have; more are left out with a warning. */
#define CONTACT_COPY_MAX_NUMBERS 32

/* The contact's text fields, in the order of the database's columns. */
enum {
    CONTACT_FIELD_SOURCE_ID,
    CONTACT_FIELD_DISPLAY_NAME,
    CONTACT_FIELD_GIVEN_NAME,
    CONTACT_FIELD_SURNAME,
    CONTACT_FIELD_COMPANY,
    CONTACT_FIELD_DEPARTMENT,
    CONTACT_FIELD_EMAIL,
    CONTACT_FIELD_ADDRESS,
    CONTACT_FIELD_CRM_LINK,
    CONTACT_FIELDS
};

typedef struct copy_number {
    uint64_t e164;       /* the E.164 digits as a number; 0: not understood, not indexed */
    uint32_t raw;        /* arena offset of the raw form */
    uint32_t display;    /* arena offset of the display form's digits ("0891234567"), or 0 */
    uint8_t kind;        /* ucd_contact_number_kind */
    uint8_t switchboard; /* the number stands for every extension behind e164 / 10 */
    uint16_t reserved;
} copy_number;

typedef struct copy_contact {
    uint32_t field[CONTACT_FIELDS]; /* arena offsets; 0: the source has no such field */
    uint32_t first_number;          /* index into the copy's numbers */
    uint32_t n_numbers;
} copy_contact;

typedef struct contact_copy {
    gint refs;
    char *source; /* the source's module id */
    int32_t priority;
    int64_t generation;
    int64_t first_id; /* database id of contacts[0]; the others follow without gaps */
    int64_t good_at;  /* unix seconds when it was written */
    GArray *contacts; /* copy_contact */
    GArray *numbers;  /* copy_number */
    GByteArray *arena;
} contact_copy;

/* An empty copy of `source` (strings are copied). */
contact_copy *contact_copy_new(const char *source, int32_t priority);
contact_copy *contact_copy_ref(contact_copy *copy);
void contact_copy_unref(contact_copy *copy);

/* Appends a contact whose fields are `fields` (CONTACT_FIELDS strings, each
 * may be NULL; empty strings are stored as NULL). Its numbers follow with
 * contact_copy_add_number. Returns the contact's index. */
uint32_t contact_copy_add(contact_copy *copy, const char *const *fields);

/* Appends a number to the contact added last. `display_digits` (may be
 * NULL) is the number as people dial it nationally, for search. */
void contact_copy_add_number(contact_copy *copy, const char *raw, uint32_t kind, uint64_t e164,
                             const char *display_digits, gboolean switchboard);

/* A field of contact `index`, or NULL. */
static inline const char *contact_copy_field(const contact_copy *copy, uint32_t index, int field)
{
    uint32_t at = g_array_index(copy->contacts, copy_contact, index).field[field];
    return at == 0 ? NULL : (const char *)copy->arena->data + at;
}

static inline const copy_number *contact_copy_number(const contact_copy *copy, uint32_t index)
{
    return &g_array_index(copy->numbers, copy_number, index);
}

static inline const char *contact_copy_text(const contact_copy *copy, uint32_t at)
{
    return (const char *)copy->arena->data + at;
}

static inline uint32_t contact_copy_count(const contact_copy *copy)
{
    return copy->contacts->len;
}

/* Fills `out` (a ucd_contact) and `numbers` (room for
 * CONTACT_COPY_MAX_NUMBERS) with contact `index`; the strings point into the
 * copy. */
void contact_copy_render(const contact_copy *copy, uint32_t index, ucd_contact *out,
                         ucd_contact_number *numbers);

/* The E.164 form "+49891234567" of `digits` into `buf` (at least 24 bytes). */
void contact_e164_text(uint64_t digits, char *buf, size_t size);

/* The digits of "+49891234567" as a number, or 0 when `e164` is no E.164
 * form (empty, too long). */
uint64_t contact_e164_digits(const char *e164);

/* Asks the kernel to back the copy's large arrays with huge pages, now
 * that they stop growing: a lookup touches four or five random places of
 * hundreds of megabytes, and a TLB miss per place costs as much as the
 * cache miss. Best effort: nothing happens where the kernel cannot. */
void contact_copy_settle(contact_copy *copy);

/* The same for any large block of memory that no longer moves. */
void contact_prefer_huge_pages(void *data, size_t size);

/* Bytes the copy holds, for `directory sources` and the benchmark. */
size_t contact_copy_bytes(const contact_copy *copy);

#endif /* CONTACTS_STORE_CONTACT_COPY_H */
