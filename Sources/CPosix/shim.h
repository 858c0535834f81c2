#ifndef RG_CPOSIX_SHIM_H
#define RG_CPOSIX_SHIM_H
// glibc calls that Swift's Glibc module hides behind _GNU_SOURCE (STYLE C1, C2).

// pipe2 makes both ends close-on-exec atomically (pipe plus fcntl leaves a window in which another thread's
// posix_spawn inherits them). Declared here: unistd.h was already read without _GNU_SOURCE.
int pipe2(int pipefd[2], int flags);
static inline int rg_pipe2(int *fds, int flags) { return pipe2(fds, flags); }
#endif
