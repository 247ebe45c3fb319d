#!/usr/bin/env bash
# make deb: the Debian package, from the same rules as make install (PREFIX=/usr into a staging
# root), with maintainer scripts that create the group, the state directories, reload the bus
# and enable quiesced.service.
#   scripts/make-deb.sh BUILT_BINARIES_DIR OUTPUT_DIRECTORY   prints the package's path
#   (DEB_COMPRESSION: dpkg-deb's -Z, xz by default; the tests package debug builds with none)
set -euo pipefail
built=${1:?the directory of the built binaries}
output=${2:?where the package goes}
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/.*static let version = "\(.*\)"/\1/p' "$here/Sources/QuiesceCoordinator/Coordinator.swift")
architecture=$(dpkg --print-architecture)
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
PREFIX=/usr DESTDIR="$staging" "$here/scripts/install.sh" "$built" >/dev/null
# dpkg keeps its own list of the package's files.
rm -f "$staging/usr/share/quiesce/installed-files"
mkdir -p "$staging/DEBIAN"
install -m 0755 "$here/dist/debian/postinst" "$here/dist/debian/prerm" "$here/dist/debian/postrm" "$staging/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$staging" | cut -f1)
cat > "$staging/DEBIAN/control" <<CONTROL
Package: quiesce
Version: $version
Architecture: $architecture
Maintainer: Quiesce developers <quiesce@invalid>
Installed-Size: $size
Depends: dbus, systemd, libglib2.0-0, libdbus-1-3, libbtrfsutil1, libpq5, libmariadb3, util-linux
Section: admin
Priority: optional
Homepage: https://quiesce.invalid
Description: application-consistent backups for Linux over D-Bus
 Quiesce brings Windows Volume Shadow Copy's writers to Linux: applications (writers)
 describe their data, quiesce it for a snapshot and may veto; the coordinator quiesced drives
 freeze, thaw and restore events and takes the snapshot (btrfs, reflink, freeze, command,
 copy); quiescectl runs backups, restores, kept snapshots and the history. Includes the
 PostgreSQL, MariaDB and hook-script writers.
CONTROL
mkdir -p "$output"
package="$output/quiesce_${version}_${architecture}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$staging" "$package" >/dev/null
echo "$package"
