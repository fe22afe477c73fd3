import { createHash, type Hash } from "node:crypto";
import { writeCanonicalJson } from "../model/canonical.js";
import type { World } from "../model/world.js";

/** sha256 of the world's canonical JSON: equal states, equal hashes, on any machine. */
export function hashWorld(world: World): string {
  return stateHash(world).hash;
}

/** Characters of canonical JSON handed to sha256 at once. */
const STATE_CHUNK = 1 << 16;

/**
 * `hashWorld`, with the length of the canonical JSON it hashed: the cost of hashing this state.
 * The text is streamed into the hash in pieces, never built whole (a 200 000-host world is
 * hundreds of MB of it).
 */
export function stateHash(world: World): { hash: string; length: number } {
  const hash = createHash("sha256");
  let pending = "";
  let length = 0;
  writeCanonicalJson(world, (chunk) => {
    pending += chunk;
    if (pending.length >= STATE_CHUNK) {
      hash.update(pending);
      length += pending.length;
      pending = "";
    }
  });
  hash.update(pending);
  length += pending.length;
  return { hash: hash.digest("hex"), length };
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
