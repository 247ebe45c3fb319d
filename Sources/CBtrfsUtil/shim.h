// libbtrfsutil (Debian libbtrfsutil-dev), for QuiesceBtrfs only.
#ifndef QUIESCE_CBTRFSUTIL_SHIM_H
#define QUIESCE_CBTRFSUTIL_SHIM_H
#include <btrfsutil.h>
#endif
