// Requests for sleeping queue-mode devices wait here until the device wakes up (it registers,
// updates or notifies), then go out in order. Each has an id the API hands back with 202.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventBus } from '../events/server-event.ts';
import { RequestError, type DownlinkRequest, type DownlinkResult } from '../request/downlink-request.ts';

export type QueuedRequestStatus = 'queued' | 'sent' | 'done' | 'failed';

export type QueuedRequest = {
  readonly id: string;
  readonly endpoint: string;
  readonly request: DownlinkRequest;
  status: QueuedRequestStatus;
  readonly createdAt: number;
  finishedAt?: number;
  result?: DownlinkResult;
  error?: { code: string; message: string };
};

export type Deliver = (endpoint: string, req: DownlinkRequest) => Promise<DownlinkResult>;

export class RequestQueue {
  private readonly byId = new Map<string, QueuedRequest>();
  private readonly pending = new Map<string, QueuedRequest[]>();
  private readonly flushing = new Set<string>();
  /** enqueues refused because the device's queue was full */
  refused = 0;

  constructor(
    private readonly events: EventBus,
    private readonly log: Logger,
    /** finished entries are kept this long for polling */
    private readonly retentionMs = 10 * 60_000,
    readonly maxPerDevice = 100,
  ) {}

  /** id: keep the id a request had on another node (the client polls /requests/:id with it). */
  enqueue(endpoint: string, request: DownlinkRequest, id?: string): QueuedRequest {
    const list = this.pending.get(endpoint) ?? [];
    if (list.length >= this.maxPerDevice) {
      this.refused++;
      throw new RequestError('TOO_MANY_REQUESTS', `${endpoint} is asleep and already has ${list.length} queued requests (limit ${this.maxPerDevice})`);
    }
    const q: QueuedRequest = { id: id ?? randomBytes(8).toString('hex'), endpoint, request, status: 'queued', createdAt: Date.now() };
    list.push(q);
    this.pending.set(endpoint, list);
    this.byId.set(q.id, q);
    this.events.emit({ type: 'request', endpoint, requestId: q.id, status: 'queued' });
    this.prune();
    return q;
  }

  get(id: string): QueuedRequest | undefined {
    return this.byId.get(id);
  }

  pendingFor(endpoint: string): number {
    return this.pending.get(endpoint)?.length ?? 0;
  }

  /** Sends what waits for this device, in order; stops at the first timeout (it fell asleep again). */
  async flush(endpoint: string, deliver: Deliver): Promise<void> {
    if (this.flushing.has(endpoint)) return;
    this.flushing.add(endpoint);
    try {
      const list = this.pending.get(endpoint) ?? [];
      while (list.length > 0) {
        const q = list[0]!;
        q.status = 'sent';
        this.events.emit({ type: 'request', endpoint, requestId: q.id, status: 'sent' });
        try {
          q.result = await deliver(endpoint, q.request);
          q.status = 'done';
          list.shift();
          this.events.emit({ type: 'request', endpoint, requestId: q.id, status: 'done', code: q.result.code });
        } catch (e) {
          const err = e as Error & { code?: string };
          if (err.code === 'DEVICE_TIMEOUT') {
            q.status = 'queued'; // asleep again: keep it for the next wake-up
            break;
          }
          q.status = 'failed';
          q.error = { code: err.code ?? 'ERROR', message: err.message };
          list.shift();
          this.events.emit({ type: 'request', endpoint, requestId: q.id, status: 'failed', code: err.code });
        } finally {
          if (q.status === 'done' || q.status === 'failed') q.finishedAt = Date.now();
        }
      }
      if (list.length === 0) this.pending.delete(endpoint);
    } catch (e) {
      this.log.error({ err: e, endpoint }, 'queue flush failed');
    } finally {
      this.flushing.delete(endpoint);
    }
  }

  /** The device is gone (de-registered, expired): its queued requests fail. */
  drop(endpoint: string, reason: string): void {
    for (const q of this.pending.get(endpoint) ?? []) {
      q.status = 'failed';
      q.error = { code: 'DEVICE_NOT_FOUND', message: reason };
      q.finishedAt = Date.now();
    }
    this.pending.delete(endpoint);
  }

  private prune(): void {
    const cutoff = Date.now() - this.retentionMs;
    for (const [id, q] of this.byId) if (q.finishedAt !== undefined && q.finishedAt < cutoff) this.byId.delete(id);
  }
}
