// The GLib/GIO (GDBus) headers, for QuiesceBus only.
#ifndef QUIESCE_CGLIB_SHIM_H
#define QUIESCE_CGLIB_SHIM_H
#include <gio/gio.h>
#endif
