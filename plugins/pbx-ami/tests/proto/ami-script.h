/*
 * ami-script.h - reads the capture format of the shared AMI captures, for the
 * tests and the replay peer.
 *
 * The format: "<<< BANNER text" is the banner Asterisk sent; ">>> SENT"
 * followed by a block, or a block whose first line starts with ">>> ", is what
 * the client sent; "=== NAME ===" marks a section; every other block is what
 * Asterisk sent. A block is a run of non-empty lines and ends with an empty
 * line (or the end of the text).
 */
#ifndef AMI_SCRIPT_H
#define AMI_SCRIPT_H

#include <glib.h>

typedef enum ami_step_kind {
    AMI_STEP_BANNER, /* text: the banner line, no line end */
    AMI_STEP_SENT,   /* text: the client's block in wire form */
    AMI_STEP_RECV,   /* text: Asterisk's block in wire form */
} ami_step_kind;

typedef struct ami_step {
    ami_step_kind kind;
    char *text;    /* wire form: "Name: value\r\n" lines and "\r\n" */
    char *section; /* the last "=== NAME ===" before it, or NULL */
} ami_step;

/* The steps of a script, in order (a GPtrArray of ami_step * that frees
 * them). Never fails: lines that fit nothing are taken as block lines. */
GPtrArray *ami_script_parse(const char *text);

/* Reads and parses a script file; NULL with `error` set when unreadable. */
GPtrArray *ami_script_load(const char *path, GError **error);

/* The text of the file `name` in `dir` (a test's data folder); aborts the
 * test when it cannot be read. */
char *ami_script_read(const char *dir, const char *name);

/* What Asterisk sent in the script, as one byte stream: the banner line (with
 * CRLF) and every RECV block; a newly allocated string. */
char *ami_script_peer_stream(const GPtrArray *steps);

/* How many steps of `kind` the script has. */
guint ami_script_count(const GPtrArray *steps, ami_step_kind kind);

/* A script's start as the driver meets it: the Login, then the resync it
 * runs after it: `channels` are the CoreShowChannel events (capture format
 * blocks, may be ""), then the AstDB reads of each of `lines` (DND then CF;
 * none set). Append the call's blocks to it. */
GString *ami_script_login_resync(const char *const *lines, const char *channels);

#endif /* AMI_SCRIPT_H */
