/*
 * ami-parse.h - the incremental AMI reader: bytes in, pami_message out.
 *
 * A TCP stream delivers AMI in arbitrary pieces; the parser keeps what it has
 * not finished and hands over each complete message. The first line of a
 * session is a banner ("Asterisk Call Manager/11.0.0"), not a message: the
 * parser reports it on its own. Line ends may be CRLF or a bare LF.
 *
 * Bad input never aborts the stream: a line without a colon is skipped and
 * counted; a line longer than the limit is cut at the limit (the rest of that
 * line is dropped) and counted; a message with more headers than the limit
 * keeps the first ones and is counted; bytes that are not UTF-8 are taken as
 * Latin-1 and converted. The counters tell the driver what to log.
 */
#ifndef AMI_PARSE_H
#define AMI_PARSE_H

#include <glib.h>

#include "ami-message.h"

#define PAMI_PARSE_MAX_LINE_DEFAULT    8192 /* bytes of one "Name: value" line */
#define PAMI_PARSE_MAX_HEADERS_DEFAULT 4096 /* headers of one message (Output: lines add up) */

typedef struct pami_parser pami_parser;

typedef struct pami_parse_callbacks {
    /* The first line of the stream, without its line end, converted to UTF-8. */
    void (*banner)(const char *line, void *user_data);
    /* A complete message; the callback may take a reference to keep it. */
    void (*message)(pami_message *message, void *user_data);
    void *user_data;
} pami_parse_callbacks;

typedef struct pami_parse_stats {
    guint64 messages;
    guint64 lines_without_colon;
    guint64 lines_cut;        /* longer than max_line */
    guint64 headers_dropped;  /* beyond max_headers */
    guint64 values_converted; /* not UTF-8, taken as Latin-1 */
} pami_parse_stats;

/* A parser expecting a banner first (expect_banner TRUE, for a client) or
 * messages from the first byte (FALSE: the replay peer reading actions, the
 * fuzz harness). max_line / max_headers 0 mean the defaults above. */
pami_parser *pami_parser_new(const pami_parse_callbacks *callbacks, gboolean expect_banner,
                             gsize max_line, guint max_headers);
void pami_parser_free(pami_parser *p);

/* Feeds `len` bytes (any split: a message may end in a later call);
 * callbacks run from inside this call, in stream order. */
void pami_parser_feed(pami_parser *p, const char *data, gsize len);

/* Counters since pami_parser_new(). */
const pami_parse_stats *pami_parser_stats(const pami_parser *p);

/* TRUE while a message is half read (for a peer that stops mid-message). */
gboolean pami_parser_pending(const pami_parser *p);

#endif /* AMI_PARSE_H */
