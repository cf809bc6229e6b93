/*
 * users-xml.h - writes users and groups as a users-file XML document.
 *
 * `ucctl users export` collects the records of every "users" backend and
 * writes them with core_users_xml_write(); `ucctl users import` hands such a
 * file to a backend's import_users(). The format is the users-file plugin's
 * (plugins/users-file/users.xsd, namespace urn:ucd:users:1), so an export of
 * one server imports into another and the ids, logins, home servers and line
 * assignments travel unchanged.
 */
#ifndef CORE_MODEL_USERS_XML_H
#define CORE_MODEL_USERS_XML_H

#include <stddef.h>

#include <glib.h>
#include <ucd/users.h>

/* Writes `groups` then `users` (in the order given) as one UTF-8 document
 * valid against users.xsd into a newly allocated `*xml_out` (free with
 * g_free). A line "DRIVER/ADDRESS" becomes <line driver="DRIVER">ADDRESS</line>
 * and a bare address <line>ADDRESS</line>, which the plugin reads back to the
 * same string; NULL and empty optional fields are left out; phone numbers are
 * written without a type (the SDK records have none, the schema then means
 * "work"). Returns FALSE with a newly allocated `*error` naming the record
 * when one cannot be written: a missing id or login, text that is not UTF-8
 * or holds characters XML 1.0 cannot carry (control characters). */
gboolean core_users_xml_write(const ucd_user *const *users, size_t n_users,
                              const ucd_group *const *groups, size_t n_groups, char **xml_out,
                              char **error);

#endif /* CORE_MODEL_USERS_XML_H */
