// Observations and queued requests in the shared store (issue 14 §3), so that any node answers
// GET /devices/:ep/observations and GET /requests/:id, and a device that registers again at another
// node (a NAT change, a load-balancer move, its node died) keeps both. Keys under the prefix:
//   obs:<endpoint>   hash   observation id -> { id, endpoint, path, format, token, createdAt, node }
//   req:<id>         string the queued request and its outcome, expiring with the queue's retention
//   reqq:<endpoint>  set    ids of requests still queued for the device
// The node holding an observation or a queued request writes it; the node a device registers at
// re-establishes the others' observations (same path and format; a new token and id, as after any
// re-registration, LWM2M-NOTES) and queues their requests under their ids.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ContentFormat } from '../lwm2m/content-format.ts';
import { formatPath, parsePath } from '../lwm2m/path.ts';
import type { Observation } from '../observation/observation-service.ts';
import type { DownlinkRequest } from '../request/downlink-request.ts';
import type { LwM2mServer, SharedObservation, SharedQueuedRequest } from '../server.ts';
import { fromWire, toWire } from './wire-json.ts';

export type SharedRecordsOptions = { server: LwM2mServer; redis: Redis; nodeId: string; log: Logger; keyPrefix?: string; retentionMs?: number };

export type SharedRecordsStats = { observationsTaken: number; requestsTaken: number; writeFailures: number };

export class SharedRecords {
  readonly stats: SharedRecordsStats = { observationsTaken: 0, requestsTaken: 0, writeFailures: 0 };
  private readonly prefix: string;
  private readonly offs: (() => void)[] = [];
  private work: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SharedRecordsOptions) {
    this.prefix = opts.keyPrefix ?? 'lwm2m:';
    const { server } = opts;
    // an update flow's observations (reestablish false) end with the flow and its node: no other node takes them over
    this.offs.push(server.observations.onChange((change, obs) => obs.reestablish === false ? undefined : this.later(() => change === 'established' ? this.writeObservation(obs) : this.dropObservation(obs))));
    this.offs.push(server.events.on((e) => {
      if (e.type === 'request') this.later(() => this.writeRequest(e.requestId));
      if (e.type === 'registration') this.later(() => this.takeOver(e.registration.endpoint));
      if (e.type === 'deregistration' && e.reason !== 'replaced') this.later(() => this.forget(e.registration.endpoint));
    }));
  }

  /** Resolves when the writes queued so far are done (tests, shutdown). */
  settled(): Promise<void> {
    return this.work;
  }

  close(): void {
    for (const off of this.offs) off();
  }

  async observationsOf(endpoint: string): Promise<SharedObservation[]> {
    const all = await this.opts.redis.hvals(this.key('obs', endpoint));
    return all.map((v) => JSON.parse(v) as SharedObservation).sort((a, b) => a.createdAt - b.createdAt);
  }

  async queuedRequest(id: string): Promise<SharedQueuedRequest | undefined> {
    const v = await this.opts.redis.get(this.key('req', id));
    return v === null ? undefined : (JSON.parse(v) as SharedQueuedRequest);
  }

  private key(kind: 'obs' | 'req' | 'reqq', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  /** Store writes run one after another, off the protocol path; a failure is logged and counted. */
  private later(fn: () => Promise<void>): void {
    this.work = this.work.then(fn).catch((e: unknown) => {
      this.stats.writeFailures++;
      this.opts.log.warn({ err: (e as Error).message }, 'shared store write failed');
    });
  }

  private async writeObservation(o: Observation): Promise<void> {
    const rec: SharedObservation & { token: string } = {
      id: o.id, endpoint: o.endpoint, path: formatPath(o.path), format: o.format ?? null, createdAt: o.createdAt,
      lastNotification: o.lastNotification ?? null, node: this.opts.nodeId, token: o.token,
    };
    await this.opts.redis.hset(this.key('obs', o.endpoint), o.id, JSON.stringify(rec));
  }

  private async dropObservation(o: Observation): Promise<void> {
    await this.opts.redis.hdel(this.key('obs', o.endpoint), o.id);
  }

  private async writeRequest(id: string): Promise<void> {
    const q = this.opts.server.queue.get(id);
    if (!q) return;
    const rec: SharedQueuedRequest = {
      id: q.id, endpoint: q.endpoint, kind: q.request.kind, status: q.status, createdAt: q.createdAt, finishedAt: q.finishedAt ?? null,
      request: toWire(q.request), result: q.result ? toWire(q.result) : null, error: q.error ?? null, node: this.opts.nodeId,
    };
    const retention = this.opts.retentionMs ?? 10 * 60_000;
    const m = this.opts.redis.multi().set(this.key('req', id), JSON.stringify(rec), 'PX', retention);
    if (q.status === 'queued') m.sadd(this.key('reqq', q.endpoint), id).pexpire(this.key('reqq', q.endpoint), retention);
    else m.srem(this.key('reqq', q.endpoint), id);
    await m.exec();
  }

  /** The device registered here: what other nodes held for it moves to this node. */
  private async takeOver(endpoint: string): Promise<void> {
    const { server, nodeId, log } = this.opts;
    for (const o of await this.observationsOf(endpoint)) {
      if (o.node === nodeId) continue;
      await this.opts.redis.hdel(this.key('obs', endpoint), o.id);
      const result = await server.observe(endpoint, parsePath(o.path), (o.format ?? undefined) as ContentFormat | undefined, { local: true }).catch((e: unknown) => {
        log.warn({ endpoint, path: o.path, err: (e as Error).message }, 'taking over an observation failed');
        return undefined;
      });
      // the device registered here a moment ago, so it is awake: the observe is sent, not queued
      if (result && !result.queued && result.observation) {
        this.stats.observationsTaken++;
        log.info({ endpoint, path: o.path, from: o.node, id: result.observation.id }, 'observation taken over from another node');
      }
    }
    const ids = await this.opts.redis.smembers(this.key('reqq', endpoint));
    let taken = 0;
    for (const id of ids) {
      const rec = await this.queuedRequest(id);
      if (!rec || rec.status !== 'queued' || rec.node === nodeId || server.queue.get(id)) continue;
      server.queue.enqueue(endpoint, fromWire(rec.request) as DownlinkRequest, id);
      taken++;
    }
    if (taken > 0) {
      this.stats.requestsTaken += taken;
      log.info({ endpoint, requests: taken }, 'queued requests taken over from another node');
      server.flushQueue(endpoint);
    }
  }

  private async forget(endpoint: string): Promise<void> {
    await this.opts.redis.del(this.key('obs', endpoint), this.key('reqq', endpoint));
  }
}
