/*
 * ami-message.c - one AMI message (see ami-message.h).
 *
 * A message is parsed ~200,000 times a second on a busy server and the model
 * asks each one for a dozen headers, so both sides are kept cheap:
 *
 * - Storage. One allocation per message in the common case: the message
 *   carries room for INLINE_HEADERS headers and INLINE_TEXT bytes of names and
 *   values, and stays small enough for malloc's per-thread cache (its fast
 *   path ends at 1032 bytes); a bigger message (a DialBegin with every Dest*
 *   header, a long Output:) takes further blocks of the same size. Text never
 *   moves once written, so a value handed out stays valid while headers are
 *   added after it. A header's value follows its name's NUL.
 *
 * - Lookup. Each header keeps a case-insensitive hash and the length of its
 *   name; a lookup hashes the wanted name once and compares two integers per
 *   header, and only a header whose hash and length match has its name
 *   compared (still case-insensitively, so a collision costs time, never a
 *   wrong answer). A plain scan of 10-40 headers beats a hash table here.
 */
#include "ami-message.h"

#include <string.h>

#define INLINE_HEADERS 24   /* most events have 10-25; a DialBegin ~35 */
#define INLINE_TEXT    568  /* bytes of "name\0value\0" kept in the message itself */
#define CHUNK_TEXT     1000 /* each further block of text, at least */

typedef struct pami_header {
    const char *name;  /* "name\0value\0" */
    guint32 name_hash; /* name_hash() of the name */
    guint32 name_len;
} pami_header;

/* A block of text beyond the inline one; blocks are freed with the message. */
typedef struct text_chunk {
    struct text_chunk *next;
    char text[];
} text_chunk;

struct pami_message {
    gint refs;
    guint count;          /* headers in use */
    guint capacity;       /* room in `headers` */
    pami_header *headers; /* `inline_headers` until it outgrows them */
    char *free_text;      /* where the next name/value goes */
    char *text_end;       /* end of the block `free_text` points into */
    text_chunk *chunks;   /* further blocks, newest first */
    pami_header inline_headers[INLINE_HEADERS];
    char inline_text[INLINE_TEXT];
};

G_STATIC_ASSERT(sizeof(pami_message) <= 1032);

/* A case-insensitive hash of a name of `len` bytes, from its length and its
 * first and last eight (or four) bytes with ASCII letters folded to lower case (other
 * bytes fold too, and names differing only in the middle collide, as
 * Transferee/TransfererCallerIDNum do: either only costs a compare). */
static guint32 name_hash(const char *name, gsize len)
{
    const guint64 fold = 0x2020202020202020ULL;
    guint64 head = 0, tail = 0;
    if (len >= 8) { /* fixed-size copies: plain loads, no memcpy call */
        memcpy(&head, name, 8);
        memcpy(&tail, name + len - 8, 8);
    } else if (len >= 4) {
        guint32 first, last;
        memcpy(&first, name, 4);
        memcpy(&last, name + len - 4, 4);
        head = first | (guint64)last << 32;
    } else {
        for (gsize i = 0; i < len; i++) {
            head |= (guint64)(guchar)name[i] << (8 * i);
        }
    }
    guint64 h = ((head | fold) * 0x9E3779B97F4A7C15ULL) ^ ((tail | fold) + len);
    h *= 0xC2B2AE3D27D4EB4FULL;
    return (guint32)(h >> 32);
}

/* TRUE when the header is called `name` (`len` bytes), in any case. */
static gboolean header_is(const pami_header *h, const char *name, gsize len, guint32 hash)
{
    if (h->name_hash != hash || h->name_len != len) {
        return FALSE;
    }
    /* Asterisk and the model spell header names alike: try bytes first. */
    return memcmp(h->name, name, len) == 0 || g_ascii_strncasecmp(h->name, name, len) == 0;
}

static const char *header_value(const pami_header *h)
{
    return h->name + h->name_len + 1;
}

pami_message *pami_message_new(void)
{
    /* Not zeroed: the inline arrays are written before they are read. */
    pami_message *m = g_malloc(sizeof *m);
    m->refs = 1;
    m->count = 0;
    m->capacity = INLINE_HEADERS;
    m->headers = m->inline_headers;
    m->free_text = m->inline_text;
    m->text_end = m->inline_text + INLINE_TEXT;
    m->chunks = NULL;
    return m;
}

pami_message *pami_message_ref(pami_message *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_atomic_int_inc(&m->refs);
    return m;
}

void pami_message_unref(pami_message *m)
{
    if (m == NULL || !g_atomic_int_dec_and_test(&m->refs)) {
        return;
    }
    while (m->chunks != NULL) {
        text_chunk *next = m->chunks->next;
        g_free(m->chunks);
        m->chunks = next;
    }
    if (m->headers != m->inline_headers) {
        g_free(m->headers);
    }
    g_free(m);
}

/* Room for `size` more bytes of text: the current block, or a new one (the
 * rest of the current block is left unused; earlier text never moves). */
static char *reserve_text(pami_message *m, gsize size)
{
    if ((gsize)(m->text_end - m->free_text) < size) {
        gsize room = MAX(size, (gsize)CHUNK_TEXT);
        text_chunk *chunk = g_malloc(sizeof *chunk + room);
        chunk->next = m->chunks;
        m->chunks = chunk;
        m->free_text = chunk->text;
        m->text_end = chunk->text + room;
    }
    char *at = m->free_text;
    m->free_text += size;
    return at;
}

/* Room for one more header: doubles the array once the inline one is full. */
static pami_header *next_header(pami_message *m)
{
    if (m->count == m->capacity) {
        guint capacity = m->capacity * 2;
        pami_header *grown = g_new(pami_header, capacity);
        memcpy(grown, m->headers, m->count * sizeof *grown);
        if (m->headers != m->inline_headers) {
            g_free(m->headers);
        }
        m->headers = grown;
        m->capacity = capacity;
    }
    return &m->headers[m->count++];
}

void pami_message_add(pami_message *m, const char *name, const char *value)
{
    g_return_if_fail(m != NULL && name != NULL && value != NULL);
    gsize name_len = strlen(name);
    gsize value_len = strlen(value);
    char *text = reserve_text(m, name_len + value_len + 2);
    memcpy(text, name, name_len + 1);
    memcpy(text + name_len + 1, value, value_len + 1);
    pami_header *h = next_header(m);
    h->name = text;
    h->name_hash = name_hash(name, name_len);
    h->name_len = (guint32)name_len;
}

pami_kind pami_message_kind(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, PAMI_KIND_OTHER);
    if (m->count == 0) {
        return PAMI_KIND_OTHER;
    }
    /* The length picks the one name worth comparing. */
    const pami_header *first = &m->headers[0];
    switch (first->name_len) {
    case 8:
        return g_ascii_strcasecmp(first->name, "Response") == 0 ? PAMI_KIND_RESPONSE
                                                                : PAMI_KIND_OTHER;
    case 5:
        return g_ascii_strcasecmp(first->name, "Event") == 0 ? PAMI_KIND_EVENT : PAMI_KIND_OTHER;
    case 6:
        return g_ascii_strcasecmp(first->name, "Action") == 0 ? PAMI_KIND_ACTION : PAMI_KIND_OTHER;
    default:
        break;
    }
    return PAMI_KIND_OTHER;
}

const char *pami_message_get(const pami_message *m, const char *name)
{
    g_return_val_if_fail(m != NULL && name != NULL, NULL);
    gsize len = strlen(name);
    guint32 hash = name_hash(name, len);
    for (guint i = 0; i < m->count; i++) {
        if (header_is(&m->headers[i], name, len, hash)) {
            return header_value(&m->headers[i]);
        }
    }
    return NULL;
}

const char *pami_message_get_known(const pami_message *m, const char *name)
{
    const char *value = pami_message_get(m, name);
    if (value == NULL || value[0] == '\0' || strcmp(value, "<unknown>") == 0 ||
        strcmp(value, "<none>") == 0) {
        return NULL;
    }
    return value;
}

guint pami_message_count(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->count;
}

const char *pami_message_name_at(const pami_message *m, guint i)
{
    g_return_val_if_fail(m != NULL && i < m->count, NULL);
    return m->headers[i].name;
}

const char *pami_message_value_at(const pami_message *m, guint i)
{
    g_return_val_if_fail(m != NULL && i < m->count, NULL);
    return header_value(&m->headers[i]);
}

const char *pami_message_event(const pami_message *m)
{
    return pami_message_get(m, "Event");
}

const char *pami_message_response(const pami_message *m)
{
    return pami_message_get(m, "Response");
}

const char *pami_message_action_id(const pami_message *m)
{
    return pami_message_get(m, "ActionID");
}

/* Appends `text` with every CR and LF turned into a space: what comes from
 * outside (a caller name, a dialled number) must not end a line early. */
static void append_one_line(GString *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        g_string_append_c(out, (*p == '\r' || *p == '\n') ? ' ' : *p);
    }
}

char *pami_message_to_wire(const pami_message *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    GString *out = g_string_sized_new(64 + 32 * m->count);
    for (guint i = 0; i < m->count; i++) {
        const pami_header *h = &m->headers[i];
        append_one_line(out, h->name);
        g_string_append(out, ": ");
        append_one_line(out, header_value(h));
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
    return g_string_free(out, FALSE);
}
