// OpenBLAS (Debian's, built with DYNAMIC_ARCH) picks its kernels from the CPU's family and model
// when the library loads. Virtual machines that report a generic model ("Intel(R) Xeon(R)
// Processor") are unknown to its table and get the Prescott (SSE3) kernels: measured on such a
// machine with AVX-512, Whisper tiny.en's encoder took 805 ms instead of 228 ms. The remedy
// OpenBLAS offers is the OPENBLAS_CORETYPE environment variable, read at load; this names the core
// matching the instructions the CPU reports, for the caller to set before OpenBLAS loads.
#include "earshot_kernels.h"

#include <stddef.h>

const char *ek_openblas_coretype(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}
