// Each device's profile, read from what it reports (device-info.ts) and matched by rules
// (device-profile-matcher.ts). Kept per endpoint and read again when the device registers or
// updates its registration (a new firmware, a new runtime, other memory): the cache holds one
// entry per registered endpoint at most and forgets a device that deregisters.
import type { Logger } from 'pino';
import type { LwM2mServer } from '../server.ts';
import { readDeviceInfo, type DeviceInfo } from './device-info.ts';
import { DEFAULT_PROFILE_RULES, matchProfile, type ProfileMatch, type ProfileRule } from './device-profile-matcher.ts';

export type DeviceProfileEntry = { endpoint: string; info: DeviceInfo; match: ProfileMatch };

export type DeviceProfilesOptions = {
  rules?: readonly ProfileRule[];
  /** read every device at registration and update (default: only when asked) */
  readOnRegistration?: boolean;
  /** device reads in flight at once for registrations */
  concurrency?: number;
  timeoutMs?: number;
};

export class DeviceProfiles {
  private readonly entries = new Map<string, DeviceProfileEntry>();
  private readonly inFlight = new Map<string, Promise<DeviceProfileEntry>>();
  private readonly waiting = new Set<string>();
  private active = 0;
  readonly rules: readonly ProfileRule[];

  constructor(private readonly server: LwM2mServer, private readonly log: Logger, private readonly opts: DeviceProfilesOptions = {}) {
    this.rules = opts.rules ?? DEFAULT_PROFILE_RULES;
    server.events.on((e) => {
      if (e.type === 'deregistration' && e.reason !== 'replaced') {
        this.entries.delete(e.registration.endpoint);
        return;
      }
      if (e.type === 'registration' || e.type === 'update') {
        const ep = e.registration.endpoint;
        this.entries.delete(ep); // what the device reported may have changed
        if (opts.readOnRegistration) this.enqueue(ep);
      }
    });
  }

  /** The device's profile, read from the device unless known since its last registration or update. */
  get(endpoint: string, fresh = false): Promise<DeviceProfileEntry> {
    const known = this.entries.get(endpoint);
    if (known && !fresh) return Promise.resolve(known);
    const running = this.inFlight.get(endpoint);
    if (running) return running;
    const p = readDeviceInfo(this.server, endpoint, this.opts.timeoutMs ?? 10_000).then((info) => {
      const entry = { endpoint, info, match: matchProfile(info, this.rules) };
      this.entries.set(endpoint, entry);
      if (entry.match.profile === null) this.log.info({ endpoint, detail: entry.match.detail }, 'device matches no profile');
      return entry;
    }).finally(() => this.inFlight.delete(endpoint));
    this.inFlight.set(endpoint, p);
    return p;
  }

  /** The profile known now for one device (no device is asked). */
  peek(endpoint: string): DeviceProfileEntry | undefined {
    return this.entries.get(endpoint);
  }

  /** Profiles known now (no device is asked). */
  known(): DeviceProfileEntry[] {
    return [...this.entries.values()];
  }

  private enqueue(endpoint: string): void {
    this.waiting.add(endpoint);
    this.pump();
  }

  private pump(): void {
    while (this.active < (this.opts.concurrency ?? 4) && this.waiting.size > 0) {
      const ep = this.waiting.values().next().value as string;
      this.waiting.delete(ep);
      this.active++;
      this.get(ep, true).catch((e: unknown) => this.log.debug({ endpoint: ep, err: (e as Error).message }, 'device info not read'))
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
