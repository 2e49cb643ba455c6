#ifndef EARSHOT_CLIBFUZZER_H
#define EARSHOT_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): runs the fuzzing loop over
// `callback` with libFuzzer's command-line flags. Called from earshot-fuzz's main, because
// SwiftPM links an executable's `main` to the module's own entry point.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
