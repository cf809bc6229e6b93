/*
 * contact-source-config.h - the configuration keys every contact source
 * shares (contacts.h's ucd_contact_source_info): priority, replicate_every,
 * min_ratio and switchboard, read the same way by contacts-csv, -sql,
 * -ldap, -xml and -carddav, so an admin writes them alike in every source's
 * section and gets the same error for the same mistake.
 *
 * A source puts CONTACT_SOURCE_CONFIG_KEYS into its key table, reads the
 * values once in init with contact_source_config_read, and answers the
 * store's info() with contact_source_info_copy.
 */
#ifndef UCD_CONTACT_SOURCE_CONFIG_H
#define UCD_CONTACT_SOURCE_CONFIG_H

#include <ucd/contacts.h>
#include <ucd/host.h>

/* The shared keys, for a source's ucd_config_key table (before its {NULL}).
 * (Formatted by hand: clang-format cannot lay out a macro of initializers
 * readably.) */
// clang-format off
#define CONTACT_SOURCE_CONFIG_KEYS                                                                 \
    {"priority", UCD_CONFIG_INT, 0, "100",                                                         \
     "lower wins when two sources know the same number"},                                          \
    {"replicate_every", UCD_CONFIG_DURATION, 0, "1h",                                              \
     "time between scheduled replications; 0s: only on demand (ucctl directory replicate)"},       \
    {"min_ratio", UCD_CONFIG_INT, 0, "50",                                                         \
     "percent: a copy smaller than this share of the last good one is refused; 0 accepts any"},   \
    {"switchboard", UCD_CONFIG_BOOL, 0, "false",                                                   \
     "a number ending in -0 stands for every extension behind it (longest-prefix match)"}
// clang-format on

/* Reads the shared keys of `self`'s section into `*out` (struct_size set
 * here). UCD_OK, or UCD_FAIL after host->config_error named the key and
 * what is wrong: priority outside a 32-bit int, replicate_every below 1s
 * (other than 0) or longer than a uint32 of seconds, min_ratio outside 0 to
 * 100. Main loop, like the getters it calls. */
int contact_source_config_read(ucd_plugin *self, const ucd_host *host,
                               ucd_contact_source_info *out);

/* Copies `info` into `out` for the store's info() call: only as many bytes
 * as both sides know, so a store built with an older or newer contacts.h
 * gets the members it has and nothing is written past its struct. Any
 * thread. */
void contact_source_info_copy(const ucd_contact_source_info *info, ucd_contact_source_info *out);

#endif /* UCD_CONTACT_SOURCE_CONFIG_H */
