/*
 * contact-source-config.c - the keys every contact source shares; see the
 * header. The limits are the store's: it keeps seconds in a uint32 and a
 * ratio in percent, so a value that would wrap is an error here, with the
 * key's file:line, never a surprise schedule later.
 */
#include "contact-source-config.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

int contact_source_config_read(ucd_plugin *self, const ucd_host *host, ucd_contact_source_info *out)
{
    memset(out, 0, sizeof(*out));
    out->struct_size = sizeof(*out);

    int64_t priority = 0, every_ms = 0, ratio = 0;
    int switchboard = 0;
    if (host->config_int(self, "priority", &priority) != UCD_OK)
        return host->config_error(self, "priority", "cannot be read");
    if (priority < INT32_MIN || priority > INT32_MAX)
        return host->config_error(self, "priority", "must be between %" PRId32 " and %" PRId32,
                                  INT32_MIN, INT32_MAX);

    if (host->config_int(self, "replicate_every", &every_ms) != UCD_OK)
        return host->config_error(self, "replicate_every", "cannot be read");
    /* Below a second would be rounded to 0, which means "on demand only":
     * refused rather than silently turning a schedule off. */
    if (every_ms < 0 || (every_ms > 0 && every_ms < 1000))
        return host->config_error(self, "replicate_every",
                                  "must be 0 (on demand only) or at least 1s");
    if (every_ms / 1000 > UINT32_MAX)
        return host->config_error(self, "replicate_every", "must be at most %" PRIu32 "s",
                                  UINT32_MAX);

    if (host->config_int(self, "min_ratio", &ratio) != UCD_OK)
        return host->config_error(self, "min_ratio", "cannot be read");
    if (ratio < 0 || ratio > 100)
        return host->config_error(self, "min_ratio", "must be a percentage from 0 to 100");

    if (host->config_bool(self, "switchboard", &switchboard) != UCD_OK)
        return host->config_error(self, "switchboard", "cannot be read");

    out->priority = (int32_t)priority;
    out->replicate_every = (uint32_t)(every_ms / 1000);
    out->min_ratio = (uint32_t)ratio;
    out->switchboard = switchboard != 0;
    return UCD_OK;
}

void contact_source_info_copy(const ucd_contact_source_info *info, ucd_contact_source_info *out)
{
    uint32_t wanted = out->struct_size;
    size_t n = wanted < info->struct_size ? wanted : info->struct_size;
    if (n <= sizeof(out->struct_size))
        return;
    memcpy((char *)out + sizeof(out->struct_size), (const char *)info + sizeof(info->struct_size),
           n - sizeof(out->struct_size));
}
