// System zlib (Debian: zlib1g-dev). Used for Whisper's compression ratio, which must equal
// Python's zlib.compress byte for byte: it decides the temperature fallback at the 2.4 threshold.
#include <zlib.h>
