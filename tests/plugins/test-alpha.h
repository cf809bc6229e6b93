/*
 * test-alpha.h - the "test.alpha" major 1 service that the good-basic fixture
 * provides and good-dep consumes, so daemon tests can see a service cross from
 * one module to another.
 */
#ifndef TEST_ALPHA_H
#define TEST_ALPHA_H

#include <stdint.h>

#define TEST_ALPHA_SERVICE "test.alpha"
#define TEST_ALPHA_MAJOR   1

typedef struct test_alpha_v1 {
    uint32_t struct_size;
    /* Returns 42; `impl` is the provider's state. */
    int (*answer)(void *impl);
} test_alpha_v1;

#endif /* TEST_ALPHA_H */
