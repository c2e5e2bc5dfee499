// The latest known values of a few resources of one device, fed by the observations a flow holds
// (flow-observations.ts) and by whatever reads the flow makes. One follower can serve several
// stages of a flow: Object 9's delivery, install and activation watch State, Update Result and
// Activation State of the same instance, so they are observed once for the whole flow (three
// Observe and three Cancel) instead of once per stage (five and five). Nothing in LwM2M asks for
// an observation per stage; a value carried over from an earlier stage only says what the device
// last reported, and each stage waits for a state it has not reached yet.
import type { LwM2mNode, ResourceValue } from '../lwm2m/node.ts';
import { formatPath, type LwM2mPath } from '../lwm2m/path.ts';
import type { LwM2mServer } from '../server.ts';
import { onEndpointEvent } from './endpoint-signals.ts';
import { FlowObservations } from './flow-observations.ts';

export class ResourceFollower {
  readonly values = new Map<string, ResourceValue>();
  private readonly keys: Set<string>;
  private readonly listeners = new Set<() => void>();
  private readonly observations: FlowObservations | undefined;
  private readonly offEvents: () => void;
  private closed = false;

  /** observe: open observations on the paths; otherwise only notifications someone else asked for are taken */
  constructor(server: LwM2mServer, endpoint: string, readonly paths: readonly LwM2mPath[], observe = true) {
    this.keys = new Set(paths.map(formatPath));
    this.offEvents = onEndpointEvent(server, endpoint, (e) => {
      if (e.type === 'notification' && e.node && this.keys.has(e.path)) this.take(e.path, e.node);
    });
    this.observations = observe ? new FlowObservations(server, endpoint, paths, (p, node) => this.take(formatPath(p), node)) : undefined;
  }

  /** Every path is observed now: notifications will tell each change, reads are only a safety net. */
  get observingAll(): boolean {
    return this.observations !== undefined && this.observations.size >= this.paths.length;
  }

  /** A value read or notified: kept, and every listener hears of it. */
  take(key: string, node: LwM2mNode): void {
    if (this.closed || (node.kind !== 'resource' && node.kind !== 'resourceInstance')) return;
    this.values.set(key, node.value);
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends the observations, on the device too (RFC 7641 §3.6). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.offEvents();
    this.observations?.close();
  }
}
