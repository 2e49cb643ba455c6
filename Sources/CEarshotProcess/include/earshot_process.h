// Process-spawning calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module
// does not see: a close-on-exec pipe, and "close every descriptor from N" for posix_spawn.
#ifndef EARSHOT_PROCESS_H
#define EARSHOT_PROCESS_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start (no window in which another
/// thread's spawn could inherit them). Returns 0, or -1 with errno.
int earshot_pipe_cloexec(int fds[2]);

/// Adds "close every descriptor >= lowfd" to `actions`, so a child inherits only the descriptors
/// it was given explicitly. Returns 0 or an error number; ENOSYS where the C library lacks it.
int earshot_spawn_closefrom(posix_spawn_file_actions_t *actions, int lowfd);

#endif
