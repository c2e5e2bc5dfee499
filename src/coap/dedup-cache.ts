// Message deduplication (RFC 7252 §4.5): keyed by the peer's address and Message ID, kept for
// EXCHANGE_LIFETIME. A duplicate CON gets the cached reply again; a duplicate still in progress is dropped.

// The reply is kept as a latin1 string: a short V8 string costs a fraction of a Buffer's
// per-object overhead, and there is one entry per message of every device for 247 s.
type Entry = { reply: string | undefined; expires: number };

export class DedupCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly lifetimeMs: number, private readonly maxEntries = 200_000) {}

  /** Returns undefined for a new message (and records it), else the cached reply (undefined reply: still pending). */
  seen(key: string, now: number): { reply: Buffer | undefined } | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return { reply: hit.reply === undefined ? undefined : Buffer.from(hit.reply, 'latin1') };
    if (this.entries.size >= this.maxEntries) this.sweep(now, true);
    this.entries.set(key, { reply: undefined, expires: now + this.lifetimeMs });
    return undefined;
  }

  setReply(key: string, reply: Buffer): void {
    const e = this.entries.get(key);
    if (e) e.reply = reply.toString('latin1');
  }

  sweep(now: number, force = false): void {
    for (const [k, e] of this.entries) {
      if (e.expires <= now) this.entries.delete(k);
    }
    // under a flood, drop the oldest half rather than grow without bound
    if (force && this.entries.size >= this.maxEntries) {
      let n = Math.floor(this.entries.size / 2);
      for (const k of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(k);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
