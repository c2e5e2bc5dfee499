// Where registrations live. The in-memory store is the default; a Redis store (issue 5) implements
// the same contract so several server nodes can share one fleet.
import type { Registration } from '../registration/registration.ts';

export type RegistrationStore = {
  /** Adds or replaces (same endpoint) a registration; returns the one it replaced. */
  add(reg: Registration): Promise<Registration | undefined>;
  /** Replaces an existing registration by id; undefined when the id is unknown. */
  update(reg: Registration): Promise<Registration | undefined>;
  remove(id: string): Promise<Registration | undefined>;
  byId(id: string): Promise<Registration | undefined>;
  byEndpoint(endpoint: string): Promise<Registration | undefined>;
  all(): Promise<Registration[]>;
  /** Registrations whose expiresAt <= now. */
  expired(now: number): Promise<Registration[]>;
  count(): Promise<number>;
  /** Readiness: true when the backing service answers (absent: always ready). */
  ping?(): Promise<boolean>;
  /** Releases connections (absent: nothing to release). */
  close?(): Promise<void>;
};
