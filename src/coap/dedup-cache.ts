// Message deduplication (RFC 7252 §4.5): keyed by the peer's address and Message ID, kept for
// EXCHANGE_LIFETIME. A duplicate CON gets the cached reply again; a duplicate still in progress is dropped.
//
// Keyed without building a string per message: one map per source address (the transport interns
// address strings), inside it a number port * 65536 + Message ID (< 2^32).

// The reply is kept as a latin1 string: a short V8 string costs a fraction of a Buffer's
// per-object overhead, and there is one entry per message of every device for 247 s.
type Entry = { reply: string | undefined; expires: number };

export class DedupCache {
  private readonly byAddress = new Map<string, Map<number, Entry>>();
  private count = 0;

  constructor(private readonly lifetimeMs: number, private readonly maxEntries = 200_000) {}

  /** Returns undefined for a new message (and records it), else the cached reply (undefined reply: still pending). */
  seen(address: string, port: number, messageId: number, now: number): { reply: Buffer | undefined } | undefined {
    const key = port * 0x10000 + messageId;
    let entries = this.byAddress.get(address);
    const hit = entries?.get(key);
    if (hit && hit.expires > now) return { reply: hit.reply === undefined ? undefined : Buffer.from(hit.reply, 'latin1') };
    if (this.count >= this.maxEntries) {
      this.sweep(now, true);
      entries = this.byAddress.get(address);
    }
    if (!entries) {
      entries = new Map();
      this.byAddress.set(address, entries);
    }
    if (hit) {
      // expired: re-insert at the end, so each map stays in expiry order
      entries.delete(key);
      this.count--;
    }
    entries.set(key, { reply: undefined, expires: now + this.lifetimeMs });
    this.count++;
    return undefined;
  }

  setReply(address: string, port: number, messageId: number, reply: Buffer): void {
    const e = this.byAddress.get(address)?.get(port * 0x10000 + messageId);
    if (e) e.reply = reply.toString('latin1');
  }

  sweep(now: number, force = false): void {
    for (const [address, entries] of this.byAddress) {
      // entries are in insertion order with one lifetime: stop at the first one still alive
      for (const [k, e] of entries) {
        if (e.expires > now) break;
        entries.delete(k);
        this.count--;
      }
      if (entries.size === 0) this.byAddress.delete(address);
    }
    // under a flood, drop the oldest half of each address rather than grow without bound
    if (force && this.count >= this.maxEntries) {
      for (const [address, entries] of this.byAddress) {
        let n = Math.ceil(entries.size / 2);
        for (const k of entries.keys()) {
          if (n-- <= 0) break;
          entries.delete(k);
          this.count--;
        }
        if (entries.size === 0) this.byAddress.delete(address);
      }
    }
  }

  get size(): number {
    return this.count;
  }
}
