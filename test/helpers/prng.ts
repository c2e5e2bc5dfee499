// A seeded PRNG and byte mutators for the fuzz tests. Seeds are printed, so a failure reproduces
// with FUZZ_SEED=<seed>.

import { seededRandom } from '../../simulators/client/seeded-random.ts';

export type Rng = {
  /** float in [0, 1) */
  next(): number;
  /** integer in [0, n) */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
};

/** mulberry32: small, fast, good enough to explore inputs; not for cryptography. */
export function createRng(seed: number): Rng {
  const next = seededRandom(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)]!,
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

export function seedFromEnv(fallback: number): number {
  const s = process.env.FUZZ_SEED;
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : fallback;
}

const INTERESTING = [0x00, 0x01, 0x0d, 0x0e, 0x0f, 0x7f, 0x80, 0xff, 0xfe, 0x1f, 0x20, 0x5b, 0x7b, 0x22, 0x3c, 0x3e, 0x2c, 0x3b, 0x9f, 0xbf, 0xf6, 0xf7, 0xfa, 0xfb];

/** One to four random edits: bit flips, byte sets, inserts, deletes, truncation, duplication, splices. */
export function mutate(rng: Rng, input: Uint8Array, dictionary: readonly Uint8Array[] = []): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const pos = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(10)) {
      case 0:
        if (b.length > 0) b[pos] = b[pos]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length > 0) b[pos] = rng.pick(INTERESTING);
        break;
      case 2:
        if (b.length > 0) b[pos] = rng.int(256);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, pos), rng.bytes(1 + rng.int(4)), b.subarray(pos)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(8)))]);
        break;
      case 5:
        b = b.subarray(0, pos);
        break;
      case 6: {
        const len = Math.min(b.length - pos, 1 + rng.int(16));
        b = Buffer.concat([b.subarray(0, pos + len), b.subarray(pos, pos + len), b.subarray(pos + len)]);
        break;
      }
      case 7:
        if (dictionary.length > 0) {
          const other = rng.pick(dictionary);
          const from = rng.int(other.length + 1);
          b = Buffer.concat([b.subarray(0, pos), Buffer.from(other.subarray(from, from + 1 + rng.int(24))), b.subarray(pos)]);
        }
        break;
      case 8:
        if (b.length > 1) {
          // a length or count field set to something large or small
          b[pos] = rng.pick([0x00, 0xff, 0x18, 0x19, 0x1a, 0x1b, 0x58, 0x78, 0x98, 0xb8, 0xd8]);
        }
        break;
      default:
        if (b.length > 0) b[pos] = (b[pos]! + rng.pick([1, -1, 16, -16, 128])) & 0xff;
    }
  }
  return b;
}
