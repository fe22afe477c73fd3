import { closeSync, openSync, readSync, statSync } from "node:fs";

/**
 * Reads what the tiny guests print on their serial consoles (libvirt `<serial type='file'
 * append='on'>`: one file per VM collects all its boots). Each boot the adapter starts is
 * watched from the file's size just before `virsh start`, so a line an earlier boot left is
 * never taken for this one's; the file is polled (QEMU creates it as the hosts' user, mode 600,
 * so inotify on a directory we may not own is no help) and split into lines (they end in CRLF).
 *
 * Lines of test/libvirt/guest/build.sh's /init: `BOOT_COUNT=n` after it incremented the counter
 * on its disk; `TICK n` every 2.02 s in stay mode.
 */
export interface ConsoleLine {
  vm: string;
  /** The host the watched boot was started on. */
  host: string;
  bootCount?: number;
  tick?: number;
}

interface Watch {
  path: string;
  host: string;
  offset: number;
  partial: string;
}

export class GuestConsoles {
  private readonly watches = new Map<string, Watch>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly onLine: (line: ConsoleLine) => void,
  ) {}

  /** Watches the VM's console from its current end (call before starting the boot). */
  watch(vm: string, host: string, path: string): void {
    this.watches.set(vm, { path, host, offset: sizeOf(path), partial: "" });
    if (this.timer === null) {
      this.timer = setInterval(() => this.poll(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** The VM now runs on `host` (a live migration moved it; its console file stays the same). */
  moved(vm: string, host: string): void {
    const w = this.watches.get(vm);
    if (w) w.host = host;
  }

  unwatch(vm: string): void {
    this.watches.delete(vm);
  }

  poll(): void {
    for (const [vm, w] of this.watches) {
      for (const text of readNew(w)) {
        const boot = /^BOOT_COUNT=(\d+)$/.exec(text);
        const tick = /^TICK (\d+)$/.exec(text);
        if (boot) this.onLine({ vm, host: w.host, bootCount: Number(boot[1]) });
        else if (tick) this.onLine({ vm, host: w.host, tick: Number(tick[1]) });
      }
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.poll();
    this.watches.clear();
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The complete lines appended since the last read. */
function readNew(w: Watch): string[] {
  const size = sizeOf(w.path);
  if (size < w.offset) w.offset = 0; // truncated or replaced
  if (size === w.offset) return [];
  let fd: number;
  try {
    fd = openSync(w.path, "r");
  } catch {
    return [];
  }
  try {
    const buffer = Buffer.alloc(Math.min(size - w.offset, 1 << 20));
    const n = readSync(fd, buffer, 0, buffer.length, w.offset);
    w.offset += n;
    const text = w.partial + buffer.subarray(0, n).toString("latin1");
    const lines = text.split("\n");
    w.partial = lines.pop()!;
    return lines.map((l) => l.replace(/\r+$/, "").trim());
  } finally {
    closeSync(fd);
  }
}
