// Queue mode presence (LwM2M 1.1 TS Transport §6.5 / Core §6.4 "Queue Mode"): a UQ device is
// reachable only for a while after it last spoke to us. Leshan's PresenceService is the model;
// the default awake time is CoAP MAX_TRANSMIT_WAIT (93 s).
import type { EventBus } from '../events/server-event.ts';

export class PresenceService {
  private readonly awake = new Map<string, NodeJS.Timeout>();

  constructor(private readonly events: EventBus, readonly awakeTimeMs = 93_000) {}

  /** The device spoke (register, update, notification, Send): it listens for awakeTimeMs. */
  setAwake(endpoint: string): void {
    const wasAwake = this.awake.has(endpoint);
    const old = this.awake.get(endpoint);
    if (old) clearTimeout(old);
    const timer = setTimeout(() => this.setSleeping(endpoint), this.awakeTimeMs);
    timer.unref();
    this.awake.set(endpoint, timer);
    if (!wasAwake) this.events.emit({ type: 'awake', endpoint });
  }

  setSleeping(endpoint: string): void {
    const t = this.awake.get(endpoint);
    if (!t) return;
    clearTimeout(t);
    this.awake.delete(endpoint);
    this.events.emit({ type: 'sleeping', endpoint });
  }

  isAwake(endpoint: string): boolean {
    return this.awake.has(endpoint);
  }

  forget(endpoint: string): void {
    const t = this.awake.get(endpoint);
    if (t) clearTimeout(t);
    this.awake.delete(endpoint);
  }

  stop(): void {
    for (const t of this.awake.values()) clearTimeout(t);
    this.awake.clear();
  }
}
