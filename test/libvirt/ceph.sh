#!/usr/bin/env bash
# A real, small Ceph cluster on this machine, without systemd: 1 monitor, 1 manager, 3 OSDs, all
# on 127.0.0.1, every file (data, sockets, logs, pids) under DIR. For the libvirt tests' network
# disks (QEMU's rbd driver) next to test/libvirt/hosts.sh.
#
#   ceph.sh up DIR          create the cluster (or start the one already in DIR), wait until the
#                           pool `rbd` is usable, print how to use it
#   ceph.sh down DIR        stop the OSDs, then the manager and the monitor; nothing is left running
#   ceph.sh osd-stop DIR N  stop OSD N (0..2) gracefully: the monitor marks it down at once
#   ceph.sh osd-start DIR N start it again and wait until it is up
#   ceph.sh status DIR      daemons (pid or "stopped"), `ceph -s`, `ceph osd tree`
#
# Packages (Debian 12): apt-get install --no-install-recommends ceph-mon ceph-osd ceph-mgr
# ceph-common qemu-block-extra (Ceph 16.2.15+ds-0+deb12u2, QEMU 1:7.2+dfsg-7+deb12u18; 55 MB to
# download next to libvirt/QEMU, 260 MB installed; qemu-block-extra is QEMU's rbd driver).
# qemu-img (for qcow2 overlays) is in qemu-utils, not pulled in by the above.
#
# Measured (2 cores, TCG, 2026-12; n and min-max; "loaded" = another job kept load at 6-15):
#   up, new cluster      11.0-17.5 s (n=8; above 13.4 s only when loaded)   down  0.8-1.6 s (n=10)
#   up, existing cluster  5.0-13.6 s (n=5)     osd-stop 0.9-1.0 s (n=4)   osd-start 1.9-2.3 s (n=5)
#   RSS: mon 40 MB, mgr 310 MB, each OSD 40 MB + its objects (memstore); DIR ~1.5 MB per OSD
#   after a save of one 16 MiB image.
#
# Choices:
# - objectstore memstore: objects in the OSD's RAM, no disks, no block devices, nothing to
#   prepare. A memstore OSD writes its objects into DIR/osd/ceph-N only on a full shutdown, so
#   the config sets `osd fast shutdown = false` (Pacific's default fast shutdown skips it and the
#   OSD comes back empty) and a daemon gets exactly one SIGTERM (a second SIGTERM while it shuts
#   down kills it at once, unsaved). Then osd-stop/osd-start and down/up keep the images
#   (checked: rbd export after down/up = the imported file; boot counts go on across down/up).
#   An OSD killed with SIGKILL comes back with its last saved store and recovers from the other
#   two (checked once: active+clean within seconds).
# - auth none (cluster, service, client): no keyrings, so QEMU running as `nobody` needs only
#   DIR/ceph.conf (world-readable, DIR 755) and libvirt needs no <auth>/secret.
# - mon host v2:127.0.0.1:PORT (CEPH_MON_PORT, default 3300; several clusters side by side work
#   with different ports), msgr v2 only, OSDs on 127.0.0.1 ports 6800-7300.
# - `osd crush chooseleaf type = 0`: the 3 replicas go to 3 OSDs on this one host.
# - pool rbd: size 3, min_size 2, 8 PGs, autoscaler off. 1 OSD down: guest I/O goes on
#   (degraded); 2 down: I/O blocks (a guest's writes and syncs hang, no error) and resumes within
#   ~1 s of `osd-start` returning. `up` waits until all 8 PGs of rbd are active.
# - `mon osd down out interval = 0`: a stopped OSD is never marked out, no rebalancing.
# - [client] admin socket = (empty): librbd inside QEMU (as nobody) would otherwise try to create
#   its socket in /var/run/ceph. [client] log file = DIR/log/client.log, mode 666 (created by
#   `up`, else the first root client creates it 644 and QEMU as nobody cannot log): that is where
#   QEMU's rbd client logs go (nearly nothing unless e.g. `debug rbd = 5` is added under
#   [client]; checked). QEMU's own errors ("error connecting: Connection timed out") are in the
#   libvirt host's domain log: HOSTSDIR/hN/cache/libvirt/qemu/log/NAME.log.
# - [client] client mount timeout = 15: with the cluster down, `virsh start` of a guest with an
#   rbd disk fails after 15.6 s instead of hanging for 300 s (the default).
# - Daemons run as root with -f (foreground), each started with setsid; their pids are in
#   DIR/run/NAME.pid. Only those pids are ever signalled. PID 1 here reaps orphans late: a
#   stopped daemon stays a zombie for a while, so "running" means "in /proc and not Z".
# - Stop order: OSDs before the monitor. An OSD whose monitor is gone waits for it
#   (osd_mon_shutdown_timeout) and takes 5.3 s to stop instead of 1 s.
#
# Use:  export CEPH_CONF=DIR/ceph.conf; ceph -s; rbd import base.img rbd/NAME (0.08-0.14 s for
# the 16 MiB guest disk; sparse) or rbd create --size 16 rbd/NAME and then
# qemu-img convert -n -f raw -O raw base.img rbd:rbd/NAME:conf=DIR/ceph.conf (0.1 s), or a
# copy-on-write clone: rbd snap create rbd/base@gold; rbd snap protect rbd/base@gold;
# rbd clone rbd/base@gold rbd/NAME (0.11-0.13 s).
# libvirt disk (no auth; <host> may be left out, the conf names the monitor; both checked):
#   <disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>
#     <source protocol='rbd' name='rbd/NAME'><host name='127.0.0.1' port='3300'/>
#       <config file='DIR/ceph.conf'/></source><target dev='vda' bus='virtio'/></disk>
# Live migration of such a guest needs no --unsafe (0.9-1.1 s, n=5).
# RBD exclusive lock (on by default: layering, exclusive-lock, object-map, fast-diff,
# deep-flatten): the running QEMU holds it from its first write. After its host dies, a QEMU
# started elsewhere boots but its first write waits until the dead client's watch times out:
# BOOT_COUNT 28.4-29.1 s after the kill (n=3) instead of ~4.7-5.4 s (n=3) when the dead client
# is blocklisted first (the blocklist command itself takes 0.6-1.2 s):
#   rbd lock ls --format json rbd/NAME
#     -> [{"id":"auto 140573205954048","locker":"client.14356","address":"127.0.0.1:0/2427221780"}]
#   (or rbd status rbd/NAME -> "watcher=127.0.0.1:0/2427221780 client.14356 cookie=...", the same
#   address, but the watcher disappears after ~30 s while the lock stays)
#   ceph osd blocklist add 127.0.0.1:0/2427221780      (expires after 1 h; ceph osd blocklist ls)
set -euo pipefail

die() { echo "ceph.sh: $*" >&2; exit 2; }

need() { command -v "$1" >/dev/null || die "$1 not found (apt-get install --no-install-recommends ceph-mon ceph-osd ceph-mgr ceph-common qemu-block-extra)"; }

NOSDS=3

conf() { echo "$1/ceph.conf"; }
c() { local dir=$1; shift; timeout "${CEPH_TIMEOUT:-20}" ceph -c "$(conf "$dir")" "$@"; }

pidof_name() { local f="$1/run/$2.pid"; [ -f "$f" ] && cat "$f"; }
# A pid counts as running when it exists and is not a zombie.
alive() {
  local pid=$1 line rest
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  { read -r line <"/proc/$pid/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  [ "${rest%% *}" != Z ]
}
running() { alive "$(pidof_name "$1" "$2" || true)"; }

# start DIR NAME CMD...: CMD in the foreground of a new session, pid in DIR/run/NAME.pid.
start() {
  local dir=$1 name=$2; shift 2
  setsid sh -c 'echo $$ >"$0"; exec "$@"' "$dir/run/$name.pid" "$@" >>"$dir/log/$name.out" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$dir/run/$name.pid" ] && return 0; sleep 0.1; done
  die "$name did not start; see $dir/log/$name.out"
}

# stop DIR NAME [TIMEOUT [SIGNALLED]]: SIGTERM (unless SIGNALLED=1: already sent), wait; SIGKILL
# when TIMEOUT (s) has passed. Never a second SIGTERM: a Ceph daemon that gets one while it shuts
# down dies at once, and an OSD then has not written its memstore.
stop() {
  local dir=$1 name=$2 t=${3:-30} signalled=${4:-0} pid
  pid=$(pidof_name "$dir" "$name" || true)
  if alive "$pid"; then
    [ "$signalled" = 1 ] || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((t * 10))); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "ceph.sh: $name ($pid) did not stop in ${t}s, SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$dir/run/$name.pid"
}

write_conf() {
  local dir=$1 fsid=$2 port=$3
  cat >"$(conf "$dir")" <<EOF
# written by test/libvirt/ceph.sh
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
mon warn on pool no redundancy = false
mon allow pool delete = true
mon osd down out interval = 0
mon warn on osd down out interval zero = false
mon data avail warn = 2
mon data avail crit = 1
osd pool default size = 3
osd pool default min size = 2
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
# memstore writes its objects to DIR/osd/ceph-N only on a full shutdown (umount); the default
# fast shutdown (Pacific) skips that and the OSD comes back empty.
osd fast shutdown = false
memstore device bytes = 1073741824
osd op num shards = 2
osd op num threads per shard = 1
run dir = $dir/run
pid file =
admin socket = $dir/run/\$cluster-\$name.asok
log file = $dir/log/\$cluster-\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
mgr data = $dir/mgr/\$cluster-\$id
keyring = $dir/keyring
crash dir = $dir/crash

[mgr]
mgr initial modules = iostat

[client]
admin socket =
# A client that cannot reach the monitor (cluster down) gives up after 15 s instead of 300 s:
# virsh start of a guest with an rbd disk then fails instead of hanging for five minutes.
client mount timeout = 15
log file = $dir/log/client.log
EOF
  chmod 644 "$(conf "$dir")"
}

wait_osd_up() {
  local dir=$1 n=$2 end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    if CEPH_TIMEOUT=10 c "$dir" osd dump 2>/dev/null | grep -q "^osd\.$n up "; then return 0; fi
    running "$dir" "osd.$n" || die "osd.$n exited; see $dir/log/ceph-osd.$n.log and $dir/log/osd.$n.out"
    sleep 0.1
  done
  die "osd.$n not up after 60 s"
}

start_mon() {
  local dir=$1
  running "$dir" mon.a && return 0
  start "$dir" mon.a ceph-mon -f -c "$(conf "$dir")" -i a
  for _ in $(seq 1 300); do
    c "$dir" mon stat >/dev/null 2>&1 && return 0
    running "$dir" mon.a || die "mon.a exited; see $dir/log/ceph-mon.a.log"
    sleep 0.1
  done
  die "mon.a not answering after 30 s"
}

start_osd() {
  local dir=$1 n=$2
  running "$dir" "osd.$n" && return 0
  if [ ! -s "$dir/osd/ceph-$n/whoami" ] || [ ! -e "$dir/osd/ceph-$n/collections" ]; then
    # A new OSD, or one whose memstore was never saved: (re)create it.
    local uuid
    uuid=$(cat "$dir/osd/ceph-$n/fsid" 2>/dev/null || cat /proc/sys/kernel/random/uuid)
    rm -rf "$dir/osd/ceph-$n"; mkdir -p "$dir/osd/ceph-$n"
    local id
    id=$(c "$dir" osd new "$uuid" "$n")
    [ "$id" = "$n" ] || die "osd new gave id $id, wanted $n"
    ceph-osd -c "$(conf "$dir")" -i "$n" --mkfs --osd-uuid "$uuid" >>"$dir/log/osd.$n.out" 2>&1 ||
      die "osd.$n mkfs failed; see $dir/log/osd.$n.out"
  fi
  start "$dir" "osd.$n" ceph-osd -f -c "$(conf "$dir")" -i "$n"
}

# Waits until every PG of pool rbd is active (I/O possible). `pg ls-by-pool` is answered by the mgr.
wait_active() {
  local dir=$1 end=$((SECONDS + 120))
  while [ $SECONDS -lt $end ]; do
    if CEPH_TIMEOUT=10 c "$dir" pg ls-by-pool rbd -f json 2>/dev/null | python3 -c '
import json, sys
pgs = json.load(sys.stdin).get("pg_stats", [])
sys.exit(0 if len(pgs) >= 8 and all(p["state"].startswith("active") for p in pgs) else 1)' 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  die "pool rbd not active after 120 s; see ceph.sh status $dir"
}

usage_text() {
  local dir=$1 port
  port=$(sed -n 's/^mon host = v2:127.0.0.1:\([0-9]*\)$/\1/p' "$(conf "$dir")")
  cat <<EOF
$(conf "$dir")
# Ceph is up: 1 mon (v2:127.0.0.1:$port), 3 OSDs (memstore), pool rbd (size 3, min_size 2), auth none.
#   export CEPH_CONF=$(conf "$dir")
#   ceph -s; rbd create --size 16 rbd/NAME; rbd import FILE rbd/NAME; rbd status rbd/NAME
# libvirt: <source protocol='rbd' name='rbd/NAME'><host name='127.0.0.1' port='$port'/><config file='$(conf "$dir")'/></source>
EOF
}

cmd=${1:-}
case "$cmd" in
  up)
    dir=${2:?DIR}
    need ceph-mon; need ceph-osd; need ceph-mgr; need ceph; need monmaptool
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    [ ${#dir} -le 70 ] || die "DIR path too long for unix sockets: $dir"
    # QEMU as nobody reads DIR/ceph.conf and writes DIR/log/client/.
    chmod 755 "$dir"
    mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/mgr/ceph-x" "$dir/crash"
    # Every client (ceph, rbd, QEMU as nobody) appends to one log file: it must exist, writable by all.
    touch "$dir/log/client.log"; chmod 666 "$dir/log/client.log"; chmod 755 "$dir/log"
    port=${CEPH_MON_PORT:-3300}
    if [ ! -d "$dir/mon/ceph-a/store.db" ] || [ ! -f "$dir/ceph.conf" ]; then
      # A new cluster.
      rm -rf "$dir/mon/ceph-a" "$dir/osd"/* "$dir/monmap"
      fsid=$(cat /proc/sys/kernel/random/uuid)
      write_conf "$dir" "$fsid" "$port"
      : >"$dir/keyring"
      monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
      ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
      ceph-mon -c "$(conf "$dir")" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >>"$dir/log/mon.a.out" 2>&1 ||
        die "mon mkfs failed; see $dir/log/mon.a.out"
      start_mon "$dir"
      start "$dir" mgr.x ceph-mgr -f -c "$(conf "$dir")" -i x
      for n in $(seq 0 $((NOSDS - 1))); do start_osd "$dir" "$n"; done
      for n in $(seq 0 $((NOSDS - 1))); do wait_osd_up "$dir" "$n"; done
      c "$dir" osd pool create rbd 8 8 replicated >/dev/null 2>&1
      c "$dir" osd pool set rbd size 3 >/dev/null 2>&1
      c "$dir" osd pool set rbd min_size 2 >/dev/null 2>&1
      c "$dir" osd pool application enable rbd rbd >/dev/null 2>&1
    else
      # The cluster in DIR again: same fsid and port, the configuration as this script writes it now.
      fsid=$(sed -n 's/^fsid = //p' "$(conf "$dir")")
      port=$(sed -n 's/^mon host = v2:127.0.0.1:\([0-9]*\)$/\1/p' "$(conf "$dir")")
      write_conf "$dir" "$fsid" "$port"
      start_mon "$dir"
      running "$dir" mgr.x || start "$dir" mgr.x ceph-mgr -f -c "$(conf "$dir")" -i x
      for n in $(seq 0 $((NOSDS - 1))); do start_osd "$dir" "$n"; done
      for n in $(seq 0 $((NOSDS - 1))); do wait_osd_up "$dir" "$n"; done
    fi
    wait_active "$dir"
    usage_text "$dir"
    ;;
  down)
    dir=${2:?DIR}
    [ -d "$dir/run" ] || exit 0
    # OSDs first (together), then the manager, then the monitor.
    for n in $(seq 0 $((NOSDS - 1))); do
      pid=$(pidof_name "$dir" "osd.$n" || true); ! alive "$pid" || kill -TERM "$pid" 2>/dev/null || true
    done
    for n in $(seq 0 $((NOSDS - 1))); do stop "$dir" "osd.$n" 30 1; done
    stop "$dir" mgr.x 15
    stop "$dir" mon.a 15
    ;;
  osd-stop)
    dir=${2:?DIR}; n=${3:?N}
    [[ "$n" =~ ^[0-9]$ ]] && [ "$n" -lt "$NOSDS" ] || die "N must be 0..$((NOSDS - 1))"
    stop "$dir" "osd.$n" 30
    ;;
  osd-start)
    dir=${2:?DIR}; n=${3:?N}
    [[ "$n" =~ ^[0-9]$ ]] && [ "$n" -lt "$NOSDS" ] || die "N must be 0..$((NOSDS - 1))"
    running "$dir" mon.a || die "mon.a is not running; ceph.sh up $dir"
    start_osd "$dir" "$n"
    wait_osd_up "$dir" "$n"
    ;;
  status)
    dir=${2:?DIR}
    for name in mon.a mgr.x $(for n in $(seq 0 $((NOSDS - 1))); do echo "osd.$n"; done); do
      if running "$dir" "$name"; then echo "$name running $(pidof_name "$dir" "$name")"; else echo "$name stopped"; fi
    done
    if running "$dir" mon.a; then c "$dir" -s || true; c "$dir" osd tree || true; fi
    ;;
  *)
    die "usage: ceph.sh up DIR | down DIR | osd-stop DIR N | osd-start DIR N | status DIR"
    ;;
esac
