import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { keepsStateInConnection, VirshError } from "./virsh.js";
import type { LibvirtHost } from "./host.js";
import { type LongTimer, setLongTimeout } from "./wall-clock.js";

export interface LifecycleEvent {
  domain: string;
  /** `Started`, `Stopped`, `Suspended`, `Resumed`, `Defined`, `Undefined`, `Shutdown`, `Crashed`, ... */
  event: string;
  /** e.g. `Booted`, `Destroyed`, `Failed`, `Migrated`, `Shutdown`. */
  detail: string;
}

export interface MonitorHandlers {
  /** The host answered a probe (after not answering, or for the first time). */
  up(host: string): void;
  /**
   * The host did not answer: `timeout` — no answer within the probe timeout (hung, or cut off:
   * it may still run its VMs); `refused` — the connection failed or closed (the daemon is gone).
   */
  down(host: string, why: string, kind: "timeout" | "refused"): void;
  lifecycle(host: string, event: LifecycleEvent): void;
}

/** One line of `virsh event --loop --all`: `event 'lifecycle' for domain 'NAME': Stopped Destroyed`. */
export function parseEventLine(line: string): LifecycleEvent | null {
  const m = /event 'lifecycle' for domain '([^']+)': (\S+)(?: (.*))?$/.exec(line.trim());
  return m ? { domain: m[1]!, event: m[2]!, detail: (m[3] ?? "").trim() } : null;
}

/**
 * Watches one host: a probe (`virsh list --all --name`, with the probe timeout) every probe
 * interval, and a long-lived `virsh event --loop --all` whose lifecycle events it passes on. The
 * event stream ends the moment the daemon's connection closes (a killed daemon): that triggers a
 * probe at once, so a dead daemon is noticed in milliseconds, a hung one within the probe
 * timeout, a host that answers again within a probe interval.
 *
 * The monitor reports what it sees (`up`/`down` on every change); the adapter decides what that
 * means for the world. libvirt's test driver keeps its state per connection, so for it only the
 * probes run (through the adapter's kept session).
 */
export class HostMonitor {
  private timer: LongTimer | null = null;
  private stream: ChildProcessWithoutNullStreams | null = null;
  private probing: Promise<void> | null = null;
  private again = false;
  private streamStartedAt = -Infinity;
  private stopped = false;
  /** What the last probe found; null before the first. */
  answering: boolean | null = null;
  /** How the host last failed to answer, null while it answers. */
  private silence: "timeout" | "refused" | null = null;

  constructor(
    private readonly host: LibvirtHost,
    private readonly intervalMs: number,
    private readonly handlers: MonitorHandlers,
  ) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.stream?.kill("SIGKILL");
    this.stream = null;
  }

  /** Probes now (or right after the probe under way). */
  checkNow(): Promise<void> {
    if (this.probing) {
      this.again = true;
      return this.probing;
    }
    this.timer?.cancel();
    this.timer = null;
    this.probing = this.probe().finally(() => {
      this.probing = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        void this.checkNow();
      } else this.schedule(this.intervalMs);
    });
    return this.probing;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = setLongTimeout(() => {
      this.timer = null;
      void this.checkNow();
    }, ms);
  }

  private async probe(): Promise<void> {
    let ok = true;
    let why = "";
    let kind: "timeout" | "refused" = "refused";
    try {
      await this.host.probe();
    } catch (error) {
      ok = false;
      why = (error as Error).message;
      if (error instanceof VirshError && error.timedOut) kind = "timeout";
    }
    if (this.stopped) return;
    const before = this.answering;
    const beforeKind = this.silence;
    this.answering = ok;
    this.silence = ok ? null : kind;
    // (Re)start the event stream once the host answers, at most once a probe interval.
    if (ok && this.stream === null && Date.now() - this.streamStartedAt >= this.intervalMs) this.startStream();
    if (ok && before !== true) {
      this.handlers.up(this.host.name);
    } else if (!ok && (before !== false || beforeKind !== kind)) {
      this.handlers.down(this.host.name, why, kind);
    }
  }

  private startStream(): void {
    if (this.stopped || this.stream !== null || keepsStateInConnection(this.host.uri)) return;
    this.streamStartedAt = Date.now();
    const child = spawn(this.host.virsh.binary, ["-q", "-c", this.host.uri, "event", "--loop", "--all"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    this.stream = child;
    let buffer = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const event = parseEventLine(line);
        if (event) this.handlers.lifecycle(this.host.name, event);
      }
    });
    child.stderr.resume();
    child.stdin.end();
    child.on("error", () => {});
    child.on("close", () => {
      if (this.stream === child) this.stream = null;
      // The connection closed: is the daemon gone? (The stream is restarted once it answers.)
      if (!this.stopped) void this.checkNow();
    });
  }
}
