/*
 * carddav-source.h - one replication of CardDAV address books into a
 * contact sink: the whole of contacts-carddav's replicate() apart from
 * reading its configuration, so tests run it without a daemon.
 *
 * 1. Discovery (RFC 6352 section 7, RFC 5397): PROPFIND Depth 0 on `url`.
 *    An address book (resourcetype CARDDAV:addressbook) is replicated
 *    alone. Otherwise its addressbook-home-set, else the home of its
 *    current-user-principal, else `url` itself is the home, and every
 *    address book a PROPFIND Depth 1 finds there is replicated.
 * 2. Listing: PROPFIND Depth 1 on each address book for its vCards' hrefs
 *    and getcontentlength; a vCard longer than max_vcard is skipped
 *    before it is fetched.
 * 3. Fetch: CARDDAV:addressbook-multiget REPORTs of `batch` hrefs each,
 *    asking for address-data; each card is mapped as vcard-contact.h says.
 *
 * A resource the server answers with an error (a 404 in the multistatus),
 * a card that cannot be read (not UTF-8, no FN or N, vCard 2.1
 * quoted-printable) or is too long goes to sink->skipped with its URL and
 * the replication goes on. Anything else (no server, TLS, 401, 404 for an
 * address book, an answer that is not a multistatus, a timeout) fails the
 * replication with an error that names the URL, and the store keeps its
 * last good copy.
 */
#ifndef UCD_CARDDAV_SOURCE_H
#define UCD_CARDDAV_SOURCE_H

#include <glib.h>
#include <ucd/contacts.h>

#define CARDDAV_DEFAULT_BATCH     100
#define CARDDAV_DEFAULT_MAX_VCARD (1024 * 1024)

typedef struct carddav_settings {
    const char *url; /* an address book, a principal or an address-book home */
    const char *user;
    const char *password;
    const char *ca_file;
    unsigned timeout; /* seconds; 0: 30 */
    unsigned batch;   /* hrefs per multiget; 0: CARDDAV_DEFAULT_BATCH */
    gsize max_vcard;  /* bytes; 0: CARDDAV_DEFAULT_MAX_VCARD */
} carddav_settings;

/* Replicates as above (contacts.h's replicate()): UCD_OK when every vCard
 * was read or skipped, UCD_E_BUSY when the sink cancelled, UCD_FAIL with
 * `*error` (free with free()) naming the URL and what failed, or what
 * sink->add returned when the store cannot go on. */
int carddav_replicate(const carddav_settings *settings, const ucd_contact_sink *sink,
                      void *sink_impl, char **error);

/* The address books `settings->url` leads to (step 1 above), as absolute
 * URLs in href order (g_ptr_array_unref), or NULL with `*error` (g_free). */
GPtrArray *carddav_discover(const carddav_settings *settings, char **error);

#endif /* UCD_CARDDAV_SOURCE_H */
