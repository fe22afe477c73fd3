import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CephVolumes, DiskNotOurs, execRunner, HostFiles } from "../../src/adapters/libvirt/disks.js";
import { loadInventoryFile } from "../../src/adapters/libvirt/inventory.js";
import { decodeEvent } from "../../src/event-store/event-codec.js";
import { EventStore } from "../../src/event-store/event-store.js";
import type { DomainEvent, ServiceModel } from "../../src/model/events.js";
import { runLive } from "../../src/adapters/libvirt/live-run.js";
import { Virsh } from "../../src/adapters/libvirt/virsh.js";
import { parseScenario } from "../../src/scenario/load.js";
import { tempDir, testbed, testProvenance } from "../helpers.js";
import { runCephTests, TestbedHosts } from "./testbed-hosts.js";

/**
 * Is my data still there — on real hosts with real disks. `hosts.sh up DIR 3 --ceph`: three
 * libvirtd daemons, the tiny guest (it counts its boots on its disk and prints the count on its
 * serial console), a 3-OSD Ceph cluster. `scenarios/live-persistence.yaml` kills h1 (daemon and
 * QEMUs, SIGKILL) 25 s in and brings it back 25 s later; it runs once per service model through
 * the CLI, each run replays with verification, and the guest's own reports (`guestBooted`) say
 * what survived.
 */
describe.runIf(runCephTests())("live-persistence on libvirt daemons with the real guest and Ceph", () => {
  let hosts: TestbedHosts;
  const dir = tempDir();
  const db = join(dir, "live.db");
  const runs = new Map<ServiceModel, { code: number | null; out: string; events: DomainEvent[] }>();

  beforeAll(() => {
    hosts = TestbedHosts.up(3, "ceph");
  }, 300_000);
  afterAll(() => hosts?.down(), 120_000);

  const boots = (model: ServiceModel) => runs.get(model)!.events.filter((e) => e.type === "guestBooted") as Extract<DomainEvent, { type: "guestBooted" }>[];

  function live(model: ServiceModel): void {
    const r = testbed("live", hosts.inventoryFile, "scenarios/live-persistence.yaml", "--model", model, "--db", db);
    const store = EventStore.openReadonly(db);
    const run = store.listRuns().at(-1)!;
    const events: DomainEvent[] = [];
    for (const page of store.readEvents(run.id)) page.seq.forEach((seq, i) => events.push(decodeEvent(seq, page.t[i]!, page.type[i]!, page.payload[i]!)));
    store.close();
    runs.set(model, { code: r.code, out: r.stdout + r.stderr, events });
  }

  it("persistent-ha: restarted on another host, the guest finds its disk (a higher boot count)", () => {
    live("persistent-ha");
    const run = runs.get("persistent-ha")!;
    expect(run.code, run.out).toBe(0);
    const b = boots("persistent-ha");
    expect(b.map((e) => e.host)[0], run.out).toBe("h1");
    const after = b.find((e) => e.host !== "h1");
    expect(after, JSON.stringify(b)).toBeDefined();
    expect(after!.bootCount).toBeGreaterThan(b[0]!.bootCount);
    expect(run.out).toMatch(/blocklisted the holder\(s\) of its image's lock before starting it on h[23]/);
  }, 400_000);

  it("ephemeral: the replacement boots from the base image (boot count 1 on another host)", () => {
    live("ephemeral");
    const run = runs.get("ephemeral")!;
    expect(run.code, run.out).toBe(0);
    const b = boots("ephemeral");
    expect(b[0], JSON.stringify(b)).toMatchObject({ host: "h1", bootCount: 1 });
    expect(run.events.some((e) => e.type === "vmLost")).toBe(true);
    const replacement = b.find((e) => e.host !== "h1");
    expect(replacement, JSON.stringify(b)).toMatchObject({ bootCount: 1 });
  }, 400_000);

  it("vps: the VM waits for its host and boots there again on its own disk (a higher boot count)", () => {
    live("vps");
    const run = runs.get("vps")!;
    expect(run.code, run.out).toBe(0);
    const b = boots("vps");
    expect(b.map((e) => e.host)).toEqual(["h1", "h1"]);
    expect(b[1]!.bootCount).toBeGreaterThan(b[0]!.bootCount);
  }, 400_000);

  it("every run replays and verifies, and leaves no image, disk file or domain behind", () => {
    const r = testbed("replay", db, "--verify");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/verified: equals the recorded state/g)?.length).toBe(3);
    const inventory = loadInventoryFile(hosts.inventoryFile);
    for (const h of inventory.hosts) expect(existsSync(join(h.dir!, "testbed-pet-0001.img")) || existsSync(join(h.dir!, "testbed-pet-0001.qcow2"))).toBe(false);
  }, 120_000);

  it("drain live-migrates the RBD-backed guest without --unsafe, and it ticks on without a reboot", () => {
    const keep = testbed("live", hosts.inventoryFile, "scenarios/live-persistence.yaml", "--model", "persistent-ha", "--duration", "20", "--keep", "--db", db);
    expect(keep.code, keep.stdout + keep.stderr).toBe(0);
    const serial = join(loadInventoryFile(hosts.inventoryFile).guest!.serialDir, "testbed-pet-0001.log");
    const ticks = () => (readFileSync(serial, "latin1").match(/^(BOOT_COUNT=\d+|TICK \d+)\r?$/gm) ?? []).map((l) => l.trim());
    const before = ticks();
    const r = testbed("drain", hosts.inventoryFile, "h1", "--db", db);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const store = EventStore.openReadonly(db);
    const run = store.listRuns().at(-1)!;
    const types: string[] = [];
    for (const page of store.readEvents(run.id)) types.push(...page.type);
    store.close();
    expect(types).toContain("migrationFinished");
    const waitUntil = Date.now() + 30_000;
    while (ticks().length < before.length + 2 && Date.now() < waitUntil) spawnSync("sleep", ["1"]);
    const after = ticks().slice(before.length);
    // No new boot: the guest ran on through the migration, its tick counter going on.
    expect(after.some((l) => l.startsWith("BOOT_COUNT")), after.join(" ")).toBe(false);
    const last = before.at(-1)!.startsWith("TICK ") ? Number(before.at(-1)!.slice(5)) : 0; // ticks count from 1 after each boot
    expect(after.map((l) => Number(l.split(" ")[1]))[0]).toBe(last + 1);
    expect(spawnSync("virsh", ["-q", "-c", hosts.uri("h2"), "domstate", "testbed-pet-0001"], { encoding: "utf8" }).stdout.trim()).toBe("running");
    // What --keep kept goes: the domain, then its image.
    for (const command of ["destroy", "undefine"]) spawnSync("virsh", ["-q", "-c", hosts.uri("h2"), command, "testbed-pet-0001"]);
    const conf = loadInventoryFile(hosts.inventoryFile).ceph!.conf;
    expect(spawnSync("rbd", ["--conf", conf, "rm", "--no-progress", "rbd/testbed-pet-0001"], { encoding: "utf8" }).status).toBe(0);
  }, 400_000);

  it("one OSD stopped: the guest ticks on; two: its I/O stalls; both back: it carries on", async () => {
    const SCENARIO = "name: osd\ndurationHours: 1\nserviceModels: [persistent-ha]\ncluster: { hosts: [{ name: h, count: 3, vcpus: 2, memoryGiB: 1, diskGiB: 10 }] }\nworkload: { sizes: [{ name: guest, vcpus: 1, memoryGiB: 0.09375, diskGiB: 1 }], fleet: 1 }\nstorage: { kind: replicated, replicas: 3 }\nplacement: { policy: first-fit }\n";
    const store = EventStore.open(join(dir, "osd.db"));
    const stop = new AbortController();
    const seen: Record<string, number> = {};
    let steps: Promise<void> = Promise.resolve();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const result = await runLive({
      inventory: loadInventoryFile(hosts.inventoryFile),
      config: parseScenario("osd.yaml", SCENARIO).config,
      meta: { scenarioName: "osd", scenarioFile: null, scenarioYaml: SCENARIO, scenarioJson: "{}", scenarioHash: "osd", seed: 1, packageVersion: "test", gitCommit: null },
      serviceModel: "persistent-ha",
      seed: 1,
      store,
      provenance: testProvenance,
      virsh: new Virsh(),
      durationMs: 600_000,
      signal: stop.signal,
      report: () => {},
      onStarted: ({ adapter, log }) => {
        const tick = () => adapter.lastTick.get("pet-0001") ?? -1;
        const ticksWithin = async (ms: number) => {
          const from = tick();
          const until = Date.now() + ms;
          while (Date.now() < until) {
            if (tick() > from) return true;
            await sleep(100);
          }
          return false;
        };
        steps = (async () => {
          const until = Date.now() + 180_000;
          while (tick() < 0 && Date.now() < until) await sleep(200);
          hosts.osd("stop", 0);
          seen.oneDown = (await ticksWithin(30_000)) ? 1 : 0;
          hosts.osd("stop", 1);
          await sleep(3000); // a write under way may still complete
          seen.twoDown = (await ticksWithin(12_000)) ? 1 : 0;
          const t = log.now;
          hosts.osd("start", 0);
          hosts.osd("start", 1);
          seen.back = (await ticksWithin(60_000)) ? 1 : 0;
          seen.resumeMs = log.now - t;
        })().finally(() => stop.abort());
      },
    });
    await steps;
    store.close();
    expect(result.problems).toEqual([]);
    expect(seen).toMatchObject({ oneDown: 1, twoDown: 0, back: 1 });
    console.log(`OSDs back → first tick: ${seen.resumeMs} ms (including both osd-start commands)`);
  }, 400_000);

  it("refuses an RBD image or a disk file of our name that it did not make, and says whose it is", async () => {
    const inventory = loadInventoryFile(hosts.inventoryFile);
    const ceph = new CephVolumes(inventory.ceph!, execRunner(false), 30_000);
    const runner = execRunner(false);
    await runner.run(["rbd", "--conf", inventory.ceph!.conf, "create", "--size", "4", "rbd/testbed-foreign"], 30_000);
    await expect(ceph.ensure("testbed-foreign", "foreign", "test", inventory.guest!.baseImage)).rejects.toThrow(DiskNotOurs);
    await expect(ceph.remove("testbed-foreign", "foreign")).rejects.toThrow(/rbd\/testbed-foreign has no vm-testbed metadata; refusing/);
    expect(await ceph.exists("testbed-foreign")).toBe(true);
    const files = new HostFiles(runner, 30_000);
    const hostDir = inventory.hosts[0]!.dir!;
    writeFileSync(join(hostDir, "testbed-mine.img"), "someone's data");
    await expect(files.ensure(hostDir, "testbed-mine", "mine", "run", "vps", inventory.guest!.baseImage)).rejects.toThrow(/has no vm-testbed owner file/);
    writeFileSync(join(hostDir, "testbed-mine.img.owner"), JSON.stringify({ vm: "other", run: "x" }));
    expect(() => files.remove(hostDir, "testbed-mine", "mine", "vps")).toThrow(/belongs to VM other, not mine/);
    expect(existsSync(join(hostDir, "testbed-mine.img"))).toBe(true);
  }, 120_000);

  it("Ceph not reachable: live exits 1 naming the conf and the monitor", () => {
    const conf = join(dir, "nowhere.conf");
    writeFileSync(conf, "[global]\nmon host = v2:127.0.0.1:1\nauth cluster required = none\nauth service required = none\nauth client required = none\n");
    const inventory = hosts.writeInventory("unreachable.yaml", (text) => text.replace(/conf: [^,]+,/, `conf: ${conf},`));
    const r = testbed("live", inventory, "scenarios/live-persistence.yaml", "--model", "persistent-ha", "--db", join(dir, "never.db"));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Ceph is not reachable (conf ${conf}, monitor v2:127.0.0.1:1, pool rbd)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
