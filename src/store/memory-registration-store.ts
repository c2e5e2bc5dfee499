// The default store: two maps, no persistence (a restart forgets registrations; devices re-register).
import type { Registration } from '../registration/registration.ts';
import type { RegistrationPage, RegistrationStore } from './registration-store.ts';

/** Byte order of the UTF-8 names, as Redis sorts them (ZRANGEBYLEX), so both stores page alike. */
function compareEndpoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class MemoryRegistrationStore implements RegistrationStore {
  private readonly byIdMap = new Map<string, Registration>();
  private readonly byEndpointMap = new Map<string, string>();
  /** endpoint names in byte order, for paging (insertion by binary search: O(log n) + a memmove) */
  private readonly sorted: string[] = [];

  /** index of the first name that sorts after `after` (or equal to it, when inclusive) */
  private position(after: string, inclusive = false): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareEndpoints(this.sorted[mid]!, after);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async add(reg: Registration): Promise<Registration | undefined> {
    const previousId = this.byEndpointMap.get(reg.endpoint);
    const previous = previousId === undefined ? undefined : this.byIdMap.get(previousId);
    if (previousId !== undefined) this.byIdMap.delete(previousId);
    else this.sorted.splice(this.position(reg.endpoint, true), 0, reg.endpoint);
    this.byIdMap.set(reg.id, reg);
    this.byEndpointMap.set(reg.endpoint, reg.id);
    return previous;
  }

  async update(reg: Registration): Promise<Registration | undefined> {
    const old = this.byIdMap.get(reg.id);
    if (!old) return undefined;
    this.byIdMap.set(reg.id, reg);
    return old;
  }

  async remove(id: string): Promise<Registration | undefined> {
    const reg = this.byIdMap.get(id);
    if (!reg) return undefined;
    this.byIdMap.delete(id);
    if (this.byEndpointMap.get(reg.endpoint) === id) {
      this.byEndpointMap.delete(reg.endpoint);
      const i = this.position(reg.endpoint, true);
      if (this.sorted[i] === reg.endpoint) this.sorted.splice(i, 1);
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
    const start = after === undefined ? 0 : this.position(after);
    const names = this.sorted.slice(start, start + limit);
    const registrations = names.map((ep) => this.byIdMap.get(this.byEndpointMap.get(ep)!)!);
    return start + limit < this.sorted.length ? { registrations, next: names[names.length - 1] } : { registrations };
  }

  async expired(now: number): Promise<Registration[]> {
    return [...this.byIdMap.values()].filter((r) => r.expiresAt <= now);
  }

  async count(): Promise<number> {
    return this.byIdMap.size;
  }
}
