import type { PriceModel } from "../model/events.js";
import { XEN_PRECOPY_DEFAULTS } from "../migration/precopy.js";

/**
 * Every default of a scenario, each in one place with its source. The schema fills in the ones a
 * file may leave out (they are then part of the scenario's canonical text and hash); `resolve`
 * fills in the optional ones (not part of the hash). Either way the value comes from here.
 * Defaults taken from published figures describe one setting: sweep them rather than trust them.
 */

/**
 * 2008 public list prices (US):
 * - EC2 m1.small (1.7 GB memory) $0.10 per started instance-hour (Amazon EC2 pricing page,
 *   2008) ⇒ $0.10 / 1.7 per GiB of memory per started hour, for `ephemeral` and for the compute
 *   of `persistent-ha`;
 * - VPS plans by memory, Slicehost's 2008 list: 256 MB $20, 512 MB $38, 1 GB $70, 2 GB $140 per
 *   month (`vpsPlans`; a VPS pays the smallest plan that holds its memory), and past 2 GB $70 per
 *   GiB-month (`monthlyUsdPerGiB`, the 1 and 2 GB plans' rate), billed per started month while
 *   the VPS exists, running or not;
 * - persistent storage $0.10 per GB-month provisioned (Amazon EBS, launched August 2008), for the
 *   volumes of `persistent-ha`;
 * - the provider's cost of a host, $0.15 per hour: a ~$3 000 server amortised over three years
 *   ($0.11/h) plus power, cooling and space (Hamilton, "Cost of Power in Large-Scale Data
 *   Centers", 2008: servers are over half the monthly cost of a data centre) — the server
 *   without the disks its VMs' data takes, which are priced apart:
 * - raw disk $0.0056 per GB-month: a 1 TB SATA drive sold for about $200 in 2008 ($0.20/GB),
 *   amortised over 36 months (the three years of the servers; Backblaze's 2009 storage pod came
 *   to $0.12/GB raw with its chassis); a replicated volume takes it once per copy;
 * - the cluster network $0.01 per GB moved (rebuild copies, live and cold migrations): EC2's 2008
 *   price for data moved between availability zones of one region, the cheapest internal
 *   transfer Amazon billed.
 */
export const PRICES_2008: PriceModel = {
  hourlyUsdPerGiB: 0.1 / 1.7,
  monthlyUsdPerGiB: 70,
  vpsPlans: [
    { memoryGiB: 0.25, monthlyUsd: 20 },
    { memoryGiB: 0.5, monthlyUsd: 38 },
    { memoryGiB: 1, monthlyUsd: 70 },
    { memoryGiB: 2, monthlyUsd: 140 },
  ],
  storageUsdPerGBMonth: 0.1,
  hostUsdPerHour: 0.15,
  rawDiskUsdPerGBMonth: 0.2 / 36,
  networkUsdPerGB: 0.01,
};

/**
 * Provisioning: a 10 GiB image (EC2 root volumes default to 8–10 GiB) over 100 MB/s (about a
 * 1 Gbit/s link); boot 40 s and key injection 5 s — Mao & Humphrey ("A Performance Study on the
 * VM Startup Time in the Cloud", CLOUD 2012) measured ~97 s from request to a reachable Linux
 * instance on EC2 including provisioning, of which the guest boot is a part; attach 5 s.
 * Eucalyptus node controllers cache images (Nurmi et al., CCGrid 2009).
 */
export const PROVISIONING_DEFAULTS = {
  bootSeconds: 40,
  imageGiB: 10,
  imageTransferMiBps: 100,
  imageCache: true,
  keyInjectionSeconds: 5,
  volumeAttachSeconds: 5,
} as const;

/**
 * Replicated volumes: Ceph's default pool size (3 copies, spread over racks by its CRUSH rule);
 * rebuild at 100 MB/s per target host (about a 1 Gbit/s link or one disk's sequential write); a
 * down host marked out after 15 min (GFS waits 15 min, Ford et al., OSDI'10; Ceph's
 * mon_osd_down_out_interval is 10 min); a VM stalled by a storage outage for more than
 * `guestTimeoutSeconds` reboots (180 s, see `STORAGE_OUTAGE_DEFAULTS`).
 */
export const STORAGE_DEFAULTS = {
  kind: "replicated",
  replicas: 3,
  spreadRacks: true,
  rebuildMBps: 100,
  recoveryDelayMinutes: 15,
  guestTimeoutSeconds: 180,
} as const;

/**
 * Copies of a replicated volume that must be reachable for it to serve I/O: Ceph's pool
 * `min_size`, whose default (`osd_pool_default_min_size` = 0) means size − ⌊size / 2⌋ — 2 of 3
 * copies, 1 of 2 (Ceph documentation, "Pools": "Sets the minimum number of replicas required for
 * I/O"; "Pool, PG and CRUSH Config Reference": osd_pool_default_min_size). Below it Ceph blocks the
 * volume's I/O while it recovers the missing copies. A mirror (DRBD-like) serves from one copy.
 */
export function defaultMinSize(replicas: number): number {
  return replicas - Math.floor(replicas / 2);
}

/**
 * Room for copies (`storage.fullRatio`): a copy takes its volume's size on one disk of a host, each
 * disk holding the host's `diskGiB` / `disks`; no copy is placed or rebuilt onto a disk it would
 * fill past 95 % — Ceph's `mon_osd_full_ratio` (0.95), past which an OSD takes no writes (its
 * `osd_backfillfull_ratio`, 0.90, stops backfills a little earlier; one ratio here).
 */
export const STORAGE_CAPACITY_DEFAULTS = { fullRatio: 0.95 } as const;

/**
 * Rebuild traffic and mark-out (`storage.rackUplinkMBps`, `clusterNetworkMBps`,
 * `downOutSubtreeLimit`): a rebuild reads at its source host and writes at its target host, each
 * host's `rebuildMBps` shared by the rebuilds crossing it. Rack uplinks and the cluster network
 * are not limits by default: a 2008 top-of-rack switch had 48 GigE ports and up to four 10 GigE
 * uplinks (≈ 5 000 MB/s; Al-Fares, Loukissas & Vahdat, SIGCOMM'08, §2), more than a rack of 20
 * hosts at 100 MB/s can send — set them to model an oversubscribed network or one shared with
 * client I/O. A whole rack down is not marked out (`rack`): Ceph's `mon_osd_down_out_subtree_limit`
 * defaults to `rack`, "the smallest CRUSH unit type that Ceph will not automatically mark out", so
 * a rack outage does not start re-replicating a rack's worth of data (`none`: every down host is
 * marked out after the recovery delay). Hosts switched off on purpose are never marked out
 * (`noout` for planned work).
 */
export const REBUILD_TRAFFIC_DEFAULTS = { rackUplinkMBps: null, clusterNetworkMBps: null, downOutSubtreeLimit: "rack" } as const;

/**
 * Recovery throttle (`storage.maxBackfills`): at most this many rebuilds read from one host at
 * once, and this many write to it. 1 is Ceph's `osd_max_backfills` default ("Backfilling",
 * Red Hat Ceph Storage 3 Configuration Guide, §6.5 — Luminous; the same in Ceph's docs through
 * Pacific; Quincy's mClock scheduler manages it itself). Ceph counts it per OSD (a disk); here it is
 * per host, as `rebuildMBps` is. `null` in a scenario: no throttle (the behaviour before it existed).
 */
export const RECOVERY_THROTTLE_DEFAULTS = { maxBackfills: 1 } as const;

/**
 * Unrecoverable read errors (`storage.ureRatePerBit`): 1 per 10^14 bits read, what 2008 desktop
 * SATA drives specify ("nonrecoverable read errors per bits read: 1 per 10^14", e.g. Seagate
 * Barracuda 7200.11 datasheet; enterprise drives specify 10^15). A rebuild reading 6 TB meets one
 * with probability 1 − (1 − 10^−14)^(4.8·10^13) ≈ 38 %. Applied to every rebuild read, replicas and
 * local RAID; an error costs data only where no other copy can supply it.
 */
export const READ_ERROR_DEFAULTS = { ureRatePerBit: 1e-14 } as const;

/**
 * Storage-service outages (`failures.storage`): cluster-wide unless the scenario says `rack`; no
 * outage process unless the scenario has one. A VM whose I/O stalls for more than 180 s needs a
 * reboot (`storage.guestTimeoutSeconds`): VMware Tools sets Linux guests' SCSI disk timeout to
 * 180 s so that guests ride out storage path failovers (VMware KB 1009465); the Linux default is
 * 30 s (`/sys/block/sdX/device/timeout`), and virtio-blk guests on librbd have no timeout at all
 * (librbd waits, `rados_osd_op_timeout` = 0) but their applications do — sweep it.
 */
export const STORAGE_OUTAGE_DEFAULTS = { scope: "cluster" } as const;

/** Compute–storage partitions (`failures.storageNetwork`): per host unless the scenario says `rack`. */
export const STORAGE_NETWORK_DEFAULTS = { scope: "host" } as const;

/**
 * Local RAID (vps, ephemeral): RAID 1 on hosts with two or more disks, RAID 0 on one (`level`
 * null); rebuild at 50 MB/s, a resync under load (md's `speed_limit_max` ceiling is 200 MB/s).
 */
export const LOCAL_RAID_DEFAULTS = { level: null, rebuildMBps: 50 } as const;

/**
 * Migrations.
 * - Link: 1 Gbit/s, as in Clark et al.'s testbed ("Live Migration of Virtual Machines", NSDI
 *   2005, §6.1); 117 MiB/s is what TCP carries of it.
 * - Dirty rate 20 MiB/s: Clark et al.'s SPECweb99 server (§6.3) dirtied its working set at a few
 *   tens of MB/s; their Quake 3 server far less; MMuncher (a memory benchmark) 512 MB/s, enough to
 *   defeat pre-copy on that link. Override per scenario with a distribution.
 * - Pre-copy limits: Xen's (30 rounds, 3× memory, 50 pages), `XEN_PRECOPY_DEFAULTS`.
 * - Switchover 20 ms: resuming the VM and the unsolicited ARP. Clark et al. measured whole
 *   downtimes (the last round included) of 165 ms for a simple web server (§6.2), 210 ms for
 *   SPECweb99 (§6.3) and 60 ms for a Quake 3 server (§6.4); our libvirt test bed measured 25–59 ms
 *   for an idle 64 MiB guest (README, "Measured on the test bed"). One constant: the charts use it too.
 * - Set-up 0.65 s before the first round (the destination QEMU started, the connections made, the
 *   VM running meanwhile): the median real live migration on the libvirt test bed took 766 ms
 *   (728–1 136 ms, n = 7, `bench/libvirt.ts`) where the pre-copy model alone gives 116 ms.
 * - At most 2 migrations at once from or to one host: vSphere allows 4 on 1 GbE, but each then
 *   gets a quarter of the link; 2 keeps each migration's share, and its dirtying, reasonable.
 */
export const MIGRATION_DEFAULTS = {
  bandwidthMiBps: 117,
  dirtyRateMiBps: 20,
  writableWorkingSetFraction: 1,
  ...XEN_PRECOPY_DEFAULTS,
  switchoverMs: 20,
  setupSeconds: 0.65,
  abortOnNonConvergence: false,
  maxPerHost: 2,
} as const;

/**
 * Time until the user of a lost VM (or an autoscaler) launches a replacement: 15 min. In 2008 a
 * person noticed and relaunched by hand (EC2 Auto Scaling arrived in 2009; its default
 * health-check grace period is 300 s, AWS documentation).
 */
export const USERS_DEFAULTS = { replacementDelayHours: 0.25 } as const;

/**
 * HA: a host silent for 30 s is declared dead (vSphere HA declares a host dead after ~15 s
 * without heartbeats, then checks datastore heartbeats — VMware, "vSphere Availability", 2020);
 * it is fenced (STONITH) before its VMs restart elsewhere; an isolated host keeps its VMs running
 * (vSphere's default isolation response, "Disabled") and notices its isolation after 30 s.
 * A VM stalled on a host that lost its storage paths is left to resume (`leave`: VM Component
 * Protection is off by default in vSphere 6); with `restart` it is restarted on a host that
 * reaches its storage after 320 s: vSphere's APD timeout (Misc.APDTimeout, 140 s) plus VMCP's
 * default "delay for VM failover for APD" (3 min) — VMware, "vSphere Availability", 6.0.
 */
export const HA_DEFAULTS = {
  heartbeatTimeoutSeconds: 30,
  fencing: true,
  isolationResponse: "keepRunning",
  isolationDetectionSeconds: 30,
  admissionControlDomain: "host",
  storagePathResponse: "leave",
  storagePathTimeoutSeconds: 320,
} as const;

/** Placement: Eucalyptus' default `greedy` (first fit); power-save switches a host off after 30 idle minutes. */
export const PLACEMENT_DEFAULTS = { policy: "first-fit", storageAware: false, idleMinutes: 30 } as const;

/** A host switched on takes 5 minutes to boot (firmware POST and an OS boot of a server). */
export const POWER_DEFAULTS = { hostBootMinutes: 5 } as const;

/**
 * DRS-like rebalancing every 60 min (vSphere DRS' default invocation interval is 5 min; an hourly
 * round keeps the migrations few), moving only for a drop of 2 points of the load's standard
 * deviation, at most 4 moves a round.
 */
export const REBALANCE_DEFAULTS = { intervalMinutes: 60, minImprovement: 0.02, maxMigrations: 4 } as const;

/** Maintenance: a drain that has not finished after 60 min is cut short and the window taken anyway. */
export const MAINTENANCE_DEFAULTS = { drainTimeoutMinutes: 60 } as const;

/**
 * In-place patch reboots (`maintenance.patchReboots`): 4 a year per host, each off for 1 minute
 * (a clean shutdown and the firmware restart) before its `power.hostBootMinutes` boot.
 * - How often: hypervisor security advisories that need a host reboot come a few times a year —
 *   Linode rebooted every Xen host for embargoed XSAs in Oct 2015, Dec 2015, Apr 2017 and May 2017
 *   ("Linode Critical Xen Maintenance", status.linode.com), with instances "cleanly shut down",
 *   a 2 h window allocated but "the actual downtime can be much less"; a Linux host's kernel
 *   security patch reboot is announced as "a downtime of about 5 minutes" (Koumbit, 2016).
 * - Per model: vps VMs are shut down and rebooted with their host; persistent-ha VMs are
 *   live-migrated off first; ephemeral instances follow EC2's scheduled retirement — the user
 *   gets notice (the retirement e-mail names a date two weeks ahead: "After 2016-09-08 05:00 UTC
 *   your instance ... will be stopped", sent 2016-08-25; AWS, "Instance retirement", EC2 User
 *   Guide), the instance store is lost at the date, and the notified user relaunches at once
 *   (no `users.replacementDelayHours`: nobody had to notice a failure).
 */
export const PATCH_REBOOT_DEFAULTS = { perYear: 4, shutdownMinutes: 1 } as const;

/** A host group: one host, one disk, no overcommit. */
export const HOST_GROUP_DEFAULTS = { count: 1, disks: 1, vcpuOvercommit: 1, memoryOvercommit: 1 } as const;

/** A VM size's weight in the mix, and the anti-affinity domain. */
export const WORKLOAD_DEFAULTS = { fleet: 0, sizeWeight: 1, antiAffinityDomain: "host" } as const;
