#!/usr/bin/env bash
# Stop the gateway scripts/rgw/start.sh started, by the PIDs it saved (never by name):
# radosgw first, then the OSD, then the mon (an OSD stopped together with radosgw can hang it;
# an OSD whose mon is gone waits for it). Logs stay in $JETRAW_RGW_DIR/log for diagnosis.
#   --purge   also delete $JETRAW_RGW_DIR (data, logs, certificates)
set -uo pipefail
DIR=${JETRAW_RGW_DIR:-/tmp/jetraw-rgw}
PIDS=$DIR/pids
ours() {  # a PID we saved that is still one of our daemons: not reused, not a zombie
  [ -n "${1:-}" ] && grep -qxE 'ceph-mon|ceph-osd|radosgw' "/proc/$1/comm" 2>/dev/null \
    && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

stop() {  # $1: the daemon's name in $PIDS. TERM, up to 15 s, then KILL.
  local pid
  pid=$(awk -v n="$1" '$1 == n { print $2 }' "$PIDS")
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 75); do
    ours "$pid" || { echo "stopped $1 (pid $pid)" >&2; return 0; }
    sleep 0.2
  done
  echo "killing $1 (pid $pid)" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

if [ -f "$PIDS" ]; then
  stop rgw
  stop osd
  stop mon
  rm -f "$PIDS"
else
  echo "nothing to stop ($PIDS is absent)" >&2
fi
if [ "${1:-}" = --purge ]; then
  rm -rf "$DIR"
  echo "removed $DIR" >&2
fi
