/*
 * bus-record.c - the deep copy of a conversation-ended event's journal record.
 *
 * Every other payload holds strings only, which bus.c copies from a table of
 * offsets. This one holds a pointer to a record, which holds strings and an
 * array of participants, which hold strings: subscribers must be able to keep
 * reading all of it after the publisher's stack is gone, so all of it goes
 * into the event's block. Sizes are normalized as for payloads: a record or
 * participant from an older publisher is zero-extended to this core's
 * struct, a newer one cut to it.
 */
#include "bus-record.h"

#include <string.h>

/* Journal 1.0's sizes: a smaller struct is refused. */
#define RECORD_SIZE_1_0      offsetof(ucd_journal_record, end_cause)
#define PARTICIPANT_SIZE_1_0 sizeof(ucd_journal_participant)

/* Far more legs than a conversation ever has (transfers, pickups, forwards),
 * small enough that a garbage count cannot make the bus allocate gigabytes. */
#define MAX_PARTICIPANTS 4096u

#define ROFF(member) offsetof(ucd_journal_record, member)

static const size_t record_strings[] = {
    ROFF(uuid),
    ROFF(driver_instance),
    ROFF(source_number),
    ROFF(source_e164),
    ROFF(source_name),
    ROFF(requested_number),
    ROFF(requested_e164),
    ROFF(destination_number),
    ROFF(destination_e164),
    ROFF(destination_name),
    ROFF(transferred_by),
    ROFF(forward_reason),
    ROFF(picked_up_by),
    ROFF(end_reason),
    ROFF(tags),
    ROFF(memo),
};

static size_t align_up(size_t n)
{
    return (n + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
}

static const char **string_at(void *base, size_t offset)
{
    return (const char **)((unsigned char *)base + offset);
}

static size_t string_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *copy_string(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*cursor, s, n);
    const char *copy = *cursor;
    *cursor += n;
    return copy;
}

/* The publisher's record at this core's size, in `image`. */
static void record_image(const ucd_journal_record *r, ucd_journal_record *image)
{
    memset(image, 0, sizeof *image);
    memcpy(image, r, r->struct_size < sizeof *image ? r->struct_size : sizeof *image);
}

/* Participant `i` of the publisher's array, whose stride is participant_size. */
static const ucd_journal_participant *participant(const ucd_journal_record *image, uint32_t i)
{
    return (const ucd_journal_participant *)((const unsigned char *)image->participants +
                                             (size_t)i * image->participant_size);
}

int core_bus_record_measure(const ucd_conversation_event *event, size_t *data_len,
                            size_t *strings_len)
{
    const ucd_journal_record *r = event->record;
    if (!r || r->struct_size < RECORD_SIZE_1_0)
        return 0;
    ucd_journal_record image;
    record_image(r, &image);
    if (image.participant_count > MAX_PARTICIPANTS ||
        (image.participant_count &&
         (!image.participants || image.participant_size < PARTICIPANT_SIZE_1_0)))
        return 0;
    size_t strings = 0;
    for (size_t i = 0; i < sizeof record_strings / sizeof record_strings[0]; i++)
        strings += string_size(*string_at(&image, record_strings[i]));
    for (uint32_t i = 0; i < image.participant_count; i++) {
        const ucd_journal_participant *p = participant(&image, i);
        strings += string_size(p->user_id) + string_size(p->line);
    }
    *data_len = align_up(sizeof image) + image.participant_count * sizeof(ucd_journal_participant);
    *strings_len = strings;
    return 1;
}

void core_bus_record_copy(ucd_conversation_event *event, unsigned char *data, char **cursor)
{
    ucd_journal_record *copy = (ucd_journal_record *)data;
    record_image(event->record, copy);
    ucd_journal_participant *parts =
        copy->participant_count ? (ucd_journal_participant *)(data + align_up(sizeof *copy)) : NULL;
    for (uint32_t i = 0; i < copy->participant_count; i++) {
        const ucd_journal_participant *p = participant(copy, i);
        memset(&parts[i], 0, sizeof parts[i]);
        memcpy(&parts[i], p,
               copy->participant_size < sizeof parts[i] ? copy->participant_size : sizeof parts[i]);
        parts[i].struct_size = sizeof parts[i];
        parts[i].user_id = copy_string(cursor, p->user_id);
        parts[i].line = copy_string(cursor, p->line);
    }
    for (size_t i = 0; i < sizeof record_strings / sizeof record_strings[0]; i++) {
        const char **s = string_at(copy, record_strings[i]);
        *s = copy_string(cursor, *s);
    }
    copy->struct_size = sizeof *copy;
    copy->participants = parts;
    copy->participant_size = sizeof(ucd_journal_participant);
    event->record = copy;
}
