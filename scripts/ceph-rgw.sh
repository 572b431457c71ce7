#!/usr/bin/env bash
# A throw-away single-node Ceph RGW on loopback, for the S3 blob store's tests: one monitor, one memstore OSD (data
# in memory, 1 GiB), radosgw, auth none. Needs Debian's ceph-mon ceph-osd radosgw ceph-common (scripts/test-deps.sh).
#
#   scripts/ceph-rgw.sh up DIR RGW_PORT MON_PORT   DIR must be empty or absent; prints endpoint=, access=, secret=
#   scripts/ceph-rgw.sh down DIR                   stops the daemons by the pid files they wrote under DIR/run
#
# Why these settings: with `auth none` the daemons and clients only talk if `ms mon client mode = crc`; pool size 1
# and crush type 0 let one OSD hold every placement group; memstore keeps the test data off the disk.
set -euo pipefail

ACCESS_KEY=TGACCESS
SECRET_KEY=TGSECRET

FAILURE=
die() { FAILURE="[ceph-rgw] $*"; printf '%s\n' "$FAILURE" >&2; exit 1; }

# The daemons' pids, from the pid files they write (a daemon that exits cleanly removes its own).
pids() { cat "$1"/run/*.pid 2>/dev/null || true; }

# Alive and not a zombie: an exited daemon stays a zombie until init reaps it, which can take seconds here.
running() {
  local state
  state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Waits up to $1 × $2 s for the processes $3… to exit; fails if one is still there.
wait_gone() {
  local tries=$1 interval=$2 pid alive
  shift 2
  for _ in $(seq 1 "$tries"); do
    alive=0
    for pid in "$@"; do running "$pid" && alive=1; done
    [ $alive = 0 ] && return 0
    sleep "$interval"
  done
  return 1
}

stop_daemons() {
  local dir=$1 pid daemons
  # Read once: a daemon removes its pid file while it is still shutting down.
  read -ra daemons <<<"$(pids "$dir" | tr '\n' ' ')"
  [ ${#daemons[@]} -eq 0 ] && return 0
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Daemons get 3 s to exit on SIGTERM, then SIGKILL: the data is in memory and thrown away anyway, and a test run
  # must never leave them behind.
  if ! wait_gone 15 0.2 "${daemons[@]}"; then
    for pid in "${daemons[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait_gone 20 0.1 "${daemons[@]}" || { printf '[ceph-rgw] daemons of %s still run after SIGKILL\n' "$dir" >&2; return 1; }
  fi
  # A later `down` must not signal whatever process gets these pids next.
  rm -f "$dir"/run/*.pid
}

log_tail() {
  local dir=$1 f
  for f in "$dir"/log/*.log; do [ -f "$f" ] && { printf '==> %s <==\n' "$(basename "$f")"; tail -n 10 "$f" | cut -c 1-300; }; done
}

# Dies when radosgw's log says its frontend failed (the port is taken, typically).
rgw_failed() {
  local line
  line=$(grep -m 1 -E 'failed to bind|failed initializing frontend' "$1" 2>/dev/null) || return 0
  die "radosgw could not listen on 127.0.0.1:$2: ${line#* * * }"
}

up() {
  local dir=$1 rgw_port=$2 mon_port=$3 conf fsid id
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: run scripts/test-deps.sh (Debian: ceph-mon ceph-osd radosgw ceph-common)"
  done
  [[ $rgw_port =~ ^[0-9]+$ && $mon_port =~ ^[0-9]+$ ]] || die "ports must be numbers (got RGW $rgw_port, MON $mon_port)"
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then die "$dir is not empty: give a fresh directory"; fi
  mkdir -p "$dir"/{run,log,mon,osd,rgw}
  conf="$dir/ceph.conf"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
keyring = $dir/keyring
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
CONF
  # Whatever fails from here on: stop what did start and show why.
  # The reason is repeated after the logs, so that a caller keeping only the end of the output still sees it.
  trap 'status=$?; if [ $status -ne 0 ]; then log_tail "$dir" >&2; stop_daemons "$dir"; printf "%s\n" "${FAILURE:-[ceph-rgw] failed}" >&2; fi' EXIT
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" || die "ceph-mon --mkfs failed"
  ceph-mon -c "$conf" -i a || die "ceph-mon did not start (monitor port $mon_port taken?)"
  if ! id=$(timeout 30 ceph -c "$conf" osd create); then
    grep -q 'Address already in use' "$dir/log/mon.a.log" 2>/dev/null && die "ceph-mon could not listen on 127.0.0.1:$mon_port: Address already in use"
    die "the monitor did not answer within 30 s"
  fi
  mkdir -p "$dir/osd/ceph-$id"
  ceph-osd -c "$conf" -i "$id" --mkfs >"$dir/log/osd-mkfs.out" 2>&1 || die "ceph-osd --mkfs failed"
  ceph-osd -c "$conf" -i "$id" >"$dir/log/osd-start.out" 2>&1 || die "ceph-osd did not start"
  radosgw -c "$conf" -n client.rgw.a || die "radosgw did not start"
  local rgw_log="$dir/log/client.rgw.a.log" ready=0
  for _ in $(seq 1 120); do
    rgw_failed "$rgw_log" "$rgw_port"
    # The port alone could be someone else's: radosgw must also have started its frontend.
    if grep -q 'starting handler: beast' "$rgw_log" 2>/dev/null && timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$rgw_port" 2>/dev/null; then
      ready=1
      break
    fi
    sleep 0.5
  done
  [ $ready = 1 ] || die "radosgw did not listen on 127.0.0.1:$rgw_port within 60 s"
  timeout 60 radosgw-admin -c "$conf" user create --uid=tollgate --display-name=tollgate \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null || die "radosgw-admin could not create the S3 user"
  rgw_failed "$rgw_log" "$rgw_port"
  printf 'endpoint=http://127.0.0.1:%s\naccess=%s\nsecret=%s\n' "$rgw_port" "$ACCESS_KEY" "$SECRET_KEY"
}

case "${1:-}" in
  up)
    [ $# -eq 4 ] || die "usage: ceph-rgw.sh up DIR RGW_PORT MON_PORT"
    up "$(realpath -m "$2")" "$3" "$4"
    ;;
  down)
    [ $# -eq 2 ] || die "usage: ceph-rgw.sh down DIR"
    stop_daemons "$(realpath -m "$2")"
    ;;
  *) die "usage: ceph-rgw.sh up DIR RGW_PORT MON_PORT | ceph-rgw.sh down DIR" ;;
esac
