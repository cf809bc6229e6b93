/*
 * conf-permissions.h - a real permissions object from a test's own ucd.conf,
 * for the model's tests that check who may see and do what.
 */
#ifndef TESTS_MODEL_CONF_PERMISSIONS_H
#define TESTS_MODEL_CONF_PERMISSIONS_H

#include "config.h"
#include "model/permissions.h"

/* Writes `text` as `dir`/ucd.conf, loads it into *cfg and returns the
 * permissions made from it; the test fails if either reports an error.
 * The caller frees both (permissions first). */
core_permissions *conf_permissions_load(const char *dir, const char *text, core_config **cfg);

#endif /* TESTS_MODEL_CONF_PERMISSIONS_H */
