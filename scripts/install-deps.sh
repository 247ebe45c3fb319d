#!/usr/bin/env bash
# Installs the Debian packages Quiesce needs to build, demo and test, if any is missing.
set -euo pipefail
packages=(libxml2 libglib2.0-dev libdbus-1-dev dbus dbus-bin sqlite3 libsqlite3-dev python3 python3-dbus util-linux btrfs-progs e2fsprogs)
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
