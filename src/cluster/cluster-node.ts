// Several server nodes sharing one Redis (issue 5). The registration store is shared
// (src/store/redis-registration-store.ts); what stays per node is the UDP socket a device talks to,
// its observations and its queue. This layer adds, over Redis pub/sub:
//   - request routing: a DM request or an observe arriving at node A for a device served by node B
//     travels to B on <prefix>node:<B>, B runs it and answers on <prefix>reply:<A> (correlation
//     id, timeout); a node nobody listens for answers at once with NODE_UNAVAILABLE;
//   - event fan-out: every node publishes its own events on <prefix>events and re-emits the
//     others' on `fleetEvents`, so each node's SSE stream shows the whole fleet.
// Ownership: a registration records the node that took it (Registration.node), and the node that
// hears a device's Register or Update takes it over. A node that dies (SIGKILL) leaves its devices
// owned by a dead node until they update or register again at a surviving node (their server URI
// points at a load balancer, or they fail over): from then on that node serves them. See docs/cluster.md.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EventBus, type ServerEvent } from '../events/server-event.ts';
import type { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mPath } from '../lwm2m/path.ts';
import { RequestError, type DownlinkRequest, type RequestErrorCode } from '../request/downlink-request.ts';
import type { LwM2mServer, RemoteNodes, RequestOutcome, SharedObservation, SharedQueuedRequest } from '../server.ts';
import { redactUrl } from '../store/redis-registration-store.ts';
import { StoreUnavailableError } from '../store/store-error.ts';
import { SharedRecords } from './shared-records.ts';
import { fromWire, toWire } from './wire-json.ts';

export type ClusterOptions = {
  /** redis://host:port, the same Redis the registration store uses */
  url: string;
  nodeId: string;
  server: LwM2mServer;
  log: Logger;
  keyPrefix?: string;
  /** how long a forwarded request may take, end to end (the owner's own device timeout included) */
  requestTimeoutMs?: number;
};

type Call =
  | { op: 'request'; endpoint: string; req: DownlinkRequest }
  | { op: 'observe'; endpoint: string; path: LwM2mPath; format?: ContentFormat };
type CallMessage = { cid: string; from: string } & Call;
type ReplyMessage = { cid: string; ok: true; value: unknown } | { cid: string; ok: false; error: { code: string; message: string; details?: unknown } };
type EventMessage = { origin: string; event: ServerEvent };

const REQUEST_CODES: readonly RequestErrorCode[] = ['DEVICE_NOT_FOUND', 'DEVICE_TIMEOUT', 'DEVICE_RESET', 'BAD_REQUEST', 'BAD_RESPONSE', 'UNSUPPORTED', 'NODE_UNAVAILABLE', 'TOO_MANY_REQUESTS'];

export type ClusterStats = { forwarded: number; served: number; eventsOut: number; eventsIn: number; publishFailures: number };

export class ClusterNode implements RemoteNodes {
  /** this node's events and every other node's: what the SSE stream serves */
  readonly fleetEvents = new EventBus();
  readonly stats: ClusterStats = { forwarded: 0, served: 0, eventsOut: 0, eventsIn: 0, publishFailures: 0 };
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly channels: { events: string; calls: string; replies: string };
  /** how this node's event messages begin on the wire (toWire keeps the literal's key order) */
  private readonly ownOrigin: string;
  private readonly offLocal: () => void;
  private closed = false;
  /** observations and queued requests in the shared store (shared-records.ts) */
  readonly records: SharedRecords;

  private constructor(private readonly opts: ClusterOptions, private readonly pub: Redis, private readonly sub: Redis) {
    const prefix = opts.keyPrefix ?? 'lwm2m:';
    this.channels = { events: `${prefix}events`, calls: `${prefix}node:${opts.nodeId}`, replies: `${prefix}reply:${opts.nodeId}` };
    this.ownOrigin = `{"origin":${JSON.stringify(opts.nodeId)},`;
    this.records = new SharedRecords({ server: opts.server, redis: pub, nodeId: opts.nodeId, log: opts.log, keyPrefix: prefix });
    this.offLocal = opts.server.events.on((e) => {
      this.fleetEvents.emit(e);
      this.publish(this.channels.events, { origin: opts.nodeId, event: e } satisfies EventMessage);
      this.stats.eventsOut++;
    });
  }

  static async start(opts: ClusterOptions): Promise<ClusterNode> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.nodeId)) throw new Error(`node id "${opts.nodeId}" must be 1-64 characters of A-Z a-z 0-9 _ . -`);
    const connect = async (role: string): Promise<Redis> => {
      const r = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 200, 2000) });
      let last: string | undefined;
      r.on('error', (e: Error) => {
        if (e.message !== last) opts.log.error({ err: e.message, role }, 'cluster redis error');
        last = e.message;
      });
      r.on('ready', () => (last = undefined));
      try {
        await r.connect();
      } catch (e) {
        r.disconnect();
        throw new StoreUnavailableError(`cluster: redis ${redactUrl(opts.url)} unreachable: ${(e as Error).message}`, e);
      }
      return r;
    };
    const pub = await connect('publish');
    const sub = await connect('subscribe');
    const node = new ClusterNode(opts, pub, sub);
    sub.on('message', (channel: string, message: string) => node.onMessage(channel, message));
    await sub.subscribe(node.channels.events, node.channels.calls, node.channels.replies);
    opts.server.setRemoteNodes(node);
    opts.log.info({ node: opts.nodeId }, 'cluster node joined');
    return node;
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  async request(node: string, endpoint: string, req: DownlinkRequest): Promise<RequestOutcome> {
    return (await this.call(node, { op: 'request', endpoint, req })) as RequestOutcome;
  }

  async observe(node: string, endpoint: string, path: LwM2mPath, format?: ContentFormat): ReturnType<LwM2mServer['observe']> {
    return (await this.call(node, { op: 'observe', endpoint, path, format })) as Awaited<ReturnType<LwM2mServer['observe']>>;
  }

  observationsOf(endpoint: string): Promise<SharedObservation[]> {
    return this.records.observationsOf(endpoint);
  }

  queuedRequest(id: string): Promise<SharedQueuedRequest | undefined> {
    return this.records.queuedRequest(id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offLocal();
    this.records.close();
    await this.records.settled();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError('NODE_UNAVAILABLE', 'cluster node closing'));
    }
    this.pending.clear();
    this.sub.disconnect();
    this.pub.disconnect();
  }

  private async call(node: string, call: Call): Promise<unknown> {
    const cid = randomBytes(8).toString('hex');
    const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
    this.stats.forwarded++;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cid);
        reject(new RequestError('NODE_UNAVAILABLE', `node ${node} serving ${call.endpoint} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(cid, { resolve, reject, timer });
    });
    // close() or the timer may reject it while PUBLISH is still in flight, before our caller has
    // awaited it: that must not count as an unhandled rejection (the caller still gets the error)
    answer.catch(() => undefined);
    let receivers: number;
    try {
      receivers = await this.pub.publish(`${this.opts.keyPrefix ?? 'lwm2m:'}node:${node}`, toWire({ cid, from: this.opts.nodeId, ...call } satisfies CallMessage));
    } catch (e) {
      this.settle(cid, () => new StoreUnavailableError(`cluster: cannot reach redis to forward to node ${node}: ${(e as Error).message}`, e));
      return answer;
    }
    // PUBLISH answers how many subscribers got it: none means the node is gone (crashed, stopped)
    if (receivers === 0) this.settle(cid, () => new RequestError('NODE_UNAVAILABLE', `${call.endpoint} is served by node ${node}, which is not running; it becomes reachable when it updates or registers at a running node`));
    return answer;
  }

  private settle(cid: string, error: () => Error): void {
    const p = this.pending.get(cid);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(cid);
    p.reject(error());
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.channels.events) {
      // every node gets every node's events, its own included; decoding them was the largest item
      // of a worker's registration profile (issue 17, BENCHMARKS.md): skip our own by the prefix
      // toWire writes first, and all of them while no SSE stream here listens
      if (message.startsWith(this.ownOrigin)) return;
      this.stats.eventsIn++;
      if (!this.fleetEvents.listened) return;
    }
    let msg: unknown;
    try {
      msg = fromWire(message);
    } catch {
      this.opts.log.warn({ channel }, 'cluster: message is not JSON, ignored');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (channel === this.channels.events) this.onEvent(msg as EventMessage);
    else if (channel === this.channels.calls) void this.onCall(msg as CallMessage);
    else if (channel === this.channels.replies) this.onReply(msg as ReplyMessage);
  }

  private onEvent(m: EventMessage): void {
    if (m.origin === this.opts.nodeId || !m.event || typeof m.event.type !== 'string') return;
    this.fleetEvents.emit(m.event);
  }

  private async onCall(m: CallMessage): Promise<void> {
    if (typeof m.cid !== 'string' || typeof m.from !== 'string') return;
    this.stats.served++;
    let reply: ReplyMessage;
    try {
      const server = this.opts.server;
      // local: run here even if the store names another owner by now, so a request never loops
      const value = m.op === 'request'
        ? await server.request(m.endpoint, m.req, { local: true })
        : m.op === 'observe'
          ? await server.observe(m.endpoint, m.path, m.format, { local: true })
          : (() => { throw new RequestError('BAD_REQUEST', `unknown cluster operation ${(m as { op?: unknown }).op as string}`); })();
      reply = { cid: m.cid, ok: true, value };
    } catch (e) {
      const err = e as Error & { code?: unknown; details?: unknown };
      reply = { cid: m.cid, ok: false, error: { code: typeof err.code === 'string' ? err.code : 'INTERNAL', message: err.message, details: err.details } };
    }
    this.publish(`${this.opts.keyPrefix ?? 'lwm2m:'}reply:${m.from}`, reply);
  }

  private onReply(m: ReplyMessage): void {
    const p = this.pending.get(m.cid);
    if (!p) return; // timed out already
    clearTimeout(p.timer);
    this.pending.delete(m.cid);
    if (m.ok) {
      p.resolve(m.value);
      return;
    }
    const { code, message, details } = m.error;
    if ((REQUEST_CODES as readonly string[]).includes(code)) p.reject(new RequestError(code as RequestErrorCode, message, details));
    else if (code === 'STORE_UNAVAILABLE') p.reject(new StoreUnavailableError(message));
    else p.reject(new RequestError('NODE_UNAVAILABLE', `the serving node failed: ${message}`));
  }

  private publish(channel: string, body: unknown): void {
    if (this.closed) return;
    this.pub.publish(channel, toWire(body)).catch((e: unknown) => {
      this.stats.publishFailures++;
      this.opts.log.debug({ channel, err: (e as Error).message }, 'cluster publish failed');
    });
  }
}
