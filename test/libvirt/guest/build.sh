#!/usr/bin/env bash
# Builds a tiny Linux guest for the libvirt tests from Debian packages alone (nothing installed):
#
#   guest/build.sh OUTDIR      -> OUTDIR/vmlinuz OUTDIR/initrd.gz OUTDIR/base.img (paths printed)
#
# vmlinuz   the kernel of linux-image-cloud-amd64 (`apt-get download` + `dpkg-deb -x`). Serial
#           console (8250), ext4, devtmpfs and gzip initrds are built in; virtio is modules.
# initrd.gz busybox-static + the virtio modules + /init below, cpio newc + gzip (~1.3 MB).
# base.img  16 MiB ext4 (`mke2fs -d`, no mounts) holding `count` = 0 and `ticks` = 0.
#
# Cached: OUTDIR/.inputs records the package versions and this script's hash; when they match and
# the three files exist nothing is rebuilt (a no-op run takes ~0.1 s; a cold build ~5 s,
# 27 MB of downloads kept in OUTDIR/.debs). Everything is world-readable so that QEMU running
# as `nobody` (test/libvirt/hosts.sh) can open it; base.img is read-only for the others: copy it
# (or `rbd import` it, or put a qcow2 overlay on it) to get a disk the guest may write.
#
# /init, chosen by words on the kernel command line:
#   testbed.mode=count   insmod virtio, mount the disk, count += 1, sync, print BOOT_COUNT=n,
#                        unmount, power off (the libvirt domain goes to "shut off").
#   testbed.mode=stay    the same, without powering off: then every 2 s ticks += 1, write it to
#                        the disk, sync, print `TICK n` (n restarts at 1 on every boot). When the
#                        disk's I/O blocks (e.g. Ceph below min_size) the ticks stall and resume
#                        with it.
#   testbed.disk=vdb     the disk to use (default vda).
# Missing disk: prints NO_DISK after 5 s of waiting and powers off. Unmountable disk: MOUNT_FAILED, power off.
# Lines go to /dev/ttyS0 explicitly (and kernel messages to it too with console=ttyS0), so a
# libvirt <serial type='file'> captures them. Recommended command line:
#   console=ttyS0 quiet testbed.mode=count
# RAM: 96 MiB (64 MiB fails silently: nothing at all on the console; checked).
#
# Measured (2 cores, TCG, Debian 12: linux-image-6.1.0-57-cloud-amd64 6.1.192-3, whose virtio
# modules are plain .ko; busybox-static 1:1.35.0-4+deb12u1+b1; initrd.gz 1.12 MB, vmlinuz 14 MB):
#   `virsh start` -> BOOT_COUNT on the serial file: rbd disk 2.9-3.4 s (n=6), qcow2 overlay
#   2.4-2.7 s (n=4), raw file 2.9-3.4 s (n=4); 7-14 s while another job kept the load at 6-18.
#   count mode: the domain is "shut off" ~0.4 s after BOOT_COUNT. Ticks come every 2.02 s.
#   No disk: NO_DISK at guest uptime ~8 s (5 s of waiting), 10.6 s wall.
# Gotchas: the serial file gets CRLF line ends ("BOOT_COUNT=1\r"); with append='on' one file
# collects every boot, so wait for *one more* BOOT_COUNT line rather than for a match; QEMU (as
# nobody) creates it mode 600 owned by nobody, in a directory nobody can write. The kernel prints
# some lines (ACPI "No IRQ available", the power-down) even with `quiet`.
#
# Domain XML (direct kernel boot, TCG, q35; see /work/notes/ceph.md for the disk variants):
#   <domain type='qemu'><name>g1</name><memory unit='MiB'>96</memory><vcpu>1</vcpu>
#     <os><type arch='x86_64' machine='q35'>hvm</type><kernel>OUTDIR/vmlinuz</kernel>
#       <initrd>OUTDIR/initrd.gz</initrd><cmdline>console=ttyS0 quiet testbed.mode=stay</cmdline></os>
#     <devices><disk .../><serial type='file'><source path='LOG' append='on'/><target port='0'/></serial>
#       <console type='file'><source path='LOG' append='on'/><target type='serial' port='0'/></console>
#     </devices></domain>
set -euo pipefail

die() { echo "guest/build.sh: $*" >&2; exit 2; }

out=${1:?usage: guest/build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for c in apt-get apt-cache dpkg-deb gzip mke2fs sha256sum; do command -v "$c" >/dev/null || die "$c not found"; done

MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console"

# linux-image-cloud-amd64 is a metapackage: its dependency linux-image-<abi>-cloud-amd64 holds the kernel.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?)"
# One apt-cache call for both candidates (each call costs ~0.5 s).
read -r kver bver < <(apt-cache policy "$kpkg" busybox-static | awk '/Candidate:/{printf "%s ", $2} END {print ""}')
[ -n "$kver" ] && [ "$kver" != "(none)" ] || die "no candidate for $kpkg"
[ -n "$bver" ] && [ "$bver" != "(none)" ] || die "no candidate for busybox-static"
inputs="$kpkg=$kver busybox-static=$bver script=$(sha256sum "$0" | cut -c1-16)"

if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$inputs" ] &&
   [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && [ -s "$out/base.img" ]; then
  printf '%s\n' "$out/vmlinuz" "$out/initrd.gz" "$out/base.img"
  exit 0
fi

rm -f "$out/.inputs"
mkdir -p "$out/.debs"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
# apt-get download writes into the current directory; it warns when _apt cannot write there.
get() {
  local pkg=$1 ver=$2 f
  # The file name has the version without its epoch, or with it as "1%3a".
  have() { for f in "$out/.debs/${pkg}_"*"${ver#*:}_"*.deb; do [ -f "$f" ] && { echo "$f"; return 0; }; done; return 1; }
  if ! have >/dev/null; then
    (cd "$out/.debs" && apt-get download -q "$pkg=$ver" 2>&1 | grep -v -e unsandboxed -e '^Get:' -e '^Fetched' >&2 || true)
  fi
  have || die "could not download $pkg=$ver"
}
kdeb=$(get "$kpkg" "$kver"); bdeb=$(get busybox-static "$bver")
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/b"

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules}
cp "$work/b/bin/busybox" "$root/bin/busybox"
for m in $MODULES; do
  f=$(find "$work/k/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
  [ -n "$f" ] || die "module $m not in $kpkg"
  case "$f" in
    *.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" 2>/dev/null || "$root/bin/busybox" xzcat "$f" >"$root/lib/modules/$m.ko" ;;
    *.zst) zstd -dcq "$f" >"$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done

cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
out=/dev/ttyS0; [ -c \$out ] || out=/dev/console
exec </dev/null >\$out 2>&1
mode=count; disk=vda
for w in \$(cat /proc/cmdline); do
  case "\$w" in testbed.mode=*) mode=\${w#*=} ;; testbed.disk=*) disk=\${w#*=} ;; esac
done
off() { sync; umount /mnt 2>/dev/null; echo "POWEROFF"; sleep 0.2; poweroff -f; sleep 10; }
for m in $MODULES; do insmod /lib/modules/\$m.ko || echo "INSMOD_FAILED \$m"; done
# A 5 s deadline by the clock (a count of "sleep 0.1" takes twice as long as it says under TCG).
up() { read u _ </proc/uptime; echo \${u%.*}; }
end=\$((\$(up) + 5)); while [ ! -b /dev/\$disk ] && [ \$(up) -lt \$end ]; do sleep 0.1; done
[ -b /dev/\$disk ] || { echo "NO_DISK /dev/\$disk"; off; }
mount -t ext4 /dev/\$disk /mnt || { echo "MOUNT_FAILED /dev/\$disk"; off; }
n=\$(cat /mnt/count 2>/dev/null || echo 0); n=\$((n + 1))
echo \$n >/mnt/count; sync
echo "BOOT_COUNT=\$n"
case "\$mode" in
  stay)
    t=0
    while true; do
      sleep 2; t=\$((t + 1)); echo \$t >/mnt/ticks; sync; echo "TICK \$t"
    done ;;
  *) off ;;
esac
INIT
chmod 755 "$root/init" "$root/bin/busybox"

(cd "$root" && find . | LC_ALL=C sort | if command -v cpio >/dev/null; then cpio -o -H newc --quiet -R 0:0; else ./bin/busybox cpio -o -H newc -R 0:0; fi) | gzip -9n >"$work/initrd.gz"

mkdir -p "$work/disk"
echo 0 >"$work/disk/count"; echo 0 >"$work/disk/ticks"
mke2fs -q -F -t ext4 -d "$work/disk" "$work/base.img" 16M >/dev/null

cp "$work/k/boot/vmlinuz-"* "$work/vmlinuz"
chmod 644 "$work/vmlinuz" "$work/initrd.gz" "$work/base.img"
mv -f "$work/vmlinuz" "$work/initrd.gz" "$work/base.img" "$out/"
chmod 755 "$out"
echo "$inputs" >"$out/.inputs"
printf '%s\n' "$out/vmlinuz" "$out/initrd.gz" "$out/base.img"
