#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for jetraw's tests (Debian 12 package `postgresql`).
#
# PostgreSQL refuses to run as root, so the cluster belongs to an unprivileged user (created
# here when missing; the current user when not root). It listens on 127.0.0.1 only, trusts
# local connections (a throwaway test cluster, never for production) and runs with fsync off.
#
# Idempotent: when the cluster this script started still answers, it only prints the
# environment again; otherwise a fresh cluster is made in $DIR.
#
# Prints `export NAME=value` lines on stdout (also kept in $DIR/env), so
#   eval "$(scripts/postgresql/start.sh)"
# sets JETRAW_TEST_POSTGRESQL_URL (a superuser on database `jetraw`; the tests create their own
# databases and schemas beside it). Progress goes to stderr, the server log is $DIR/log.
# Stop with scripts/postgresql/stop.sh.
#
# Settings (environment, all optional):
#   JETRAW_PG_DIR          data and log                 (default /tmp/jetraw-pg)
#   JETRAW_PG_PORT         port on 127.0.0.1            (default: a free loopback port)
#   JETRAW_PG_USER         OS user owning the cluster   (default pgtest when root)
#   JETRAW_PG_NO_INSTALL=1 never run apt-get (fail if the package is missing)
set -euo pipefail

DIR=${JETRAW_PG_DIR:-/tmp/jetraw-pg}
BIN=/usr/lib/postgresql/15/bin
HOST=127.0.0.1
ROLE=jr

if [ -f "$DIR/env" ] && [ -f "$DIR/data/postmaster.pid" ]; then
  # shellcheck disable=SC1091
  . "$DIR/env"
  port=${JETRAW_TEST_POSTGRESQL_URL##*:}; port=${port%%/*}
  if "$BIN/pg_isready" -q -h "$HOST" -p "$port"; then
    cat "$DIR/env"
    exit 0
  fi
fi

if [ ! -x "$BIN/postgres" ]; then
  if [ "${JETRAW_PG_NO_INSTALL:-0}" = 1 ]; then
    echo "PostgreSQL 15 is not installed ($BIN/postgres missing)" >&2
    exit 1
  fi
  echo "installing postgresql (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if [ "$(id -u)" = 0 ]; then
  OWNER=${JETRAW_PG_USER:-pgtest}
  id "$OWNER" >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin "$OWNER"
  as_owner() { su "$OWNER" -s /bin/sh -c "$1"; }
else
  OWNER=$(id -un)
  as_owner() { sh -c "$1"; }
fi

PORT=${JETRAW_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

# A leftover cluster of an earlier run: stop it by its data directory, then start afresh.
if [ -f "$DIR/data/postmaster.pid" ]; then
  as_owner "$BIN/pg_ctl -D '$DIR/data' stop -m immediate" >&2 || true
fi
rm -rf "$DIR"
mkdir -p "$DIR"
chown "$OWNER" "$DIR"
chmod 0700 "$DIR"

echo "initdb in $DIR/data (owner $OWNER)" >&2
as_owner "$BIN/initdb -A trust -U $ROLE -E UTF8 --locale=C.UTF-8 -D '$DIR/data'" >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
as_owner "$BIN/pg_ctl -D '$DIR/data' -l '$DIR/log' -w -t 60 start \
  -o \"-k '$DIR' -h $HOST -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\"" >&2 \
  || { cat "$DIR/log" >&2; exit 1; }
"$BIN/createdb" -h "$HOST" -p "$PORT" -U "$ROLE" jetraw

URL="postgresql://$ROLE@$HOST:$PORT/jetraw"
echo "export JETRAW_TEST_POSTGRESQL_URL=$URL" >"$DIR/env"
echo "PostgreSQL 15 on $HOST:$PORT (data $DIR/data, log $DIR/log)" >&2
cat "$DIR/env"
