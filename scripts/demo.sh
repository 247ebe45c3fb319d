#!/usr/bin/env bash
# make demo: a private bus, the coordinator, two example writers (an SQLite database with a
# workload that keeps writing, and a file writer), a real backup, and a check of the copy.
# Everything lives in .demo/ and everything started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=$PWD/.demo
rm -rf "$DEMO"
mkdir -p "$DEMO/volumes/notes" "$DEMO/volumes/files" "$DEMO/snapshots"
echo "hello from the files writer" > "$DEMO/volumes/files/readme.txt"
source scripts/private-bus.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a private bus, quiesced and two writers in $DEMO"
bus_start "$DEMO"
start quiesced quiesced --snapshot-root "$DEMO/snapshots"
wait_name org.quiesce.Coordinator
start notes-writer notes-writer --database "$DEMO/volumes/notes/notes.db" --workload
start files-writer flaky-writer --name files --data "$DEMO/volumes/files"
wait_name org.quiesce.Writer.notes
wait_name org.quiesce.Writer.files
sleep 0.5
echo "bus: $BUS_ADDRESS"

step "quiescectl writers"
"$BIN/quiescectl" writers --address "$BUS_ADDRESS"

step "busctl get-property org.quiesce.Writer.notes /org/quiesce/Writer org.quiesce.Writer1 State LastError"
busctl --address="$BUS_ADDRESS" get-property org.quiesce.Writer.notes /org/quiesce/Writer org.quiesce.Writer1 State LastError

step "quiescectl backup (the notes workload keeps writing all along)"
"$BIN/quiescectl" backup --address "$BUS_ADDRESS" \
  --volume "$DEMO/volumes/notes" --volume "$DEMO/volumes/files" --to "$DEMO/backup"

step "Checking the copy of the database"
copy=$(ls -d "$DEMO"/backup/data/*-notes)/notes.db
integrity=$(sqlite3 "$copy" 'PRAGMA integrity_check;')
notes=$(sqlite3 "$copy" 'SELECT count(*) FROM notes;')
echo "PRAGMA integrity_check: $integrity; $notes notes in the backup"
[ "$integrity" = ok ] && [ "$notes" -gt 0 ]
snapshots=$(ls "$DEMO/snapshots" | wc -l)
echo "snapshot sets left behind: $snapshots"
[ "$snapshots" -eq 0 ]

step "Stopping everything"
stop_all
echo "Demo done. The backup and its document are in $DEMO/backup; logs in $DEMO/logs."
