// A token bucket per source address: each address may register `ratePerSecond` times a second on
// average with bursts of `burst`. The table of buckets is bounded too (a spoofed-source flood must
// not grow it without limit): full, idle buckets are the ones dropped, since a fresh one equals them.
export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterS: number };

type Bucket = { tokens: number; at: number };

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly ratePerSecond: number, private readonly burst: number, private readonly maxSources = 100_000) {}

  /** Takes one token for `source`; when none is left, says how many seconds until one is. */
  take(source: string, now = Date.now()): RateLimitDecision {
    if (this.ratePerSecond <= 0) return { allowed: true };
    let b = this.buckets.get(source);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxSources) this.evict(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(source, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond)) };
  }

  get sources(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    const fullAfterMs = (this.burst / this.ratePerSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(k);
    // every source is busy: drop the oldest (Map order is insertion order), never grow past the bound
    while (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
