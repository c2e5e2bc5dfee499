// Everything the server tells the outside world, as one discriminated union. The SSE stream, the
// MQTT bridge and tests all subscribe to the same bus.
import type { LwM2mNode, LwM2mRecord } from '../lwm2m/node.ts';
import type { Registration } from '../registration/registration.ts';

export type DeregistrationReason = 'deregistered' | 'expired' | 'replaced';

export type ServerEvent =
  | { type: 'registration'; registration: Registration; replaced?: Registration }
  | { type: 'update'; registration: Registration; previous: Registration }
  | { type: 'deregistration'; registration: Registration; reason: DeregistrationReason }
  | { type: 'awake'; endpoint: string }
  | { type: 'sleeping'; endpoint: string }
  | { type: 'notification'; endpoint: string; observationId: string; path: string; node?: LwM2mNode; records?: LwM2mRecord[]; contentFormat?: number; time: number }
  | { type: 'send'; endpoint: string; records: LwM2mRecord[]; time: number }
  | { type: 'request'; endpoint: string; requestId: string; status: 'queued' | 'sent' | 'done' | 'failed'; code?: string }
  /** a bound of the server was reached (active) or left again: new registrations get 5.03 meanwhile */
  | { type: 'overload'; limit: string; active: boolean; detail: string; time: number }
  | { type: 'deployment'; deploymentId: string; endpoint?: string; state: string; detail?: string; counts: Record<string, number>; progress: number }
  /** a model version's mean confidence over a window fell past the drift threshold (or came back): issue 16 §3 */
  | { type: 'model-health'; modelDigest: string; model: string | null; signal: 'drift' | 'recovered'; baselineMean: number; windowMean: number; detail: string; time: number };

export type ServerEventListener = (e: ServerEvent) => void;

export class EventBus {
  private readonly listeners = new Set<ServerEventListener>();

  on(listener: ServerEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** whether anyone listens: an event nobody hears need not be built or decoded */
  get listened(): boolean {
    return this.listeners.size > 0;
  }

  emit(e: ServerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a failing subscriber must not stop the others or the protocol path
      }
    }
  }
}
