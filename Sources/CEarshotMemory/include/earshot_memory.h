// Memory-mapping calls Swift cannot import: mremap is variadic in glibc's header (and Linux only).
#ifndef EARSHOT_MEMORY_H
#define EARSHOT_MEMORY_H

#include <stddef.h>

/// Grows (or shrinks) the private anonymous mapping at `old_address` from `old_size` to `new_size`
/// bytes, moving it if it must: the pages themselves are moved by the kernel, never copied, and the
/// new tail reads as zeros. Returns the new address, or NULL with errno set (ENOSYS where there is
/// no mremap, e.g. macOS: the caller then copies into a new mapping).
void *earshot_remap_anonymous(void *old_address, size_t old_size, size_t new_size);

#endif
