/**
 * A persistent-ha VM on a real RBD image, its host killed: how long until the guest runs again
 * elsewhere, with and without blocklisting the dead client first (issue 16). Needs libvirt, QEMU,
 * tini, Ceph and the guest's tools (`.ci/run` installs them); not part of `npm run bench`.
 *
 *   node dist/bench/libvirt-ceph.js [--reps 3] [--json]
 *
 * `test/libvirt/hosts.sh up DIR 3 --ceph`; then, `reps` times for each setting of
 * `storage.ceph.blocklist`: one tiny guest (96 MiB, TCG) boots on h1 from its RBD image; once it
 * has reported its boot on its console (`guestBooted`), h1 is killed (daemon and QEMUs, SIGKILL);
 * measured are kill → `hostFailed`, kill → `vmStarted` elsewhere (libvirt says it runs), and kill →
 * `guestBooted` elsewhere (the guest read and wrote its disk: the restart as its user sees it),
 * and `virsh start` → `guestBooted` of the first boot. Without the blocklist the new QEMU's first
 * write waits for the dead client's lock (its watch times out, ~30 s).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadInventoryFile } from "../src/adapters/libvirt/inventory.js";
import { runLive } from "../src/adapters/libvirt/live-run.js";
import { Virsh } from "../src/adapters/libvirt/virsh.js";
import type { DomainEvent } from "../src/model/events.js";
import { parseScenario } from "../src/scenario/load.js";
import { EventStore } from "../src/event-store/event-store.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HOSTS = join(ROOT, "test", "libvirt", "hosts.sh");
const args = process.argv.slice(2);
const reps = Number(args[args.indexOf("--reps") + 1] ?? 3) || 3;
const json = args.includes("--json");

const SCENARIO = `
name: ceph-fencing-bench
durationHours: 1
serviceModels: [persistent-ha]
cluster: { hosts: [{ name: h, count: 3, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }
workload: { sizes: [{ name: guest, vcpus: 1, memoryGiB: 0.09375, diskGiB: 1 }], fleet: 1 }
provisioning: { bootSeconds: 3, volumeAttachSeconds: 0 }
storage: { kind: replicated, replicas: 3 }
ha: { heartbeatTimeoutSeconds: 2, fencing: false }
placement: { policy: first-fit }
`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  blocklist: boolean;
  firstBootMs: number;
  detectMs: number;
  startedMs: number;
  guestMs: number;
}

async function once(dir: string, blocklist: boolean, store: EventStore): Promise<Sample> {
  const file = join(dir, `inventory-${blocklist}.yaml`);
  writeFileSync(file, readFileSync(join(dir, "inventory.yaml"), "utf8").replace(/pool: rbd \}/, `pool: rbd, blocklist: ${blocklist} }`));
  const events: DomainEvent[] = [];
  const stop = new AbortController();
  let sample: Sample | null = null;
  let steps: Promise<void> = Promise.resolve();
  await runLive({
    inventory: loadInventoryFile(file),
    config: parseScenario("bench", SCENARIO).config,
    meta: { scenarioName: "ceph-fencing-bench", scenarioFile: null, scenarioYaml: SCENARIO, scenarioJson: "{}", scenarioHash: "bench", seed: 1, packageVersion: "bench", gitCommit: null },
    serviceModel: "persistent-ha",
    seed: 1,
    store,
    provenance: { packageVersion: "bench", gitCommit: null, now: () => new Date().toISOString() },
    virsh: new Virsh(),
    durationMs: 600_000,
    signal: stop.signal,
    report: () => {},
    observe: (e) => events.push(e),
    onStarted: ({ log }) => {
      const until = async (test: () => DomainEvent | undefined) => {
        const deadline = Date.now() + 240_000;
        for (;;) {
          const e = test();
          if (e) return e;
          if (Date.now() > deadline) throw new Error("timed out");
          await sleep(20);
        }
      };
      steps = (async () => {
        const placed = await until(() => events.find((e) => e.type === "vmPlaced"));
        const booted = await until(() => events.find((e) => e.type === "guestBooted"));
        const killedAt = log.now;
        spawnSync("bash", [HOSTS, "kill", dir, "h1"]);
        const failed = await until(() => events.find((e) => e.type === "hostFailed"));
        const started = await until(() => events.find((e) => e.type === "vmStarted" && e.t > killedAt));
        const again = await until(() => events.find((e) => e.type === "guestBooted" && e.host !== "h1"));
        sample = { blocklist, firstBootMs: booted.t - placed.t, detectMs: failed.t - killedAt, startedMs: started.t - killedAt, guestMs: again.t - killedAt };
        spawnSync("bash", [HOSTS, "restart", dir, "h1"]);
        await sleep(3000); // h1 answers again and is cleaned up
      })().finally(() => stop.abort());
    },
  });
  await steps;
  return sample!;
}

const dir = mkdtempSync("/tmp/tbc-");
const up = spawnSync("bash", [HOSTS, "up", dir, "3", "--ceph"], { encoding: "utf8" });
if (up.status !== 0) throw new Error(`hosts.sh up --ceph: ${up.stderr}`);
const store = EventStore.open(join(mkdtempSync(join(tmpdir(), "ceph-bench-")), "live.db"));
const samples: Sample[] = [];
try {
  for (let r = 0; r < reps; r++) for (const blocklist of [true, false]) samples.push(await once(dir, blocklist, store));
} finally {
  store.close();
  spawnSync("bash", [HOSTS, "down", dir]);
}
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
if (json) process.stdout.write(`${JSON.stringify({ reps, load, samples }, null, 2)}\n`);
else {
  const cell = (xs: number[]) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`.padStart(22);
  process.stdout.write(`ms, median (min–max), n=${reps} each; load average at the end ${load}\n`);
  process.stdout.write(`${"".padEnd(44)}${"blocklist first".padStart(22)}${"no blocklist".padStart(22)}\n`);
  const row = (name: string, pick: (s: Sample) => number) =>
    process.stdout.write(`${name.padEnd(44)}${cell(samples.filter((s) => s.blocklist).map(pick))}${cell(samples.filter((s) => !s.blocklist).map(pick))}\n`);
  row("first boot: vmPlaced → guestBooted", (s) => s.firstBootMs);
  row("kill → hostFailed", (s) => s.detectMs);
  row("kill → vmStarted elsewhere (libvirt)", (s) => s.startedMs);
  row("kill → guestBooted elsewhere (the guest)", (s) => s.guestMs);
}
