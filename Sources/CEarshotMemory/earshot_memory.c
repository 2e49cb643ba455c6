#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include "earshot_memory.h"

#include <errno.h>
#include <sys/mman.h>

void *earshot_remap_anonymous(void *old_address, size_t old_size, size_t new_size) {
#if defined(__linux__)
    void *p = mremap(old_address, old_size, new_size, MREMAP_MAYMOVE);
    return p == MAP_FAILED ? NULL : p;
#else
    (void)old_address; (void)old_size; (void)new_size;
    errno = ENOSYS;
    return NULL;
#endif
}
