import { z } from "zod";
import type { DistributionSpec } from "../kernel/distributions.js";
import { SERVICE_MODELS, VOLUME_KINDS } from "../model/events.js";
import { POLICIES, type PolicyName } from "../placement/policies.js";
import { MS_PER_HOUR, MS_PER_YEAR } from "../kernel/time.js";
import { distributionMean, LIMITS } from "./limits.js";
import { HA_DEFAULTS, HOST_GROUP_DEFAULTS, MAINTENANCE_DEFAULTS, PATCH_REBOOT_DEFAULTS, PLACEMENT_DEFAULTS, POWER_DEFAULTS, REBALANCE_DEFAULTS, STORAGE_DEFAULTS, STORAGE_NETWORK_DEFAULTS, STORAGE_OUTAGE_DEFAULTS, WORKLOAD_DEFAULTS } from "./defaults.js";

/**
 * The scenario file schema. Objects are strict: an unknown key is an error, never ignored.
 * Every constraint carries the "expected ..." text that the loader prints after the field path.
 * Defaults come from `./defaults.ts` (with their sources); an object left out is parsed from `{}`
 * (`prefault`), so its fields get those defaults too.
 */
const expected = (what: string) => ({ error: `expected ${what}` });

const positiveNumber = () => z.number(expected("a positive number")).positive(expected("a positive number"));
const nonNegativeNumber = () => z.number(expected("a number ≥ 0")).nonnegative(expected("a number ≥ 0"));
const finiteNumber = () => z.number(expected("a finite number"));
const positiveInteger = () =>
  z.number(expected("a positive integer")).int(expected("a positive integer")).positive(expected("a positive integer"));
const name = () =>
  z
    .string(expected("a name (letters, digits, '-', '_', '.')"))
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, expected("a name (letters, digits, '-', '_', '.')"));

const distributionObject = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("exponential"), mean: positiveNumber() }),
    z.strictObject({ type: z.literal("weibull"), shape: positiveNumber(), scale: positiveNumber() }),
    z.strictObject({ type: z.literal("lognormal"), mu: finiteNumber(), sigma: nonNegativeNumber() }),
    z
      .strictObject({ type: z.literal("uniform"), min: nonNegativeNumber(), max: nonNegativeNumber() })
      .refine((u) => u.max >= u.min, { error: "expected max ≥ min", path: ["max"] }),
    z.strictObject({ type: z.literal("deterministic"), value: nonNegativeNumber() }),
    z.strictObject({
      type: z.literal("empirical"),
      samples: z.array(nonNegativeNumber(), expected("a list of numbers ≥ 0")).min(1, expected("at least one sample")),
    }),
  ],
  expected("a distribution: a number, or an object with type exponential | weibull | lognormal | uniform | deterministic | empirical"),
).refine((spec) => !Number.isNaN(distributionMean(spec as DistributionSpec)), {
  // lognormal mu: 1000 passes each field's check, but every sample is Infinity.
  error: "expected a distribution with a finite mean (exp(mu + sigma²/2) overflows)",
  // Only for a distribution whose fields are each valid: a bad field is reported by itself.
  when: (payload) => payload.issues.length === 0,
});

/** A non-negative duration or size: a plain number (a fixed value) or a distribution object. */
const distribution = () =>
  z.preprocess(
    (v) => (typeof v === "number" ? { type: "deterministic", value: v } : v),
    distributionObject,
  ) as unknown as z.ZodType<DistributionSpec>;

const hostGroup = z
  .strictObject({
    /** The host's id, or with `count` > 1 the prefix of `name-001`, `name-002`, ... */
    name: name(),
    count: positiveInteger().max(LIMITS.hosts, expected(`at most ${LIMITS.hosts} hosts (the limit of a cluster)`)).default(HOST_GROUP_DEFAULTS.count),
    vcpus: positiveInteger(),
    memoryGiB: positiveNumber(),
    diskGiB: positiveNumber(),
    /** The rack (failure domain) all hosts of the group are in. */
    rack: name().optional(),
    /** Or: spread the group's hosts round-robin over racks `rack-1` ... `rack-N`. */
    racks: positiveInteger().optional(),
    /** Disks per host for replicated storage (each fails on its own: `failures.disk`). */
    disks: positiveInteger().max(LIMITS.disksPerHost, expected(`at most ${LIMITS.disksPerHost} disks per host`)).default(HOST_GROUP_DEFAULTS.disks),
    /** Schedulable vCPUs per physical vCPU (CPU overcommit); 1 = none. */
    vcpuOvercommit: positiveNumber().default(HOST_GROUP_DEFAULTS.vcpuOvercommit),
    /** Schedulable memory per physical GiB; 1 = none. */
    memoryOvercommit: positiveNumber().default(HOST_GROUP_DEFAULTS.memoryOvercommit),
  })
  .refine((g) => g.rack === undefined || g.racks === undefined, {
    error: "expected either rack or racks, not both",
    path: ["racks"],
  });

const failureProcess = z.strictObject({
  /** Time from a host coming up to its next failure of this kind (hours); a mean under a second cannot make progress. */
  timeToFailureHours: distribution().refine((spec) => distributionMean(spec) >= LIMITS.minMeanTimeToFailureHours, {
    error: `expected a time to failure with a mean of at least ${LIMITS.minMeanTimeToFailureHours.toPrecision(3)} hours (one second): shorter, simulated time cannot advance`,
    when: (payload) => payload.issues.length === 0,
  }),
  /** Time from that failure until the host is up again (hours). */
  timeToRepairHours: distribution(),
});

/**
 * A burst: now and then (`timeBetweenHours`) several hosts fail together for `durationHours` —
 * `hosts` of them (a distribution of the count, rounded) or a `share` of the cluster (a
 * cluster-wide event: cooling, a network event), chosen at random among the hosts of `racks`
 * racks picked at random (default: anywhere in the cluster).
 */
const burstProcess = z
  .strictObject({
    name: name(),
    timeBetweenHours: distribution(),
    hosts: distribution().optional(),
    share: z.number(expected("a number in (0, 1]")).gt(0, expected("a number in (0, 1]")).max(1, expected("a number in (0, 1]")).optional(),
    racks: positiveInteger().optional(),
    durationHours: distribution(),
  })
  .superRefine((b, ctx) => {
    if ((b.hosts === undefined) === (b.share === undefined)) ctx.addIssue({ code: "custom", path: ["hosts"], message: "expected either hosts (a count) or share (a fraction of the cluster), one of them" });
  });

const serviceModel = z.enum(SERVICE_MODELS, expected(`a service model (${SERVICE_MODELS.join(" | ")})`));

const vmSize = z.strictObject({
  name: name(),
  vcpus: positiveInteger(),
  memoryGiB: positiveNumber(),
  diskGiB: positiveNumber(),
  /** Relative frequency in the mix (default 1). */
  weight: positiveNumber().default(WORKLOAD_DEFAULTS.sizeWeight),
  /** persistent-ha: VMs of higher restart priority are restarted first when room is short (vSphere HA). */
  restartPriority: z.enum(["high", "medium", "low"], expected("a restart priority (high | medium | low)")).optional(),
});

/** One request of a workload trace: at `timeHours`, VM `vm` of this size, wanted for `lifetimeHours` (empty: to the end). */
export const requestRow = z.strictObject({
  timeHours: nonNegativeNumber(),
  vm: name(),
  vcpus: positiveInteger(),
  memoryGiB: positiveNumber(),
  diskGiB: positiveNumber(),
  lifetimeHours: positiveNumber().nullable(),
});

/**
 * One failure of a failure trace: at `timeHours`, `target` (a host, a rack, host/disk, or the
 * controller itself: kind and target `controller`) fails for `durationHours`.
 */
export const failureRow = z.strictObject({
  timeHours: nonNegativeNumber(),
  target: z.string(expected("a host, a rack, host/disk or controller")).min(1, expected("a host, a rack, host/disk or controller")),
  kind: z.enum(["crash", "hardware", "rack", "disk", "controller"], expected("a failure kind (crash | hardware | rack | disk | controller)")),
  durationHours: positiveNumber(),
});

const workload = z.strictObject({
  /** The discrete mix of VM sizes every generated request draws from. */
  sizes: z.array(vmSize, expected("a list of VM sizes")).min(1, expected("at least one VM size")).optional(),
  /** Requests read from a CSV file (path relative to the scenario), replayed as they are. */
  trace: z.array(requestRow, expected("a trace: a CSV file name or a list of requests")).optional(),
  /** Long-lived VMs ("pets") requested at t = 0 and wanted until the end of the run. */
  fleet: z
    .number(expected("an integer ≥ 0"))
    .int(expected("an integer ≥ 0"))
    .nonnegative(expected("an integer ≥ 0"))
    .max(LIMITS.fleet, expected(`at most ${LIMITS.fleet} VMs (the limit of a fleet)`))
    .default(WORKLOAD_DEFAULTS.fleet),
  /** A Poisson stream of requests, each wanted for a lifetime drawn from `lifetimeHours`. */
  arrivals: z
    .strictObject({
      ratePerHour: positiveNumber(),
      lifetimeHours: distribution(),
    })
    .optional(),
  /**
   * Anti-affinity: the fleet comes in groups of `groupSize` VMs (replicas of one service) that the
   * controller keeps in distinct failure domains (`host` or `rack`).
   */
  antiAffinity: z
    .strictObject({
      groupSize: z.number(expected("an integer ≥ 2")).int(expected("an integer ≥ 2")).min(2, expected("an integer ≥ 2")),
      domain: z.enum(["host", "rack"], expected("a failure domain (host | rack)")).default(WORKLOAD_DEFAULTS.antiAffinityDomain),
    })
    .optional(),
});

/** Times of provisioning steps; defaults in `./defaults.ts` with their sources. */
const provisioning = z.strictObject({
  bootSeconds: distribution().optional(),
  imageGiB: positiveNumber().optional(),
  imageTransferMiBps: positiveNumber().optional(),
  imageCache: z.boolean(expected("true or false")).optional(),
  keyInjectionSeconds: distribution().optional(),
  volumeAttachSeconds: distribution().optional(),
});

/** A swept value: one scalar that replaces the field at the sweep's path. */
const sweepValue = z.union([z.number(), z.string(), z.boolean()], expected("a number, a text or true/false"));

/** A swept range, for Latin hypercube designs: values drawn between min and max on a linear or log scale. */
const sweepRange = z
  .strictObject({
    min: finiteNumber(),
    max: finiteNumber(),
    scale: z.enum(["linear", "log"], expected("linear or log")).default("linear"),
  })
  .superRefine((r, ctx) => {
    if (!(r.max > r.min)) ctx.addIssue({ code: "custom", path: ["max"], message: `expected max > min (${r.min}), got ${r.max}` });
    if (r.scale === "log" && !(r.min > 0)) ctx.addIssue({ code: "custom", path: ["min"], message: `expected min > 0 on a log scale, got ${r.min}` });
  });

/** The experiment designs: every combination, one path at a time from the baseline, or a Latin hypercube. */
export const EXPERIMENT_DESIGNS = ["grid", "oneAtATime", "latinHypercube"] as const;

/**
 * An experiment: the scenario (without this section) run for every point of its `design` over the
 * `sweep` paths, under every service model of `serviceModels`, with `replications` seeds
 * (`seed`, `seed` + 1, ...) or the listed `seeds`, the same at every point (common random
 * numbers). Designs: `grid` (every combination of the listed values), `oneAtATime` (the scenario
 * as written, then each path moved alone over its values), `latinHypercube` (`samples` points,
 * each path a `{ min, max, scale }` range or a list). See `src/experiment/expand.ts`.
 */
const experiment = z
  .strictObject({
    design: z.enum(EXPERIMENT_DESIGNS, expected(`one of ${EXPERIMENT_DESIGNS.join(", ")}`)).default("grid"),
    /** Latin hypercube only: the number of points. */
    samples: positiveInteger().optional(),
    /** Dotted scenario path (as for `--set`) → the values it takes, in order (or a range, Latin hypercube only). */
    sweep: z
      .record(
        z.string(),
        z.union([z.array(sweepValue, expected("a list of values")).min(1, expected("at least one value")), sweepRange], expected("a list of values or a { min, max, scale } range")),
        expected("a mapping from scenario paths to lists of values"),
      )
      .default({}),
    replications: positiveInteger().max(LIMITS.seeds, expected(`at most ${LIMITS.seeds} replications`)).optional(),
    seeds: z
      .array(z.number(expected("an integer")).int(expected("an integer")), expected("a list of integer seeds"))
      .min(1, expected("at least one seed"))
      .max(LIMITS.seeds, expected(`at most ${LIMITS.seeds} seeds`))
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.replications !== undefined && e.seeds !== undefined) {
      ctx.addIssue({ code: "custom", path: ["seeds"], message: "expected either replications or seeds, not both" });
    }
    if (e.seeds && new Set(e.seeds).size !== e.seeds.length) ctx.addIssue({ code: "custom", path: ["seeds"], message: "expected distinct seeds" });
    if (e.design === "latinHypercube" && e.samples === undefined) ctx.addIssue({ code: "custom", path: ["samples"], message: "expected the number of points (a positive integer) for a latinHypercube design" });
    if (e.design !== "latinHypercube" && e.samples !== undefined) ctx.addIssue({ code: "custom", path: ["samples"], message: `expected no samples for a ${e.design} design (only latinHypercube draws points)` });
    if (e.design === "latinHypercube" && Object.keys(e.sweep).length === 0) ctx.addIssue({ code: "custom", path: ["sweep"], message: "expected at least one path for a latinHypercube design" });
    for (const [path, values] of Object.entries(e.sweep)) {
      if (!Array.isArray(values) && e.design !== "latinHypercube") ctx.addIssue({ code: "custom", path: ["sweep", path], message: `expected a list of values (a { min, max } range is for design: latinHypercube), got a range with design: ${e.design}` });
    }
    for (const path of Object.keys(e.sweep)) {
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+|\[\d+\])*$/.test(path)) {
        ctx.addIssue({ code: "custom", path: ["sweep", path], message: "expected a path like storage.replicas or cluster.hosts[0].count" });
        continue;
      }
      const head = path.split(/[.[]/)[0]!;
      if (["experiment", "seed", "name", "serviceModels"].includes(head)) {
        ctx.addIssue({ code: "custom", path: ["sweep", path], message: `expected a path into the scenario; ${head} cannot be swept (${head === "seed" ? "use seeds or replications" : head === "serviceModels" ? "every service model runs in every cell" : "it names the experiment"})` });
      }
    }
  });

const scenarioObject = z.strictObject({
  name: name(),
  description: z.string(expected("a text")).optional(),
  /** The default seed; `--seed` overrides it. Not part of the scenario hash. */
  seed: z.number(expected("an integer")).int(expected("an integer")).optional(),
  /** Length of the observed period (hours). */
  durationHours: positiveNumber()
    .superRefine((hours, ctx) => {
      if (hours > 0 && hours < LIMITS.minDurationHours) ctx.addIssue({ code: "custom", message: `expected at least ${LIMITS.minDurationHours} hours (one second), got ${hours}` });
    })
    .max(LIMITS.durationHours, expected(`at most ${LIMITS.durationHours} hours`)),
  /** The service models to run, each on the same workload and failures (default: all three). */
  serviceModels: z
    .array(serviceModel, expected("a list of service models"))
    .min(1, expected("at least one service model"))
    .default([...SERVICE_MODELS]),
  cluster: z.strictObject({
    hosts: z.array(hostGroup, expected("a list of host groups")).min(1, expected("at least one host group")),
    /** Racks grouped into power domains (a PDU, a feed): consecutive racks in order of appearance, this many a domain. */
    powerDomains: z.strictObject({ racksPerDomain: positiveInteger() }).optional(),
  }),
  workload: workload.optional(),
  provisioning: provisioning.default({}),
  /** How the controller chooses a host (`src/placement/policies.ts`). */
  placement: z
    .strictObject({
      policy: z.enum(Object.keys(POLICIES) as [PolicyName, ...PolicyName[]], expected(`a placement policy (${Object.keys(POLICIES).join(" | ")})`)).default(PLACEMENT_DEFAULTS.policy),
      /** persistent-ha: prefer a host that holds an intact copy of the VM's volume (reads stay local). */
      storageAware: z.boolean(expected("true or false")).default(PLACEMENT_DEFAULTS.storageAware),
      /** power-save: how long a host stays empty before it is switched off. */
      idleMinutes: nonNegativeNumber().default(PLACEMENT_DEFAULTS.idleMinutes),
    })
    .prefault({}),
  /** Live and cold migration; defaults in `./defaults.ts` with their sources. */
  migration: z
    .strictObject({
      /** Bandwidth of each host's migration link, shared by its concurrent migrations (MiB/s: 2²⁰ bytes a second). */
      bandwidthMiBps: positiveNumber().optional(),
      /** Rate at which a running VM dirties its memory (MiB/s), drawn per migration. */
      dirtyRateMiBps: distribution().optional(),
      /** Writable working set as a share of memory: pages rewritten too often to be worth resending. */
      writableWorkingSetFraction: z.number(expected("a number in (0, 1]")).gt(0, expected("a number in (0, 1]")).max(1, expected("a number in (0, 1]")).optional(),
      stopCopyThresholdMiB: positiveNumber().optional(),
      maxRounds: positiveInteger().optional(),
      maxSentFactor: positiveNumber().optional(),
      switchoverMs: nonNegativeNumber().optional(),
      /** Set-up before the first pre-copy round (the VM runs meanwhile). */
      setupSeconds: nonNegativeNumber().optional(),
      /** Stop a live migration whose pre-copy does not converge, instead of a long stop-and-copy. */
      abortOnNonConvergence: z.boolean(expected("true or false")).optional(),
      /** Migrations at most at once from, or to, one host (vSphere: 4 on 1 GbE, 8 on 10 GbE). */
      maxPerHost: positiveInteger().optional(),
    })
    .default({}),
  /** Switching hosts on and off (power-save, maintenance windows, fencing). */
  power: z.strictObject({ hostBootMinutes: nonNegativeNumber().default(POWER_DEFAULTS.hostBootMinutes) }).prefault({}),
  /**
   * Planned maintenance: a rolling upgrade (each host in turn drained, switched off for its
   * window, switched on), and single windows on named hosts.
   */
  maintenance: z
    .strictObject({
      rollingUpgrade: z
        .strictObject({
          startHours: nonNegativeNumber(),
          windowHours: positiveNumber(),
          /** How many hosts, in cluster order (default: all). */
          hosts: positiveInteger().optional(),
          /** Give up draining after this long and take the window anyway (VMs still there go down with the host). */
          drainTimeoutMinutes: positiveNumber().default(MAINTENANCE_DEFAULTS.drainTimeoutMinutes),
        })
        .optional(),
      windows: z
        .array(z.strictObject({ host: name(), atHours: nonNegativeNumber(), hours: positiveNumber() }), expected("a list of maintenance windows"))
        .optional(),
      /**
       * In-place patch reboots: every host `perYear` times a year, one host at a time, evenly
       * staggered. What it costs depends on the model: vps VMs are down with their host; persistent-ha
       * VMs are live-migrated off first; ephemeral instances are retired with notice and relaunched.
       */
      patchReboots: z
        .strictObject({
          perYear: positiveNumber().max(LIMITS.maxPatchRebootsPerYear, expected(`at most ${LIMITS.maxPatchRebootsPerYear} reboots a year (one an hour)`)).default(PATCH_REBOOT_DEFAULTS.perYear),
          /** The host is off this long (a clean shutdown, the firmware restart) before it boots (`power.hostBootMinutes`). */
          shutdownMinutes: nonNegativeNumber().default(PATCH_REBOOT_DEFAULTS.shutdownMinutes),
          drainTimeoutMinutes: positiveNumber().default(MAINTENANCE_DEFAULTS.drainTimeoutMinutes),
        })
        .optional(),
    })
    .optional(),
  /**
   * persistent-ha: a periodic DRS-like planner that live-migrates VMs off the most loaded host when
   * that lowers the spread of memory load by at least `minImprovement` (so it does not thrash).
   */
  rebalance: z
    .strictObject({
      intervalMinutes: positiveNumber()
        .min(LIMITS.minRebalanceIntervalMinutes, expected(`at least ${LIMITS.minRebalanceIntervalMinutes.toPrecision(3)} minutes (one second)`))
        .default(REBALANCE_DEFAULTS.intervalMinutes),
      minImprovement: nonNegativeNumber().default(REBALANCE_DEFAULTS.minImprovement),
      maxMigrations: positiveInteger().default(REBALANCE_DEFAULTS.maxMigrations),
    })
    .optional(),
  /** The price model of the cost metrics; defaults (2008 list prices) in `./defaults.ts`. */
  prices: z
    .strictObject({
      hourlyUsdPerGiB: nonNegativeNumber().optional(),
      monthlyUsdPerGiB: nonNegativeNumber().optional(),
      /** VPS plans: memory and monthly price, a VPS paying the smallest that holds it (default: Slicehost 2008). */
      vpsPlans: z
        .array(z.strictObject({ memoryGiB: positiveNumber(), monthlyUsd: nonNegativeNumber() }), expected("a list of VPS plans"))
        .refine((plans) => plans.every((p, i) => i === 0 || p.memoryGiB > plans[i - 1]!.memoryGiB), { error: "expected plans in order of growing memory" })
        .optional(),
      storageUsdPerGBMonth: nonNegativeNumber().optional(),
      hostUsdPerHour: nonNegativeNumber().optional(),
      /** The provider's raw disk (per GB-month, each copy) and cluster network (per GB moved). */
      rawDiskUsdPerGBMonth: nonNegativeNumber().optional(),
      networkUsdPerGB: nonNegativeNumber().optional(),
    })
    .default({}),
  /** persistent-ha: the storage the volumes live on; defaults in `./defaults.ts`. */
  storage: z
    .strictObject({
      /** Where persistent-ha volumes live: replicated (default), mirror (two hosts, DRBD-like) or san. */
      kind: z.enum(VOLUME_KINDS, expected(`a storage kind (${VOLUME_KINDS.join(" | ")})`)).optional(),
      replicas: positiveInteger().optional(),
      /** Copies that must be reachable for a volume to serve I/O (Ceph's pool min_size); default size − ⌊size / 2⌋. */
      minSize: positiveInteger().optional(),
      spreadRacks: z.boolean(expected("true or false")).optional(),
      /** Rebuild bandwidth per target host (MB/s: 10⁶ bytes a second). */
      rebuildMBps: positiveNumber().optional(),
      /** Rebuild durations drawn from this distribution instead of size / rebuildMBps. */
      rebuildHours: distribution().optional(),
      recoveryDelayMinutes: nonNegativeNumber().optional(),
      /** Unrecoverable read errors per bit read, on every rebuild read (replicas and local RAID); 0: none. */
      ureRatePerBit: z.number(expected("a number in [0, 1)")).min(0, expected("a number in [0, 1)")).lt(1, expected("a number in [0, 1)")).optional(),
      /** Rebuild bandwidth of each rack's uplink, each direction (MB/s); unset: not a limit. */
      rackUplinkMBps: positiveNumber().optional(),
      /** Rebuild bandwidth of the cluster network as a whole (MB/s); unset: not a limit. */
      clusterNetworkMBps: positiveNumber().optional(),
      /** At most this many rebuilds read from, and this many write to, one host at once (Ceph's osd_max_backfills); null: no limit. */
      maxBackfills: positiveInteger().nullable().optional(),
      /** A whole rack down is not marked out (`rack`, Ceph's default), or every down host is (`none`). */
      downOutSubtreeLimit: z.enum(["rack", "none"], expected("rack | none")).optional(),
      /** No copy is placed or rebuilt onto a disk it would fill past this share of its capacity (Ceph's full ratio). */
      fullRatio: z.number(expected("a number in (0, 1]")).gt(0, expected("a number in (0, 1]")).max(1, expected("a number in (0, 1]")).optional(),
      /** A VM whose I/O stalls longer than this in a storage outage needs a reboot; a shorter stall it rides out. */
      guestTimeoutSeconds: nonNegativeNumber().optional(),
      /** vps and ephemeral: the hosts' local disk arrays; defaults in `./defaults.ts`. */
      localRaid: z
        .strictObject({
          level: z.union([z.literal(0), z.literal(1), z.literal(5), z.literal(6)], expected("a RAID level: 0, 1, 5 or 6")).optional(),
          rebuildMBps: positiveNumber().optional(),
        })
        .optional(),
    })
    .default({}),
  /** persistent-ha: failure detection, fencing, isolation response and admission control. */
  ha: z
    .strictObject({
      /** How long the controller waits for a silent host before declaring it dead. */
      heartbeatTimeoutSeconds: nonNegativeNumber().default(HA_DEFAULTS.heartbeatTimeoutSeconds),
      /** Power a silent host off (STONITH) before restarting its VMs elsewhere. */
      fencing: z.boolean(expected("true or false")).default(HA_DEFAULTS.fencing),
      /** What an isolated host does with its VMs once it notices it is cut off. */
      isolationResponse: z.enum(["keepRunning", "powerOff"], expected("keepRunning | powerOff")).default(HA_DEFAULTS.isolationResponse),
      /** A VM stalled on a host cut off from the storage network: restart it elsewhere after the timeout, or leave it (vSphere VMCP's APD response). */
      storagePathResponse: z.enum(["restart", "leave"], expected("restart | leave")).default(HA_DEFAULTS.storagePathResponse),
      /** How long a VM stalls on a host cut off from the storage before the restart response (vSphere: APD timeout + VMCP delay). */
      storagePathTimeoutSeconds: nonNegativeNumber().default(HA_DEFAULTS.storagePathTimeoutSeconds),
      /** How long a host takes to notice it is isolated. */
      isolationDetectionSeconds: nonNegativeNumber().default(HA_DEFAULTS.isolationDetectionSeconds),
      /** Refuse new VMs that would leave too little spare capacity to restart those of the largest failure domain. */
      admissionControl: z
        .strictObject({ failureDomain: z.enum(["host", "rack"], expected("a failure domain (host | rack)")).default(HA_DEFAULTS.admissionControlDomain) })
        .optional(),
    })
    .prefault({}),
  /** How long until the user (or an autoscaler) launches a replacement for a lost VM (ephemeral instance, lost volume). */
  users: z
    .strictObject({
      replacementDelayHours: distribution().optional(),
      /**
       * The replacement of a lost VM is down, after its boot, until its state is restored from a
       * backup: a time (`hours`), or its disk size over the backup's bandwidth (`backupMBps`, 10⁶ B/s).
       */
      stateRestore: z
        .strictObject({ hours: distribution().optional(), backupMBps: positiveNumber().optional() })
        .refine((r) => (r.hours === undefined) !== (r.backupMBps === undefined), { error: "expected either hours or backupMBps, one of them", path: ["hours"] })
        .optional(),
    })
    .default({}),
  failures: z
    .strictObject({
      host: z
        .strictObject({
          /** Transient crash: the host reboots (minutes). */
          crash: failureProcess.optional(),
          /** Hardware failure: the host is repaired (hours to days). */
          hardware: failureProcess.optional(),
        })
        .optional(),
      /** Management network partitions, per host: the host runs on but the controller cannot reach it. */
      isolation: failureProcess.optional(),
      /**
       * Outages of the cluster controller itself (its process or machine dies, then is restarted):
       * while it is out nothing is decided; back, it acts on what happened meanwhile (issue 19).
       */
      controller: failureProcess.optional(),
      /** Outages of the central storage array (storage.kind: san): every volume unreachable at once. */
      san: failureProcess.optional(),
      /**
       * Outages of the storage service itself (storage.kind replicated or san), its disks intact:
       * `scope: cluster` (default) takes every volume out at once (a lost monitor quorum, a bad
       * upgrade, overload); `scope: rack` (replicated only) each rack's part on its own, the copies there.
       */
      storage: failureProcess.extend({ scope: z.enum(["cluster", "rack"], expected("a scope (cluster | rack)")).default(STORAGE_OUTAGE_DEFAULTS.scope) }).optional(),
      /**
       * Compute–storage partitions (storage.kind replicated or san): per host (`scope: host`,
       * default) or per rack (every host of the rack at once), the host alive and reachable by
       * the controller but cut off from the storage network; HA's response is `ha.storagePathResponse`.
       */
      storageNetwork: failureProcess.extend({ scope: z.enum(["host", "rack"], expected("a scope (host | rack)")).default(STORAGE_NETWORK_DEFAULTS.scope) }).optional(),
      /** Rack (power or network domain) outages: every host of the rack goes down at once. */
      rack: failureProcess.optional(),
      /** Power-domain outages, per domain (`cluster.powerDomains`): every rack of the domain goes down at once. */
      power: failureProcess.optional(),
      /**
       * How the failure processes start: `new` (every component new at t = 0, the default),
       * `stationary` (each as if long in service: its first time to failure drawn from the
       * renewal process's equilibrium residual), or a distribution of ages in hours (each
       * component's age drawn from it; its first failure from its life left at that age).
       */
      initialAges: z
        .union([z.enum(["new", "stationary"]), distribution()], expected("new | stationary | a distribution of ages in hours"))
        .optional(),
      /** Bursts of host failures and cluster-wide events, each a named process of its own. */
      bursts: z.array(burstProcess, expected("a list of burst processes")).optional(),
      /**
       * Disk failures, per disk: time to failure and time until the disk is replaced. An annual
       * failure rate AFR is an exponential with mean 8760 / −ln(1 − AFR) hours (AFR 3 % ≈
       * 287 600 h; Schroeder & Gibson, FAST'07, observed 2–4 % and up to 13 %).
       */
      disk: failureProcess.optional(),
      /**
       * Failures read from a CSV file (path relative to the scenario) with columns
       * timeHours,target,kind,durationHours — on top of the random processes above; a row that
       * overlaps another outage of its target (another row, a random failure) is merged with it:
       * the target is down from the first start to the last end.
       */
      trace: z.array(failureRow, expected("a trace: a CSV file name or a list of failures")).optional(),
    })
    .optional(),
  /**
   * Metrics: measured after `warmupHours` (default 0), leaving out the transient of a start from an
   * empty, all-new cluster (`warmupEnded`).
   */
  metrics: z.strictObject({ warmupHours: nonNegativeNumber().optional() }).optional(),
  /** Run the scenario as an experiment: a sweep × service models × seeds (`testbed run` on the file). */
  experiment: experiment.optional(),
});

/**
 * Fields renamed so that the unit says what it is (`MiBps` 2²⁰ bytes a second, `MBps` 10⁶): a file
 * with an old name is refused with a message naming the new one, never read with another meaning.
 */
export const RENAMED_FIELDS: Readonly<Record<string, string>> = {
  "migration.bandwidthMBps": "migration.bandwidthMiBps (MiB/s)",
  "migration.dirtyRateMBps": "migration.dirtyRateMiBps (MiB/s)",
  "provisioning.imageTransferMBps": "provisioning.imageTransferMiBps (MiB/s)",
};

/** Fewest disks each RAID level needs. */
const RAID_MIN_DISKS = { 0: 1, 1: 2, 5: 3, 6: 4 } as const;

export const scenarioSchema = scenarioObject.superRefine((scenario, ctx) => {
  const totalHosts = scenario.cluster.hosts.reduce((sum, g) => sum + g.count, 0);
  if (totalHosts > LIMITS.hosts) {
    // Checked before anything lists the hosts: a billion hosts would not fit in memory.
    ctx.addIssue({ code: "custom", path: ["cluster", "hosts"], message: `expected at most ${LIMITS.hosts} hosts in all groups (the limit of a cluster), got ${totalHosts}` });
    return;
  }
  if (scenario.durationHours <= LIMITS.durationHours) for (const problem of workloadProblems(scenario, totalHosts)) ctx.addIssue({ code: "custom", ...problem });
  const f = scenario.failures;
  const kind = scenario.storage.kind ?? "replicated";
  if (f?.san && kind !== "san") ctx.addIssue({ code: "custom", path: ["failures", "san"], message: `expected storage.kind: san for SAN failures, got ${kind}` });
  if (f?.storage && kind === "mirror") {
    ctx.addIssue({ code: "custom", path: ["failures", "storage"], message: "expected storage.kind: replicated or san for storage-service outages (a two-host mirror has no storage service), got mirror" });
  }
  if (f?.storageNetwork && kind === "mirror") {
    ctx.addIssue({ code: "custom", path: ["failures", "storageNetwork"], message: "expected storage.kind: replicated or san for storage-network partitions, got mirror" });
  }
  if (f?.storage?.scope === "rack" && kind === "san") {
    ctx.addIssue({ code: "custom", path: ["failures", "storage", "scope"], message: "expected cluster for storage.kind: san (the array is one failure domain), got rack" });
  }
  const minSize = scenario.storage.minSize;
  const replicas = scenario.storage.replicas ?? STORAGE_DEFAULTS.replicas;
  if (minSize !== undefined && kind !== "replicated") {
    ctx.addIssue({ code: "custom", path: ["storage", "minSize"], message: `expected no minSize for storage kind ${kind} (only replicated volumes have one), got ${minSize}` });
  } else if (minSize !== undefined && minSize > replicas) {
    ctx.addIssue({ code: "custom", path: ["storage", "minSize"], message: `expected at most storage.replicas (${replicas}), got ${minSize}` });
  }
  if (kind === "mirror" && scenario.storage.replicas !== undefined && scenario.storage.replicas !== 2) {
    ctx.addIssue({ code: "custom", path: ["storage", "replicas"], message: `expected 2 (a mirror has two copies), got ${scenario.storage.replicas}` });
  }
  if (f?.power && !scenario.cluster.powerDomains) {
    ctx.addIssue({ code: "custom", path: ["failures", "power"], message: "expected cluster.powerDomains (racksPerDomain) for power-domain outages" });
  }
  const burstNames = new Set<string>();
  f?.bursts?.forEach((b, i) => {
    if (burstNames.has(b.name)) ctx.addIssue({ code: "custom", path: ["failures", "bursts", i, "name"], message: `expected a burst name used once, got "${b.name}" again` });
    burstNames.add(b.name);
  });
  const warmupHours = scenario.metrics?.warmupHours;
  if (warmupHours !== undefined && warmupHours >= scenario.durationHours) {
    ctx.addIssue({ code: "custom", path: ["metrics", "warmupHours"], message: `expected less than durationHours (${scenario.durationHours}), got ${warmupHours}` });
  }
  const w = scenario.workload;
  if (w && !w.sizes && (w.fleet > 0 || w.arrivals)) {
    ctx.addIssue({ code: "custom", path: ["workload", "sizes"], message: "expected a list of VM sizes for the fleet and the arrivals" });
  }
  const seen = new Set<string>();
  w?.trace?.forEach((row, i) => {
    if (seen.has(row.vm) || /^(pet|vm)-\d+$/.test(row.vm)) {
      ctx.addIssue({ code: "custom", path: ["workload", "trace", i, "vm"], message: `expected a VM name used once and not of the generated form pet-N / vm-N, got "${row.vm}"` });
    }
    seen.add(row.vm);
  });
  if (f?.trace) {
    const layout = clusterLayout(scenario);
    const hosts = new Map(layout.map((h) => [h.id, h]));
    const racks = new Set(layout.map((h) => h.rack));
    f.trace.forEach((row, i) => {
      const [host, disk] = row.target.split("/");
      const known =
        row.kind === "rack"
          ? racks.has(row.target)
          : row.kind === "disk"
            ? hosts.has(host!) && disk !== undefined && /^\d+$/.test(disk) && Number(disk) < hosts.get(host!)!.disks
            : row.kind === "controller"
              ? row.target === "controller"
              : hosts.has(row.target);
      if (!known) {
        const what =
          row.kind === "rack" ? "a rack of the cluster" : row.kind === "disk" ? "host/disk of the cluster (disks count from 0)" : row.kind === "controller" ? "controller" : "a host of the cluster";
        ctx.addIssue({ code: "custom", path: ["failures", "trace", i, "target"], message: `expected ${what}, got "${row.target}"` });
      }
    });
  }
  const hostNames = new Set(clusterLayout(scenario).map((h) => h.id));
  scenario.maintenance?.windows?.forEach((window, i) => {
    if (!hostNames.has(window.host)) ctx.addIssue({ code: "custom", path: ["maintenance", "windows", i, "host"], message: `expected a host of the cluster, got "${window.host}"` });
  });
  const level = scenario.storage.localRaid?.level;
  if (level !== undefined) {
    scenario.cluster.hosts.forEach((group, i) => {
      if (group.disks < RAID_MIN_DISKS[level]) {
        ctx.addIssue({ code: "custom", path: ["cluster", "hosts", i, "disks"], message: `expected at least ${RAID_MIN_DISKS[level]} disks for RAID ${level} (storage.localRaid.level), got ${group.disks}` });
      }
    });
  }
  const firstGroup = new Map<string, number>();
  scenario.cluster.hosts.forEach((group, i) => {
    for (const id of hostIds(group)) {
      const other = firstGroup.get(id);
      if (other === undefined) firstGroup.set(id, i);
      else {
        ctx.addIssue({
          code: "custom",
          path: ["cluster", "hosts", i, "name"],
          message: `expected unique host names, but ${id} is also a host of cluster.hosts[${other}]`,
        });
        return;
      }
    }
  });
}, { when: (payload) => payload.issues.length === 0 }); // cross-field checks read fields already found valid

/**
 * Refuses a scenario whose random processes would fire more than `LIMITS.expectedFirings` times
 * in one run (from their means: hosts × duration / mean cycle, rate × duration, ...), naming the
 * process that contributes most: such a run would not end in any useful time (a rate of 10^9
 * requests an hour over a year). `--max-events` bounds what gets through at run time.
 */
function workloadProblems(scenario: z.infer<typeof scenarioObject>, hosts: number): { path: (string | number)[]; message: string }[] {
  const hours = scenario.durationHours;
  const racks = new Set(scenario.cluster.hosts.flatMap((g) => (g.racks !== undefined ? Array.from({ length: Math.min(g.racks, g.count) }, (_, i) => `rack-${i + 1}`) : [g.rack ?? "rack-1"]))).size;
  const disks = scenario.cluster.hosts.reduce((sum, g) => sum + g.count * g.disks, 0);
  const firings: [(string | number)[], number][] = [];
  const cycle = (process: FailureProcessSpec, units: number, path: string[]) => {
    const mean = distributionMean(process.timeToFailureHours) + distributionMean(process.timeToRepairHours);
    firings.push([path, (2 * units * hours) / mean]);
  };
  const f = scenario.failures;
  if (f?.host?.crash) cycle(f.host.crash, hosts, ["failures", "host", "crash"]);
  if (f?.host?.hardware) cycle(f.host.hardware, hosts, ["failures", "host", "hardware"]);
  if (f?.isolation) cycle(f.isolation, hosts, ["failures", "isolation"]);
  if (f?.rack) cycle(f.rack, racks, ["failures", "rack"]);
  if (f?.disk) cycle(f.disk, disks, ["failures", "disk"]);
  if (f?.san) cycle(f.san, 1, ["failures", "san"]);
  if (f?.controller) cycle(f.controller, 1, ["failures", "controller"]);
  const arrivals = scenario.workload?.arrivals;
  if (arrivals) firings.push([["workload", "arrivals", "ratePerHour"], arrivals.ratePerHour * hours]);
  const patches = scenario.maintenance?.patchReboots;
  if (patches) firings.push([["maintenance", "patchReboots", "perYear"], (hosts * patches.perYear * hours * MS_PER_HOUR) / MS_PER_YEAR]);
  if (scenario.rebalance) firings.push([["rebalance", "intervalMinutes"], (hours * 60) / scenario.rebalance.intervalMinutes]);
  const total = firings.reduce((sum, [, n]) => sum + n, 0);
  if (total <= LIMITS.expectedFirings) return [];
  const [path] = firings.reduce((a, b) => (b[1] > a[1] ? b : a));
  return [{
    path,
    message: `expected at most ${LIMITS.expectedFirings.toExponential(0)} failures, repairs, arrivals and rebalancing rounds in a run, but these settings give about ${total.toExponential(1)} over durationHours ${hours}, most of them from here`,
  }];
}

/** Every host of the cluster, in file order, with its rack (the group's, or round-robin over `rack-1` .. `rack-N`). */
export function clusterLayout(scenario: Pick<Scenario, "cluster">) {
  return scenario.cluster.hosts.flatMap((group) =>
    hostIds(group).map((id, i) => ({
      id,
      rack: group.rack ?? (group.racks !== undefined ? `rack-${(i % group.racks) + 1}` : "rack-1"),
      group,
      disks: group.disks,
    })),
  );
}

/** The ids of a group's hosts: its name, or name-001 ... name-N when it has several. */
export function hostIds(group: { name: string; count: number }): string[] {
  if (group.count === 1) return [group.name];
  const width = Math.max(3, String(group.count).length);
  return Array.from({ length: group.count }, (_, i) => `${group.name}-${String(i + 1).padStart(width, "0")}`);
}

export type Scenario = z.infer<typeof scenarioObject>;
export type HostGroup = z.infer<typeof hostGroup>;
export type FailureProcessSpec = z.infer<typeof failureProcess>;
export type BurstSpec = z.infer<typeof burstProcess>;
export type FailureRow = z.infer<typeof failureRow>;
export type RequestRow = z.infer<typeof requestRow>;
export type WorkloadSpec = z.infer<typeof workload>;
export type ProvisioningSpec = z.infer<typeof provisioning>;
export type VmSizeSpec = z.infer<typeof vmSize>;
export type ExperimentSpec = z.infer<typeof experiment>;
