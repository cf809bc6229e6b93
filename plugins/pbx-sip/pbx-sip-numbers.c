/*
 * pbx-sip-numbers.c - numbers in and out of SIP (see pbx-sip.h).
 *
 * Out: a number typed for click-to-dial goes through the core's number
 * service with this driver's location, so "0049 89 123" or an outside-line
 * prefix become what the PBX wants dialled; it must then fit in a SIP user
 * part. In: the remote identity of a dialog is a URI (sip:, sips: or tel:),
 * and the call event wants the number in it as the PBX sent it; the core
 * normalizes it for the journal with the driver's location, so no normalized
 * form is put in the event.
 */
#include <string.h>

#include "pbx-sip.h"

/* ---- user parts ----------------------------------------------------------------------- */

/* A line's user part goes into a SIP URI and is typed in ucctl. */
gboolean sip_valid_user_part(const char *user)
{
    if (*user == '\0' || strlen(user) > 64)
        return FALSE;
    for (const char *c = user; *c; c++)
        if (!g_ascii_isalnum(*c) && strchr("-_.!~*'+", *c) == NULL)
            return FALSE;
    return TRUE;
}

/* ---- dialling ----------------------------------------------------------------------- */

/* What the number service says to dial for `number`: the extension of an
 * internal number, else the dialable form; NULL when the service is not
 * there or finds no phone number in it (a SIP user name such as "bob"). */
static char *normalized_for_dialling(const ucd_host *host, ucd_plugin *self, const char *module_id,
                                     const char *number)
{
    ucd_service service = {.struct_size = sizeof(service)};
    if (host->service_get(self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &service) != UCD_OK ||
        service.iface == NULL)
        return NULL;
    const ucd_numbers_v1 *numbers = service.iface;
    ucd_number_info info = {.struct_size = sizeof(info)};
    int rc = numbers->normalize(service.impl, module_id, number, &info);
    if (rc != UCD_OK && rc != UCD_E_NOT_FOUND)
        return NULL;
    if (info.kind == UCD_NUMBER_INTERNAL && info.extension[0] != '\0')
        return g_strdup(info.extension);
    return info.dialable[0] != '\0' ? g_strdup(info.dialable) : NULL;
}

int sip_dial_user_part(const ucd_host *host, ucd_plugin *self, const char *module_id,
                       const char *number, char **user_part)
{
    *user_part = NULL;
    if (number == NULL)
        return UCD_E_INVALID;
    char *dial = normalized_for_dialling(host, self, module_id, number);
    if (dial == NULL)
        dial = g_strstrip(g_strdup(number));
    if (!sip_valid_user_part(dial)) {
        g_free(dial);
        return UCD_E_INVALID;
    }
    *user_part = dial;
    return UCD_OK;
}

/* ---- remote identities ------------------------------------------------------------- */

/* The URI's scheme-specific part after "sip:", "sips:" or "tel:" (any case),
 * with `*tel` telling which; NULL for another scheme. */
static const char *after_scheme(const char *uri, gboolean *tel)
{
    static const struct {
        const char *scheme;
        gboolean tel;
    } schemes[] = {{"sip:", FALSE}, {"sips:", FALSE}, {"tel:", TRUE}};
    for (gsize i = 0; i < G_N_ELEMENTS(schemes); i++) {
        gsize len = strlen(schemes[i].scheme);
        if (g_ascii_strncasecmp(uri, schemes[i].scheme, len) == 0) {
            *tel = schemes[i].tel;
            return uri + len;
        }
    }
    return NULL;
}

/* A telephone number with visual separators (RFC 3966: - . ( ) and spaces)
 * loses them: "+49-89-123" -> "+4989123". Anything else is kept as it is. */
static void drop_visual_separators(char *number)
{
    gboolean digits = FALSE;
    for (const char *c = number; *c; c++) {
        if (g_ascii_isdigit(*c))
            digits = TRUE;
        else if (strchr("+-.() ", *c) == NULL)
            return; /* not a phone number: a SIP user name */
    }
    if (!digits)
        return;
    char *out = number;
    for (const char *c = number; *c; c++)
        if (strchr("-.() ", *c) == NULL)
            *out++ = *c;
    *out = '\0';
}

/* The user part of a sip:/sips: URI's rest or the number of a tel: one:
 * parameters (;...) and headers (?...) dropped, percent-decoded. NULL when
 * there is none (a URI with a host only) or it does not decode. */
static char *number_in(const char *rest, gboolean tel)
{
    gsize end = strcspn(rest, tel ? ";?" : "@;?");
    if (!tel && rest[strcspn(rest, "@")] != '@')
        return NULL;
    char *raw = g_strndup(rest, end);
    char *number = g_uri_unescape_string(raw, NULL);
    g_free(raw);
    if (number == NULL || *number == '\0') {
        g_free(number);
        return NULL;
    }
    drop_visual_separators(number);
    return number;
}

/* The host of a sip:/sips: URI's rest (after '@', up to ; ? or :). */
static gboolean host_is(const char *rest, const char *host)
{
    const char *at = strchr(rest, '@');
    if (at == NULL)
        return FALSE;
    gsize len = strcspn(at + 1, ";?:>");
    return len == strlen(host) && g_ascii_strncasecmp(at + 1, host, len) == 0;
}

/* RFC 3323/3325 withheld identities: "Anonymous" as display name, the user
 * "anonymous" or the host "anonymous.invalid". */
static gboolean withheld(const char *rest, gboolean tel, const char *number, const char *display)
{
    if (display != NULL) {
        char *trimmed = g_strstrip(g_strdup(display));
        gboolean anonymous = g_ascii_strcasecmp(trimmed, "anonymous") == 0;
        g_free(trimmed);
        if (anonymous)
            return TRUE;
    }
    if (tel)
        return FALSE;
    return (number != NULL && g_ascii_strcasecmp(number, "anonymous") == 0) ||
           host_is(rest, "anonymous.invalid");
}

void sip_remote_identity(const char *uri, const char *display, char **number, char **name,
                         uint32_t *flags)
{
    *number = NULL;
    *name = NULL;
    *flags = 0;
    char *text = g_strstrip(g_strdup(uri != NULL ? uri : ""));
    char *inner = text;
    if (*inner == '<') { /* name-addr brackets, should a server leave them in */
        inner++;
        inner[strcspn(inner, ">")] = '\0';
    }
    gboolean tel = FALSE;
    const char *rest = after_scheme(inner, &tel);
    char *found = rest != NULL ? number_in(rest, tel) : NULL;
    if (withheld(rest != NULL ? rest : "", tel, found, display)) {
        *flags = UCD_CALL_FLAG_PRIVATE;
        g_free(found);
        g_free(text);
        return;
    }
    /* A URI with no user (or another scheme) is still an identity worth showing. */
    *number = found != NULL ? found : (*inner != '\0' ? g_strdup(inner) : NULL);
    *name = g_strdup(display);
    g_free(text);
}
