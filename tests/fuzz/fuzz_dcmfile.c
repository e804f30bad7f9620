/*
 * fuzz_dcmfile.c - libFuzzer entry point: the whole per-file path of
 * dcmcrawl (header parse, record, CSV values and row, decoding of every
 * transfer syntax) on one input, see fuzz_one.c.  Built and run by
 * tests/fuzz/run_fuzz.sh (`make fuzz`).
 */
#include <stddef.h>
#include <stdint.h>

int dc_fuzz_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return dc_fuzz_one(data, size);
}
