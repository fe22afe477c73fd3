/**
 * Seeded random streams.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021; reference code at prng.di.unimi.it). 128 bits of state,
 * 32-bit outputs from 32-bit integer arithmetic, which JS does exactly with `Math.imul` and `>>>`.
 * A double in [0, 1) takes two outputs (53 random bits).
 *
 * Seeding and streams: each stream has a 64-bit key; its xoshiro state is four words produced
 * by SplitMix64 (Steele, Lea & Flood, OOPSLA 2014 — the seeder Vigna recommends) from that key.
 * `fork(label)` derives a child key from the parent's *key* and the label only — never from the
 * parent's position — so a named stream (`failures`, `workload`, `host:h7`, ...) yields the same
 * numbers however much any other stream has been used. That is what lets two service models run
 * with one seed see the same failures and the same workload (common random numbers).
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(readonly key: bigint) {
    const words = splitmixWords(key);
    this.s0 = words[0];
    this.s1 = words[1];
    this.s2 = words[2];
    this.s3 = words[3];
  }

  /** The root stream of a run. `seed` is any safe integer (negative allowed). */
  static fromSeed(seed: number): Random {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    return new Random(BigInt.asUintN(64, BigInt(seed)));
  }

  /** Builds a generator with an explicit xoshiro128** state (for the reference test vectors). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Random {
    const r = new Random(0n);
    r.s0 = s0 >>> 0;
    r.s1 = s1 >>> 0;
    r.s2 = s2 >>> 0;
    r.s3 = s3 >>> 0;
    return r;
  }

  /** An independent stream named `label`, a pure function of this stream's key and the label. */
  fork(label: string): Random {
    return new Random(splitmix64(this.key ^ fnv1a64(label)).value);
  }

  /** The next 32-bit unsigned output of xoshiro128**. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double uniformly distributed in [0, 1), with 53 random bits. */
  float(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** An integer uniformly distributed in [0, n), n ≤ 2^32, without modulo bias (Lemire's rejection). */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const MASK64 = (1n << 64n) - 1n;

/** One step of SplitMix64: the advanced state and its 64-bit output. */
function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: next, value: z ^ (z >> 31n) };
}

/** Four 32-bit state words from two SplitMix64 outputs; never all zero. */
function splitmixWords(key: bigint): [number, number, number, number] {
  const a = splitmix64(key);
  const b = splitmix64(a.state);
  const words: [number, number, number, number] = [
    Number(a.value & 0xffffffffn),
    Number(a.value >> 32n),
    Number(b.value & 0xffffffffn),
    Number(b.value >> 32n),
  ];
  if (words.every((w) => w === 0)) words[0] = 1;
  return words;
}

/** FNV-1a, 64-bit, over the UTF-16 code units of `text` (labels are short ASCII names). */
function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & MASK64;
  }
  return hash;
}
