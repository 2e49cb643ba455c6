// glibc's malloc introspection (mallinfo2, malloc_trim) for the memory probe.
// Swift's Glibc module does not include <malloc.h>; other platforms get nothing.
#if defined(__linux__)
#include <malloc.h>
#endif
