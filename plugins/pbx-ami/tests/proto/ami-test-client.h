/*
 * ami-test-client.h - a plain AMI client for tests of the replay peer: a
 * non-blocking socket read while the peer's context is iterated.
 */
#ifndef AMI_TEST_CLIENT_H
#define AMI_TEST_CLIENT_H

#include <gio/gio.h>

#include "ami-parse.h"

typedef struct ami_test_client {
    GMainContext *context; /* iterated while waiting */
    GSocketConnection *conn;
    pami_parser *parser;
    char *banner;
    GPtrArray *messages; /* of pami_message *, received */
    gboolean closed;     /* the peer closed */
} ami_test_client;

/* Connects to 127.0.0.1:port (the banner is expected first). */
ami_test_client *ami_test_client_new(GMainContext *context, guint16 port);
void ami_test_client_free(ami_test_client *c);

/* Sends `wire` as it is. */
void ami_test_client_send(ami_test_client *c, const char *wire);

/* Iterates and reads until `count` messages arrived in all, the peer closed,
 * or a safety limit of `max_ms` passed; returns the number of messages. */
guint ami_test_client_wait(ami_test_client *c, guint count, guint max_ms);

/* Iterates for about `ms` reading whatever comes (to check that nothing comes). */
void ami_test_client_idle(ami_test_client *c, guint ms);

#endif /* AMI_TEST_CLIENT_H */
