#!/usr/bin/env bash
# A real S3 server for jetraw's tests: Ceph RADOS Gateway (Debian 12 "pacific" packages).
#
# One ceph-mon, one ceph-osd and radosgw (beast), all on 127.0.0.1, run as plain processes (no
# systemd, no ceph-mgr), serving S3 on HTTP and on HTTPS (a CA and a server certificate for
# 127.0.0.1/localhost made here with openssl). A user with known keys is created.
#
# Idempotent: when the gateway this script started still answers, it only prints the
# environment again. Otherwise leftover daemons of an earlier run (by their saved PIDs, never
# by name) are killed, the data directory is wiped and a fresh cluster is made.
#
# Prints `export NAME=value` lines on stdout (also kept in $DIR/env), so
#   eval "$(scripts/rgw/start.sh)"
# sets JETRAW_TEST_RGW_HTTP, JETRAW_TEST_RGW_HTTPS, JETRAW_TEST_RGW_CA,
# JETRAW_TEST_RGW_ACCESS_KEY, JETRAW_TEST_RGW_SECRET_KEY. Progress goes to stderr, daemon logs
# stay in $DIR/log for CI diagnosis. Stop with scripts/rgw/stop.sh.
#
# Settings (environment, all optional):
#   JETRAW_RGW_DIR          data, logs, certificates   (default /tmp/jetraw-rgw)
#   JETRAW_RGW_HTTP_PORT    S3 over HTTP               (default: a free loopback port)
#   JETRAW_RGW_HTTPS_PORT   S3 over HTTPS              (default: a free loopback port)
#   JETRAW_RGW_OBJECTSTORE  bluestore | memstore       (default bluestore: a sparse file, so a
#                           long suite does not keep every byte it wrote in RAM)
#   JETRAW_RGW_NO_INSTALL=1 never run apt-get (fail if the packages are missing)
set -euo pipefail

DIR=${JETRAW_RGW_DIR:-/tmp/jetraw-rgw}
HOST=127.0.0.1
OBJECTSTORE=${JETRAW_RGW_OBJECTSTORE:-bluestore}
ACCESS_KEY=JETRAWTESTACCESSKEY0
SECRET_KEY=jetraw-test-secret-key-0123456789abcdefgh
CONF=$DIR/ceph.conf
PIDS=$DIR/pids
STARTED=$(date +%s%N)

say() { echo "[rgw $(date +%T)] $*" >&2; }
die() {
  say "ERROR: $*"
  for f in "$DIR"/log/*; do
    [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; }
  done
  # Leave no half-started cluster behind.
  if [ -f "$PIDS" ]; then
    while read -r _ pid; do ours "$pid" && kill -KILL "$pid" 2>/dev/null; done <"$PIDS"
  fi
  exit 1
}
ceph_() { timeout 30 ceph -c "$CONF" --connect-timeout 20 "$@"; }
ours() {  # a PID we saved that is still one of our daemons: not reused, not a zombie
  [ -n "${1:-}" ] && grep -qxE 'ceph-mon|ceph-osd|radosgw' "/proc/$1/comm" 2>/dev/null \
    && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# N distinct free loopback ports (all held open while chosen, so no two are the same).
free_ports() {
  python3 -c 'import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}
answers() {  # both endpoints give an HTTP status (any) with our CA
  local http https
  http=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$HOST:$HTTP_PORT/" || true)
  https=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$DIR/tls/ca.pem" \
    "https://$HOST:$HTTPS_PORT/" || true)
  [ "${http:-000}" != 000 ] && [ "${https:-000}" != 000 ]
}
write_env() {
  cat >"$DIR/env" <<EOF
export JETRAW_TEST_RGW_HTTP=http://$HOST:$HTTP_PORT
export JETRAW_TEST_RGW_HTTPS=https://$HOST:$HTTPS_PORT
export JETRAW_TEST_RGW_CA=$DIR/tls/ca.pem
export JETRAW_TEST_RGW_ACCESS_KEY=$ACCESS_KEY
export JETRAW_TEST_RGW_SECRET_KEY=$SECRET_KEY
EOF
  cat "$DIR/env"
  say "ready in $(( ($(date +%s%N) - STARTED) / 1000000 )) ms: $DIR/env"
}

# -- 0. already running? ----------------------------------------------------------------------
if [ -f "$PIDS" ] && [ -f "$DIR/ports" ]; then
  # shellcheck source=/dev/null
  . "$DIR/ports"
  running=1
  while read -r _ pid; do ours "$pid" || running=0; done <"$PIDS"
  if [ "$running" = 1 ] && answers; then
    say "already running"
    write_env
    exit 0
  fi
  say "stale state in $DIR: killing what is left of it"
  while read -r _ pid; do ours "$pid" && kill -KILL "$pid" 2>/dev/null || true; done <"$PIDS"
  for _ in $(seq 50); do
    left=0
    while read -r _ pid; do ours "$pid" && left=1; done <"$PIDS"
    [ "$left" = 0 ] && break
    sleep 0.1
  done
fi

# -- 1. packages (idempotent) -----------------------------------------------------------------
need=()
for pkg in radosgw ceph-mon ceph-osd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  [ "${JETRAW_RGW_NO_INSTALL:-0}" = 1 ] && die "missing packages: ${need[*]}"
  say "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# -- 2. a private directory, ports, certificates, config --------------------------------------
rm -rf "$DIR"
mkdir -p "$DIR"/{run,log,mon,osd/0,rgw,crash,tls}
read -r p1 p2 MON_V1 MON_V2 <<<"$(free_ports 4)"
HTTP_PORT=${JETRAW_RGW_HTTP_PORT:-$p1}
HTTPS_PORT=${JETRAW_RGW_HTTPS_PORT:-$p2}
printf 'HTTP_PORT=%s\nHTTPS_PORT=%s\n' "$HTTP_PORT" "$HTTPS_PORT" >"$DIR/ports"

# A CA and a server certificate it signed (a self-signed leaf fails strict verification, which
# Python 3.13 turns on by default).
(
  cd "$DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout ca.key -out ca.pem \
    -subj "/CN=jetraw test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=hash" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile server.ext -out server.pem 2>/dev/null
) || die "openssl could not make the certificates"

FSID=$(cat /proc/sys/kernel/random/uuid)
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:$HOST:$MON_V2,v1:$HOST:$MON_V1]
public addr = $HOST
public network = 127.0.0.0/8
ms bind ipv6 = false
# A throw-away loopback cluster: no cephx. radosgw then needs the mon connection in crc mode,
# else it fails with "get_initial_auth_request returned -13".
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
mon warn on insecure global id reclaim allowed = false
run dir = $DIR/run
crash dir = $DIR/crash
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $DIR/log/cluster.log
keyring = $DIR/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
# No ceph-mgr runs: do not warn about it.
mon mgr mkfs grace = 31536000
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $DIR/mon/\$id
# Short map epochs: pool creation and the OSD boot take ms instead of seconds.
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = $DIR/osd/\$id
osd objectstore = $OBJECTSTORE
memstore device bytes = 4294967296
# Not "block": bluestore makes a symlink of that name in the OSD's directory.
bluestore block path = $DIR/osd/\$id/block.img
bluestore block create = true
bluestore block size = 21474836480
bluestore block db create = false
bluestore block wal create = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw.a]
rgw frontends = beast endpoint=$HOST:$HTTP_PORT ssl_endpoint=$HOST:$HTTPS_PORT ssl_certificate=$DIR/tls/server.pem ssl_private_key=$DIR/tls/server.key
rgw data = $DIR/rgw
rgw thread pool size = 64
# Reclaim what deleted objects leave behind after 30 s, not 2 h.
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null

# -- 3. mon, osd, pools, radosgw --------------------------------------------------------------
monmaptool --create --fsid "$FSID" --addv a "[v2:$HOST:$MON_V2,v1:$HOST:$MON_V1]" \
  "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
  >"$DIR/log/mon-mkfs.out" 2>&1 || die "ceph-mon --mkfs failed"
: >"$PIDS"
setsid ceph-mon -f -c "$CONF" -i a >"$DIR/log/mon.out" 2>&1 </dev/null &
echo "mon $!" >>"$PIDS"
for i in $(seq 100); do
  ceph_ mon stat >/dev/null 2>&1 && break
  [ "$i" = 100 ] && die "the mon did not come up"
  sleep 0.2
done
say "mon up"

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
[ "$(ceph_ osd new "$OSD_UUID")" = 0 ] || die "ceph osd new did not give osd.0"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1 \
  || die "ceph-osd --mkfs failed"
setsid ceph-osd -f -c "$CONF" -i 0 >"$DIR/log/osd.out" 2>&1 </dev/null &
echo "osd $!" >>"$PIDS"
for i in $(seq 300); do
  ceph_ osd dump 2>/dev/null | grep -q '^osd.0 up' && break
  [ "$i" = 300 ] && die "osd.0 did not come up"
  sleep 0.2
done
say "osd up ($OBJECTSTORE)"

# The pools radosgw would otherwise create one by one on first use (a second or two each).
for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log \
  default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
  ceph_ osd pool create "$pool" 8 8 >/dev/null 2>&1 || die "creating pool $pool failed"
  ceph_ osd pool application enable "$pool" rgw >/dev/null 2>&1 || true
done

setsid radosgw -f -c "$CONF" -n client.rgw.a >"$DIR/log/rgw.out" 2>&1 </dev/null &
rgw_pid=$!
echo "rgw $rgw_pid" >>"$PIDS"
for i in $(seq 300); do
  answers && break
  ours "$rgw_pid" || die "radosgw exited"
  [ "$i" = 300 ] && die "radosgw did not answer on ports $HTTP_PORT/$HTTPS_PORT"
  sleep 0.2
done
say "radosgw up: http $HTTP_PORT, https $HTTPS_PORT"

timeout 60 radosgw-admin -c "$CONF" user create --uid jetraw-test \
  --display-name "jetraw tests" --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" \
  >"$DIR/log/user-create.out" 2>&1 || die "radosgw-admin user create failed"
write_env
