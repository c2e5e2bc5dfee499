// The observations an update flow opens while it watches State and Update Result, kept for exactly
// as long as the flow runs. Observations belong to a registration (LwM2M 1.1 TS Core §6.4.1; a
// client may forget them when it registers again, LWM2M-NOTES): when the device registers anew
// (a reboot, a new port) mid-flow, the server ends the old ones and this set observes the paths
// again on the new registration, so the flow never waits on a dead observation; when the flow ends
// every observation it holds is cancelled on the device (RFC 7641 §3.6) and none is left behind.
import type { ServerEvent } from '../events/server-event.ts';
import type { LwM2mNode } from '../lwm2m/node.ts';
import type { LwM2mPath } from '../lwm2m/path.ts';
import type { LwM2mServer } from '../server.ts';
import { onEndpointEvent, onEndpointObservationChange } from './endpoint-signals.ts';

export type FirstValue = (path: LwM2mPath, node: LwM2mNode) => void;

export class FlowObservations {
  /** observation ids this flow holds */
  private readonly ids = new Set<string>();
  /** queued Observe requests (a sleeping device) not answered yet */
  private readonly queuedRequests = new Set<string>();
  /** Observe requests sent and not answered yet */
  private inFlight = 0;
  private closed = false;
  private released = false;
  private readonly offChange: () => void;
  private readonly offEvents: () => void;

  constructor(
    private readonly server: LwM2mServer,
    private readonly endpoint: string,
    private readonly paths: readonly LwM2mPath[],
    private readonly onFirstValue: FirstValue,
  ) {
    // ended by the device (an error notification), with its registration, or by anyone else: not ours any more
    this.offChange = onEndpointObservationChange(server, endpoint, (change, obs) => {
      if (change === 'ended') this.ids.delete(obs.id);
    });
    this.offEvents = onEndpointEvent(server, endpoint, (e) => this.onEvent(e));
    this.observeAll();
  }

  /** How many observations the flow holds now (tests, logs). */
  get size(): number {
    return this.ids.size;
  }

  /** Cancels every observation the flow holds, on the device too. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offChange();
    this.release();
    const ids = [...this.ids];
    this.ids.clear();
    if (ids.length === 0) return;
    void this.server.registrations.byEndpoint(this.endpoint).then((reg) => {
      for (const id of ids) void this.server.observations.cancel(id, reg).catch(() => undefined);
    }).catch(() => undefined);
  }

  private onEvent(e: ServerEvent): void {
    // a new registration: the server ended the old observations (the flow's are not re-established for it)
    if (!this.closed && e.type === 'registration' && e.registration.endpoint === this.endpoint) this.observeAll();
    // a queued Observe went out when the device woke: keep or drop what it established
    if (e.type === 'request' && this.queuedRequests.has(e.requestId) && (e.status === 'done' || e.status === 'failed')) {
      this.queuedRequests.delete(e.requestId);
      const q = this.server.queue.get(e.requestId);
      if (q?.result?.observationId) void this.adopt(q.result.observationId);
      this.release();
    }
  }

  /** After close, the event listener stays until every Observe sent or queued is answered and judged. */
  private release(): void {
    if (!this.closed || this.released || this.inFlight > 0 || this.queuedRequests.size > 0) return;
    this.released = true;
    this.offEvents();
  }

  private observeAll(): void {
    for (const path of this.paths) {
      this.inFlight++;
      this.server.observe(this.endpoint, path, undefined, { reestablish: false }).then(async (out) => {
        if (out.queued) {
          this.queuedRequests.add(out.request.id);
          return;
        }
        if (out.observation) await this.adopt(out.observation.id);
        const node = out.result.node;
        if (!this.closed && node) this.onFirstValue(path, node);
      }).catch(() => undefined) // the reads every pollMs decide
        .finally(() => {
          this.inFlight--;
          this.release();
        });
    }
  }

  /**
   * Keeps an observation the flow opened, unless the flow has ended or the observation was
   * answered for a registration that has since been replaced (the Observe crossed a new Register):
   * then it is cancelled at once (the new registration gets its own).
   */
  private async adopt(id: string): Promise<void> {
    const obs = this.server.observations.get(id);
    if (!obs) return; // already ended
    const current = await this.server.registrations.byEndpoint(this.endpoint).catch(() => undefined);
    if (!this.server.observations.get(id)) return; // ended meanwhile (its registration was replaced)
    if (!this.closed && current?.id === obs.registrationId) {
      this.ids.add(id);
      return;
    }
    await this.server.observations.cancel(id, current?.id === obs.registrationId ? current : undefined).catch(() => undefined);
  }
}
