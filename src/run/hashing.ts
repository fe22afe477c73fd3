import { createHash, type Hash } from "node:crypto";
import { canonicalJson } from "../model/canonical.js";
import type { World } from "../model/world.js";

/** sha256 of the world's canonical JSON: equal states, equal hashes, on any machine. */
export function hashWorld(world: World): string {
  return createHash("sha256").update(canonicalJson(world)).digest("hex");
}

/** sha256 over a log's event lines, in order. */
export class LogHasher {
  private readonly hash: Hash = createHash("sha256");
  add(line: string): void {
    this.hash.update(line);
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}
