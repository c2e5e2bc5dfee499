// The LwM2M server facade: composes transport, registration, requests, queue, observation and
// Send. It only wires concepts together; each concept lives in its own folder.
import type { Logger } from 'pino';
import { CoapEndpoint, type InboundRequest, type OutboundResponse } from './coap/endpoint.ts';
import { Code } from './coap/message.ts';
import { peerKey, UdpTransport, type DatagramTransport, type Peer, type PeerIdentity } from './coap/transport.ts';
import { CombinedTransport } from './coap/combined-transport.ts';
import type { DtlsCredentials } from './dtls/credentials.ts';
import { DtlsServer, type DtlsLimits } from './dtls/server.ts';
import { EventBus } from './events/server-event.ts';
import { loadObjectModels, type ObjectModelRegistry } from './lwm2m/ddf-loader.ts';
import { parseLinks } from './lwm2m/link-format.ts';
import type { LwM2mPath } from './lwm2m/path.ts';
import type { ContentFormat } from './lwm2m/content-format.ts';
import { ObservationService } from './observation/observation-service.ts';
import { PresenceService } from './queue/presence.ts';
import { RequestQueue, type QueuedRequest } from './queue/request-queue.ts';
import { createRegistrationHandler } from './registration/registration-handler.ts';
import { defaultRegistrationLimits, RegistrationAdmission, type RegistrationLimits } from './registration/registration-limits.ts';
import { RegistrationService } from './registration/registration-service.ts';
import type { Registration } from './registration/registration.ts';
import { RequestError, type DownlinkRequest, type DownlinkResult } from './request/downlink-request.ts';
import { RequestSender } from './request/request-sender.ts';
import { createSendHandler, SendStore } from './send/send-handler.ts';
import { MemoryRegistrationStore } from './store/memory-registration-store.ts';
import type { RegistrationStore } from './store/registration-store.ts';
import type { CoapTiming } from './coap/timing.ts';
import type { Block1Limits } from './coap/block1-assembler.ts';
import { MemorySecurityStore } from './security/memory-security-store.ts';
import { registrationAuthorizer } from './security/registration-authorizer.ts';
import type { SecurityStore } from './security/security-store.ts';

export type ServerOptions = {
  log: Logger;
  objectsDir: string;
  coapHost?: string;
  coapPort?: number;
  /** another datagram layer; UDP on coapHost:coapPort (and DTLS on coapsPort) when absent */
  transport?: DatagramTransport;
  /** CoAP over DTLS 1.2 (coaps://) on coapHost:coapsPort, with these credentials */
  dtls?: { port?: number; credentials: DtlsCredentials; limits?: Partial<DtlsLimits> };
  /** false: no plain CoAP at all, DTLS only (--no-plain) */
  plain?: boolean;
  store?: RegistrationStore;
  /** security info per endpoint (issue 12 §2); an empty in-memory store when absent */
  security?: SecurityStore;
  awakeTimeMs?: number;
  expiryGraceMs?: number;
  requestTimeoutMs?: number;
  maxBodySize?: number;
  recvBufferSize?: number;
  /** bounds on Block1 reassemblies under way (src/coap/block1-assembler.ts) */
  block1Limits?: Partial<Block1Limits>;
  timing?: Partial<CoapTiming>;
  /** this node's id when several nodes share a Redis store (src/cluster) */
  nodeId?: string;
  /** requests under way to one device at a time; more get TOO_MANY_REQUESTS (default 16) */
  maxPendingPerDevice?: number;
  /** requests queued for one sleeping queue-mode device (default 100) */
  maxQueuedPerDevice?: number;
  /** registration flood bounds; defaults for a 2-core / 1 GiB node (registration-limits.ts) */
  registrationLimits?: Partial<RegistrationLimits>;
};

/**
 * Carries a request to the node that serves the device (src/cluster/cluster-node.ts). The facade
 * only knows this shape; the cluster layer sits above it, as the API does.
 */
export type RemoteNodes = {
  request(node: string, endpoint: string, req: DownlinkRequest): Promise<RequestOutcome>;
  observe(node: string, endpoint: string, path: LwM2mPath, format?: ContentFormat): Promise<ObserveOutcome>;
  /** observations of a device held by any node (the shared store) */
  observationsOf?(endpoint: string): Promise<SharedObservation[]>;
  /** a request queued at any node, by id (the shared store) */
  queuedRequest?(id: string): Promise<SharedQueuedRequest | undefined>;
};

/** An observation as the shared store keeps it: enough for any node to list it or take it over. */
export type SharedObservation = { id: string; endpoint: string; path: string; format: number | null; createdAt: number; lastNotification: number | null; node: string };

/** A queued request as the shared store keeps it (request and result as wire JSON, src/cluster/wire-json.ts). */
export type SharedQueuedRequest = {
  id: string; endpoint: string; kind: string; status: string; createdAt: number; finishedAt: number | null;
  request: string; result: string | null; error: { code: string; message: string } | null; node: string;
};

export type RequestOutcome =
  | { queued: false; result: DownlinkResult }
  | { queued: true; request: QueuedRequest };

export type ObserveOutcome =
  | ({ queued: false } & Awaited<ReturnType<ObservationService['observe']>>)
  | { queued: true; request: QueuedRequest };

/** Extra CoAP resources served next to /rd and /dp (the package server of issue 4, for one). */
export type ResourceHandler = (req: InboundRequest) => Promise<OutboundResponse> | OutboundResponse;

export class LwM2mServer {
  readonly events: EventBus;
  readonly sendStore = new SendStore();
  private readonly addressIndex = new Map<string, string>(); // peerKey -> endpoint
  private readonly identityIndex = new Map<string, string>(); // authenticated identity -> endpoint
  private readonly resources = new Map<string, ResourceHandler>();
  private remote: RemoteNodes | undefined;

  private constructor(
    events: EventBus,
    readonly log: Logger,
    readonly models: ObjectModelRegistry,
    readonly endpoint: CoapEndpoint,
    readonly registrations: RegistrationService,
    readonly sender: RequestSender,
    readonly observations: ObservationService,
    readonly presence: PresenceService,
    readonly queue: RequestQueue,
    readonly security: SecurityStore,
    readonly nodeId?: string,
  ) {
    this.events = events;
  }

  static async start(opts: ServerOptions): Promise<LwM2mServer> {
    const log = opts.log;
    const models = loadObjectModels(opts.objectsDir);
    const opened = opts.transport ? { transport: opts.transport, dtls: undefined } : await openTransports(opts);
    const transport = opened.transport;
    const endpoint = new CoapEndpoint({ transport, log: log.child({ component: 'coap' }), maxBodySize: opts.maxBodySize, timing: opts.timing, block1Limits: opts.block1Limits });
    const events = new EventBus();
    const registrations = new RegistrationService({ store: opts.store ?? new MemoryRegistrationStore(), events, log: log.child({ component: 'registration' }), expiryGraceMs: opts.expiryGraceMs, nodeId: opts.nodeId });
    const sender = new RequestSender({ endpoint, models, log: log.child({ component: 'request' }), timeoutMs: opts.requestTimeoutMs });
    const observations = new ObservationService({ endpoint, models, events, log: log.child({ component: 'observation' }), timeoutMs: opts.requestTimeoutMs });
    const presence = new PresenceService(events, opts.awakeTimeMs);
    const queue = new RequestQueue(events, log.child({ component: 'queue' }), undefined, opts.maxQueuedPerDevice);
    const security = opts.security ?? MemorySecurityStore.memory();
    const server = new LwM2mServer(events, log, models, endpoint, registrations, sender, observations, presence, queue, security, opts.nodeId);
    server.dtls = opened.dtls;
    server.maxPendingPerDevice = opts.maxPendingPerDevice ?? 16;
    server.wire({ ...defaultRegistrationLimits(), ...opts.registrationLimits });
    return server;
  }

  get coapAddress(): { address: string; port: number } {
    return this.endpoint.address;
  }

  /** The coaps:// listener, when DTLS runs. */
  dtls: DtlsServer | undefined;

  get coapsAddress(): Peer | undefined {
    return this.dtls?.address();
  }

  /** Serves an extra CoAP resource under its first path segment (e.g. "fw"). */
  addResource(firstSegment: string, handler: ResourceHandler): void {
    this.resources.set(firstSegment, handler);
  }

  /** Registration flood bounds and what they refused (set up by wire()). */
  admission!: RegistrationAdmission;

  private wire(limits: RegistrationLimits): void {
    const onContact = (endpoint: string): void => this.contact(endpoint);
    this.admission = new RegistrationAdmission(limits, {
      served: () => this.registrationCache.size,
      onOverload: (limit, active, detail) => {
        this.log[active ? 'warn' : 'info']({ limit, detail }, active ? 'overload: new registrations refused with 5.03' : 'overload over');
        this.events.emit({ type: 'overload', limit, active, detail, time: Date.now() });
      },
    });
    const rd = createRegistrationHandler({
      service: this.registrations, parseLinks, log: this.log.child({ component: 'rd' }), onContact,
      admission: this.admission, serves: (ep) => this.registrationCache.has(ep), authorize: registrationAuthorizer(this.security),
    });
    const dp = createSendHandler({
      models: this.models, events: this.events, log: this.log.child({ component: 'send' }), onContact,
      registrationAt: (peer) => this.registrationAtSync(peer),
    }, this.sendStore);
    // Register / Update first get their answer, then the requests they trigger (re-observations,
    // queued requests, an update flow's reads): a strict client drops a request that comes before
    // the response to its own (LWM2M-NOTES). The endpoint sends the response in the microtasks
    // that follow the handler; whatever waits for answered() goes out in a later macrotask.
    this.resources.set('rd', async (req) => {
      const key = peerKey(req.peer);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      this.answering.set(key, gate);
      try {
        return await rd(req);
      } finally {
        setImmediate(() => {
          if (this.answering.get(key) === gate) this.answering.delete(key);
          release();
        });
      }
    });
    this.endpoint.limitBody('rd', limits.maxLinkBytes);
    this.resources.set('dp', dp);
    // RFC 6690 §4: resource discovery; also a handy target for block-wise GETs with small blocks
    this.resources.set('.well-known', (req) => {
      if (req.path[1] !== 'core' || req.path.length !== 2) return { code: Code.NOT_FOUND };
      if (req.method !== 1) return { code: Code.METHOD_NOT_ALLOWED };
      if (req.accept !== undefined && req.accept !== 40) return { code: Code.NOT_ACCEPTABLE, payload: Buffer.from('/.well-known/core is application/link-format (40)') }; // RFC 7252 §5.10.4
      const links = ['</rd>;rt="core.rd";ct=40', '</dp>;title="LwM2M Send";ct="110 112 11544"', ...[...this.resources.keys()].filter((k) => !['rd', 'dp', '.well-known'].includes(k)).map((k) => `</${k}>`)];
      return { code: Code.CONTENT, contentFormat: 40, payload: Buffer.from(links.join(',')) };
    });
    this.endpoint.onRequest((req) => {
      const handler = req.path[0] === undefined ? undefined : this.resources.get(req.path[0]);
      if (!handler) return { code: Code.NOT_FOUND, payload: Buffer.from(`no resource /${req.path.join('/')}`) };
      return handler(req);
    });
    this.events.on((e) => {
      switch (e.type) {
        case 'registration':
          this.indexAddress(e.registration);
          if (e.replaced) this.reobserve(e.replaced, e.registration);
          break;
        case 'update':
          this.unindexAddress(e.previous);
          this.indexAddress(e.registration);
          this.observations.rehome(e.registration.id, e.registration.address);
          break;
        case 'deregistration':
          this.unindexAddress(e.registration);
          if (e.reason !== 'replaced') {
            this.observations.dropRegistration(e.registration.id);
            this.presence.forget(e.registration.endpoint);
            this.queue.drop(e.registration.endpoint, `${e.registration.endpoint} ${e.reason}`);
            this.sendStore.forget(e.registration.endpoint);
          }
          break;
        case 'notification':
          this.contact(e.endpoint);
          break;
        default:
      }
    });
  }

  private readonly registrationCache = new Map<string, Registration>();
  /** peers whose Register/Update is being answered: requests to them wait for the answer */
  private readonly answering = new Map<string, Promise<void>>();

  private answered(address: Peer): Promise<void> {
    return this.answering.get(peerKey(address)) ?? Promise.resolve();
  }

  private indexAddress(reg: Registration): void {
    this.addressIndex.set(peerKey(reg.address), reg.endpoint);
    if (reg.address.identity) this.identityIndex.set(identityKey(reg.address.identity), reg.endpoint);
    this.registrationCache.set(reg.endpoint, reg);
  }

  private unindexAddress(reg: Registration): void {
    const key = peerKey(reg.address);
    if (this.addressIndex.get(key) === reg.endpoint) this.addressIndex.delete(key);
    const id = reg.address.identity ? identityKey(reg.address.identity) : undefined;
    if (id !== undefined && this.identityIndex.get(id) === reg.endpoint) this.identityIndex.delete(id);
    if (this.registrationCache.get(reg.endpoint)?.id === reg.id) this.registrationCache.delete(reg.endpoint);
  }

  private registrationAtSync(peer: Peer): Registration | undefined {
    const ep = (peer.identity ? this.identityIndex.get(identityKey(peer.identity)) : undefined) ?? this.addressIndex.get(peerKey(peer));
    return ep === undefined ? undefined : this.registrationCache.get(ep);
  }

  /** LWM2M-NOTES: a client may forget its observations when it registers again; re-establish them. */
  private reobserve(old: Registration, reg: Registration): void {
    const previous = this.observations.dropRegistration(old.id);
    for (const o of previous.filter((x) => x.reestablish !== false)) { // the flow that opened the others re-observes
      this.answered(reg.address).then(() => this.observations.observe(reg, o.path, o.format as ContentFormat | undefined)).catch((e: unknown) =>
        this.log.warn({ endpoint: reg.endpoint, err: (e as Error).message }, 're-observe failed'));
    }
  }

  /** The device spoke: it is awake; send what waited for it. */
  private contact(endpoint: string): void {
    const reg = this.registrationCache.get(endpoint);
    if (!reg?.queueMode) return;
    this.presence.setAwake(endpoint);
    if (this.queue.pendingFor(endpoint) > 0) {
      void this.queue.flush(endpoint, (ep, req) => this.sendNow(ep, req));
    }
  }

  async registration(endpoint: string): Promise<Registration> {
    const reg = await this.registrations.byEndpoint(endpoint);
    if (!reg) throw new RequestError('DEVICE_NOT_FOUND', `no registered device "${endpoint}"`);
    return reg;
  }

  private maxPendingPerDevice = 16;
  private readonly pendingPerDevice = new Map<string, number>();
  private pendingRefused = 0;

  private async sendNow(endpoint: string, req: DownlinkRequest): Promise<DownlinkResult> {
    let reg = await this.registration(endpoint);
    if (this.answering.has(peerKey(reg.address))) {
      await this.answered(reg.address);
      reg = await this.registration(endpoint);
    }
    // a device answers one request at a time on constrained hardware: past the bound, refuse
    // rather than pile up exchanges (and their timers) for it
    const pending = this.pendingPerDevice.get(endpoint) ?? 0;
    if (pending >= this.maxPendingPerDevice) {
      this.pendingRefused++;
      throw new RequestError('TOO_MANY_REQUESTS', `${endpoint} already has ${pending} requests under way (limit ${this.maxPendingPerDevice})`);
    }
    this.pendingPerDevice.set(endpoint, pending + 1);
    try {
      if (req.kind === 'observe') {
        const { observation, result } = await this.observations.observe(reg, req.path, req.format, { reestablish: req.reestablish });
        return observation ? { ...result, observationId: observation.id } : result;
      }
      if (req.kind === 'cancelObservation') {
        const had = await this.observations.cancel(req.observationId, reg);
        return had ? { code: '2.05', success: true } : { code: '4.04', success: false, message: `no observation ${req.observationId}` };
      }
      return await this.sender.send(reg, req);
    } catch (e) {
      if (e instanceof RequestError && e.code === 'DEVICE_TIMEOUT' && reg.queueMode) this.presence.setSleeping(endpoint);
      throw e;
    } finally {
      const n = (this.pendingPerDevice.get(endpoint) ?? 1) - 1;
      if (n <= 0) this.pendingPerDevice.delete(endpoint);
      else this.pendingPerDevice.set(endpoint, n);
    }
  }

  /** Requests refused by the server's per-device bounds, by bound (metrics). */
  limitRejections(): Record<string, number> {
    return { 'pending-per-device': this.pendingRefused, 'queued-per-device': this.queue.refused };
  }

  /** The configured bounds (metrics: lwm2m_limit). */
  limitValues(): Record<string, number> {
    const l = this.admission.limits;
    const b1 = this.endpoint.block1Limits;
    return {
      registrations: l.maxRegistrations, 'source-rate': l.perSourcePerSecond, 'source-burst': l.perSourceBurst, 'link-bytes': l.maxLinkBytes,
      links: l.maxLinks, 'memory-high-water-bytes': l.memoryHighWaterBytes, 'block1-per-peer': b1.maxPerPeer, 'block1-total': b1.maxTotal,
      'block1-bytes': b1.maxTotalBytes, 'pending-per-device': this.maxPendingPerDevice, 'queued-per-device': this.queue.maxPerDevice,
    };
  }

  /**
   * Sends a DM request now, or queues it when the device is in queue mode and asleep
   * (Leshan's queue mode; the API answers 202 with the request id).
   */
  async request(endpoint: string, req: DownlinkRequest, opts: { local?: boolean } = {}): Promise<RequestOutcome> {
    const reg = await this.registration(endpoint);
    const owner = this.ownerElsewhere(reg, opts);
    if (owner !== undefined) return this.remote!.request(owner, endpoint, req);
    if (reg.queueMode && !this.presence.isAwake(endpoint)) {
      return { queued: true, request: this.queue.enqueue(endpoint, req) };
    }
    return { queued: false, result: await this.sendNow(endpoint, req) };
  }

  /**
   * Observe; for a sleeping queue-mode device the Observe waits in its queue like any request and
   * goes out when it wakes (Core §6.5 queue mode; the API answers 202 with the request id).
   */
  async observe(endpoint: string, path: LwM2mPath, format?: ContentFormat, opts: { local?: boolean; reestablish?: false } = {}): Promise<ObserveOutcome> {
    const reg = await this.registration(endpoint);
    const owner = this.ownerElsewhere(reg, opts);
    if (owner !== undefined) return this.remote!.observe(owner, endpoint, path, format);
    if (reg.queueMode && !this.presence.isAwake(endpoint)) {
      return { queued: true, request: this.queue.enqueue(endpoint, { kind: 'observe', path, ...(format !== undefined ? { format } : {}), ...(opts.reestablish === false ? { reestablish: false as const } : {}) }) };
    }
    await this.answered(reg.address);
    return { queued: false, ...(await this.observations.observe(reg, path, format, { reestablish: opts.reestablish })) };
  }

  /** Cancel Observation (RFC 7641 §3.6): at once, or queued while the device sleeps. */
  async cancelObservation(endpoint: string, observationId: string): Promise<RequestOutcome> {
    return this.request(endpoint, { kind: 'cancelObservation', observationId });
  }

  /** Sends what is queued for a device that is awake (requests taken over from another node). */
  flushQueue(endpoint: string): void {
    this.contact(endpoint);
  }

  /** The other nodes, when several share a store (lookups of what they hold). */
  get remoteNodes(): RemoteNodes | undefined {
    return this.remote;
  }

  /** Several nodes sharing a store: requests for devices served by another node go through `remote`. */
  setRemoteNodes(remote: RemoteNodes): void {
    this.remote = remote;
  }

  /** The node that must send to this device, when it is not this one (and the request may travel). */
  private ownerElsewhere(reg: Registration, opts: { local?: boolean }): string | undefined {
    if (opts.local || !this.remote || reg.node === undefined || reg.node === this.nodeId) return undefined;
    return reg.node;
  }

  /** Graceful shutdown, first step: refuse new CoAP requests and let those under way finish (bounded). */
  drain(timeoutMs: number): ReturnType<CoapEndpoint['drain']> {
    return this.endpoint.drain(timeoutMs);
  }

  async stop(): Promise<void> {
    this.registrations.stop();
    this.presence.stop();
    await this.endpoint.close();
  }
}

/** Plain UDP, DTLS, or both under one endpoint (issue 12: coaps on 5684 beside coap on 5683). */
async function openTransports(opts: ServerOptions): Promise<{ transport: DatagramTransport; dtls?: DtlsServer }> {
  const host = opts.coapHost ?? '0.0.0.0';
  const buffers = { recvBufferSize: opts.recvBufferSize ?? 8 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 };
  const dtls = opts.dtls && await DtlsServer.open({
    host, port: opts.dtls.port ?? 5684, credentials: opts.dtls.credentials, limits: opts.dtls.limits,
    log: opts.log.child({ component: 'dtls' }), ...buffers,
  });
  if (opts.plain === false) {
    if (!dtls) throw new Error('plain CoAP is off and no DTLS credentials are configured: nothing to listen on');
    return { transport: dtls, dtls };
  }
  const udp = await UdpTransport.open({ host, port: opts.coapPort ?? 5683, ...buffers });
  return dtls ? { transport: new CombinedTransport(udp, dtls), dtls } : { transport: udp };
}

/** One key per authenticated identity (the Send lookup of a DTLS device that changed address). */
function identityKey(id: PeerIdentity): string {
  return id.mode === 'psk' ? `psk:${id.identity}` : id.mode === 'rpk' ? `rpk:${id.publicKey}` : `x509:${id.commonName}`;
}
