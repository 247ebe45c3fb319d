#!/usr/bin/env bash
# Installs the Debian packages Quiesce needs to build, demo and test, if any is missing:
# GLib/GIO headers (CGLib), libbtrfsutil (the btrfs provider), dbus-daemon (private buses),
# busctl (from systemd; the tests read writer properties with it), sqlite3 (the notes writer),
# setpriv (util-linux; security tests),
# mkfs.btrfs, mkfs.ext4 and mkfs.xfs (provider tests on loop devices), python3 with dbus and gi (a
# writer in another language, and the admin-query flood of the tests and the benchmark),
# python3-jsonschema (an independent check of what real processes send against dbus/schemas),
# restic, borgbackup and tar (backups through `quiescectl backup --exec`), PostgreSQL 15 with
# libpq and MariaDB with libmariadb (the database writers, tested against real servers), man-db
# (the installed man pages are rendered by a test).
set -euo pipefail
packages=(libxml2 libglib2.0-dev libglib2.0-bin libdbus-1-dev dbus dbus-daemon dbus-bin systemd sqlite3 util-linux btrfs-progs e2fsprogs xfsprogs libbtrfsutil-dev python3 python3-dbus python3-gi python3-jsonschema restic borgbackup tar postgresql-15 libpq-dev mariadb-server libmariadb-dev man-db)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "please install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
