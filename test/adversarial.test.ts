import Database from "better-sqlite3";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { addressProblem, uriProblem } from "../src/adapters/libvirt/names.js";
import { NoProgressError, Scheduler, NEVER_MS } from "../src/kernel/scheduler.js";
import { runCommand } from "../src/cli/run.js";
import { loadScenarioFile, parseScenario, ScenarioError } from "../src/scenario/load.js";
import { busyScenario, startTestbed, tempDir, testbed, writeScenario } from "./helpers.js";

/** The defects of issue 12, each as the example that showed it. */
const dir = tempDir();
const SCENARIO = join(import.meta.dirname, "..", "scenarios", "hosts-fail-and-repair.yaml");

const refused = (...args: string[]) => {
  const r = testbed("run", SCENARIO, "--quiet", "--db", join(dir, "refused.db"), ...args);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return r;
};

describe("scenarios that cannot make progress or cannot fit are refused at load time, naming the field", () => {
  it.each([
    [["--set", "cluster.hosts[0].count=1000000000"], "cluster.hosts[0].count: expected at most 200000 hosts"],
    [["--set", "workload.fleet=1000000000"], "workload.fleet: expected at most 1000000 VMs"],
    [["--set", "workload.arrivals.ratePerHour=1e9"], "workload.arrivals.ratePerHour: expected at most 1e+8"],
    [["--set", "rebalance.intervalMinutes=1e-9"], "rebalance.intervalMinutes: expected at least"],
    [["--set", "failures.host.crash.timeToFailureHours=0"], "failures.host.crash.timeToFailureHours: expected a time to failure with a mean of at least"],
    [["--set", "failures.host.crash.timeToRepairHours={type: lognormal, mu: 1000, sigma: 1}"], "failures.host.crash.timeToRepairHours: expected a distribution with a finite mean"],
    [["--set", "durationHours=1e308"], "durationHours: expected at most 1000000 hours"],
    [["--set", "__proto__.polluted=1"], "--set __proto__.polluted=1: expected a path of scenario fields"],
    [["--set", "x=*undefinedAlias"], "--set x=*undefinedAlias: not valid YAML"],
  ])("%j", (args, message) => {
    const r = refused(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`hosts-fail-and-repair.yaml: ${message}`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("an alias bomb ends with a one-line error, not a trace", () => {
    const bomb = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    expect(() => parseScenario("bomb.yaml", bomb)).toThrow(ScenarioError);
    expect(() => parseScenario("bomb.yaml", bomb)).toThrow(/bomb.yaml: not valid YAML: .*alias/i);
  });

  it("a 50 MB scenario is refused by its size before it is parsed", () => {
    const big = join(dir, "big.yaml");
    writeFileSync(big, `name: big\n# ${"x".repeat(50 * 1024 * 1024)}\n`);
    const started = performance.now();
    const r = testbed("run", big, "--quiet");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/big.yaml: expected a scenario file of at most 4 MiB, got 50.0 MiB/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("binary garbage does not echo back kilobytes", () => {
    const garbage = join(dir, "garbage.yaml");
    writeFileSync(garbage, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256)));
    const r = testbed("run", garbage, "--quiet");
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(7_000);
  });

  it("--model naming no model of the experiment is bad input, not a run of nothing", () => {
    const file = writeScenario(dir, "exp", `${busyScenario("exp", 4, 10).replace("serviceModels: [persistent-ha]", "serviceModels: [vps]")}\nexperiment: { replications: 1 }\n`);
    const r = testbed("run", file, "--model", "ephemeral", "--quiet", "--db", join(dir, "exp.db"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--model ephemeral: expected a service model of the experiment");
  });

  it("--out naming a file is bad input naming it, not an EEXIST trace", () => {
    const r = testbed("run", SCENARIO, "--quiet", "--out", SCENARIO);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hosts-fail-and-repair.yaml: cannot mkdir \(EEXIST\)/);
  });
});

describe("the kernel", () => {
  it("sets a timer with an infinite delay (a rebuild at 1e-300 MB/s) for never instead of throwing", () => {
    const s = new Scheduler();
    s.after(Infinity, () => {}, null);
    s.after(1e308 * 3_600_000, () => {}, null);
    expect(s.peekTime()).toBe(NEVER_MS);
    expect(() => s.after(NaN, () => {}, null)).toThrow(RangeError);
  });

  it("stops a process that runs without simulated time advancing, naming it", () => {
    const s = new Scheduler(1000);
    const spin = () => void s.after(0, spin, null);
    s.after(5, spin, null);
    expect(() => s.run()).toThrow(NoProgressError);
    expect(() => {
      const t = new Scheduler(1000);
      const spinning = () => void t.after(0, spinning, null);
      t.after(5, spinning, null);
      t.run();
    }).toThrow(/1000 timers ran at t=5 ms without simulated time advancing; the last was the process "spinning"/);
  });
});

describe("run budgets and signals", () => {
  it("--max-events stops a run with exit 1 and says why", () => {
    const r = testbed("run", SCENARIO, "--quiet", "--model", "vps", "--db", join(dir, "budget.db"), "--max-events", "1000");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/more than 1000 events \(--max-events\)/);
  });

  it("--max-db-mb stops a run whose log outgrows it, with exit 1", () => {
    const r = testbed("run", SCENARIO, "--quiet", "--model", "vps", "--db", join(dir, "small.db"), "--max-db-mb", "1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run failed: .*full/i);
  });

  it("SIGINT during runs shorter than a slice stops the remaining models with 130", async () => {
    // In process, so that the signal lands exactly after the first run: each run is far
    // shorter than a slice, so no run ever looked at the signal before the fix.
    const loaded = loadScenarioFile(writeScenario(dir, "short", busyScenario("short", 4, 50)));
    const db = join(dir, "short.db");
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (String(chunk).includes("done")) process.emit("SIGINT");
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await runCommand(loaded, { seed: 1, serviceModels: ["ephemeral", "vps", "persistent-ha"], db, storeEvents: true, hashLog: true, json: false, progress: true, check: false });
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(130);
    const conn = new Database(db, { readonly: true });
    const statuses = conn.prepare("SELECT status FROM runs ORDER BY id").pluck().all();
    conn.close();
    expect(statuses).toEqual(["complete"]);
  });
});

describe("damaged databases: the damaged run is reported, the others read, exit 1", () => {
  let good: string;
  beforeAll(() => {
    const file = writeScenario(dir, "three", busyScenario("three", 6, 200).replace("serviceModels: [persistent-ha]", "serviceModels: [ephemeral, vps, persistent-ha]"));
    good = join(dir, "good.db");
    expect(testbed("run", file, "--quiet", "--db", good).code).toBe(0);
  });
  const damaged = (name: string, sql: string) => {
    const db = join(dir, `${name}.db`);
    copyFileSync(good, db);
    const conn = new Database(db);
    conn.exec(sql);
    conn.close();
    return db;
  };

  it.each([
    ["metrics-not-json", "UPDATE runs SET metrics_json = '{not json' WHERE id = 2"],
    ["metrics-null", "UPDATE runs SET metrics_json = NULL WHERE id = 2"],
  ])("%s: inspect, replay, summarize and report name run 2 and go on", (name, sql) => {
    const db = damaged(name, sql);
    for (const args of [["inspect", db], ["replay", db, "--verify"], ["summarize", db], ["report", db, "--out", join(dir, `${name}.html`)]]) {
      const r = testbed(...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(`run 2 is damaged: it`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(testbed("replay", db, "--verify").stdout).toMatch(/run 3: .* verified/);
  });

  it("a dropped events table: replay reports each run, no trace", () => {
    const db = damaged("no-events", "DROP TABLE events");
    const r = testbed("replay", db, "--verify");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/run 1: .*\n\s+DIVERGES: cannot read the run's events: no such table: events/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const i = testbed("inspect", db);
    expect(i.code).toBe(1);
    expect(i.stderr).toContain("run 1 is damaged: its events cannot be read");
  });

  it("a deleted event row is a gap, not the next row's digest mismatch", () => {
    const db = damaged("gap", "DELETE FROM events WHERE run_id = 1 AND seq = 50");
    const r = testbed("replay", db, "--verify", "--run", "1");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("event seq 50 is missing from the stored log (a gap");
  });
});

describe("libvirt URIs and addresses", () => {
  it.each([
    ["qemu+ssh://node2/system?command=/tmp/evil", "query parameter \"command\" is not allowed"],
    ["qemu+ssh://node2/system?socket=/x%3Brm%20-rf", "query parameter socket: expected an absolute path"],
    ["qemu:///system?name=lxc:///", "query parameter \"name\" is not allowed"],
    ["qemu+ssh://node2/system?netcat=/bin/sh", "query parameter \"netcat\" is not allowed"],
    ["qemu:///session?socket=/a&socket=/b", "given twice"],
  ])("%s is refused", (uri, problem) => {
    expect(uriProblem(uri)).toContain(problem);
  });

  it("accepts the URIs the test bed uses", () => {
    expect(uriProblem("qemu:///session?socket=/tmp/tb/h1/run/libvirt/libvirt-sock")).toBeNull();
    expect(uriProblem("qemu+ssh://root@node1/system?keyfile=/root/.ssh/id_ed25519&no_tty=1")).toBeNull();
  });

  it.each(["::::", "1.2.3", "256.1.1.1", "1.2.3.4.5"])("%s is not a migration address", (a) => {
    expect(addressProblem(a)).not.toBeNull();
  });
  it.each(["10.0.0.1", "::1", "fe80::1", "node-2.example.org"])("%s is a migration address", (a) => {
    expect(addressProblem(a)).toBeNull();
  });
});

describe("concurrent experiment runners", () => {
  it("two processes into one database split the runs: each complete exactly once", async () => {
    const file = writeScenario(dir, "shared", `${busyScenario("shared", 8, 300).replace("serviceModels: [persistent-ha]", "serviceModels: [vps, persistent-ha]")}\nexperiment: { replications: 8 }\n`);
    const db = join(dir, "shared.db");
    const first = startTestbed("run", file, "--db", db, "--jobs", "1", "--quiet", "--json");
    const second = startTestbed("run", file, "--db", db, "--jobs", "1", "--quiet", "--json");
    const outputs = await Promise.all(
      [first, second].map(
        (child) =>
          new Promise<{ code: number | null; stdout: string }>((resolve) => {
            let stdout = "";
            child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
            child.on("exit", (code) => resolve({ code, stdout }));
          }),
      ),
    );
    expect(outputs.map((o) => o.code)).toEqual([0, 0]);
    const conn = new Database(db, { readonly: true });
    const rows = conn.prepare("SELECT scenario_hash, seed, service_model, count(*) AS n FROM runs WHERE status = 'complete' GROUP BY 1, 2, 3").all() as { n: number }[];
    const claims = (conn.prepare("SELECT count(*) AS n FROM claims").get() as { n: number }).n;
    conn.close();
    expect(rows).toHaveLength(16);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(claims).toBe(0);
    const ran = outputs.map((o) => (JSON.parse(o.stdout) as { ran: number }).ran);
    expect(ran[0]! + ran[1]!).toBe(16);
  }, 300_000);
});

describe("memory and traces", () => {
  it("a run estimated not to fit in the heap is refused before it starts, naming the field", () => {
    const r = testbed("run", SCENARIO, "--quiet", "--db", join(dir, "memory.db"), "--set", "cluster.hosts[0].count=150000", "--set", "cluster.hosts[0].disks=64");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hosts-fail-and-repair.yaml: cluster.hosts: expected a run that fits in memory, but it needs about \d+ MB and the heap limit is \d+ MB/);
  });

});
