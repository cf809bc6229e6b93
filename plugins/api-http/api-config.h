/*
 * api-config.h - api-http's configuration keys and their reading
 * ([module api-http] in ucd.conf; README.md documents each key).
 */
#ifndef API_CONFIG_H
#define API_CONFIG_H

#include "api-http.h"

/* The descriptor's key table. */
extern const ucd_config_key api_config_keys[];

/* Reads every key into ctx->config and checks the values: a wrong one is
 * reported with host->config_error (naming the key) and UCD_FAIL returned. */
int api_config_read(api_ctx *ctx);

/* Splits a listen address "HOST:PORT", "[V6]:PORT" or ":PORT" (every
 * address) into `host` (NULL for every address; g_free) and `port`. FALSE and
 * `error` saying what is wrong. */
gboolean api_config_parse_listen(const char *text, char **host, guint16 *port, GError **error);

#endif /* API_CONFIG_H */
