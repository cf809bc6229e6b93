/* Configure-time probe: does clang link -fsanitize=fuzzer? (tests/meson.build) */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}
