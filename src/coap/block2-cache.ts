// Server side of Block2 transfers (RFC 7959 §2.4): a representation larger than one block is
// kept for a while so that every block of one transfer comes from the same bytes (with one ETag).
import { createHash } from 'node:crypto';

export type CachedBody = { body: Buffer; etag: Buffer; options: { number: number; value: Buffer }[]; code: number; expires: number };

export class Block2Cache {
  private readonly bodies = new Map<string, CachedBody>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 10_000) {}

  put(key: string, code: number, body: Buffer, options: { number: number; value: Buffer }[], now: number): CachedBody {
    if (this.bodies.size >= this.maxEntries) this.sweep(now);
    if (this.bodies.size >= this.maxEntries) {
      const oldest = this.bodies.keys().next().value;
      if (oldest !== undefined) this.bodies.delete(oldest);
    }
    const etag = createHash('sha256').update(body).digest().subarray(0, 8);
    const entry = { body, etag, options, code, expires: now + this.ttlMs };
    this.bodies.delete(key);
    this.bodies.set(key, entry);
    return entry;
  }

  get(key: string, now: number): CachedBody | undefined {
    const e = this.bodies.get(key);
    if (!e || e.expires <= now) return undefined;
    return e;
  }

  sweep(now: number): void {
    for (const [k, e] of this.bodies) if (e.expires <= now) this.bodies.delete(k);
  }
}
