/*
 * model-replay.h - feeds a capture (the shared capture format) through the
 * real AMI reader into a pami_model and records what the model reports, one
 * line of text per change, for the model tests.
 */
#ifndef MODEL_REPLAY_H
#define MODEL_REPLAY_H

#include <glib.h>

#include "ami-message.h"
#include "ami-model.h"

typedef struct replay {
    pami_model *model;
    GPtrArray *out;      /* char *: "leg ..." and "line ..." lines, in report order */
    GPtrArray *messages; /* pami_message *: what the capture's peer sent, in order */
    gboolean normalize;  /* write channel names without their sequence number */
    int64_t clock_ms;
} replay;

/* A model with the captures' devices mapped: Local/100@test, Local/200@test,
 * Local/400@test, Local/500@test to lines "100".."500", Custom:alice and hint
 * 300@test to line "alice", and the PJSIP phones PJSIP/alice, PJSIP/bob,
 * PJSIP/carol to lines 201, 202, 203 (hints 201@internal ...). */
replay *replay_new(void);
void replay_free(replay *r);

/* Reads tests/captures/NAME into r->messages (events and responses alike);
 * `rewrite` may change the raw text first (non-UTF-8 bytes, say). */
void replay_load(replay *r, const char *name, char *(*rewrite)(const char *text));

/* Feeds messages to the model: events go to pami_model_event(); a
 * CoreShowChannels answer ("Channels will follow") starts a resync and its
 * CoreShowChannelsComplete ends it. */
void replay_feed(replay *r, GPtrArray *messages);

/* replay_new + replay_load + replay_feed. */
replay *replay_capture(const char *name, char *(*rewrite)(const char *text));

/* Parses "Name: value|Name: value|..." into a message (tests write events by
 * hand with it). */
pami_message *replay_message(const char *fields);

/* Prints r->out on stderr (to write or check expectations). */
void replay_dump(const replay *r);

/* Asserts that r->out equals `expected` (NULL-terminated), showing the first
 * difference. */
void replay_assert(const replay *r, const char *const *expected);

/* The lines of r->out that start with `prefix`, in order. */
GPtrArray *replay_select(const replay *r, const char *prefix);

/* The distinct conversation ids among the changes recorded. */
guint replay_conversations(const replay *r);

#endif /* MODEL_REPLAY_H */
