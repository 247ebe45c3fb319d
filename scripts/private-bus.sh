#!/usr/bin/env bash
# Shell helpers for a private bus with its own dbus-daemon, quiesced and writers, all inside
# one folder. Source it, then: bus_start DIR; start NAME COMMAND...; wait_name NAME; stop_all.
# Everything started is stopped by stop_all (and on exit).

BIN=${BIN:-$(swift build --show-bin-path 2>/dev/null)}
PIDS=()

bus_start() {
  RUN_DIR=$1
  mkdir -p "$RUN_DIR/logs"
  BUS_ADDRESS="unix:path=$RUN_DIR/bus"
  dbus-daemon --config-file="$(dirname "${BASH_SOURCE[0]}")/../dbus/private-bus.conf" \
    --address="$BUS_ADDRESS" --nofork --nopidfile >"$RUN_DIR/logs/dbus-daemon.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [ -S "$RUN_DIR/bus" ] && return 0; sleep 0.05; done
  echo "the private dbus-daemon did not start; see $RUN_DIR/logs/dbus-daemon.log" >&2
  return 1
}

# start NAME PROGRAM ARGS...: runs a program of ours on the private bus, logging to logs/NAME.log.
start() {
  local name=$1 program=$2; shift 2
  "$BIN/$program" --address "$BUS_ADDRESS" "$@" >"$RUN_DIR/logs/$name.log" 2>&1 &
  PIDS+=($!)
}

# wait_name NAME: waits until NAME is owned on the private bus.
wait_name() {
  for _ in $(seq 200); do
    busctl --address="$BUS_ADDRESS" status "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "$1 did not appear on the bus; logs are in $RUN_DIR/logs" >&2
  return 1
}

stop_all() {
  local pid
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do
    pid=${PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap stop_all EXIT
