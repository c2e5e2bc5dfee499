// Where registrations live. The in-memory store is the default; a Redis store (issue 5) implements
// the same contract so several server nodes can share one fleet.
import type { Registration } from '../registration/registration.ts';

/** One page of registrations in endpoint order; `next` continues after it (absent: the last page). */
export type RegistrationPage = { registrations: Registration[]; next?: string };

export type RegistrationStore = {
  /** Adds or replaces (same endpoint) a registration; returns the one it replaced. */
  add(reg: Registration): Promise<Registration | undefined>;
  /** Replaces an existing registration by id; undefined when the id is unknown. */
  update(reg: Registration): Promise<Registration | undefined>;
  remove(id: string): Promise<Registration | undefined>;
  byId(id: string): Promise<Registration | undefined>;
  byEndpoint(endpoint: string): Promise<Registration | undefined>;
  all(): Promise<Registration[]>;
  /**
   * Up to `limit` registrations whose endpoint sorts after `after` (byte order of the UTF-8
   * name), so a fleet is listed page by page without loading it whole (issue 14).
   */
  page(after: string | undefined, limit: number): Promise<RegistrationPage>;
  /** Registrations whose expiresAt <= now. */
  expired(now: number): Promise<Registration[]>;
  count(): Promise<number>;
  /** Readiness: true when the backing service answers (absent: always ready). */
  ping?(): Promise<boolean>;
  /** Resolves once re-writes after the store came back without its data are done (absent: none). */
  settled?(): Promise<void>;
  /** Releases connections (absent: nothing to release). */
  close?(): Promise<void>;
};
