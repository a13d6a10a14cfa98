#!/usr/bin/env bash
# Stop the cluster scripts/postgresql/start.sh started (pg_ctl on its data directory, never a
# process by name). The log stays in $JETRAW_PG_DIR/log.
#   --purge   also delete $JETRAW_PG_DIR
set -uo pipefail
DIR=${JETRAW_PG_DIR:-/tmp/jetraw-pg}
BIN=/usr/lib/postgresql/15/bin
if [ -f "$DIR/data/postmaster.pid" ]; then
  owner=$(stat -c %U "$DIR/data")
  if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
    su "$owner" -s /bin/sh -c "$BIN/pg_ctl -D '$DIR/data' stop -m fast" >&2 || true
  else
    "$BIN/pg_ctl" -D "$DIR/data" stop -m fast >&2 || true
  fi
else
  echo "nothing to stop ($DIR/data/postmaster.pid is absent)" >&2
fi
if [ "${1:-}" = --purge ]; then
  rm -rf "$DIR"
  echo "removed $DIR" >&2
fi
