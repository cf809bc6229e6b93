/*
 * file-xml.h - reading and writing users-file documents safely.
 *
 * Reading: the file is read with a size limit, its bytes must be UTF-8, the
 * parser never loads a DTD, never substitutes entities and never touches the
 * network, and a document with a DOCTYPE is refused outright (a users file has
 * no use for one; refusing it is what keeps external entities and entity
 * expansion bombs out). The result is validated against the schema compiled
 * into the plugin (users.xsd). Every problem is reported as "FILE:LINE: text".
 *
 * Writing: documents are saved atomically (a temporary file in the same
 * directory, fsync, rename, fsync of the directory), so a crash or a full disk
 * leaves the old file or the new one, never half of one.
 */
#ifndef USERS_FILE_XML_H
#define USERS_FILE_XML_H

#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#define UF_NAMESPACE "urn:ucd:users:1"

/* The schema text (users.xsd), generated into the build at configure time. */
extern const char uf_schema_text[];

typedef struct uf_reader uf_reader;

/* Compiles the schema once; NULL with `*error` set if it cannot (a build
 * problem, never the admin's). */
uf_reader *uf_reader_new(char **error);
void uf_reader_free(uf_reader *reader);

/* Reads `path` (at most `max_size` bytes), parses and validates it. Returns the
 * document, or NULL after appending "PATH:LINE: message" lines to `errors`.
 * When `digest_out` is not NULL it receives the SHA-256 of the bytes read
 * (also on a parse or validation failure, NULL when the file could not be
 * read), so a caller can tell an unchanged file from a changed one. Not
 * thread-safe for one reader: serialize calls. */
xmlDoc *uf_reader_load(uf_reader *reader, const char *path, gint64 max_size, GPtrArray *errors,
                       char **digest_out);

/* Validates `doc` against the schema; FALSE after appending "LABEL:LINE:
 * message" lines to `errors`. Used again after an edit, before saving. */
gboolean uf_reader_validate(uf_reader *reader, xmlDoc *doc, const char *label, GPtrArray *errors);

/* What a merge did: elements added to and replaced in the target. */
typedef struct uf_merge_counts {
    unsigned users_added;
    unsigned users_updated;
    unsigned groups_added;
    unsigned groups_updated;
} uf_merge_counts;

/* Copies every <group> and <user> of `incoming` into `target`: an element
 * whose id exists in `target` replaces it in place, a new one is added after
 * the last element of its kind. Nothing is removed. Both documents must be
 * valid. */
void uf_doc_merge(xmlDoc *target, xmlDoc *incoming, uf_merge_counts *counts);

/* Sets (or, with `server` NULL or "", removes) the <homeServer> of the user
 * with id `user_id`. FALSE when `doc` has no such user. */
gboolean uf_doc_set_home_server(xmlDoc *doc, const char *user_id, const char *server);

/* Writes `doc` to `path` atomically, keeping the old file's permissions.
 * FALSE with `*error` set when it could not; the old file is then untouched. */
gboolean uf_doc_save_atomic(xmlDoc *doc, const char *path, char **error);

/* Appends "LABEL:LINE: message" to `errors`. */
void uf_error_add(GPtrArray *errors, const char *label, long line, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* The trimmed text content of `node`, newly allocated. */
char *uf_node_text(const xmlNode *node);
/* The trimmed value of attribute `name` of `node`, newly allocated, or NULL. */
char *uf_node_attr(const xmlNode *node, const char *name);
/* TRUE when `node` is an element named `name` in the users namespace. */
gboolean uf_node_is(const xmlNode *node, const char *name);

#endif /* USERS_FILE_XML_H */
