// Repeatable randomness for simulated faults: a packet-loss pattern drawn from Math.random made
// fault tests pass or fail by luck; a seed per device (from its endpoint name unless given) makes
// a run repeat.

/** mulberry32: a float in [0, 1) per call; small and fast, not for cryptography. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * xorshift32: a float in [0, 1) per call. The simulated inference timings and some tests draw
 * from it; their figures were fixed with it, so it stays beside mulberry32. Seed 0 counts as 1.
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** FNV-1a of a name: a device's default seed. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
