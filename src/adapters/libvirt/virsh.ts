import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type LongTimer, setLongTimeout } from "./wall-clock.js";

/**
 * Runs `virsh` — one process per command, with an argument array (never a shell), a timeout
 * after which the process is killed (SIGKILL), and its exit code, stdout and stderr.
 *
 * Why one-shot processes rather than a long-lived interactive `virsh` per host fed over stdin:
 * measured on this machine (`bench/libvirt.ts`, 50 × `list --all --name` against a local
 * libvirtd) a one-shot command costs ≈ 20–45 ms (process and connection set-up) against
 * ≈ 0.6–1 ms on a kept connection (`VirshSession`). The commands the adapter issues take far longer than that (start ≈ 1 s, a live
 * migration ≈ 0.5–1 s, probes once a second), and a process per command buys what a shared
 * interactive session cannot give: an exit code and stderr per command, a timeout that kills
 * exactly the command that hangs without wedging the others queued behind it on the same pipe,
 * and commands to one host running in parallel. Observation is the one long-lived process:
 * `virsh event --loop --all` per host (see `host-monitor.ts`).
 *
 * `dryRun`: commands marked `mutating` are printed (through `log`) and not run; they "succeed"
 * with empty output. Read-only commands (discovery, probes) still run.
 */
export interface VirshOptions {
  /** The virsh binary (default `virsh` on PATH). */
  binary?: string;
  dryRun?: boolean;
  /** Where dry-run commands and traces are printed. */
  log?: (line: string) => void;
  /** Print every command before it runs (not only in a dry run). */
  trace?: boolean;
}

export interface VirshCall {
  /** Timeout in ms; the process is killed with SIGKILL when it passes. */
  timeoutMs: number;
  /** Changes something on the host (define, start, destroy, migrate ...): not run in a dry run. */
  mutating?: boolean;
  /** Content for the argument `/dev/stdin` (a domain's XML for `define`): passed as a private temporary file. */
  input?: string;
}

export class VirshError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(
      timedOut
        ? `${displayCommand(args)}: no answer (timed out)`
        : `${displayCommand(args)}: ${stderr.trim().replace(/^error: /gm, "").split("\n").filter(Boolean).join("; ") || `exit code ${exitCode}`}`,
    );
  }
}

export class Virsh {
  readonly binary: string;
  readonly dryRun: boolean;
  private readonly log: (line: string) => void;
  private readonly trace: boolean;
  private readonly sessions = new Map<string, VirshSession>();

  constructor(options: VirshOptions = {}) {
    this.binary = options.binary ?? "virsh";
    this.dryRun = options.dryRun ?? false;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.trace = options.trace ?? false;
  }

  /**
   * Runs `virsh -q -c URI ARGS...`; resolves with stdout, rejects with a `VirshError`. A URI of
   * libvirt's test driver goes through one kept session (see `VirshSession`): its state lives as
   * long as the connection.
   */
  run(uri: string, args: readonly string[], call: VirshCall): Promise<string> {
    const argv = ["-q", "-c", uri, ...args];
    if (this.dryRun && call.mutating) {
      this.log(`[dry-run] ${displayCommand([this.binary, ...argv])}${call.input === undefined ? "" : ` <<'XML'\n${call.input.trimEnd()}\nXML`}`);
      return Promise.resolve("");
    }
    if (this.trace) this.log(`$ ${displayCommand([this.binary, ...argv])}`);
    if (keepsStateInConnection(uri)) {
      let session = this.sessions.get(uri);
      if (session === undefined || session.closed) {
        session = new VirshSession(this.binary, uri);
        this.sessions.set(uri, session);
      }
      return session.run(args, call);
    }
    if (call.input !== undefined) {
      // virsh reads a file argument with open(2), which a pipe from Node (a socket) refuses: the
      // input goes through a private temporary file instead, removed afterwards.
      const dir = mkdtempSync(join(tmpdir(), "testbed-virsh-"));
      const file = join(dir, "input.xml");
      writeFileSync(file, call.input, { mode: 0o600 });
      const withFile = argv.map((a) => (a === "/dev/stdin" ? file : a));
      return this.spawnVirsh(withFile, { ...call, input: undefined }).finally(() => rmSync(dir, { recursive: true, force: true }));
    }
    return this.spawnVirsh(argv, call);
  }

  private spawnVirsh(argv: string[], call: VirshCall): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, argv, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      const timer = setLongTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, call.timeoutMs);
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.stdin.on("error", () => {}); // a virsh that exits before reading its input
      child.stdin.end(call.input ?? "");
      child.on("error", (error) => {
        timer?.cancel();
        reject(new VirshError([this.binary, ...argv], null, error.message, false));
      });
      child.on("close", (code) => {
        timer?.cancel();
        if (code === 0 && !timedOut) resolve(stdout);
        else reject(new VirshError([this.binary, ...argv], code, stderr, timedOut));
      });
    });
  }

  /** Ends the kept sessions (test-driver URIs). */
  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }
}

/** libvirt's test driver keeps its state per connection (also when a daemon serves it). */
export function keepsStateInConnection(uri: string): boolean {
  return /^test(\+[a-z0-9]+)?:/.test(uri);
}

/**
 * One interactive `virsh` on one connection, fed commands over stdin, one at a time. After each
 * command it echoes a numbered marker on stdout and on stderr: what came before the markers is
 * the command's output and its errors (`error: ...` on stderr means it failed). Used for the test
 * driver only, whose state would not outlive a one-shot connection. A timeout kills the session
 * (the commands queued behind fail with it; the next command opens a new one).
 */
export class VirshSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private stdout = "";
  private stderr = "";
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private current: { marker: string; resolve: (out: { stdout: string; stderr: string }) => void; reject: (e: Error) => void } | null = null;
  closed = false;

  constructor(private readonly binary: string, private readonly uri: string) {
    this.child = spawn(binary, ["-q", "-c", uri], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    this.child.stdout.setEncoding("utf8").on("data", (d: string) => {
      this.stdout += d;
      this.check();
    });
    this.child.stderr.setEncoding("utf8").on("data", (d: string) => {
      this.stderr += d;
      this.check();
    });
    this.child.stdin.on("error", () => {});
    this.child.on("close", () => {
      this.closed = true;
      this.current?.reject(new Error("virsh session ended"));
      this.current = null;
    });
  }

  run(args: readonly string[], call: VirshCall): Promise<string> {
    const argv = [this.binary, "-q", "-c", this.uri, ...args];
    const result = this.queue.then(async () => {
      if (this.closed) throw new VirshError(argv, null, "virsh session ended", false);
      let file: string | null = null;
      let words = [...args];
      if (call.input !== undefined) {
        // Interactive virsh reads commands on stdin: the XML goes through a private temporary file.
        const dir = mkdtempSync(join(tmpdir(), "testbed-virsh-"));
        file = join(dir, "domain.xml");
        writeFileSync(file, call.input, { mode: 0o600 });
        words = words.map((w) => (w === "/dev/stdin" ? file! : w));
      }
      try {
        for (const w of words) if (/['\n\r]/.test(w)) throw new VirshError(argv, null, "an argument with a quote or a line break cannot go through an interactive session", false);
        const marker = `@@testbed-${process.pid}-${++this.seq}@@`;
        const done = new Promise<{ stdout: string; stderr: string }>((resolve, reject) => (this.current = { marker, resolve, reject }));
        const line = words.map((w) => `'${w}'`).join(" ");
        this.child.stdin.write(`${line}\necho ${marker}\necho --err ${marker}\n`);
        let timer: LongTimer | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setLongTimeout(() => {
            this.close();
            reject(new VirshError(argv, null, "", true));
          }, call.timeoutMs);
        });
        try {
          const out = await Promise.race([done, timeout]);
          const errors = out.stderr.split("\n").filter((l) => l.startsWith("error: "));
          if (errors.length > 0) throw new VirshError(argv, 1, errors.join("\n"), false);
          // virsh echoes each line it reads after its prompt: keep what follows our command's echo,
          // up to the echo of the marker command.
          const at = out.stdout.indexOf(`${line}\n`);
          const body = at < 0 ? out.stdout : out.stdout.slice(at + line.length + 1);
          return body.replace(/echo $/, "");
        } finally {
          timer?.cancel();
        }
      } finally {
        if (file !== null) rmSync(dirname(file), { recursive: true, force: true });
      }
    });
    this.queue = result.catch(() => {});
    return result;
  }

  private check(): void {
    const current = this.current;
    if (current === null) return;
    const out = this.stdout.indexOf(current.marker);
    const err = this.stderr.indexOf(current.marker);
    if (out < 0 || err < 0) return;
    const stdout = this.stdout.slice(0, out).replace(/virsh [#$] /g, "");
    const stderr = this.stderr.slice(0, err).replace(/error: $/, ""); // the marker's own "error: " prefix
    this.stdout = this.stdout.slice(out + current.marker.length);
    this.stderr = this.stderr.slice(this.stderr.indexOf("\n", err) + 1);
    this.current = null;
    current.resolve({ stdout, stderr });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.kill("SIGKILL");
  }
}

/** A command as one line a person can paste into a POSIX shell (for display only; never executed). */
export function displayCommand(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./?-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
