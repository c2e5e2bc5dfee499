// Registration lifecycle: register, update, de-register, lifetime expiry (Core §6.2.1-6.2.3).
// The ground floor: every other concept looks devices up here.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Peer } from '../coap/transport.ts';
import type { EventBus } from '../events/server-event.ts';
import type { RegistrationStore } from '../store/registration-store.ts';
import { newRegistrationId } from './registration-id.ts';
import type { Registration } from './registration.ts';

/** expired registrations removed between two turns of the event loop */
const EXPIRE_CHUNK = 100;

export type NewRegistration = Omit<Registration, 'id' | 'registeredAt' | 'lastUpdate' | 'expiresAt'>;

export type RegistrationUpdate = {
  lifetime?: number;
  binding?: string;
  queueMode?: boolean;
  smsNumber?: string;
  address: Peer;
  links?: Pick<Registration, 'rootPath' | 'objectLinks' | 'contentFormats' | 'objectVersions'>;
};

export type RegistrationServiceOptions = {
  store: RegistrationStore;
  events: EventBus;
  log: Logger;
  /** extra time past the lifetime before a registration is removed, for network delays */
  expiryGraceMs?: number;
  sweepIntervalMs?: number;
  /** this node's id, recorded in every registration it takes (several nodes sharing a store) */
  nodeId?: string;
  /**
   * Several nodes: a node expires the registrations it serves, so its own clean-up (observations,
   * queue) runs; another node's only once they are this much overdue (their node is gone).
   */
  orphanGraceMs?: number;
};

export class RegistrationService {
  private readonly sweeper: NodeJS.Timeout;
  private readonly grace: number;

  constructor(private readonly opts: RegistrationServiceOptions) {
    this.grace = opts.expiryGraceMs ?? 2000;
    this.sweeper = setInterval(() => void this.sweep(), opts.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  get store(): RegistrationStore {
    return this.opts.store;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweeping = false;

  /** One expiry pass at a time; a store failure (Redis down) is logged, never thrown at the timer. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.expire(Date.now());
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'expiry sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  async register(input: NewRegistration, now = Date.now()): Promise<Registration> {
    // a literal of one shape rather than spreads: spreading the input built a dictionary-mode
    // object per Register, slower to make and to keep
    const reg: Registration = {
      id: newRegistrationId(),
      endpoint: input.endpoint,
      lwm2mVersion: input.lwm2mVersion,
      lifetime: input.lifetime,
      binding: input.binding,
      queueMode: input.queueMode,
      smsNumber: input.smsNumber,
      rootPath: input.rootPath,
      objectLinks: input.objectLinks,
      contentFormats: input.contentFormats,
      objectVersions: input.objectVersions,
      address: input.address,
      registeredAt: now,
      lastUpdate: now,
      expiresAt: now + input.lifetime * 1000 + this.grace,
      additional: input.additional,
      node: this.opts.nodeId,
    };
    // Same endpoint again (reboot, new port): the new registration replaces the old one cleanly
    const replaced = await this.opts.store.add(reg);
    const log = this.opts.log;
    if (replaced) {
      log.info({ endpoint: reg.endpoint, old: replaced.id, id: reg.id }, 'registration replaced');
      this.opts.events.emit({ type: 'deregistration', registration: replaced, reason: 'replaced' });
    }
    // no log object (and no address string) per registration unless info is logged
    if (log.isLevelEnabled('info')) log.info({ endpoint: reg.endpoint, id: reg.id, address: `${reg.address.address}:${reg.address.port}`, lifetime: reg.lifetime }, 'registered');
    this.opts.events.emit({ type: 'registration', registration: reg, replaced });
    return reg;
  }

  async update(id: string, upd: RegistrationUpdate, now = Date.now()): Promise<Registration | undefined> {
    const previous = await this.opts.store.byId(id);
    if (!previous) return undefined;
    const lifetime = upd.lifetime ?? previous.lifetime;
    const reg: Registration = {
      ...previous,
      ...(upd.links ?? {}),
      // an Update whose links carry no ct= keeps the formats declared before (LWM2M-NOTES)
      contentFormats: upd.links && upd.links.contentFormats.length > 0 ? upd.links.contentFormats : previous.contentFormats,
      lifetime,
      binding: upd.binding ?? previous.binding,
      queueMode: upd.queueMode ?? previous.queueMode,
      smsNumber: upd.smsNumber ?? previous.smsNumber,
      // Transport §6.2.2: the update may come from a new address (NAT rebinding); use it from now on
      address: upd.address,
      lastUpdate: now,
      expiresAt: now + lifetime * 1000 + this.grace,
      // the node that hears the update serves the device from now on (it moved, or its node died)
      ...(this.opts.nodeId !== undefined ? { node: this.opts.nodeId } : {}),
    };
    const stored = await this.opts.store.update(reg);
    if (!stored) return undefined;
    this.opts.events.emit({ type: 'update', registration: reg, previous });
    return reg;
  }

  async deregister(id: string): Promise<Registration | undefined> {
    const reg = await this.opts.store.remove(id);
    if (reg) {
      this.opts.log.info({ endpoint: reg.endpoint, id }, 'deregistered');
      this.opts.events.emit({ type: 'deregistration', registration: reg, reason: 'deregistered' });
    }
    return reg;
  }

  /** Removes registrations whose lifetime ran out (Core §6.2.1: the client failed to update). */
  async expire(now: number): Promise<Registration[]> {
    const gone: Registration[] = [];
    const orphanGrace = this.opts.orphanGraceMs ?? 10_000;
    let sinceYield = 0;
    for (const reg of await this.opts.store.expired(now)) {
      // thousands lapsing at once (a node back after an outage): each removal runs every listener
      // of the event; the event loop is let go every EXPIRE_CHUNK so no pass blocks it (issue 14)
      if (++sinceYield > EXPIRE_CHUNK) {
        sinceYield = 0;
        await yieldToLoop();
      }
      const elsewhere = this.opts.nodeId !== undefined && reg.node !== undefined && reg.node !== this.opts.nodeId;
      if (elsewhere && reg.expiresAt > now - orphanGrace) continue;
      const removed = await this.opts.store.remove(reg.id);
      if (!removed) continue;
      gone.push(removed);
      this.opts.log.info({ endpoint: reg.endpoint, id: reg.id }, 'registration expired');
      this.opts.events.emit({ type: 'deregistration', registration: removed, reason: 'expired' });
    }
    return gone;
  }

  byEndpoint(endpoint: string): Promise<Registration | undefined> {
    return this.opts.store.byEndpoint(endpoint);
  }

  byId(id: string): Promise<Registration | undefined> {
    return this.opts.store.byId(id);
  }

  all(): Promise<Registration[]> {
    return this.opts.store.all();
  }
}
