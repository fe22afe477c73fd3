#!/usr/bin/env bash
# A test bed of "hosts" on one machine: unprivileged libvirtd daemons side by side, each with its
# own XDG directories, host_uuid (migration refuses "the same host" otherwise) and migration port
# range, each under `tini -s` so that the QEMU processes it leaves are reaped (else every destroy
# and migration stalls ~2 s). Guests are TCG (domain type qemu): no KVM needed.
#
#   hosts.sh up DIR N [--guest|--ceph]
#                              start N daemons h1..hN under DIR, write DIR/inventory.yaml;
#                              --guest: VMs boot the tiny guest (guest/build.sh, cached in
#                              $TESTBED_GUEST_DIR, default /var/tmp/vm-testbed-guest) with their
#                              disks in the hosts' directories DIR/hN/disks and consoles in
#                              DIR/serial; --ceph: the same, and a Ceph cluster under DIR/ceph
#                              (ceph.sh; monitor port $CEPH_MON_PORT, default a free one of
#                              3300-3899) for persistent-ha volumes (`storage.ceph`)
#   hosts.sh kill DIR HOST     kill HOST as a power cut would: its daemon and its QEMUs, SIGKILL
#   hosts.sh restart DIR HOST  start HOST's daemon again (after kill)
#   hosts.sh freeze DIR HOST   stop HOST's daemon (SIGSTOP): it hangs, its QEMUs run on
#   hosts.sh thaw DIR HOST     resume it (SIGCONT)
#   hosts.sh down DIR          destroy every guest, stop every daemon, kill what is left, then
#                              stop the Ceph cluster if there is one (its OSDs before its monitor)
#
# The inventory gives each host a fence command (off: kill, on: restart), so that the adapter can
# cut a host's power as a fence agent would, and `failures.trace` can crash hosts.
#
# As root the daemons run as `nobody` (libvirt's session mode needs an unprivileged user; root
# may still connect to their sockets). Only processes started here are signalled, by pid.
set -euo pipefail

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

die() { echo "hosts.sh: $*" >&2; exit 2; }

need() { command -v "$1" >/dev/null || die "$1 not found (apt-get install --no-install-recommends libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 tini)"; }

sock() { echo "$1/$2/run/libvirt/libvirt-sock"; }
uri() { echo "qemu:///session?socket=$(sock "$1" "$2")"; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"
  else
    "$@"
  fi
}

start_daemon() {
  local dir=$1 host=$2 h="$1/$2"
  rm -f "$h/run/libvirt/libvirt-sock" "$h/tini.pid"
  # setsid: the daemon does not belong to the caller's process group or terminal.
  as_owner env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$h" LANG=C \
    XDG_CONFIG_HOME="$h/config" XDG_RUNTIME_DIR="$h/run" XDG_CACHE_HOME="$h/cache" XDG_DATA_HOME="$h/data" \
    setsid sh -c 'echo $$ >"$0" && exec tini -s -- libvirtd --timeout 0' "$h/tini.pid" >>"$h/libvirtd.log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    if [ -S "$h/run/libvirt/libvirt-sock" ] && virsh -q -c "$(uri "$dir" "$host")" uri >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$host: libvirtd did not come up; see $h/libvirtd.log"
}

# Every process the host's tini has: libvirtd and the QEMUs it reparented (tini is their subreaper).
host_pids() {
  local pidfile="$1/$2/tini.pid" tini
  [ -f "$pidfile" ] || return 0
  tini=$(cat "$pidfile")
  [ -d "/proc/$tini" ] || return 0
  # Children of tini, from /proc (no procps needed): the ppid is the 2nd field after the ") ".
  local stat line rest pid
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    rest=${line##*) }
    set -- $rest
    if [ "${2:-}" = "$tini" ]; then pid=${stat#/proc/}; echo "${pid%/stat}"; fi
  done
}

kill_host() {
  local dir=$1 host=$2 pids tini
  [ -f "$dir/$host/tini.pid" ] || die "$host: no such host under $dir"
  tini=$(cat "$dir/$host/tini.pid")
  pids=$(host_pids "$dir" "$host")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  for _ in $(seq 1 50); do [ -d "/proc/$tini" ] || break; sleep 0.1; done
  kill -KILL "$tini" 2>/dev/null || true
}

# Stops (STOP) or resumes (CONT) the host's libvirtd: a hung daemon, or one cut off from the
# controller, while its QEMUs go on running.
signal_daemon() {
  local dir=$1 host=$2 sig=$3 pid comm
  for pid in $(host_pids "$dir" "$host"); do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    if [ "$comm" = libvirtd ]; then kill "-$sig" "$pid"; return 0; fi
  done
  die "$host: no libvirtd running under $dir"
}

cmd=${1:-}
case "$cmd" in
  up)
    dir=${2:?DIR}; n=${3:?N}; storage=${4:-}
    need libvirtd; need virsh; need tini; need qemu-system-x86_64
    [[ "$n" =~ ^[1-9]$ ]] || die "N must be 1..9"
    case "$storage" in ""|--guest|--ceph) ;; *) die "unknown option $storage (expected --guest or --ceph)" ;; esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # Sockets live under DIR: keep it short (108 bytes for a unix socket path).
    [ ${#dir} -le 60 ] || die "DIR path too long for unix sockets: $dir"
    # The daemons (nobody, as root) must reach their directories under DIR.
    [ "$(id -u)" != 0 ] || chmod 711 "$dir"
    base=$((49152 + (RANDOM % 500) * 32))
    {
      echo "# written by test/libvirt/hosts.sh: $n libvirtd daemons on this machine"
      echo "defaults:"
      echo "  migrationAddress: 127.0.0.1"
    } >"$dir/inventory.yaml"
    if [ -n "$storage" ]; then
      need qemu-img
      guest=${TESTBED_GUEST_DIR:-/var/tmp/vm-testbed-guest}
      bash "$(dirname "$self")/guest/build.sh" "$guest" >/dev/null || die "building the guest in $guest failed"
      mkdir -p "$dir/serial"
      [ "$(id -u)" != 0 ] || chown nobody:nogroup "$dir/serial"
      printf 'guest:\n  kernel: %s\n  initrd: %s\n  baseImage: %s\n  serialDir: %s\n' "$guest/vmlinuz" "$guest/initrd.gz" "$guest/base.img" "$dir/serial" >>"$dir/inventory.yaml"
    fi
    if [ "$storage" = --ceph ]; then
      need ceph; need rbd
      port=${CEPH_MON_PORT:-}
      if [ -z "$port" ]; then
        for _ in $(seq 1 50); do
          port=$((3300 + RANDOM % 600))
          (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
        done
      fi
      CEPH_MON_PORT=$port bash "$(dirname "$self")/ceph.sh" up "$dir/ceph" >"$dir/ceph-up.log" 2>&1 || die "ceph.sh up failed; see $dir/ceph-up.log"
      printf 'storage:\n  ceph:\n    conf: %s\n    pool: rbd\n' "$dir/ceph/ceph.conf" >>"$dir/inventory.yaml"
      # Hyperconverged, as far as one machine allows: osd.K stands for disk 0 of host h(K+1)
      # (`disk` rows of failures.trace stop and start it).
      ceph_sh="$(cd "$(dirname "$self")" && pwd)/ceph.sh"
      echo "    osds:" >>"$dir/inventory.yaml"
      for k in 0 1 2; do
        [ "$k" -lt "$n" ] || break
        printf '      - { id: %d, host: h%d, disk: 0, stop: [bash, "%s", osd-stop, "%s", "%d"], start: [bash, "%s", osd-start, "%s", "%d"] }\n' \
          "$k" "$((k + 1))" "$ceph_sh" "$dir/ceph" "$k" "$ceph_sh" "$dir/ceph" "$k" >>"$dir/inventory.yaml"
      done
    fi
    echo "hosts:" >>"$dir/inventory.yaml"
    for i in $(seq 1 "$n"); do
      host="h$i"; h="$dir/$host"
      mkdir -p "$h/config/libvirt" "$h/run" "$h/cache" "$h/data" "$h/disks"
      chmod 700 "$h/run"
      printf 'host_uuid = "%s"\n' "$(cat /proc/sys/kernel/random/uuid)" >"$h/config/libvirt/libvirtd.conf"
      lo=$((base + (i - 1) * 32))
      printf 'stdio_handler = "file"\nmigration_port_min = %d\nmigration_port_max = %d\n' "$lo" "$((lo + 31))" >"$h/config/libvirt/qemu.conf"
      [ "$(id -u)" != 0 ] || chown -R nobody:nogroup "$h"
      start_daemon "$dir" "$host"
      printf '  - name: %s\n    uri: "%s"\n    dir: %s\n    fence: { off: [bash, "%s", kill, "%s", %s], on: [bash, "%s", restart, "%s", %s] }\n' \
        "$host" "$(uri "$dir" "$host")" "$h/disks" "$self" "$dir" "$host" "$self" "$dir" "$host" >>"$dir/inventory.yaml"
    done
    echo "$dir/inventory.yaml"
    ;;
  kill)
    kill_host "${2:?DIR}" "${3:?HOST}"
    ;;
  freeze)
    signal_daemon "${2:?DIR}" "${3:?HOST}" STOP
    ;;
  thaw)
    signal_daemon "${2:?DIR}" "${3:?HOST}" CONT
    ;;
  restart)
    dir=${2:?DIR}; host=${3:?HOST}
    [ -d "$dir/$host/config" ] || die "$host: no such host under $dir"
    kill_host "$dir" "$host"
    start_daemon "$dir" "$host"
    ;;
  down)
    dir=${2:?DIR}
    [ -d "$dir" ] || exit 0
    for h in "$dir"/h*/; do
      host=$(basename "$h")
      [ -f "$h/tini.pid" ] || continue
      if [ -n "$(host_pids "$dir" "$host")" ]; then
        u=$(uri "$dir" "$host")
        for d in $(timeout 5 virsh -q -c "$u" list --name 2>/dev/null || true); do timeout 5 virsh -q -c "$u" destroy "$d" >/dev/null 2>&1 || true; done
      fi
      kill_host "$dir" "$host"
      rm -f "$h/tini.pid"
    done
    if [ -f "$dir/ceph/ceph.conf" ]; then bash "$(dirname "$self")/ceph.sh" down "$dir/ceph"; fi
    ;;
  *)
    die "usage: hosts.sh up DIR N [--guest|--ceph] | kill DIR HOST | restart DIR HOST | freeze DIR HOST | thaw DIR HOST | down DIR"
    ;;
esac
