// Linux file-system calls that Swift cannot reach through Glibc (raw syscalls, variadic ioctl,
// _GNU_SOURCE-only functions), for QuiesceFiles only. Every function returns what the kernel
// call returns and leaves errno set on failure.
#ifndef QUIESCE_LINUX_FILES_H
#define QUIESCE_LINUX_FILES_H

#include <stddef.h>
#include <sys/types.h>

/// openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, plus RESOLVE_BENEATH when
/// `beneath` is set: no symlink is followed in any component, and with `beneath` the path
/// cannot leave `dirfd`. O_CLOEXEC is always added.
int quiesce_open_no_symlinks(int dirfd, const char *path, int flags, unsigned int mode, int beneath);

/// renameat2 with RENAME_EXCHANGE: both names must exist; they swap atomically.
int quiesce_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// renameat2 with RENAME_NOREPLACE: fails with EEXIST instead of replacing.
int quiesce_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// ioctl FICLONE: makes `destination` share all of `source`'s extents (btrfs, XFS).
int quiesce_clone_file(int destination, int source);

/// copy_file_range between two descriptors, at explicit offsets that are advanced.
ssize_t quiesce_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t length);

/// lseek with SEEK_DATA (`data` set) or SEEK_HOLE.
long long quiesce_seek_data_or_hole(int fd, long long offset, int data);

/// 1 when `path` (relative to `dirfd`, not followed) is the root of a mount, 0 when not, -1 on error.
int quiesce_is_mount_root(int dirfd, const char *path);

/// Extended attributes of an open file (listxattr / getxattr / setxattr on the descriptor).
ssize_t quiesce_list_xattrs(int fd, char *list, size_t size);
ssize_t quiesce_get_xattr(int fd, const char *name, void *value, size_t size);
int quiesce_set_xattr(int fd, const char *name, const void *value, size_t size);

/// ioctl FIFREEZE on an open directory of a filesystem: writes to it block until FITHAW.
int quiesce_freeze_filesystem(int fd);

/// ioctl FITHAW: writes to the filesystem go on.
int quiesce_thaw_filesystem(int fd);

/// pipe2 with O_CLOEXEC.
int quiesce_pipe(int fds[2]);

/// mlockall(MCL_CURRENT | MCL_FUTURE): no page of the process is read from a disk again (a
/// process that holds a filesystem frozen must not wait on it).
int quiesce_lock_memory(void);

/// Makes allocations of `bytes` and more come from their own mappings, returned at once when
/// freed, and keeps the heap's free top below `bytes` (mallopt M_MMAP_THRESHOLD and
/// M_TRIM_THRESHOLD; this also stops glibc from raising the threshold on its own).
void quiesce_limit_retained_memory(int bytes);

/// Gives free heap memory back to the system (malloc_trim).
void quiesce_release_free_memory(void);

/// memfd_create with MFD_CLOEXEC: a file in memory, on no filesystem (so never on a frozen one).
int quiesce_memory_file(const char *name);

#endif
