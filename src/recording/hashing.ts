import { createHash, type Hash } from "node:crypto";
import { canonicalJson } from "../model/canonical.js";
import type { World } from "../model/world.js";

/** sha256 of the world's canonical JSON: equal states, equal hashes, on any machine. */
export function hashWorld(world: World): string {
  return stateHash(world).hash;
}

/** `hashWorld`, with the length of the canonical JSON it hashed: the cost of hashing this state. */
export function stateHash(world: World): { hash: string; length: number } {
  const text = canonicalJson(world);
  return { hash: createHash("sha256").update(text).digest("hex"), length: text.length };
}

/** Lines handed to sha256 at once: one native call per line costs more than the hashing. */
const LINES_PER_UPDATE = 1000;

/** sha256 over a log's event lines, in order. */
export class LogHasher {
  private readonly hash: Hash = createHash("sha256");
  private pending = "";
  private pendingLines = 0;

  add(line: string): void {
    this.pending += line;
    if (++this.pendingLines === LINES_PER_UPDATE) this.flush();
  }

  digest(): string {
    this.flush();
    return this.hash.digest("hex");
  }

  private flush(): void {
    this.hash.update(this.pending);
    this.pending = "";
    this.pendingLines = 0;
  }
}
