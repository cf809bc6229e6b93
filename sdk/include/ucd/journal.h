/*
 * ucd/journal.h - the journal store interface, service "journal" major 1.
 *
 * The core's call model turns the legs a PBX driver reports into conversations
 * (a transfer, a pickup or a consultation is one conversation with several
 * participants, not a pile of legs) and hands each finished one to every
 * running journal store through store(). A store owns durability: store() must
 * not block the main loop, and a record it accepted must not be lost even when
 * its database is down or full (keep it in memory or in a spool and retry; say
 * so in status()).
 *
 * Readers (ucctl journal, analytics exporters, clients) go through query(),
 * never through a store's tables.
 */
#ifndef UCD_JOURNAL_H
#define UCD_JOURNAL_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_JOURNAL_SERVICE "journal"
#define UCD_JOURNAL_MAJOR   1
/* 1: the record's end_cause and forward_reason_code.
 * 2: the query's uuid and participant filters. */
#define UCD_JOURNAL_MINOR 2

typedef enum ucd_outcome {
    UCD_OUTCOME_ANSWERED = 0,
    UCD_OUTCOME_NO_ANSWER = 1,
    UCD_OUTCOME_BUSY = 2,
    UCD_OUTCOME_FAILED = 3,
    UCD_OUTCOME_VOICEMAIL = 4,
    UCD_OUTCOME_BLOCKED = 5,
} ucd_outcome;

/* One party of a conversation who was on one of our lines. */
typedef struct ucd_journal_participant {
    uint32_t struct_size;
    uint32_t role;       /* ucd_participant_role */
    const char *user_id; /* NULL when the line has no user */
    const char *line;
    int64_t joined_ms;
    int64_t answered_ms; /* 0 = never answered on this line */
    int64_t left_ms;
} ucd_journal_participant;

typedef enum ucd_participant_role {
    UCD_ROLE_CALLER = 0,
    UCD_ROLE_CALLEE = 1,
    UCD_ROLE_TRANSFER_TARGET = 2,
    UCD_ROLE_PICKUP = 3,
    UCD_ROLE_FORWARD_TARGET = 4,
    UCD_ROLE_CONFERENCE = 5,
} ucd_participant_role;

typedef struct ucd_journal_record {
    uint32_t struct_size;
    uint32_t direction;          /* ucd_call_direction (event.h) */
    uint32_t outcome;            /* ucd_outcome */
    uint32_t flags;              /* UCD_JOURNAL_FLAG_* */
    const char *uuid;            /* conversation id, unique forever */
    const char *driver_instance; /* module id of the PBX driver */
    int64_t start_ms;
    int64_t answer_ms; /* 0 = not answered */
    int64_t end_ms;
    const char *source_number; /* raw, as the PBX sent it */
    const char *source_e164;
    const char *source_name;
    const char *requested_number; /* what was dialled */
    const char *requested_e164;
    const char *destination_number; /* who finally took it */
    const char *destination_e164;
    const char *destination_name;
    const char *transferred_by; /* user id */
    const char *forward_reason; /* the word of forward_reason_code: "unconditional", "busy",
                                   "no_answer", "deflect"; NULL for none */
    const char *picked_up_by;   /* user id */
    const char *end_reason;     /* the word of end_cause (ucd_call_cause_word: "normal",
                                   "busy", "rejected", "no_answer", "link_lost" ...) */
    const char *tags;           /* ';'-separated tags or project codes */
    const char *memo;
    const ucd_journal_participant *participants;
    uint32_t participant_count;
    uint32_t participant_size; /* sizeof(ucd_journal_participant) as built */
    /* Since journal 1.1 (check struct_size; the strings above stay filled): */
    uint32_t end_cause;           /* ucd_call_cause (event.h): LINK_LOST when a leg lost its
                                     link; answered, NORMAL; unanswered, the legs'
                                     most telling cause (BUSY, NO_ANSWER ...), whatever
                                     order they ended in; else NORMAL */
    uint32_t forward_reason_code; /* ucd_forward_reason (event.h); 0 = not forwarded */
} ucd_journal_record;

enum {
    UCD_JOURNAL_FLAG_PRIVATE = 1u << 0, /* the remote number was withheld */
};

/* A query; zero/NULL members do not restrict, the others all apply (AND).
 * Results are newest first. */
typedef struct ucd_journal_query {
    uint32_t struct_size;
    uint32_t outcome_mask; /* bit (1 << ucd_outcome); 0 = every outcome */
    const char *user_id;   /* conversations this user took part in */
    const char *number;    /* E.164 or raw number on either side */
    int64_t from_ms;       /* start_ms >= from_ms */
    int64_t to_ms;         /* start_ms < to_ms; 0 = no end */
    uint32_t limit;        /* page size; 0 = the store's default (100) */
    uint32_t reserved;
    const char *after; /* paging cursor from the previous page's last record, or NULL */
    /* Since journal 1.2. A store reads these only when struct_size covers
     * them; a journal 1.1 store ignores them and answers unfiltered, so a
     * reader that sets them needs a provider of journal 1.2 (declare
     * UCD_NEED(UCD_JOURNAL_SERVICE, 1, 2) or check ucd_service.minor). */
    const char *uuid; /* only the conversation with this id */
    /* Conversations in which ANY of these users or ANY of these lines took
     * part (a participant whose user_id is one of participant_users, or whose
     * line is one of participant_lines). Both counts 0: no restriction. At
     * most UCD_JOURNAL_MAX_PARTICIPANT_FILTER entries in all; a store answers
     * UCD_E_INVALID to more, and to a NULL entry or array. */
    const char *const *participant_users;
    const char *const *participant_lines;
    uint32_t participant_user_count;
    uint32_t participant_line_count;
} ucd_journal_query;

/* The most user ids and lines one query's participant filter may name
 * together (journal 1.2). Every store takes this many as bound parameters
 * of one statement. */
#define UCD_JOURNAL_MAX_PARTICIPANT_FILTER 1000

typedef int (*ucd_journal_record_cb)(const ucd_journal_record *record, void *user_data);

typedef struct ucd_journal_status {
    uint32_t struct_size;
    uint32_t healthy;          /* 1 when records reach durable storage now */
    uint64_t stored;           /* records stored since start */
    uint64_t pending;          /* accepted but not yet durable (memory or spool) */
    int64_t oldest_pending_ms; /* start of the oldest pending record, 0 = none */
    const char *detail;        /* a human-readable state, "spooling: database unreachable" */
} ucd_journal_status;

typedef struct ucd_journal_v1 {
    uint32_t struct_size;

    /* Accepts one finished conversation; copies it. Never blocks. */
    int (*store)(void *impl, const ucd_journal_record *record);
    /* Runs a query. Blocking: call it from a work function. `next_cursor`, when
     * not NULL, receives a cursor for the next page ("" at the end). */
    int (*query)(void *impl, const ucd_journal_query *query, ucd_journal_record_cb cb,
                 void *user_data, char *next_cursor, size_t next_cursor_size);
    /* Fills `status` (whose struct_size the caller set). Strings valid until the
     * next call. */
    int (*status)(void *impl, ucd_journal_status *status);
    /* Makes everything accepted so far durable, waiting at most `timeout_ms`. */
    int (*flush)(void *impl, uint32_t timeout_ms);
} ucd_journal_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_JOURNAL_H */
