/*
 * vcard.h - one vCard (RFC 6350, 4.0; RFC 2426, 3.0; vCard 2.1 as far as
 * its content lines go) read into its properties, for contacts-carddav.
 *
 * Why a reader of our own: Debian 12 has no small, kept vCard library for C
 * (docs/DEPENDENCIES.md): libical 3 knows no vCard, libvformat is a 2002
 * vCard 2.1 library without vCard 4, and libebook-contacts brings
 * evolution-data-server's camel, libphonenumber and libstdc++. What a
 * contact source needs of a vCard is its content lines, which RFC 6350
 * section 3 defines in half a page:
 *
 *   - lines end in CRLF or LF; a line that starts with a space or a tab
 *     continues the one before (folding), that one character dropped;
 *   - [group "."] name *(";" param) ":" value; names are case-insensitive;
 *   - param = name "=" value *("," value); a value may be in DQUOTEs (then
 *     ";", ":" and "," are its own); RFC 6868's ^n ^' ^^ are decoded;
 *     vCard 2.1's bare "TEL;WORK;VOICE:" is TYPE=WORK, TYPE=VOICE;
 *   - in values, "\n" (or "\N"), "\,", "\;" and "\\" are escapes; ";"
 *     separates the components of a structured value (N, ORG, ADR) and ","
 *     the items of a list, where not escaped.
 *
 * What it refuses, with a message saying why (the caller skips the card):
 * text that is not UTF-8, a NUL byte, no BEGIN:VCARD ... END:VCARD, a
 * second card after the first, a property without ":", a card of more than
 * VCARD_MAX_PROPERTIES lines, and vCard 2.1's ENCODING=QUOTED-PRINTABLE or
 * a CHARSET other than UTF-8 (both change what the value's bytes mean).
 */
#ifndef UCD_VCARD_H
#define UCD_VCARD_H

#include <glib.h>

#define VCARD_MAX_PROPERTIES 10000

typedef struct vcard_property {
    char *name;    /* upper case, without its group ("item1.TEL" -> "TEL") */
    char **params; /* NULL-terminated pairs: NAME (upper case), one value, NAME, value... */
    char *value;   /* as written, escapes still in it */
} vcard_property;

typedef struct vcard {
    GPtrArray *properties; /* vcard_property *, in the card's order */
} vcard;

/* Reads the one vCard in `text` (`len` bytes, not NUL-terminated). NULL
 * with `*problem` set (g_free) when it cannot be read. */
vcard *vcard_parse(const char *text, gsize len, char **problem);

void vcard_free(vcard *card);

/* Non-zero when `property` has a parameter `name` (upper case) with the
 * value `value` (compared case-insensitively); TYPE values also count when
 * a TYPE value holds them in a comma list that was quoted ("work,voice"). */
int vcard_has_param(const vcard_property *property, const char *name, const char *value);

/* The first value of parameter `name` (upper case), or NULL. */
const char *vcard_param(const vcard_property *property, const char *name);

/* `value` with its escapes decoded, split at each unescaped `separator`
 * (';' for components, ',' for list items; 0: not split). NULL-terminated,
 * free with g_strfreev; never NULL. */
char **vcard_split(const char *value, char separator);

/* `value` with its escapes decoded (g_free). */
char *vcard_unescape(const char *value);

#endif /* UCD_VCARD_H */
