/*
 * jrec.c - owned journal records, the sanitizer, the privacy policy, number
 * keys and the serialized form.
 */
#include "jrec.h"

#include <string.h>

#include <ucd/event.h>

#define COLUMN(member, size, multi)                                                                \
    {                                                                                              \
#member, offsetof(ucd_journal_record, member), size, multi                                 \
    }
const jrec_column jrec_text_columns[] = {
    COLUMN(uuid, JREC_LEN_UUID, 0),
    COLUMN(driver_instance, JREC_LEN_ID, 0),
    COLUMN(source_number, JREC_LEN_NUMBER, 0),
    COLUMN(source_e164, JREC_LEN_NUMBER, 0),
    COLUMN(source_name, JREC_LEN_NAME, 0),
    COLUMN(requested_number, JREC_LEN_NUMBER, 0),
    COLUMN(requested_e164, JREC_LEN_NUMBER, 0),
    COLUMN(destination_number, JREC_LEN_NUMBER, 0),
    COLUMN(destination_e164, JREC_LEN_NUMBER, 0),
    COLUMN(destination_name, JREC_LEN_NAME, 0),
    COLUMN(transferred_by, JREC_LEN_ID, 0),
    COLUMN(forward_reason, JREC_LEN_REASON, 0),
    COLUMN(picked_up_by, JREC_LEN_ID, 0),
    COLUMN(end_reason, JREC_LEN_REASON, 0),
    COLUMN(tags, JREC_LEN_TAGS, 0),
    COLUMN(memo, JREC_LEN_MEMO, 1),
};
#undef COLUMN
const size_t jrec_text_column_count = G_N_ELEMENTS(jrec_text_columns);

const jrec_column jrec_participant_columns[] = {
    {"user_id", offsetof(ucd_journal_participant, user_id), JREC_LEN_ID, 0},
    {"line", offsetof(ucd_journal_participant, line), JREC_LEN_ID, 0},
};
const size_t jrec_participant_column_count = G_N_ELEMENTS(jrec_participant_columns);

static const char **text_slot(void *base, const jrec_column *column)
{
    return (const char **)(void *)((char *)base + column->offset);
}

int jrec_privacy_parse(const char *text)
{
    if (text == NULL || strcmp(text, "mask") == 0)
        return JREC_PRIVATE_MASK;
    if (strcmp(text, "keep") == 0)
        return JREC_PRIVATE_KEEP;
    if (strcmp(text, "drop") == 0)
        return JREC_PRIVATE_DROP;
    return -1;
}

/* ---- normalizing what the caller's ABI version gave ---- */

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

/* ---- the sanitizer: texts ---- */

static void note(GString *problems, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(GString *problems, const char *fmt, ...)
{
    if (problems == NULL)
        return;
    if (problems->len > 0)
        g_string_append(problems, "; ");
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(problems, fmt, ap);
    va_end(ap);
}

/* The common case, checked without decoding: printable ASCII that fits. */
static gboolean plain_and_short(const char *text, uint32_t max_chars)
{
    size_t i = 0;
    for (; text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c >= 0x7f || i >= max_chars)
            return FALSE;
    }
    return TRUE;
}

static gboolean is_removed_control(gunichar c, gboolean multiline)
{
    if (multiline && (c == '\n' || c == '\t'))
        return FALSE;
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* A cleaned copy of `text` (see jrec.h), or NULL when it is clean as it is.
 * Length is counted in UTF-16 units so that every store's column takes it. */
static char *clean_text(const char *text, const jrec_column *column, GString *problems)
{
    if (text == NULL || plain_and_short(text, column->max_chars))
        return NULL;
    char *valid = NULL;
    if (!g_utf8_validate(text, -1, NULL)) {
        valid = g_utf8_make_valid(text, -1);
        note(problems, "%s: invalid UTF-8 replaced", column->name);
    }
    const char *in = valid != NULL ? valid : text;
    GString *out = g_string_sized_new(strlen(in));
    gboolean controls = FALSE, cut = FALSE;
    uint32_t units = 0;
    for (const char *p = in; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (is_removed_control(c, column->multiline)) {
            controls = TRUE;
            continue;
        }
        uint32_t width = c > 0xffff ? 2 : 1;
        if (units + width > column->max_chars) {
            cut = TRUE;
            break;
        }
        units += width;
        g_string_append_len(out, p, g_utf8_next_char(p) - p);
    }
    if (controls)
        note(problems, "%s: control characters removed", column->name);
    if (cut)
        note(problems, "%s: cut to %u characters", column->name, column->max_chars);
    g_free(valid);
    if (!controls && !cut && valid == NULL) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

/* ---- the sanitizer: times ---- */

static void clamp_participant(ucd_journal_participant *p, uint32_t i, int64_t latest,
                              GString *problems)
{
    int64_t *times[] = {&p->joined_ms, &p->answered_ms, &p->left_ms};
    for (size_t t = 0; t < G_N_ELEMENTS(times); t++) {
        if (*times[t] < 0 || *times[t] > latest) {
            note(problems, "participant %u: impossible time set to 0", i);
            *times[t] = 0;
        }
    }
    if (p->left_ms != 0 && p->left_ms < p->joined_ms) {
        note(problems, "participant %u: left before joining, set to joined", i);
        p->left_ms = p->joined_ms;
    }
    if (p->answered_ms != 0 && p->answered_ms < p->joined_ms) {
        note(problems, "participant %u: answered before joining, set to joined", i);
        p->answered_ms = p->joined_ms;
    }
}

gboolean jrec_sanitize_times(ucd_journal_record *rec, ucd_journal_participant *parts,
                             int64_t now_ms, GString *problems)
{
    int64_t latest = now_ms + JREC_FUTURE_SLACK_MS;
    if (rec->start_ms <= 0) {
        note(problems, "start_ms %" G_GINT64_FORMAT " is not a time: refused", rec->start_ms);
        return FALSE;
    }
    if (rec->start_ms > latest) {
        note(problems, "start_ms %" G_GINT64_FORMAT " lies in the far future: refused",
             rec->start_ms);
        return FALSE;
    }
    if (rec->answer_ms < 0 || rec->answer_ms > latest) {
        note(problems, "answer_ms impossible: set to 0 (not answered)");
        rec->answer_ms = 0;
    } else if (rec->answer_ms != 0 && rec->answer_ms < rec->start_ms) {
        note(problems, "answer_ms before start_ms: set to start_ms");
        rec->answer_ms = rec->start_ms;
    }
    int64_t floor = rec->answer_ms != 0 ? rec->answer_ms : rec->start_ms;
    if (rec->end_ms < floor || rec->end_ms > latest) {
        note(problems, "end_ms %s: set to %s",
             rec->end_ms > latest ? "in the far future" : "before start_ms",
             rec->answer_ms != 0 ? "answer_ms" : "start_ms");
        rec->end_ms = floor;
    }
    for (uint32_t i = 0; parts != NULL && i < rec->participant_count; i++)
        clamp_participant(&parts[i], i, latest, problems);
    return TRUE;
}

/* ---- privacy ---- */

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

/* Replaces the last JREC_MASKED_DIGITS digits in place: "+4989123xxxx". */
static void mask_digits(char *text)
{
    int left = JREC_MASKED_DIGITS;
    for (size_t i = strlen(text); i > 0 && left > 0; i--) {
        if (g_ascii_isdigit(text[i - 1])) {
            text[i - 1] = 'x';
            left--;
        }
    }
}

/* Applies the policy to a record whose strings are already in the owned
 * block (so masking may write into them). */
static void apply_privacy(ucd_journal_record *rec, jrec_privacy privacy)
{
    if (!(rec->flags & UCD_JOURNAL_FLAG_PRIVATE) || privacy == JREC_PRIVATE_KEEP)
        return;
    const char **number, **e164, **name, **requested, **requested_e164;
    remote_fields(rec, &number, &e164, &name, &requested, &requested_e164);
    const char **numbers[] = {number, e164, requested, requested_e164};
    for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++) {
        if (numbers[i] == NULL || *numbers[i] == NULL)
            continue;
        if (privacy == JREC_PRIVATE_DROP)
            *numbers[i] = NULL;
        else
            mask_digits((char *)*numbers[i]);
    }
    *name = NULL;
}

/* ---- the copy ---- */

/* Cleans the texts of `base` in place (pointers to cleaned copies, which go
 * into `owned`); TRUE when the uuid column had to change. */
static gboolean clean_texts(void *base, const jrec_column *columns, size_t count, GPtrArray *owned,
                            GString *problems)
{
    gboolean uuid_changed = FALSE;
    for (size_t i = 0; i < count; i++) {
        const char **slot = text_slot(base, &columns[i]);
        char *clean = clean_text(*slot, &columns[i], problems);
        if (clean == NULL)
            continue;
        g_ptr_array_add(owned, clean);
        *slot = clean;
        uuid_changed = uuid_changed || (columns == jrec_text_columns && i == 0);
    }
    return uuid_changed;
}

static size_t text_bytes(const void *base, const jrec_column *columns, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const char *s = jrec_text(base, &columns[i]);
        total += s ? strlen(s) + 1 : 0;
    }
    return total;
}

/* Copies the texts of `base` into the block at `*cursor`, repointing them. */
static void move_texts(void *base, const jrec_column *columns, size_t count, char **cursor)
{
    for (size_t i = 0; i < count; i++) {
        const char **slot = text_slot(base, &columns[i]);
        if (*slot == NULL)
            continue;
        size_t n = strlen(*slot) + 1;
        memcpy(*cursor, *slot, n);
        *slot = *cursor;
        *cursor += n;
    }
}

/* The copy; `sanitize` is FALSE for records read back from their
 * serialized form, which were sanitized (and had the privacy policy
 * applied) when they were first accepted. */
static jrec_record *copy_record(const ucd_journal_record *src, jrec_privacy privacy, int64_t now_ms,
                                GString *problems, gboolean sanitize)
{
    ucd_journal_record rec;
    record_normalize(src, &rec);
    if (rec.uuid == NULL || rec.uuid[0] == '\0')
        return NULL;
    uint32_t parts = rec.participants != NULL ? rec.participant_count : 0;
    rec.participant_count = parts;
    ucd_journal_participant *tmp = g_new(ucd_journal_participant, parts ? parts : 1);
    for (uint32_t i = 0; i < parts; i++)
        participant_normalize(src, i, &tmp[i]);

    GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
    gboolean rejected = FALSE;
    if (sanitize) {
        rejected = clean_texts(&rec, jrec_text_columns, jrec_text_column_count, owned, problems);
        if (rejected)
            note(problems, "uuid unusable: refused");
        for (uint32_t i = 0; i < parts; i++)
            clean_texts(&tmp[i], jrec_participant_columns, jrec_participant_column_count, owned,
                        problems);
        if (!jrec_sanitize_times(&rec, tmp, now_ms, problems))
            rejected = TRUE;
    }
    /* Also for records read back: their serialized form keeps the words. */
    jrec_reconcile_codes(&rec);
    size_t strings = text_bytes(&rec, jrec_text_columns, jrec_text_column_count);
    for (uint32_t i = 0; i < parts; i++)
        strings += text_bytes(&tmp[i], jrec_participant_columns, jrec_participant_column_count);

    /* One block: header, participants, then every string. */
    size_t head = sizeof(jrec_record) + parts * sizeof(ucd_journal_participant);
    jrec_record *copy = g_malloc(head + strings);
    char *cursor = (char *)copy + head;
    copy->rec = rec;
    copy->rejected = rejected;
    move_texts(&copy->rec, jrec_text_columns, jrec_text_column_count, &cursor);
    ucd_journal_participant *out = (ucd_journal_participant *)(copy + 1);
    for (uint32_t i = 0; i < parts; i++) {
        out[i] = tmp[i];
        move_texts(&out[i], jrec_participant_columns, jrec_participant_column_count, &cursor);
    }
    copy->rec.participants = parts ? out : NULL;
    copy->rec.participant_size = sizeof(ucd_journal_participant);
    apply_privacy(&copy->rec, privacy);
    g_ptr_array_unref(owned);
    g_free(tmp);
    return copy;
}

jrec_record *jrec_copy(const ucd_journal_record *src, jrec_privacy privacy, int64_t now_ms,
                       GString *problems)
{
    return copy_record(src, privacy, now_ms, problems, TRUE);
}

void jrec_free(jrec_record *record)
{
    g_free(record);
}

int64_t jrec_number_key(const char *number)
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

static gboolean names_valid(const char *const *names, uint32_t count)
{
    if (count > 0 && names == NULL)
        return FALSE;
    for (uint32_t i = 0; i < count; i++) {
        if (names[i] == NULL)
            return FALSE;
    }
    return TRUE;
}

int jrec_query_read(const ucd_journal_query *query, ucd_journal_query *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out, query, MIN(query->struct_size, sizeof(*out)));
    out->struct_size = sizeof(*out);
    uint64_t entries = (uint64_t)out->participant_user_count + out->participant_line_count;
    if (entries > UCD_JOURNAL_MAX_PARTICIPANT_FILTER ||
        !names_valid(out->participant_users, out->participant_user_count) ||
        !names_valid(out->participant_lines, out->participant_line_count))
        return UCD_E_INVALID;
    return UCD_OK;
}

/* ---- the serialized form ---- */

#define VARIANT_PARTICIPANT "(umsmsxxx)"

GVariant *jrec_to_variant(const ucd_journal_record *r)
{
    GVariantBuilder parts;
    g_variant_builder_init(&parts, G_VARIANT_TYPE("a" VARIANT_PARTICIPANT));
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p = &r->participants[i];
        g_variant_builder_add(&parts, VARIANT_PARTICIPANT, p->role, p->user_id, p->line,
                              p->joined_ms, p->answered_ms, p->left_ms);
    }
    return g_variant_new(JREC_VARIANT_TYPE, r->direction, r->outcome, r->flags, r->start_ms,
                         r->answer_ms, r->end_ms, r->uuid, r->driver_instance, r->source_number,
                         r->source_e164, r->source_name, r->requested_number, r->requested_e164,
                         r->destination_number, r->destination_e164, r->destination_name,
                         r->transferred_by, r->forward_reason, r->picked_up_by, r->end_reason,
                         r->tags, r->memo, &parts);
}

jrec_record *jrec_from_variant(GVariant *v)
{
    if (!g_variant_is_of_type(v, G_VARIANT_TYPE(JREC_VARIANT_TYPE)))
        return NULL;
    ucd_journal_record r = {.struct_size = sizeof(r)};
    const char *s[16];
    G_STATIC_ASSERT(G_N_ELEMENTS(s) == G_N_ELEMENTS(jrec_text_columns));
    GVariantIter *parts;
    g_variant_get(v,
                  "(uuuxxx&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sm&sa" VARIANT_PARTICIPANT ")",
                  &r.direction, &r.outcome, &r.flags, &r.start_ms, &r.answer_ms, &r.end_ms, &s[0],
                  &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7], &s[8], &s[9], &s[10], &s[11],
                  &s[12], &s[13], &s[14], &s[15], &parts);
    for (size_t i = 0; i < jrec_text_column_count; i++)
        *text_slot(&r, &jrec_text_columns[i]) = s[i];
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
    jrec_record *copy = copy_record(&r, JREC_PRIVATE_KEEP, 0, NULL, FALSE);
    g_free(p);
    return copy;
}

/* ---- whole files of records ---- */

int jrec_file_write(const char *path, jrec_record *const *records, unsigned count, char **error)
{
    GVariantBuilder all;
    g_variant_builder_init(&all, G_VARIANT_TYPE("a" JREC_VARIANT_TYPE));
    for (unsigned i = 0; i < count; i++)
        g_variant_builder_add_value(&all, jrec_to_variant(&records[i]->rec));
    GVariant *v = g_variant_ref_sink(g_variant_builder_end(&all));
    GError *err = NULL;
    gboolean ok = g_file_set_contents_full(
        path, g_variant_get_data(v), (gssize)g_variant_get_size(v),
        G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &err);
    g_variant_unref(v);
    if (!ok) {
        *error = g_strdup(err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

int jrec_file_read(const char *path, jrec_record ***records, char **error)
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
    GVariant *v = g_variant_ref_sink(g_variant_new_from_data(G_VARIANT_TYPE("a" JREC_VARIANT_TYPE),
                                                             data, size, FALSE, g_free, data));
    if (!g_variant_is_normal_form(v)) {
        g_variant_unref(v);
        *error = g_strdup("not a journal record file (damaged?)");
        return -1;
    }
    gsize n = g_variant_n_children(v);
    *records = g_new0(jrec_record *, n + 1);
    int count = 0;
    for (gsize i = 0; i < n; i++) {
        GVariant *child = g_variant_get_child_value(v, i);
        jrec_record *r = jrec_from_variant(child);
        g_variant_unref(child);
        if (r != NULL)
            (*records)[count++] = r;
    }
    g_variant_unref(v);
    return count;
}
