#!/usr/bin/env bash
# make install: installs Quiesce below $DESTDIR$PREFIX and writes the list of what it installed
# to $DESTDIR$PREFIX/share/quiesce/installed-files, which `make uninstall` removes exactly.
#   scripts/install.sh BUILT_BINARIES_DIR   (PREFIX, DESTDIR from the environment)
set -euo pipefail
built=${1:?the directory of the built binaries}
prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}
bindir=$prefix/bin
here=$(cd "$(dirname "$0")/.." && pwd)
manifest=$root$prefix/share/quiesce/installed-files
installed=()

put() {  # put MODE SOURCE TARGET (TARGET below the prefix, without DESTDIR)
  install -D -m "$1" "$2" "$root$3"
  installed+=("$3")
}
put_program() {  # put_program SOURCE TARGET: stripped of its symbols
  put 0755 "$1" "$2"
  strip --strip-unneeded "$root$2"
}
put_text() {  # put_text MODE TARGET: standard input, with the installed paths filled in
  local tmp
  tmp=$(mktemp)
  sed -e "s#/usr/local/bin/#$bindir/#g" -e "s#/usr/share/doc/quiesce#$prefix/share/doc/quiesce#g" > "$tmp"
  put "$1" "$tmp" "$2"
  rm -f "$tmp"
}

echo "installing into $root$prefix"
for program in quiesced quiescectl quiesce-freeze quiesce-hook-writer quiesce-postgres-writer quiesce-mariadb-writer; do
  [ -x "$built/$program" ] || { echo "$built/$program is missing: build first (make install builds the release)" >&2; exit 1; }
  put_program "$built/$program" "$bindir/$program"
done

# D-Bus: the bus policy, the activation file; systemd: units, users, state directories.
put 0644 "$here/dbus/org.quiesce.conf" "$prefix/share/dbus-1/system.d/org.quiesce.conf"
put_text 0644 "$prefix/share/dbus-1/system-services/org.quiesce.Coordinator.service" < "$here/dbus/org.quiesce.Coordinator.service"
put_text 0644 "$prefix/lib/systemd/system/quiesced.service" < "$here/dbus/quiesced.service"
put_text 0644 "$prefix/lib/systemd/system/quiesce-backup@.service" < "$here/Examples/systemd/quiesce-backup@.service"
put 0644 "$here/Examples/systemd/quiesce-backup@.timer" "$prefix/lib/systemd/system/quiesce-backup@.timer"
for unit in "$here"/dist/systemd/*.service; do  # the writers' templated units
  put_text 0644 "$prefix/lib/systemd/system/$(basename "$unit")" < "$unit"
done
put 0644 "$here/dist/quiesce.sysusers.conf" "$prefix/lib/sysusers.d/quiesce.conf"
put 0644 "$here/dist/quiesce.tmpfiles.conf" "$prefix/lib/tmpfiles.d/quiesce.conf"

# Man pages (swift-argument-parser's generate-manual) and completions, from the programs' own --help.
manual=$(mktemp -d)
for program in quiesced quiescectl quiesce-hook-writer quiesce-postgres-writer quiesce-mariadb-writer; do
  "$built/generate-manual" "$built/$program" --multi-page --output-directory "$manual" >/dev/null
done
for page in "$manual"/*.1; do
  put 0644 "$page" "$prefix/share/man/man1/$(basename "$page")"
done
rm -rf "$manual"
completions=$(mktemp -d)
"$built/quiescectl" --generate-completion-script bash > "$completions/quiescectl.bash"
"$built/quiescectl" --generate-completion-script zsh > "$completions/_quiescectl"
"$built/quiescectl" --generate-completion-script fish > "$completions/quiescectl.fish"
put 0644 "$completions/quiescectl.bash" "$prefix/share/bash-completion/completions/quiescectl"
put 0644 "$completions/_quiescectl" "$prefix/share/zsh/site-functions/_quiescectl"
put 0644 "$completions/quiescectl.fish" "$prefix/share/fish/vendor_completions.d/quiescectl.fish"
rm -rf "$completions"

# The documentation and the examples an admin copies from.
for doc in README.md docs/*.md docs/writers/*.md; do
  put 0644 "$here/$doc" "$prefix/share/doc/quiesce/${doc#docs/}"
done
put 0644 "$here/Examples/systemd/notes.conf" "$prefix/share/doc/quiesce/examples/backup-notes.conf"
put 0644 "$here/dbus/quiesce-writer-example.conf" "$prefix/share/doc/quiesce/examples/quiesce-writer-example.conf"
for schema in "$here"/dbus/schemas/*.json "$here"/dbus/org.quiesce.*1.xml; do
  put 0644 "$schema" "$prefix/share/quiesce/interfaces/$(basename "$schema")"
done

installed+=("$prefix/share/quiesce/installed-files")
mkdir -p "$(dirname "$manifest")"
printf '%s\n' "${installed[@]}" > "$manifest"
echo "installed ${#installed[@]} files; make uninstall PREFIX=$prefix${DESTDIR:+ DESTDIR=$DESTDIR} removes them"
