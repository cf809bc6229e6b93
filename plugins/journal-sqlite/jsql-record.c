/*
 * jsql-record.c - owned record copies, privacy policy, number keys, spool file.
 */
#include "jsql-record.h"

#include <stddef.h>
#include <string.h>

#include <glib.h>
#include <ucd/event.h>

/* The string members of ucd_journal_record, in the order the spool file keeps
 * them. uuid comes first and is required. */
static const size_t record_string_offsets[] = {
    offsetof(ucd_journal_record, uuid),
    offsetof(ucd_journal_record, driver_instance),
    offsetof(ucd_journal_record, source_number),
    offsetof(ucd_journal_record, source_e164),
    offsetof(ucd_journal_record, source_name),
    offsetof(ucd_journal_record, requested_number),
    offsetof(ucd_journal_record, requested_e164),
    offsetof(ucd_journal_record, destination_number),
    offsetof(ucd_journal_record, destination_e164),
    offsetof(ucd_journal_record, destination_name),
    offsetof(ucd_journal_record, transferred_by),
    offsetof(ucd_journal_record, forward_reason),
    offsetof(ucd_journal_record, picked_up_by),
    offsetof(ucd_journal_record, end_reason),
    offsetof(ucd_journal_record, tags),
    offsetof(ucd_journal_record, memo),
};
#define RECORD_STRINGS G_N_ELEMENTS(record_string_offsets)

static const char **record_string(ucd_journal_record *rec, size_t i)
{
    return (const char **)(void *)((char *)rec + record_string_offsets[i]);
}

int jsql_privacy_parse(const char *text)
{
    if (text == NULL || strcmp(text, "mask") == 0)
        return JSQL_PRIVATE_MASK;
    if (strcmp(text, "keep") == 0)
        return JSQL_PRIVATE_KEEP;
    if (strcmp(text, "drop") == 0)
        return JSQL_PRIVATE_DROP;
    return -1;
}

/* Reads what the caller's struct holds; members it lacks (an older, smaller
 * struct) stay zero. */
static void record_normalize(const ucd_journal_record *src, ucd_journal_record *out)
{
    memset(out, 0, sizeof(*out));
    size_t size = src->struct_size < sizeof(*out) ? src->struct_size : sizeof(*out);
    memcpy(out, src, size);
    out->struct_size = sizeof(*out);
}

static void participant_normalize(const ucd_journal_record *src, uint32_t i,
                                  ucd_journal_participant *out)
{
    size_t stride = src->participant_size ? src->participant_size : sizeof(*out);
    const ucd_journal_participant *p =
        (const void *)((const char *)src->participants + (size_t)i * stride);
    memset(out, 0, sizeof(*out));
    size_t size = p->struct_size < sizeof(*out) ? p->struct_size : sizeof(*out);
    if (size == 0)
        size = stride < sizeof(*out) ? stride : sizeof(*out);
    memcpy(out, p, size);
    out->struct_size = sizeof(*out);
}

/* Which numbers are the remote party's: the caller's on an inbound (or
 * internal) call, the called party's on an outbound one. */
static void remote_fields(ucd_journal_record *rec, const char ***number, const char ***e164,
                          const char ***name, const char ***requested, const char ***requested_e164)
{
    if (rec->direction == UCD_DIR_OUTBOUND) {
        *number = &rec->destination_number;
        *e164 = &rec->destination_e164;
        *name = &rec->destination_name;
        *requested = &rec->requested_number;
        *requested_e164 = &rec->requested_e164;
    } else {
        *number = &rec->source_number;
        *e164 = &rec->source_e164;
        *name = &rec->source_name;
        *requested = NULL;
        *requested_e164 = NULL;
    }
}

/* Replaces the last JSQL_MASKED_DIGITS digits in place: "+4989123xxxx". */
static void mask_digits(char *text)
{
    int left = JSQL_MASKED_DIGITS;
    for (size_t i = strlen(text); i > 0 && left > 0; i--) {
        if (g_ascii_isdigit(text[i - 1])) {
            text[i - 1] = 'x';
            left--;
        }
    }
}

/* Applies the policy to a normalized record whose strings are already in the
 * owned block (so masking may write into them). */
static void apply_privacy(ucd_journal_record *rec, jsql_privacy privacy)
{
    if (!(rec->flags & UCD_JOURNAL_FLAG_PRIVATE) || privacy == JSQL_PRIVATE_KEEP)
        return;
    const char **number, **e164, **name, **requested, **requested_e164;
    remote_fields(rec, &number, &e164, &name, &requested, &requested_e164);
    const char **numbers[] = {number, e164, requested, requested_e164};
    for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++) {
        if (numbers[i] == NULL || *numbers[i] == NULL)
            continue;
        if (privacy == JSQL_PRIVATE_DROP)
            *numbers[i] = NULL;
        else
            mask_digits((char *)*numbers[i]);
    }
    *name = NULL;
}

jsql_record *jsql_record_copy(const ucd_journal_record *src, jsql_privacy privacy)
{
    ucd_journal_record rec;
    record_normalize(src, &rec);
    if (rec.uuid == NULL || rec.uuid[0] == '\0')
        return NULL;
    uint32_t parts = rec.participants != NULL ? rec.participant_count : 0;

    /* One block: header, participants, then every string. */
    size_t strings = 0;
    for (size_t i = 0; i < RECORD_STRINGS; i++) {
        const char *s = *record_string(&rec, i);
        strings += s ? strlen(s) + 1 : 0;
    }
    ucd_journal_participant *tmp = g_newa(ucd_journal_participant, parts ? parts : 1);
    for (uint32_t i = 0; i < parts; i++) {
        participant_normalize(src, i, &tmp[i]);
        strings += tmp[i].user_id ? strlen(tmp[i].user_id) + 1 : 0;
        strings += tmp[i].line ? strlen(tmp[i].line) + 1 : 0;
    }
    size_t head = sizeof(jsql_record) + parts * sizeof(ucd_journal_participant);
    jsql_record *copy = g_malloc(head + strings);
    char *cursor = (char *)copy + head;

#define TAKE(dst, s)                                                                               \
    do {                                                                                           \
        if ((s) != NULL) {                                                                         \
            size_t n_ = strlen(s) + 1;                                                             \
            memcpy(cursor, (s), n_);                                                               \
            (dst) = cursor;                                                                        \
            cursor += n_;                                                                          \
        }                                                                                          \
    } while (0)

    copy->rec = rec;
    for (size_t i = 0; i < RECORD_STRINGS; i++)
        TAKE(*record_string(&copy->rec, i), *record_string(&rec, i));
    ucd_journal_participant *out = (ucd_journal_participant *)(copy + 1);
    for (uint32_t i = 0; i < parts; i++) {
        out[i] = tmp[i];
        TAKE(out[i].user_id, tmp[i].user_id);
        TAKE(out[i].line, tmp[i].line);
    }
#undef TAKE
    copy->rec.participants = parts ? out : NULL;
    copy->rec.participant_count = parts;
    copy->rec.participant_size = sizeof(ucd_journal_participant);
    apply_privacy(&copy->rec, privacy);
    return copy;
}

void jsql_record_free(jsql_record *record)
{
    g_free(record);
}

int64_t jsql_number_key(const char *number)
{
    if (number == NULL)
        return -1;
    int64_t key = 0, scale = 1;
    int digits = 0;
    for (size_t i = strlen(number); i > 0; i--) {
        char c = number[i - 1];
        if (c == 'x' || c == 'X')
            return -1;
        if (!g_ascii_isdigit(c) || digits == 9)
            continue;
        key += (c - '0') * scale;
        scale *= 10;
        digits++;
    }
    /* The digit count is part of the key, so "0201" and "201" differ. */
    return digits ? key * 10 + digits : -1;
}

/* ---- spool: GVariant, one array of tuples ---- */

#define SPOOL_PARTICIPANT "(umsmsxxx)"
#define SPOOL_RECORD                                                                               \
    "(uuuxxx"                                                                                      \
    "smsmsmsmsmsmsmsmsmsmsmsmsmsmsms"                                                              \
    "a" SPOOL_PARTICIPANT ")"
#define SPOOL_TYPE "a" SPOOL_RECORD

static GVariant *spool_record(const ucd_journal_record *r)
{
    GVariantBuilder parts;
    g_variant_builder_init(&parts, G_VARIANT_TYPE("a" SPOOL_PARTICIPANT));
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p = &r->participants[i];
        g_variant_builder_add(&parts, SPOOL_PARTICIPANT, p->role, p->user_id, p->line, p->joined_ms,
                              p->answered_ms, p->left_ms);
    }
    return g_variant_new(SPOOL_RECORD, r->direction, r->outcome, r->flags, r->start_ms,
                         r->answer_ms, r->end_ms, r->uuid, r->driver_instance, r->source_number,
                         r->source_e164, r->source_name, r->requested_number, r->requested_e164,
                         r->destination_number, r->destination_e164, r->destination_name,
                         r->transferred_by, r->forward_reason, r->picked_up_by, r->end_reason,
                         r->tags, r->memo, &parts);
}

int jsql_spool_write(const char *path, jsql_record *const *records, unsigned count, char **error)
{
    GVariantBuilder all;
    g_variant_builder_init(&all, G_VARIANT_TYPE(SPOOL_TYPE));
    for (unsigned i = 0; i < count; i++)
        g_variant_builder_add_value(&all, spool_record(&records[i]->rec));
    GVariant *v = g_variant_ref_sink(g_variant_builder_end(&all));
    GError *err = NULL;
    gboolean ok =
        g_file_set_contents(path, g_variant_get_data(v), (gssize)g_variant_get_size(v), &err);
    g_variant_unref(v);
    if (!ok) {
        *error = g_strdup(err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

/* Rebuilds one record from its spool tuple (already privacy-filtered when it
 * was first stored, so KEEP here). */
static jsql_record *unspool_record(GVariant *v)
{
    ucd_journal_record r = {.struct_size = sizeof(r)};
    const char *s[RECORD_STRINGS];
    GVariantIter *parts;
    g_variant_get(v,
                  "(uuuxxx&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sa" SPOOL_PARTICIPANT ")",
                  &r.direction, &r.outcome, &r.flags, &r.start_ms, &r.answer_ms, &r.end_ms, &s[0],
                  &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7], &s[8], &s[9], &s[10], &s[11],
                  &s[12], &s[13], &s[14], &s[15], &parts);
    for (size_t i = 0; i < RECORD_STRINGS; i++)
        *record_string(&r, i) = s[i];
    gsize n = g_variant_iter_n_children(parts);
    ucd_journal_participant *p = g_new0(ucd_journal_participant, n ? n : 1);
    for (gsize i = 0; i < n; i++) {
        p[i].struct_size = sizeof(p[i]);
        g_variant_iter_next(parts, "(um&sm&sxxx)", &p[i].role, &p[i].user_id, &p[i].line,
                            &p[i].joined_ms, &p[i].answered_ms, &p[i].left_ms);
    }
    g_variant_iter_free(parts);
    r.participants = p;
    r.participant_count = (uint32_t)n;
    r.participant_size = sizeof(*p);
    jsql_record *copy = jsql_record_copy(&r, JSQL_PRIVATE_KEEP);
    g_free(p);
    return copy;
}

int jsql_spool_read(const char *path, jsql_record ***records, char **error)
{
    *records = NULL;
    gchar *data = NULL;
    gsize size = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &size, &err)) {
        gboolean missing = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!missing)
            *error = g_strdup(err->message);
        g_error_free(err);
        return missing ? 0 : -1;
    }
    GVariant *v = g_variant_ref_sink(
        g_variant_new_from_data(G_VARIANT_TYPE(SPOOL_TYPE), data, size, FALSE, g_free, data));
    if (!g_variant_is_normal_form(v)) {
        g_variant_unref(v);
        *error = g_strdup("not a journal spool file (damaged?)");
        return -1;
    }
    gsize n = g_variant_n_children(v);
    *records = g_new0(jsql_record *, n + 1);
    int count = 0;
    for (gsize i = 0; i < n; i++) {
        GVariant *child = g_variant_get_child_value(v, i);
        jsql_record *r = unspool_record(child);
        g_variant_unref(child);
        if (r != NULL)
            (*records)[count++] = r;
    }
    g_variant_unref(v);
    return count;
}
