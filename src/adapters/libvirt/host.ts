import { METADATA_NS, parseMetadata } from "./domain-xml.js";
import type { Inventory, InventoryHost } from "./inventory.js";
import { checkName } from "./names.js";
import { Virsh, VirshError } from "./virsh.js";
import { sleep } from "./wall-clock.js";

/** What `virsh nodeinfo`, `capabilities` and `freecell` report of a host. */
export interface HostCapacity {
  cpus: number;
  memoryKiB: number;
  freeMemoryKiB: number;
  hostname: string;
  /** Domain types the host can run for x86_64 guests (`qemu` = TCG, `kvm`, `test`). */
  domainTypes: string[];
  hostUuid: string | null;
}

export interface OwnedDomain {
  name: string;
  vm: string;
  run: string;
  state: string;
}

/** A domain that lacks our metadata, or carries another VM's: the adapter will not touch it. */
export class NotOurs extends Error {}

/**
 * One host of the inventory, driven through `virsh -c <its URI>`: discovery, the domain commands
 * the adapter needs, and the ownership check every destructive command goes through.
 */
export class LibvirtHost {
  readonly name: string;
  readonly uri: string;

  constructor(
    readonly config: InventoryHost,
    private readonly inventory: Inventory,
    readonly virsh: Virsh,
    /** Whether a domain of `vm` created by run `run` is this run's to touch (default: any run's, for commands outside a run). */
    private readonly ownsRun: (vm: string, run: string) => boolean = () => true,
  ) {
    this.name = config.name;
    this.uri = config.uri;
  }

  domainName(vm: string): string {
    return checkName("domain", `${this.inventory.domainPrefix}${checkName("VM", vm)}`);
  }

  private run(args: string[], options: { timeoutMs?: number; mutating?: boolean; input?: string } = {}): Promise<string> {
    return this.virsh.run(this.uri, args, { timeoutMs: options.timeoutMs ?? this.inventory.commandTimeoutMs, ...options });
  }

  /** A cheap command that needs the daemon: the liveness probe. Returns the domain names. */
  async probe(): Promise<string[]> {
    return lines(await this.run(["list", "--all", "--name"], { timeoutMs: this.inventory.probeTimeoutMs }));
  }

  async discover(): Promise<HostCapacity> {
    const [nodeinfo, caps, freecell, hostname] = await Promise.all([
      this.run(["nodeinfo"]),
      this.run(["capabilities"]),
      this.run(["freecell"]),
      this.run(["hostname"]).catch(() => ""),
    ]);
    return { ...parseNodeinfo(nodeinfo), freeMemoryKiB: parseFreecell(freecell), hostname: hostname.trim(), ...parseCapabilities(caps) };
  }

  /** The VM a domain belongs to according to our metadata, or null if it has none. */
  async owner(domain: string): Promise<{ vm: string; run: string } | null> {
    try {
      return parseMetadata(await this.run(["metadata", checkName("domain", domain), METADATA_NS]));
    } catch (error) {
      if (error instanceof VirshError && /metadata not found|not present/i.test(error.stderr)) return null;
      throw error;
    }
  }

  /** Every domain on the host that carries our metadata, with its state. */
  async ownedDomains(): Promise<OwnedDomain[]> {
    const names = (await this.probe()).filter((n) => n.startsWith(this.inventory.domainPrefix));
    const owned: OwnedDomain[] = [];
    for (const name of names) {
      const meta = await this.owner(name).catch(() => null);
      if (meta === null) continue;
      const state = await this.domstate(name).catch(() => "unknown");
      owned.push({ name, vm: meta.vm, run: meta.run, state });
    }
    return owned;
  }

  /** Whether a job (a migration) runs on the domain here: `virsh domjobinfo` says a job type other than None; false if it is gone. */
  async jobActive(domain: string): Promise<boolean> {
    const info = await this.run(["domjobinfo", checkName("domain", domain)]).catch(() => "");
    const type = /^Job type:\s*(\S+)/m.exec(info)?.[1];
    return type !== undefined && type !== "None";
  }

  async domstate(domain: string): Promise<string> {
    return (await this.run(["domstate", checkName("domain", domain)])).trim();
  }

  /** Refuses (NotOurs) unless the domain carries our metadata naming this VM and a run this one owns. */
  async assertOwned(domain: string, vm: string): Promise<void> {
    if (this.virsh.dryRun && !(await this.exists(domain))) return; // defined by an earlier dry-run step that did not run
    const meta = await this.owner(domain);
    if (meta === null) throw new NotOurs(`${this.name}: domain ${domain} has no vm-testbed metadata; refusing to touch it`);
    if (meta.vm !== vm) throw new NotOurs(`${this.name}: domain ${domain} belongs to VM ${meta.vm}, not ${vm}; refusing to touch it`);
    if (!this.ownsRun(vm, meta.run)) throw new NotOurs(`${this.name}: domain ${domain} belongs to run ${meta.run}, not this one; refusing to touch it`);
  }

  async exists(domain: string): Promise<boolean> {
    return (await this.probe()).includes(domain);
  }

  /**
   * Defines the domain from our XML. A definition of that name already there (left from an
   * earlier boot of the VM on this host) is replaced if it is ours and shut off; one that is not
   * ours, or that runs, is refused.
   */
  async define(domain: string, vm: string, xml: string): Promise<void> {
    if (await this.exists(domain)) {
      await this.assertOwned(domain, vm);
      // domstate only reads: a dry run asks too, instead of assuming the domain is shut off.
      const state = await this.domstate(domain);
      if (state !== "shut off") throw new Error(`${this.name}: domain ${domain} is ${state}; refusing to redefine it`);
      await this.run(["undefine", domain], { mutating: true });
    }
    await this.run(["define", "/dev/stdin"], { mutating: true, input: xml });
  }

  async start(domain: string, vm: string): Promise<void> {
    await this.assertOwned(domain, vm);
    await this.run(["start", domain], { mutating: true, timeoutMs: this.inventory.startTimeoutMs });
  }

  async destroy(domain: string, vm: string): Promise<void> {
    await this.assertOwned(domain, vm);
    await this.run(["destroy", domain], { mutating: true });
  }

  /** ACPI shutdown, then destroy if it is still running after the grace period. */
  async shutdown(domain: string, vm: string, graceMs: number): Promise<void> {
    await this.assertOwned(domain, vm);
    if (graceMs > 0) {
      await this.run(["shutdown", domain], { mutating: true });
      const until = Date.now() + graceMs;
      while (Date.now() < until) {
        if (this.virsh.dryRun || (await this.domstate(domain)) === "shut off") return;
        await sleep(200);
      }
    }
    await this.run(["destroy", domain], { mutating: true });
  }

  async undefine(domain: string, vm: string): Promise<void> {
    await this.assertOwned(domain, vm);
    await this.run(["undefine", domain], { mutating: true });
  }

  /**
   * Live migration to `to`: `virsh migrate --live --persistent --undefinesource`, QEMU's stream
   * to the destination's migration address (its port from the destination's
   * migration_port_min..max). Resolves with the destination's record of the finished job.
   */
  async migrateLive(domain: string, vm: string, to: LibvirtHost, timeoutMs: number): Promise<MigrationStats> {
    await this.assertOwned(domain, vm);
    const address = to.config.migrationAddress;
    const extra = address === null ? [] : ["--migrateuri", `tcp://${address.includes(":") ? `[${address}]` : address}`, "--listen-address", address];
    await this.run(["migrate", "--live", "--persistent", "--undefinesource", ...extra, domain, to.uri], { mutating: true, timeoutMs });
    if (this.virsh.dryRun) return { elapsedMs: 0, downtimeMs: 0, transferredBytes: 0 };
    return parseJobInfo(await to.run(["domjobinfo", domain, "--completed"]));
  }

  /** Moves a shut-off domain's definition to `to` (`migrate --offline --persistent --undefinesource`). */
  async migrateOffline(domain: string, vm: string, to: LibvirtHost): Promise<void> {
    await this.assertOwned(domain, vm);
    await this.run(["migrate", "--offline", "--persistent", "--undefinesource", domain, to.uri], { mutating: true });
  }
}

export interface MigrationStats {
  elapsedMs: number;
  downtimeMs: number;
  transferredBytes: number;
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);

export function parseNodeinfo(text: string): { cpus: number; memoryKiB: number } {
  const cpus = Number(/^CPU\(s\):\s*(\d+)/m.exec(text)?.[1]);
  const memoryKiB = Number(/^Memory size:\s*(\d+)\s*KiB/m.exec(text)?.[1]);
  if (!Number.isFinite(cpus) || !Number.isFinite(memoryKiB)) throw new Error(`cannot read virsh nodeinfo output: ${JSON.stringify(text.slice(0, 200))}`);
  return { cpus, memoryKiB };
}

export function parseFreecell(text: string): number {
  const total = /Total:\s*(\d+)\s*KiB/.exec(text) ?? /:\s*(\d+)\s*KiB/.exec(text);
  return total ? Number(total[1]) : NaN;
}

export function parseCapabilities(xml: string): { domainTypes: string[]; hostUuid: string | null } {
  const types = new Set<string>();
  for (const guest of xml.match(/<guest>[\s\S]*?<\/guest>/g) ?? []) {
    if (!/<arch name='x86_64'>/.test(guest) && !/<arch name="x86_64">/.test(guest)) continue;
    for (const m of guest.matchAll(/<domain type=['"]([a-z]+)['"]/g)) types.add(m[1]!);
  }
  const hostUuid = /<host>\s*<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1] ?? null;
  return { domainTypes: [...types], hostUuid };
}

/** `virsh domjobinfo --completed`: time elapsed, total downtime, bytes processed. */
export function parseJobInfo(text: string): MigrationStats {
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const elapsedMs = num(/^Time elapsed:\s*([\d.]+)\s*ms/m);
  const downtimeMs = num(/^Total downtime:\s*([\d.]+)\s*ms/m);
  const processed = /^Data processed:\s*([\d.]+)\s*(B|KiB|MiB|GiB|TiB)/m.exec(text);
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
  const transferredBytes = processed ? Number(processed[1]) * unit[processed[2] as keyof typeof unit] : NaN;
  return { elapsedMs, downtimeMs, transferredBytes };
}
