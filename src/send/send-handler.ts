// Information Reporting "Send" (LwM2M 1.1 TS Core §6.4.4, Transport §6.4.x): POST /dp from the
// device with SenML JSON/CBOR or LwM2M CBOR. We keep the latest value per path and publish an event.
import type { Logger } from 'pino';
import type { InboundRequest, OutboundResponse } from '../coap/endpoint.ts';
import { Code, Method } from '../coap/message.ts';
import type { Peer } from '../coap/transport.ts';
import type { EventBus } from '../events/server-event.ts';
import { CodecError, decodeRecords } from '../lwm2m/codec.ts';
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mRecord } from '../lwm2m/node.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import { formatPath } from '../lwm2m/path.ts';
import type { Registration } from '../registration/registration.ts';
import { isSameClient } from '../registration/sender-authorization.ts';

const SEND_FORMATS: readonly number[] = [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR];

export type SendDeps = {
  models: ModelLookup;
  events: EventBus;
  log: Logger;
  /**
   * Send is only accepted from a registered device: found by its authenticated identity (a DTLS
   * device keeps it across an address change, RFC 9146), else by its address
   */
  registrationAt: (peer: Peer) => Registration | undefined;
  onContact?: (endpoint: string) => void;
};

/** Latest values reported with Send, per endpoint and path. */
export class SendStore {
  private readonly latest = new Map<string, Map<string, LwM2mRecord>>();

  put(endpoint: string, records: readonly LwM2mRecord[]): void {
    const m = this.latest.get(endpoint) ?? new Map<string, LwM2mRecord>();
    for (const r of records) m.set(formatPath(r.path), r);
    this.latest.set(endpoint, m);
  }

  get(endpoint: string): Record<string, LwM2mRecord> {
    return Object.fromEntries(this.latest.get(endpoint) ?? []);
  }

  forget(endpoint: string): void {
    this.latest.delete(endpoint);
  }
}

export function createSendHandler(deps: SendDeps, store: SendStore): (req: InboundRequest) => OutboundResponse {
  return (req) => {
    if (req.method !== Method.POST) return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('Send is POST /dp') };
    const reg = deps.registrationAt(req.peer);
    if (!reg) return { code: Code.FORBIDDEN, payload: Buffer.from('Send from an unregistered address') };
    // the same address with another identity (or a plain peer where a DTLS one registered) is someone else
    if (!isSameClient(reg.address, req.peer)) return { code: Code.FORBIDDEN, payload: Buffer.from('Send from another client than the one that registered') };
    if (req.contentFormat === undefined || !SEND_FORMATS.includes(req.contentFormat)) {
      return { code: Code.UNSUPPORTED_CONTENT_FORMAT, payload: Buffer.from(`Send takes content formats ${SEND_FORMATS.join(', ')}`) };
    }
    let records: LwM2mRecord[];
    try {
      records = decodeRecords(req.payload, req.contentFormat as ContentFormat, deps.models);
    } catch (e) {
      if (e instanceof CodecError) return { code: Code.BAD_REQUEST, payload: Buffer.from(e.message) };
      throw e;
    }
    if (records.length === 0) return { code: Code.BAD_REQUEST, payload: Buffer.from('Send without any value') };
    store.put(reg.endpoint, records);
    deps.onContact?.(reg.endpoint);
    deps.events.emit({ type: 'send', endpoint: reg.endpoint, records, time: Date.now() });
    deps.log.debug({ endpoint: reg.endpoint, n: records.length }, 'send received');
    return { code: Code.CHANGED };
  };
}
