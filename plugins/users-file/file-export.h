/*
 * file-export.h - the whole directory as a users-file document, and the
 * control command that writes it: `ucctl users-file export [FILE|-]`.
 *
 * An admin moving from LDAP or SQL to a file (or from one server to another)
 * exports every user and group the core's directory service knows, of every
 * users backend, and hands the result to `ucctl users import FILE` or puts it
 * in place as a users file. The format is this plugin's (users.xsd,
 * namespace urn:ucd:users:1): ids, logins, home servers and line assignments
 * travel unchanged. The document goes to ucctl in the reply field "xml";
 * ucctl writes it to FILE (mode 0600) or to stdout.
 */
#ifndef USERS_FILE_EXPORT_H
#define USERS_FILE_EXPORT_H

#include <glib.h>
#include <ucd/directory.h>
#include <ucd/ucd.h>

/* A document being written. The schema takes groups and users in any order;
 * the command writes the groups first, for people reading the file. */
typedef struct file_export file_export;

/* Starts a document in memory. Never NULL. */
file_export *file_export_new(void);

/* Appends a group, or a user. A line "DRIVER/ADDRESS" becomes <line
 * driver="DRIVER">ADDRESS</line> and any other <line>ADDRESS</line>, which
 * the plugin reads back to the same string; NULL and empty optional fields
 * are left out; phone numbers are written raw, without a type (the schema
 * then means "work"). What the schema demands is checked before anything is
 * written, so the document always validates: the first record that cannot
 * be written (no id or login, text that is not UTF-8 or holds characters XML
 * 1.0 cannot carry, a value longer than the schema allows) fails the
 * document and later calls do nothing. FALSE once failed. */
gboolean file_export_group(file_export *export, const ucd_directory_group *group);
gboolean file_export_user(file_export *export, const ucd_directory_user *user);

/* Ends the document and frees `export`: the UTF-8 text (g_free it), or NULL
 * with a newly allocated `*error` naming the record that failed ("user
 * \"u1\": login: missing"). */
char *file_export_finish(file_export *export, char **error);

/* The export command of the users-file module `self`, registered:
 * "users-file", or "users-file-INSTANCE" for an instance, so that several
 * users-file modules each have one (every one exports the whole directory).
 * `*rc` gets what command_register returned (the error is set on `self`
 * when it failed); free the result with file_export_command_free after the
 * module stopped, whatever `*rc`. */
typedef struct file_export_command file_export_command;
file_export_command *file_export_command_new(ucd_plugin *self, const ucd_host *host, int *rc);
void file_export_command_free(file_export_command *command);

#endif /* USERS_FILE_EXPORT_H */
