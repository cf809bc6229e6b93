/*
 * test-svc.h - the "test.svc" major 1 service of the version fixtures
 * (ver-provider.c provides it at some minor, ver-consumer.c requires or uses
 * it at some minor), so the tests can put an older, equal or newer provider
 * in front of a module.
 */
#ifndef TEST_SVC_H
#define TEST_SVC_H

#include <stdint.h>

#define TEST_SVC_SERVICE "test.svc"
#define TEST_SVC_MAJOR   1

typedef struct test_svc_v1 {
    uint32_t struct_size;
    /* The minor the provider was built with; `impl` is the provider's state. */
    uint32_t (*minor)(void *impl);
} test_svc_v1;

#endif /* TEST_SVC_H */
