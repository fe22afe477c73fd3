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

  it("disk rows stop OSDs: one stopped, the guest ticks on and a copy is lost; two, its I/O stalls and the storage outage is recorded; both back, it resumes and the copies are rebuilt", async () => {
    // scenarios/live-storage-failures.yaml: osd.1 (h2/0) down 60–120 s, osd.2 (h3/0) down 80–115 s.
    const file = "scenarios/live-storage-failures.yaml";
    const yaml = readFileSync(file, "utf8");
    const osdDb = join(dir, "osd.db");
    const store = EventStore.open(osdDb);
    const events: DomainEvent[] = [];
    const ticks: number[] = [];
    let poll: ReturnType<typeof setInterval> | undefined;
    const result = await runLive({
      inventory: loadInventoryFile(hosts.inventoryFile),
      config: parseScenario(file, yaml).config,
      meta: { scenarioName: "live-storage-failures", scenarioFile: file, scenarioYaml: yaml, scenarioJson: "{}", scenarioHash: "osd", seed: 1, packageVersion: "test", gitCommit: null },
      serviceModel: "persistent-ha",
      seed: 1,
      store,
      provenance: testProvenance,
      virsh: new Virsh(),
      report: (line) => console.log(line),
      observe: (event) => events.push(event),
      onStarted: ({ adapter }) => {
        poll = setInterval(() => {
          const t = adapter.lastTick.get("pet-0001");
          if (t !== undefined && t !== ticks.at(-1)) ticks.push(t);
        }, 100);
      },
    }).finally(() => clearInterval(poll));
    store.close();
    expect(result.problems).toEqual([]);
    const at = (type: string, match: (e: DomainEvent) => boolean = () => true) => events.find((e) => e.type === type && match(e))?.t;
    const summary = events.filter((e) => !["hostAdded"].includes(e.type)).map((e) => `${(e.t / 1000).toFixed(1)}s ${e.type}${"host" in e ? ` ${e.host}` : ""}`).join("\n");
    const oneDown = at("diskFailed", (e) => "host" in e && e.host === "h2");
    // With one OSD stopped, its placement groups peer again and their I/O blocks until they have:
    // a few seconds on a loaded machine, which the adapter records as a storage outage like any
    // other. Such a blip must end on its own; the outage the trace makes starts with the second
    // OSD, stopped at 80 s.
    const SECOND_OSD_STOPPED_MS = 80_000;
    const out = at("storageFailed", (e) => e.t >= SECOND_OSD_STOPPED_MS);
    const back = at("storageRepaired", (e) => out !== undefined && e.t >= out);
    console.log(summary);
    expect([oneDown, out, back], summary).not.toContain(undefined);
    for (const blip of events.filter((e) => e.type === "storageFailed" && e.t < SECOND_OSD_STOPPED_MS)) {
      expect(at("storageRepaired", (e) => e.t >= blip.t)! - blip.t, `a storage outage with one OSD down lasts a peering's few seconds\n${summary}`).toBeLessThan(15_000);
    }
    expect(events.some((e) => e.type === "copyLost" && e.host === "h2"), summary).toBe(true);
    expect(events.some((e) => e.type === "vmDown" && e.cause === "storage" && e.t >= out!), summary).toBe(true);
    expect(at("vmResumed", (e) => e.t >= out!)!, summary).toBeGreaterThanOrEqual(back!);
    expect(at("rebuildFinished", (e) => "host" in e && e.host === "h2"), summary).toBeGreaterThanOrEqual(back!); // one reading may show the pool active and clean
    expect(events.some((e) => e.type === "guestBooted" && events.indexOf(e) > events.findIndex((x) => x.type === "storageFailed")), summary).toBe(false);
    // The guest's own ticks: on with one OSD down, none while the pool is out, on again after.
    expect(ticks.some((t) => t > oneDown! && t < out!), `ticks ${ticks} one down ${oneDown} out ${out}`).toBe(true);
    // Both OSDs are down from 80 s to 115 s: no tick for 20 s after the outage is recorded (the placement
    // groups' states reach the monitor some seconds late, so the recorded end lags the guest's first tick).
    expect(ticks.filter((t) => t > out! + 3000 && t < out! + 20_000), `ticks ${ticks} out ${out} back ${back}`).toEqual([]);
    const stalled = ticks.filter((t) => t < out! + 3000).at(-1)!;
    const resumed = ticks.find((t) => t > out! + 20_000);
    expect(resumed, `ticks ${ticks} back ${back}`).toBeDefined();
    console.log(`one OSD down recorded at ${oneDown} ms; pool out recorded at ${out} ms (last tick ${stalled} ms); back recorded at ${back} ms (first tick ${resumed} ms)`);
    const replay = testbed("replay", osdDb, "--verify");
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
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
    const inventory = hosts.writeInventory("unreachable.yaml", (text) => text.replace(/conf: .+/, `conf: ${conf}`));
    const r = testbed("live", inventory, "scenarios/live-persistence.yaml", "--model", "persistent-ha", "--db", join(dir, "never.db"));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Ceph is not reachable (conf ${conf}, monitor v2:127.0.0.1:1, pool rbd)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
