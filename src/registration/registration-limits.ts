// Admission control for registrations: the bounds that keep a node alive under a registration
// flood (issue 14). Every bound is a flag of src/main.ts and a metric (lwm2m_limit_rejections_total).
// Overload is answered as RFC 7252 §5.9.3.4 suggests: 5.03 Service Unavailable with Max-Age, the
// number of seconds after which the client may try again; a payload past its bound gets 4.13.
import v8 from 'node:v8';
import { SourceRateLimiter } from './source-rate-limiter.ts';

export type RegistrationLimits = {
  /** registrations this node serves; a new endpoint past it gets 5.03 (re-registrations pass) */
  maxRegistrations: number;
  /** registrations per source IP address per second, on average (0: no limit) */
  perSourcePerSecond: number;
  /** how many a source may send at once before the rate applies */
  perSourceBurst: number;
  /** bytes of the object-links payload (4.13 with Size1 past it) */
  maxLinkBytes: number;
  /** links in one registration's payload */
  maxLinks: number;
  /** JavaScript heap in use past which new registrations get 5.03 (0: no budget) */
  memoryHighWaterBytes: number;
};

/** Defaults for a 2-core / 1 GiB node. */
export function defaultRegistrationLimits(): RegistrationLimits {
  return {
    maxRegistrations: 200_000,
    perSourcePerSecond: 100,
    perSourceBurst: 500,
    maxLinkBytes: 8 * 1024,
    maxLinks: 256,
    // three quarters of V8's heap limit: past it a full GC runs often and the process is near its end
    memoryHighWaterBytes: Math.floor(v8.getHeapStatistics().heap_size_limit * 0.75),
  };
}

export type LimitName = 'registrations' | 'source-rate' | 'link-bytes' | 'links' | 'memory';

/** max: the byte bound a 4.13 names in Size1 (RFC 7959 §4) */
export type Refusal = { limit: LimitName; code: 'overloaded' | 'tooLarge'; retryAfterS?: number; max?: number; message: string };

export type AdmissionDeps = {
  /** registrations this node serves now */
  served(): number;
  /** heap in use, bytes (process.memoryUsage().heapUsed by default) */
  heapUsed?(): number;
  /** a bound was reached (true) or left again (false): the server turns it into an event */
  onOverload?(limit: 'registrations' | 'memory', active: boolean, detail: string): void;
};

export class RegistrationAdmission {
  readonly rejections: Record<LimitName, number> = { registrations: 0, 'source-rate': 0, 'link-bytes': 0, links: 0, memory: 0 };
  private readonly rate: SourceRateLimiter;
  private heapSample = { at: 0, bytes: 0 };
  private readonly active = { registrations: false, memory: false };

  constructor(readonly limits: RegistrationLimits, private readonly deps: AdmissionDeps) {
    this.rate = new SourceRateLimiter(limits.perSourcePerSecond, limits.perSourceBurst);
  }

  /** Per-source rate: checked first, before any parsing, so a flood costs as little as possible. */
  admitSource(address: string, now = Date.now()): Refusal | undefined {
    const d = this.rate.take(address, now);
    if (d.allowed) return undefined;
    return this.refuse({ limit: 'source-rate', code: 'overloaded', retryAfterS: d.retryAfterS, message: `too many registrations from ${address}, retry in ${d.retryAfterS} s` });
  }

  /** The object-links payload, before it is parsed. */
  admitLinkBytes(bytes: number): Refusal | undefined {
    if (bytes <= this.limits.maxLinkBytes) return undefined;
    return this.refuse({ limit: 'link-bytes', code: 'tooLarge', max: this.limits.maxLinkBytes, message: `object links of ${bytes} bytes exceed ${this.limits.maxLinkBytes}` });
  }

  admitLinkCount(links: number): Refusal | undefined {
    if (links <= this.limits.maxLinks) return undefined;
    return this.refuse({ limit: 'links', code: 'tooLarge', message: `${links} object links exceed ${this.limits.maxLinks}` });
  }

  /** A registration of an endpoint this node does not serve yet: total and memory bounds. */
  admitNew(now = Date.now()): Refusal | undefined {
    const served = this.deps.served();
    this.transition('registrations', served >= this.limits.maxRegistrations, `${served} registrations, limit ${this.limits.maxRegistrations}`);
    if (this.active.registrations) {
      return this.refuse({ limit: 'registrations', code: 'overloaded', retryAfterS: 60, message: `this node serves its limit of ${this.limits.maxRegistrations} registrations` });
    }
    if (this.limits.memoryHighWaterBytes > 0) {
      const heap = this.heap(now);
      this.transition('memory', heap >= this.limits.memoryHighWaterBytes, `heap ${mb(heap)} MB, high-water mark ${mb(this.limits.memoryHighWaterBytes)} MB`);
      if (this.active.memory) return this.refuse({ limit: 'memory', code: 'overloaded', retryAfterS: 30, message: 'server memory past its high-water mark, retry later' });
    }
    return undefined;
  }

  get sources(): number {
    return this.rate.sources;
  }

  /** Sampled at most every 100 ms: process.memoryUsage() is too slow for every datagram of a flood. */
  private heap(now: number): number {
    if (now - this.heapSample.at >= 100) this.heapSample = { at: now, bytes: this.deps.heapUsed?.() ?? process.memoryUsage().heapUsed };
    return this.heapSample.bytes;
  }

  private transition(limit: 'registrations' | 'memory', active: boolean, detail: string): void {
    if (this.active[limit] === active) return;
    this.active[limit] = active;
    this.deps.onOverload?.(limit, active, detail);
  }

  private refuse(r: Refusal): Refusal {
    this.rejections[r.limit]++;
    return r;
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}
