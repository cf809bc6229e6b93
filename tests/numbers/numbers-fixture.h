/*
 * numbers-fixture.h - a core_numbers built from a configuration text in a
 * fresh temporary directory, for the tests of numbers 1.1 (here and in
 * plugins/numbers-phonenumber/tests).
 */
#ifndef TESTS_NUMBERS_FIXTURE_H
#define TESTS_NUMBERS_FIXTURE_H

#include "numbers.h"

typedef struct numbers_fixture {
    char *dir, *file;
    core_config *cfg;
    core_numbers *numbers;
} numbers_fixture;

/* Writes `conf_text` as DIR/ucd.conf and builds the service from it; a
 * configuration with errors fails the test. */
void numbers_fixture_open(numbers_fixture *f, const char *conf_text);

/* Frees the service and removes the directory. */
void numbers_fixture_close(numbers_fixture *f);

#endif /* TESTS_NUMBERS_FIXTURE_H */
