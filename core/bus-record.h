/*
 * bus-record.h - private to bus.c: the deep copy of a journal record carried
 * by UCD_EVENT_CONVERSATION_ENDED (its strings and its participants array),
 * into the event's one block like every other payload's strings.
 */
#ifndef CORE_BUS_RECORD_H
#define CORE_BUS_RECORD_H

#include <stddef.h>
#include <ucd/event.h>
#include <ucd/journal.h>

/* Checks the record `event` points to (sizes, participants) and says what
 * its copy needs: *data_len bytes of aligned memory (the record at this
 * core's size, then the participants) and *strings_len bytes of strings.
 * Returns 0 when it is invalid: no record, a record or participant
 * struct_size below journal 1.0's, participants missing for a count, or more
 * participants than any conversation has. */
int core_bus_record_measure(const ucd_conversation_event *event, size_t *data_len,
                            size_t *strings_len);

/* Copies the record `event` points to into `data` (core_bus_record_measure's
 * data_len bytes, aligned for any type) and its strings to *cursor, advancing
 * it, and points event->record at the copy: struct_size and participant_size
 * become this core's, members a publisher lacked read as zero. */
void core_bus_record_copy(ucd_conversation_event *event, unsigned char *data, char **cursor);

#endif /* CORE_BUS_RECORD_H */
