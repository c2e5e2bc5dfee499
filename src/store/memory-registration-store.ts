// The default store: two maps, no persistence (a restart forgets registrations; devices re-register).
import type { Registration } from '../registration/registration.ts';
import type { RegistrationPage, RegistrationStore } from './registration-store.ts';
import { SortedNames } from './sorted-names.ts';

export class MemoryRegistrationStore implements RegistrationStore {
  private readonly byIdMap = new Map<string, Registration>();
  private readonly byEndpointMap = new Map<string, string>();
  /** endpoint names in UTF-8 byte order, for paging */
  private readonly sorted = new SortedNames();
  /**
   * Lifetimes as one structure: registration ids by the second they expire in. The expiry sweep
   * (every second) visits the buckets that came due, not every registration.
   */
  private readonly expiries = new Map<number, Set<string>>();
  /** every bucket before this second has been visited */
  private swept = Math.floor(Date.now() / 1000) - 1;

  private expiryBucket(reg: Registration, add: boolean): void {
    const second = Math.floor(reg.expiresAt / 1000);
    let bucket = this.expiries.get(second);
    if (add) {
      if (!bucket) {
        bucket = new Set();
        this.expiries.set(second, bucket);
      }
      bucket.add(reg.id);
      if (second < this.swept) this.swept = second;
    } else if (bucket) {
      bucket.delete(reg.id);
      if (bucket.size === 0) this.expiries.delete(second);
    }
  }

  async add(reg: Registration): Promise<Registration | undefined> {
    const previousId = this.byEndpointMap.get(reg.endpoint);
    const previous = previousId === undefined ? undefined : this.byIdMap.get(previousId);
    if (previous) this.expiryBucket(previous, false);
    if (previousId !== undefined) this.byIdMap.delete(previousId);
    else this.sorted.add(reg.endpoint);
    this.expiryBucket(reg, true);
    this.byIdMap.set(reg.id, reg);
    this.byEndpointMap.set(reg.endpoint, reg.id);
    return previous;
  }

  async update(reg: Registration): Promise<Registration | undefined> {
    const old = this.byIdMap.get(reg.id);
    if (!old) return undefined;
    this.expiryBucket(old, false);
    this.byIdMap.set(reg.id, reg);
    this.expiryBucket(reg, true);
    return old;
  }

  async remove(id: string): Promise<Registration | undefined> {
    const reg = this.byIdMap.get(id);
    if (!reg) return undefined;
    this.byIdMap.delete(id);
    this.expiryBucket(reg, false);
    if (this.byEndpointMap.get(reg.endpoint) === id) {
      this.byEndpointMap.delete(reg.endpoint);
      this.sorted.delete(reg.endpoint);
    }
    return reg;
  }

  async byId(id: string): Promise<Registration | undefined> {
    return this.byIdMap.get(id);
  }

  async byEndpoint(endpoint: string): Promise<Registration | undefined> {
    const id = this.byEndpointMap.get(endpoint);
    return id === undefined ? undefined : this.byIdMap.get(id);
  }

  async all(): Promise<Registration[]> {
    return [...this.byIdMap.values()];
  }

  async page(after: string | undefined, limit: number): Promise<RegistrationPage> {
    const names = this.sorted.after(after, limit);
    const registrations = names.map((ep) => this.byIdMap.get(this.byEndpointMap.get(ep)!)!);
    const last = names[names.length - 1];
    return names.length === limit && last !== undefined && this.sorted.after(last, 1).length > 0 ? { registrations, next: last } : { registrations };
  }

  async expired(now: number): Promise<Registration[]> {
    const out: Registration[] = [];
    const until = Math.floor(now / 1000);
    // the next sweep starts at the first bucket still holding ids (expired ones the caller kept,
    // or the current second's later ones), at the latest at this second
    let first = until;
    // a sweep that has not run for long (a stalled loop, a test's clock far ahead) scans the buckets instead of the seconds
    if (until - this.swept > this.expiries.size) {
      for (const [second, ids] of this.expiries) {
        if (second > until) continue;
        this.collect(ids, now, out);
        if (second < first) first = second;
      }
    } else {
      for (let second = this.swept; second <= until; second++) {
        const ids = this.expiries.get(second);
        if (!ids) continue;
        this.collect(ids, now, out);
        if (second < first) first = second;
      }
    }
    this.swept = first;
    return out;
  }

  private collect(ids: Set<string>, now: number, out: Registration[]): void {
    for (const id of ids) {
      const r = this.byIdMap.get(id);
      if (r && r.expiresAt <= now) out.push(r);
    }
  }

  async count(): Promise<number> {
    return this.byIdMap.size;
  }
}
