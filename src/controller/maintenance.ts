import { onMaintenanceBegin, onMaintenanceDrained, onMaintenanceWindowEnd, type Command } from "./decide.js";
import type { ClusterPort } from "./port.js";

export interface MaintenanceJob {
  host: string;
  /** How long the host stays switched off; null: drain only (it stays on, in maintenance mode). */
  windowMs: number | null;
  drainTimeoutMs: number;
  onDrained?: (remaining: number) => void;
}

/** What maintenance needs from the controller: moving VMs off a host. */
export interface Drainer {
  /** Starts migrations off the host; returns how many VMs are still to move. */
  migrateOff(host: string): number;
  /** Whether migrations off the host are under way. */
  migrating(host: string): boolean;
}

/**
 * Planned maintenance, one host at a time (a rolling upgrade takes every host in turn):
 * maintenance mode (nothing new placed there) → drain (the controller live-migrates what it can)
 * → switched off for the window → switched on → maintenance mode ends → the next host.
 * A drain that has not finished after `drainTimeoutMs` is cut short: whatever still runs there
 * goes down with the host, as it would for an operator with a deadline. Each step's decision is a
 * pure function of the world (`onMaintenanceBegin`, `onMaintenanceDrained`, `onMaintenanceWindowEnd`;
 * the drain's moves are `planDrain`'s), carried out by the controller's `execute`.
 */
export class Maintenance {
  private readonly queue: MaintenanceJob[] = [];
  private current: { job: MaintenanceJob; phase: "draining" | "off" | "booting"; started: number } | null = null;

  /** `after`: the controller's timers (held while it is stopped); `execute`: the controller's executor of commands. */
  constructor(
    private readonly port: ClusterPort,
    private readonly drainer: Drainer,
    private readonly after: (delayMs: number, callback: () => void) => void,
    private readonly execute: (commands: readonly Command[]) => void,
  ) {}

  enqueue(job: { host: string; windowMs: number; drainTimeoutMs: number }): void {
    this.queue.push(job);
    if (this.current === null) this.next();
  }

  drainOnly(host: string, onDrained?: (remaining: number) => void): void {
    this.queue.push({ host, windowMs: null, drainTimeoutMs: Infinity, ...(onDrained ? { onDrained } : {}) });
    if (this.current === null) this.next();
  }

  /** A migration off `host` ended (finished or aborted): the drain goes on. */
  migrationEnded(host: string): void {
    if (this.current?.phase === "draining" && this.current.job.host === host) this.step();
  }

  /** The host is switched on again after its window: maintenance mode ends. */
  hostPoweredOn(host: string): void {
    if (this.current?.phase !== "booting" || this.current.job.host !== host) return;
    this.port.record({ type: "maintenanceFinished", host });
    this.current = null;
    this.next();
  }

  private next(): void {
    const job = this.queue.shift();
    if (job === undefined) return;
    const host = this.port.world.hosts.get(job.host);
    if (host === undefined) return this.next();
    const started = this.port.world.t;
    this.current = { job, phase: "draining", started };
    this.execute(onMaintenanceBegin(this.port.world, job.host));
    if (Number.isFinite(job.drainTimeoutMs)) {
      this.after(job.drainTimeoutMs, () => {
        if (this.current?.job === job && this.current.phase === "draining") this.drained(this.drainer.migrateOff(job.host));
      });
    }
    this.step();
  }

  private step(): void {
    const job = this.current!.job;
    const remaining = this.drainer.migrateOff(job.host);
    if (remaining === 0 && !this.drainer.migrating(job.host)) this.drained(0);
  }

  private drained(remaining: number): void {
    const current = this.current!;
    const { job } = current;
    job.onDrained?.(remaining);
    if (job.windowMs === null) {
      this.current = null;
      this.next();
      return;
    }
    current.phase = "off";
    this.execute(onMaintenanceDrained(this.port.world, job.host));
    this.after(job.windowMs, () => {
      current.phase = "booting";
      const commands = onMaintenanceWindowEnd(this.port.world, job.host);
      if (commands.length > 0) this.execute(commands);
      else this.hostPoweredOn(job.host); // someone switched it on already
    });
  }
}
