#!/usr/bin/env bash
# make uninstall: removes exactly the files `make install` listed in
# $DESTDIR$PREFIX/share/quiesce/installed-files, then the directories that became empty.
set -euo pipefail
prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}
manifest=$root$prefix/share/quiesce/installed-files
[ -f "$manifest" ] || { echo "nothing to uninstall: $manifest does not exist" >&2; exit 1; }
mapfile -t files < "$manifest"
for file in "${files[@]}"; do
  case "$file" in "$prefix"/*) ;; *) echo "refusing to remove $file: not below $prefix" >&2; exit 1 ;; esac
  rm -f -- "$root$file"
done
# Directories the files were in, deepest first, while they are empty (never the prefix itself).
for file in "${files[@]}"; do
  directory=$(dirname "$file")
  while [ "$directory" != "$prefix" ] && [ "${directory#"$prefix"/}" != "$directory" ]; do
    rmdir -- "$root$directory" 2>/dev/null || break
    directory=$(dirname "$directory")
  done
done
echo "removed ${#files[@]} files from $root$prefix"
