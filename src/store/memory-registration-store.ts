// The default store: two maps, no persistence (a restart forgets registrations; devices re-register).
import type { Registration } from '../registration/registration.ts';
import type { RegistrationPage, RegistrationStore } from './registration-store.ts';
import { SortedNames } from './sorted-names.ts';

export class MemoryRegistrationStore implements RegistrationStore {
  private readonly byIdMap = new Map<string, Registration>();
  private readonly byEndpointMap = new Map<string, string>();
  /** endpoint names in UTF-8 byte order, for paging */
  private readonly sorted = new SortedNames();

  async add(reg: Registration): Promise<Registration | undefined> {
    const previousId = this.byEndpointMap.get(reg.endpoint);
    const previous = previousId === undefined ? undefined : this.byIdMap.get(previousId);
    if (previousId !== undefined) this.byIdMap.delete(previousId);
    else this.sorted.insert(reg.endpoint);
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
      this.sorted.remove(reg.endpoint);
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
    const { names, more } = this.sorted.after(after, limit);
    const registrations = names.map((ep) => this.byIdMap.get(this.byEndpointMap.get(ep)!)!);
    return more ? { registrations, next: names[names.length - 1] } : { registrations };
  }

  async expired(now: number): Promise<Registration[]> {
    return [...this.byIdMap.values()].filter((r) => r.expiresAt <= now);
  }

  async count(): Promise<number> {
    return this.byIdMap.size;
  }
}
