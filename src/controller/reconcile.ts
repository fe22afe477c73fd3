import type { DomainEventBody } from "../model/events.js";
import { volumeReachableFrom, type World } from "../model/world.js";

/** What one host that answers says when a controller resumes: the run's domains running (or paused) on it, by VM id. */
export interface HostReport {
  host: string;
  domains: readonly string[];
}

/** How the world rebuilt from the log is brought in line with what the hosts report. */
export interface Reconciliation {
  /** What happened while the controller was away, as events to record, in order. */
  events: DomainEventBody[];
  /** Domains the world does not account for (a copy of a VM elsewhere, a VM ended meanwhile): to destroy. */
  stale: { host: string; vm: string }[];
}

/**
 * Reconciliation when a controller resumes from its log (issue 19; what vSphere HA's new master
 * and Proxmox's HA manager do after a fail-over: compare what they believed with what the hosts
 * run). Pure: it reads the world the log leaves and the reports of the hosts that answer, and
 * returns events and stale domains; recording the events is the caller's. Only hosts that answer
 * are reconciled: a host that died or came back meanwhile is reported by the host monitors as usual
 * once they run, and the controller acts on that as on any failure or repair.
 *
 * Per VM, in id order:
 * - a migration in flight whose ends both answer: the domain on the destination only → it finished
 *   (`migrationFinished`, its pause and volume not measured: recorded as 0); on the source (a copy on
 *   the destination too is stale), or nowhere → it failed (`migrationAborted`, reason `failed`);
 * - a VM the world has booting or running on its host: no domain there → it stopped (`vmDown`,
 *   cause `stopped`: the controller's VM monitoring boots it again); booting with its domain
 *   running → `vmStarted` (the boot the dead controller was waiting for);
 * - a VM the world has down on its usable host with its domain running → the reboot the dead
 *   controller had asked for happened (`vmRebooted`, boot not measured: 0, then `vmStarted`) —
 *   unless its volume cannot serve I/O there (too few copies reachable: Ceph's min_size): then the
 *   domain cannot be doing its work, and it is stale; the VM waits for its volume as before;
 * - any other domain — of a VM on another host, pending, ended or unknown — is stale.
 */
export function reconcile(world: World, reports: readonly HostReport[]): Reconciliation {
  const events: DomainEventBody[] = [];
  const stale: { host: string; vm: string }[] = [];
  const running = new Map<string, Set<string>>(); // host → VMs with a domain there
  for (const report of reports) running.set(report.host, new Set(report.domains));
  const answers = (host: string | null): host is string => host !== null && running.has(host);
  const runsOn = (host: string, vm: string) => running.get(host)?.has(vm) === true;
  const accounted = new Set<string>(); // "host vm" of the domains the world explains

  for (const id of [...world.vms.keys()].sort()) {
    const vm = world.vms.get(id)!;
    let host = vm.host;
    let state = vm.state;
    const migration = vm.migration;
    if (migration !== null) {
      if (!answers(host) || !answers(migration.to)) {
        // An end that does not answer: the monitors report it, and the migration ends with it.
        accounted.add(`${host} ${id}`).add(`${migration.to} ${id}`);
        continue;
      }
      const onSource = runsOn(host, id);
      const endsUp = world.hosts.get(host)!.up && world.hosts.get(migration.to)!.up;
      if (runsOn(migration.to, id) && !onSource && endsUp) {
        events.push({ type: "migrationFinished", vm: id, downtimeMs: 0, transferredGiB: 0 });
        host = migration.to;
        if (migration.mode === "cold") state = "booting";
      } else events.push({ type: "migrationAborted", vm: id, reason: "failed" });
    }
    if (!answers(host)) continue;
    const hostState = world.hosts.get(host)!;
    const usable = hostState.up && !hostState.isolated;
    if (state === "running" || state === "booting") {
      if (!runsOn(host, id)) events.push({ type: "vmDown", vm: id, cause: "stopped" });
      else {
        accounted.add(`${host} ${id}`);
        if (state === "booting" && usable) events.push({ type: "vmStarted", vm: id });
      }
    } else if (state === "down" && usable && runsOn(host, id) && (vm.volume === null || volumeReachableFrom(world, world.volumes.get(vm.volume)!, host))) {
      events.push({ type: "vmRebooted", vm: id, bootMs: 0 }, { type: "vmStarted", vm: id });
      accounted.add(`${host} ${id}`);
    }
  }
  for (const report of [...reports].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))) {
    for (const vm of [...new Set(report.domains)].sort()) if (!accounted.has(`${report.host} ${vm}`)) stale.push({ host: report.host, vm });
  }
  return { events, stale };
}
