#define _GNU_SOURCE
#include "linux_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int quiesce_open_no_symlinks(int dirfd, const char *path, int flags, unsigned int mode, int beneath) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (beneath ? RESOLVE_BENEATH : 0);
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int quiesce_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

int quiesce_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int quiesce_clone_file(int destination, int source) {
    return ioctl(destination, FICLONE, source);
}

ssize_t quiesce_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t length) {
    loff_t in_off = *in_offset, out_off = *out_offset;
    ssize_t copied = copy_file_range(in, &in_off, out, &out_off, length, 0);
    *in_offset = in_off;
    *out_offset = out_off;
    return copied;
}

long long quiesce_seek_data_or_hole(int fd, long long offset, int data) {
    return lseek(fd, offset, data ? SEEK_DATA : SEEK_HOLE);
}

int quiesce_is_mount_root(int dirfd, const char *path) {
    struct statx buffer;
    if (statx(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &buffer) != 0) return -1;
    if (!(buffer.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
        errno = ENOTSUP;
        return -1;
    }
    return (buffer.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

ssize_t quiesce_list_xattrs(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }

ssize_t quiesce_get_xattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }

int quiesce_set_xattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }

int quiesce_freeze_filesystem(int fd) { return ioctl(fd, FIFREEZE, 0); }

int quiesce_thaw_filesystem(int fd) { return ioctl(fd, FITHAW, 0); }

int quiesce_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int quiesce_lock_memory(void) { return mlockall(MCL_CURRENT | MCL_FUTURE); }

void quiesce_limit_retained_memory(int bytes) {
    mallopt(M_MMAP_THRESHOLD, bytes);
    mallopt(M_TRIM_THRESHOLD, bytes);
}

void quiesce_release_free_memory(void) { malloc_trim(0); }

int quiesce_memory_file(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
