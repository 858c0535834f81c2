#ifndef RG_CPOSIX_SHIM_H
#define RG_CPOSIX_SHIM_H
// glibc calls that Swift's Glibc module hides behind _GNU_SOURCE (STYLE C1, C2).

// pipe2 makes both ends close-on-exec atomically (pipe plus fcntl leaves a window in which another thread's
// posix_spawn inherits them). Declared here: unistd.h was already read without _GNU_SOURCE.
int pipe2(int pipefd[2], int flags);
static inline int rg_pipe2(int *fds, int flags) { return pipe2(fds, flags); }

// glibc 2.34+: the child closes every descriptor from `from` up, whatever the parent's threads opened without
// close-on-exec (SwiftNIO's accept4, for one, does not set it): a child must never hold an API connection open.
#include <spawn.h>
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
static inline int rg_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
#endif
