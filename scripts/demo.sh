#!/usr/bin/env bash
# make demo: a private bus, the coordinator, two example writers (an SQLite database with a
# workload that keeps writing, and a file writer that vetoes its first Freeze), a real backup
# with a retry, a check of the copy, and a restore. Everything lives in .demo/ and everything
# started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=$PWD/.demo
rm -rf "$DEMO"
mkdir -p "$DEMO/volumes/notes" "$DEMO/volumes/files"
echo "hello from the files writer" > "$DEMO/volumes/files/readme.txt"
source scripts/private-bus.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a private bus, quiesced and two writers in $DEMO"
bus_start "$DEMO"
start quiesced quiesced --state-dir "$DEMO/state"
wait_name org.quiesce.Coordinator
start notes-writer notes-writer --database "$DEMO/volumes/notes/notes.db" --workload
start files-writer flaky-writer --name files --data "$DEMO/volumes/files" \
  --at Freeze --code retryable --message "a file rotation is in progress" --times 1
wait_name org.quiesce.Writer.notes
wait_name org.quiesce.Writer.files
sleep 0.5
echo "bus: $BUS_ADDRESS"

step "quiescectl writers"
"$BIN/quiescectl" writers --address "$BUS_ADDRESS"

step "busctl get-property org.quiesce.Writer.notes /org/quiesce/Writer org.quiesce.Writer1 State LastError"
busctl --address="$BUS_ADDRESS" get-property org.quiesce.Writer.notes /org/quiesce/Writer org.quiesce.Writer1 State LastError

step "quiescectl backup --retry (files vetoes its first Freeze; the notes workload keeps writing)"
"$BIN/quiescectl" backup --address "$BUS_ADDRESS" --require files --require notes --retry --retry-delay 1 \
  --volume "$DEMO/volumes/notes" --volume "$DEMO/volumes/files" --to "$DEMO/backup"

step "Checking the copy of the database"
copy=$(ls -d "$DEMO"/backup/data/*-notes)/notes.db
integrity=$(sqlite3 "$copy" 'PRAGMA integrity_check;')
notes=$(sqlite3 "$copy" 'SELECT count(*) FROM notes;')
echo "PRAGMA integrity_check: $integrity; $notes notes in the backup"
[ "$integrity" = ok ] && [ "$notes" -gt 0 ]
snapshots=$(ls "$DEMO/state/snapshots" | wc -l)
echo "snapshot sets left behind: $snapshots"
[ "$snapshots" -eq 0 ]

step "quiescectl writers and history (files is stable again; its veto is remembered)"
"$BIN/quiescectl" writers --address "$BUS_ADDRESS"
"$BIN/quiescectl" history --address "$BUS_ADDRESS"

step "quiescectl restore --dry-run (what a restore would change; nothing is touched)"
"$BIN/quiescectl" restore --address "$BUS_ADDRESS" --from "$DEMO/backup" --dry-run --component notes/sqlite/notes

step "quiescectl restore --yes (the notes writer closes its database, the volumes are swapped back, it reopens)"
before=$(sqlite3 "$DEMO/volumes/notes/notes.db" 'SELECT count(*) FROM notes;')
echo "the live database has $before notes before the restore"
"$BIN/quiescectl" restore --address "$BUS_ADDRESS" --from "$DEMO/backup" --yes --state-dir "$DEMO/state"
restored=$(sqlite3 "$DEMO/volumes/notes/notes.db" 'PRAGMA integrity_check;')
echo "after the restore: integrity_check $restored; the workload goes on from the restored notes"
[ "$restored" = ok ]

step "Stopping everything"
stop_all
echo "Demo done. The backup and its document are in $DEMO/backup; logs in $DEMO/logs."
