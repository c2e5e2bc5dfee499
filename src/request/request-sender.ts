// Sends DM requests to a registered device over the endpoint it registered to, with content
// negotiation and decoding by the response's own Content-Format (LWM2M-NOTES).
import type { Logger } from 'pino';
import { CoapRequestError, type CoapEndpoint, type ClientRequest, type ClientResponse } from '../coap/endpoint.ts';
import { Code, Method, Option, codeText, getOptions, isSuccess } from '../coap/message.ts';
import { CodecError, decodeNode, decodeRecords, encodeNode, encodePaths, supportsLevel } from '../lwm2m/codec.ts';
import { ContentFormat, isContentFormat } from '../lwm2m/content-format.ts';
import { parseLinks } from '../lwm2m/link-format.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import type { LwM2mPath } from '../lwm2m/path.ts';
import type { Registration } from '../registration/registration.ts';
import { candidateFormats, compositeFormats } from './content-negotiation.ts';
import { RequestError, type DownlinkRequest, type DownlinkResult, type NotificationAttributes } from './downlink-request.ts';

export type RequestSenderDeps = {
  endpoint: CoapEndpoint;
  models: ModelLookup;
  log: Logger;
  timeoutMs?: number;
};

export function uriPathOf(reg: Pick<Registration, 'rootPath'>, path: LwM2mPath): string[] {
  const root = reg.rootPath.split('/').filter((s) => s !== '');
  return [...root, ...path.map(String)];
}

function attributeQuery(attrs: NotificationAttributes): string[] {
  // Core §5.1.2: "pmin=10"; an attribute without a value removes it
  return Object.entries(attrs).map(([k, v]) => (v === null || v === undefined ? k : `${k}=${v}`));
}

export type RequestSenderStats = {
  /** CoAP exchanges with devices by outcome: the response code ("2.05", "4.04") or "timeout", "reset", "error" */
  readonly responses: Map<string, number>;
};

export class RequestSender {
  readonly stats: RequestSenderStats = { responses: new Map() };

  constructor(private readonly deps: RequestSenderDeps) {}

  private count(outcome: string): void {
    this.stats.responses.set(outcome, (this.stats.responses.get(outcome) ?? 0) + 1);
  }

  async send(reg: Registration, req: DownlinkRequest): Promise<DownlinkResult> {
    const t = req.timeoutMs ?? this.deps.timeoutMs;
    switch (req.kind) {
      case 'read':
        return this.withFormats(reg, req.path, req.format, (accept) => this.coap(reg, t, { method: Method.GET, path: uriPathOf(reg, req.path), accept }), (res) => this.decodeNodeResult(res, req.path));
      case 'discover': {
        const res = await this.coap(reg, t, { method: Method.GET, path: uriPathOf(reg, req.path), accept: ContentFormat.LINK });
        if (!isSuccess(res.code)) return errorResult(res);
        return { ...okResult(res), links: this.decode(() => parseLinks(res.payload.toString('utf8'))) };
      }
      case 'write': {
        // Core §6.3.3 / Transport §6.3: replace = PUT, partial update = POST (on an instance)
        const method = req.mode === 'replace' ? Method.PUT : Method.POST;
        return this.withFormats(reg, req.path, req.format, (format) => {
          const payload = this.encode(() => encodeNode(req.node, req.path, format, this.deps.models));
          return this.coap(reg, t, { method, path: uriPathOf(reg, req.path), payload: Buffer.from(payload), contentFormat: format });
        }, (res) => okResult(res), Code.UNSUPPORTED_CONTENT_FORMAT);
      }
      case 'writeAttributes': {
        const res = await this.coap(reg, t, { method: Method.PUT, path: uriPathOf(reg, req.path), query: attributeQuery(req.attributes) });
        return isSuccess(res.code) ? okResult(res) : errorResult(res);
      }
      case 'execute': {
        const payload = req.args ? Buffer.from(req.args, 'utf8') : undefined;
        const res = await this.coap(reg, t, { method: Method.POST, path: uriPathOf(reg, req.path), payload, contentFormat: payload ? ContentFormat.TEXT : undefined });
        return isSuccess(res.code) ? okResult(res) : errorResult(res);
      }
      case 'create': {
        // Core §7.4.3 / §7.4.4: a Create on /O carries Object Instance TLVs, or SenML records named
        // /O/I/R: either way the payload is the object node holding the new instance(s)
        const node = req.node.kind === 'instance' ? { kind: 'object' as const, id: req.path[0]!, instances: [req.node] } : req.node;
        return this.withFormats(reg, req.path, req.format, (format) => {
          const payload = this.encode(() => encodeNode(node, req.path, format, this.deps.models));
          return this.coap(reg, t, { method: Method.POST, path: uriPathOf(reg, req.path), payload: Buffer.from(payload), contentFormat: format });
        }, (res) => {
          const loc = getOptions(res, Option.LOCATION_PATH).map((b) => b.toString('utf8'));
          return { ...okResult(res), location: loc.length > 0 ? '/' + loc.join('/') : undefined };
        }, Code.UNSUPPORTED_CONTENT_FORMAT);
      }
      case 'delete': {
        const res = await this.coap(reg, t, { method: Method.DELETE, path: uriPathOf(reg, req.path) });
        return isSuccess(res.code) ? okResult(res) : errorResult(res);
      }
      case 'compositeRead': {
        // Transport §6.4.x: FETCH on the root with the list of paths as SenML; the answer is SenML too
        const formats = req.format ? [req.format] : compositeFormats(reg);
        let last: ClientResponse | undefined;
        for (const format of formats) {
          const payload = this.encode(() => encodePaths(req.paths, format));
          const res = await this.coap(reg, t, { method: Method.FETCH, path: uriPathOf(reg, []), payload: Buffer.from(payload), contentFormat: format, accept: format });
          last = res;
          if (res.code === Code.NOT_ACCEPTABLE || res.code === Code.UNSUPPORTED_CONTENT_FORMAT) continue;
          if (!isSuccess(res.code)) return errorResult(res);
          const cf = responseFormat(res, format);
          return { ...okResult(res), records: this.decode(() => decodeRecords(res.payload, cf, this.deps.models)), contentFormat: cf };
        }
        return errorResult(last!);
      }
      case 'observe':
      case 'cancelObservation':
        // the server hands these to the observation service, which owns tokens and notifications
        throw new RequestError('UNSUPPORTED', `${req.kind} is not a plain request`);
    }
  }

  /** Tries formats in order; the next one only after 4.06 (or 4.15 for writes). */
  private async withFormats(
    reg: Registration, path: LwM2mPath, forced: ContentFormat | undefined,
    attempt: (format: ContentFormat) => Promise<ClientResponse>,
    onSuccess: (res: ClientResponse, format: ContentFormat) => DownlinkResult,
    retryOn: number = Code.NOT_ACCEPTABLE,
  ): Promise<DownlinkResult> {
    const formats = forced !== undefined ? [forced] : candidateFormats(reg, path).filter((f) => supportsLevel(f, path, this.deps.models));
    if (formats.length === 0) throw new RequestError('UNSUPPORTED', `no content format can carry ${'/' + path.join('/')}`);
    let last: ClientResponse | undefined;
    for (const format of formats) {
      const res = await attempt(format);
      last = res;
      if (res.code === retryOn && forced === undefined) continue;
      if (!isSuccess(res.code)) return errorResult(res);
      return onSuccess(res, format);
    }
    return errorResult(last!);
  }

  private decodeNodeResult(res: ClientResponse, path: LwM2mPath): DownlinkResult {
    const cf = responseFormat(res, undefined);
    return { ...okResult(res), contentFormat: cf, node: this.decode(() => decodeNode(res.payload, cf, path, this.deps.models)) };
  }

  private async coap(reg: Registration, timeoutMs: number | undefined, req: ClientRequest): Promise<ClientResponse> {
    try {
      const res = await this.deps.endpoint.request(reg.address, { timeoutMs, ...req });
      this.count(codeText(res.code));
      return res;
    } catch (e) {
      this.count(e instanceof CoapRequestError ? (e.code === 'TIMEOUT' ? 'timeout' : e.code === 'RESET' ? 'reset' : 'error') : 'error');
      if (e instanceof CoapRequestError) {
        if (e.code === 'RESET') throw new RequestError('DEVICE_RESET', `${reg.endpoint} rejected the request (RST)`);
        if (e.code === 'TIMEOUT') throw new RequestError('DEVICE_TIMEOUT', `${reg.endpoint} did not answer: ${e.message}`);
        throw new RequestError('BAD_RESPONSE', `${reg.endpoint}: ${e.message}`);
      }
      throw e;
    }
  }

  private encode(fn: () => Uint8Array): Uint8Array {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CodecError) throw new RequestError('BAD_REQUEST', e.message, { codec: e.code });
      throw e;
    }
  }

  private decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CodecError) throw new RequestError('BAD_RESPONSE', `the device's answer does not decode: ${e.message}`, { codec: e.code });
      throw e;
    }
  }
}

function responseFormat(res: ClientResponse, asked: ContentFormat | undefined): ContentFormat {
  const cf = res.contentFormat;
  if (cf !== undefined) {
    if (!isContentFormat(cf)) throw new RequestError('BAD_RESPONSE', `the device answered in unknown content format ${cf}`);
    return cf;
  }
  // RFC 7252 §5.5.1: no Content-Format, no promise; text/plain is the only sane guess
  return asked ?? ContentFormat.TEXT;
}

function okResult(res: ClientResponse): DownlinkResult {
  return { code: codeText(res.code), success: true, contentFormat: res.contentFormat };
}

function errorResult(res: ClientResponse): DownlinkResult {
  return { code: codeText(res.code), success: false, message: res.payload.length > 0 ? res.payload.toString('utf8').slice(0, 500) : undefined };
}
