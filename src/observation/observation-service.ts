// Observe / Cancel Observation (LwM2M 1.1 TS Core §6.4.1-6.4.2, RFC 7641). Notifications are decoded
// by their own Content-Format (it may differ from the first response's) and published as events.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CoapEndpoint, ClientResponse } from '../coap/endpoint.ts';
import { Code, Method, codeText } from '../coap/message.ts';
import type { Peer } from '../coap/transport.ts';
import type { EventBus } from '../events/server-event.ts';
import { CodecError, decodeNode, decodeRecords, supportsLevel } from '../lwm2m/codec.ts';
import { ContentFormat, isContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mNode, LwM2mRecord } from '../lwm2m/node.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import { formatPath, type LwM2mPath } from '../lwm2m/path.ts';
import type { Registration } from '../registration/registration.ts';
import { candidateFormats } from '../request/content-negotiation.ts';
import { RequestError, type DownlinkResult } from '../request/downlink-request.ts';
import { uriPathOf } from '../request/request-sender.ts';

export type Observation = {
  readonly id: string;
  readonly endpoint: string;
  readonly registrationId: string;
  readonly path: LwM2mPath;
  readonly token: string; // hex
  readonly format?: number;
  readonly createdAt: number;
  /**
   * false: whoever opened it (an update flow) re-observes after a new registration itself; the
   * server only ends it with the old registration (Core 1.1 §6.4.1: observations belong to it)
   */
  readonly reestablish?: false;
  peer: Peer;
  lastNotification?: number;
};

export type ObservationServiceDeps = {
  endpoint: CoapEndpoint;
  models: ModelLookup;
  events: EventBus;
  log: Logger;
  timeoutMs?: number;
};

export type ObservationChange = (change: 'established' | 'ended', obs: Observation) => void;

export class ObservationService {
  private readonly observations = new Map<string, Observation>();
  /** the same observations by registration: an Update or a Deregister visits its own, not the fleet's */
  private readonly byRegistration = new Map<string, Set<Observation>>();
  private readonly changeListeners = new Set<ObservationChange>();

  /** Observations established and ended (the cluster keeps them in the shared store). */
  onChange(listener: ObservationChange): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(change: 'established' | 'ended', obs: Observation): void {
    for (const l of this.changeListeners) {
      try {
        l(change, obs);
      } catch (e) {
        this.deps.log.warn({ err: (e as Error).message }, 'observation change listener failed');
      }
    }
  }

  constructor(private readonly deps: ObservationServiceDeps) {}

  private add(obs: Observation): void {
    this.observations.set(obs.id, obs);
    let set = this.byRegistration.get(obs.registrationId);
    if (!set) {
      set = new Set();
      this.byRegistration.set(obs.registrationId, set);
    }
    set.add(obs);
  }

  private remove(obs: Observation): void {
    this.observations.delete(obs.id);
    const set = this.byRegistration.get(obs.registrationId);
    if (!set) return;
    set.delete(obs);
    if (set.size === 0) this.byRegistration.delete(obs.registrationId);
  }

  list(endpoint?: string): Observation[] {
    return [...this.observations.values()].filter((o) => endpoint === undefined || o.endpoint === endpoint);
  }

  get(id: string): Observation | undefined {
    return this.observations.get(id);
  }

  async observe(reg: Registration, path: LwM2mPath, format?: ContentFormat, opts: { reestablish?: false } = {}): Promise<{ observation?: Observation; result: DownlinkResult }> {
    const formats = format !== undefined ? [format] : candidateFormats(reg, path).filter((f) => supportsLevel(f, path, this.deps.models));
    let last: ClientResponse | undefined;
    for (const accept of formats) {
      const token = randomBytes(8);
      const obs: Observation = {
        id: randomBytes(6).toString('hex'), endpoint: reg.endpoint, registrationId: reg.id, path,
        token: token.toString('hex'), format: accept, createdAt: Date.now(), peer: reg.address,
        ...(opts.reestablish === false ? { reestablish: false as const } : {}),
      };
      let res: ClientResponse;
      try {
        res = await this.deps.endpoint.observe(reg.address, { method: Method.GET, path: uriPathOf(reg, path), accept, token, timeoutMs: this.deps.timeoutMs }, (n) => this.onNotification(obs, n));
      } catch (e) {
        const err = e as Error & { code?: string };
        throw new RequestError(err.code === 'TIMEOUT' ? 'DEVICE_TIMEOUT' : 'BAD_RESPONSE', `${reg.endpoint}: ${err.message}`);
      }
      last = res;
      if (res.code === Code.NOT_ACCEPTABLE && format === undefined) continue;
      if (res.code !== Code.CONTENT) return { result: { code: codeText(res.code), success: false, message: res.payload.toString('utf8').slice(0, 500) } };
      const cf = this.formatOf(res, accept);
      const node = this.decodeNode(res, cf, path);
      const result: DownlinkResult = { code: codeText(res.code), success: true, node, contentFormat: cf };
      if (res.observe === undefined) {
        // §3.1 RFC 7641: the server answered without Observe: a plain read, no observation
        return { result };
      }
      this.add(obs);
      this.changed('established', obs);
      this.deps.log.debug({ endpoint: reg.endpoint, path: formatPath(path), id: obs.id }, 'observation established');
      return { observation: obs, result };
    }
    return { result: { code: codeText(last!.code), success: false } };
  }

  /** Cancel Observation: forget the token (the next notification gets RST) and ask actively (RFC 7641 §3.6). */
  async cancel(id: string, reg?: Registration): Promise<boolean> {
    const obs = this.observations.get(id);
    if (!obs) return false;
    this.remove(obs);
    this.changed('ended', obs);
    const token = Buffer.from(obs.token, 'hex');
    this.deps.endpoint.cancelObservation(obs.peer, token);
    if (reg) {
      // GET with Observe=1 and the same token; the device may be asleep, so do not wait long
      this.deps.endpoint.request(obs.peer, { method: Method.GET, path: uriPathOf(reg, obs.path), observe: 1, token, accept: obs.format, timeoutMs: 5000 }).catch(() => undefined);
    }
    return true;
  }

  /** The registration ended: its observations end with it. */
  dropRegistration(registrationId: string): Observation[] {
    const gone = [...(this.byRegistration.get(registrationId) ?? [])];
    for (const o of gone) {
      this.remove(o);
      this.changed('ended', o);
      this.deps.endpoint.cancelObservation(o.peer, Buffer.from(o.token, 'hex'));
    }
    return gone;
  }

  /** The device moved (Update from a new address): notifications now come from there. */
  rehome(registrationId: string, peer: Peer): void {
    for (const o of this.byRegistration.get(registrationId) ?? []) {
      if (o.peer.address === peer.address && o.peer.port === peer.port) continue;
      this.deps.endpoint.moveObservation(o.peer, peer, Buffer.from(o.token, 'hex'));
      o.peer = peer;
    }
  }

  private onNotification(obs: Observation, n: ClientResponse): void {
    obs.lastNotification = Date.now();
    if (n.code !== Code.CONTENT) {
      // RFC 7641 §3.2: an error response ends the observation
      this.remove(obs);
      this.changed('ended', obs);
      this.deps.log.info({ endpoint: obs.endpoint, id: obs.id, code: codeText(n.code) }, 'observation ended by the device');
      return;
    }
    let node: LwM2mNode | undefined;
    let records: LwM2mRecord[] | undefined;
    const cf = this.formatOf(n, obs.format);
    try {
      node = this.decodeNode(n, cf, obs.path);
    } catch {
      // timestamped notifications (SenML with several t) do not fold into one node: keep the records
      try {
        records = decodeRecords(n.payload, cf, this.deps.models);
      } catch (e) {
        this.deps.log.warn({ endpoint: obs.endpoint, err: (e as Error).message }, 'undecodable notification');
        return;
      }
    }
    this.deps.events.emit({ type: 'notification', endpoint: obs.endpoint, observationId: obs.id, path: formatPath(obs.path), node, records, contentFormat: cf, time: Date.now() });
  }

  private formatOf(res: ClientResponse, asked: number | undefined): ContentFormat {
    const cf = res.contentFormat ?? asked ?? ContentFormat.TEXT;
    if (!isContentFormat(cf)) throw new RequestError('BAD_RESPONSE', `unknown content format ${cf}`);
    return cf;
  }

  private decodeNode(res: ClientResponse, cf: ContentFormat, path: LwM2mPath): LwM2mNode {
    try {
      return decodeNode(res.payload, cf, path, this.deps.models);
    } catch (e) {
      if (e instanceof CodecError) throw new RequestError('BAD_RESPONSE', `undecodable answer: ${e.message}`);
      throw e;
    }
  }
}
