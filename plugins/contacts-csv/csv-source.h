/*
 * csv-source.h - one replication of a CSV file into a contact sink: the
 * whole of contacts-csv's replicate() apart from reading its configuration,
 * so the tests and the benchmark run it without a daemon or a host.
 *
 * The file is streamed (csv-reader.h): a million rows cost one record's
 * memory. A row that is not right (broken CSV, a field count other than
 * the header's, a byte not valid in the encoding, no id where map_source_id
 * names a column) is handed to sink->skipped as "FILE line N" and the
 * replication goes on; what makes the whole file unusable (it cannot be
 * opened or read, it is empty, its header lacks a mapped column or is
 * itself broken) is an error naming the file, and the store keeps its last
 * good copy.
 */
#ifndef UCD_CSV_SOURCE_H
#define UCD_CSV_SOURCE_H

#include <stddef.h>

#include <ucd/contacts.h>

#include "csv-map.h"

typedef struct csv_source_settings {
    const char *path;
    char delimiter;
    char quote;           /* 0: fields are never quoted */
    const char *encoding; /* NULL: UTF-8 */
    size_t max_record;    /* bytes; 0: the default, 1 MiB */
    csv_map_spec spec;
} csv_source_settings;

/* Reads `settings->path` into `sink` (contacts.h's replicate()). UCD_OK
 * when every row was read (skipped rows count as read); otherwise an error
 * code with `*error` (free with free()) naming the file and what failed:
 * UCD_E_NOT_FOUND (no such file), UCD_E_INVALID (empty file, broken or
 * incomplete header, unknown encoding), UCD_E_BUSY (sink->cancelled),
 * UCD_FAIL (a read error), or what sink->add returned when the store
 * cannot go on. */
int csv_source_replicate(const csv_source_settings *settings, const ucd_contact_sink *sink,
                         void *sink_impl, char **error);

#endif /* UCD_CSV_SOURCE_H */
