// The CoAP edge of the Registration interface (LwM2M 1.1 TS Transport §6.2.1-6.2.3):
//   POST /rd?ep=..&lt=..&lwm2m=..&b=..   Register    -> 2.01 Created, Location-Path rd/<id>
//   POST /rd/<id>?lt=..&b=..             Update      -> 2.04 Changed
//   DELETE /rd/<id>                      De-register -> 2.02 Deleted
import type { Logger } from 'pino';
import type { InboundRequest, OutboundResponse } from '../coap/endpoint.ts';
import { Code, Method, Option, uintOption } from '../coap/message.ts';
import { ContentFormat } from '../lwm2m/content-format.ts';
import { StoreUnavailableError } from '../store/store-error.ts';
import { decodeUtf8Strict, endpointNameProblem } from './endpoint-name.ts';
import { readObjectLinks, type Link, type ParsedObjectLinks } from './object-links.ts';
import type { RegistrationAdmission, Refusal } from './registration-limits.ts';
import type { RegistrationService } from './registration-service.ts';
import { describeIdentity, isSameClient, type RegisterAuthorizer } from './sender-authorization.ts';

/** Versions this server serves. A client offering another one gets 4.12 and may retry lower (LWM2M-NOTES). */
export const SUPPORTED_VERSIONS: readonly string[] = ['1.0', '1.1', '1.2'];
const DEFAULT_LIFETIME = 86400; // Core §6.2.1: lt absent means 86400 s

export type LinkParser = (text: string) => Link[];

export type RegistrationHandlerDeps = {
  service: RegistrationService;
  parseLinks: LinkParser;
  log: Logger;
  /** called after a register or update, when the device is reachable (queue mode wake-up) */
  onContact?: (endpoint: string) => void;
  /** flood bounds (src/registration/registration-limits.ts); none when absent */
  admission?: RegistrationAdmission;
  /** true when this node already serves the endpoint (a re-registration is no new registration) */
  serves?: (endpoint: string) => boolean;
  /** judges Register against the security store (src/security); every Register is allowed when absent */
  authorize?: RegisterAuthorizer;
};

// Leshan answers a refused Register with 4.03 and no reason: the payload tells an attacker nothing
const FORBIDDEN: OutboundResponse = { code: Code.FORBIDDEN, payload: Buffer.from('not authorized') };

type Query = { params: Map<string, string | true> };

class BadRequest extends Error {
  constructor(readonly code: number, message: string, readonly options: OutboundResponse['options'] = undefined) {
    super(message);
  }
}

/** A client's value quoted in an answer or a log, cut to a bounded length. */
function bounded(v: string, max = 32): string {
  return v.length <= max ? v : `${v.slice(0, max)}…(${v.length} chars)`;
}

/** A refusal of the admission control as the CoAP answer it maps to. */
function refusalError(r: Refusal): BadRequest {
  if (r.code === 'tooLarge') {
    // RFC 7959 §2.9.3 / §4: 4.13, Size1 tells the largest body the server takes
    return new BadRequest(Code.REQUEST_ENTITY_TOO_LARGE, r.message, r.max === undefined ? undefined : [uintOption(Option.SIZE1, r.max)]);
  }
  // RFC 7252 §5.9.3.4 and §5.10.5: 5.03 with Max-Age, the seconds after which to retry
  return new BadRequest(Code.SERVICE_UNAVAILABLE, r.message, [uintOption(Option.MAX_AGE, r.retryAfterS ?? 60)]);
}

/** The Uri-Query options from their raw bytes: invalid UTF-8 is an error, never replaced (issue 14). */
function rawQuery(req: InboundRequest): string[] {
  const out: string[] = [];
  for (const o of req.options) {
    if (o.number !== Option.URI_QUERY) continue;
    const v = decodeUtf8Strict(o.value);
    if (v === undefined) throw new BadRequest(Code.BAD_REQUEST, 'a query parameter is not valid UTF-8');
    out.push(v);
  }
  return out;
}

const MAX_QUERY_PARAMS = 32;
const MAX_QUERY_BYTES = 1024;

function parseQuery(req: InboundRequest): Query {
  const params = new Map<string, string | true>();
  const raw = rawQuery(req);
  if (raw.length > MAX_QUERY_PARAMS) throw new BadRequest(Code.BAD_REQUEST, `${raw.length} query parameters, at most ${MAX_QUERY_PARAMS} are taken`);
  for (const q of raw) {
    if (Buffer.byteLength(q) > MAX_QUERY_BYTES) throw new BadRequest(Code.BAD_REQUEST, `a query parameter is longer than ${MAX_QUERY_BYTES} bytes`);
    const eq = q.indexOf('=');
    // LWM2M-NOTES: `Q` may come with no value
    if (eq < 0) params.set(q, true);
    else params.set(q.slice(0, eq), q.slice(eq + 1));
  }
  return { params };
}

function text(q: Query, key: string): string | undefined {
  const v = q.params.get(key);
  if (v === undefined) return undefined;
  if (v === true) throw new BadRequest(Code.BAD_REQUEST, `query parameter ${key} needs a value`);
  return v;
}

function lifetime(q: Query): number | undefined {
  const v = text(q, 'lt');
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v) || Number(v) <= 0 || Number(v) > 0xffffffff) throw new BadRequest(Code.BAD_REQUEST, `lt=${bounded(v)} is not a positive number of seconds`);
  return Number(v);
}

function binding(q: Query, version: string): { binding: string; queueMode: boolean } | undefined {
  const b = text(q, 'b');
  const qFlag = q.params.has('Q');
  if (b === undefined) return qFlag ? { binding: 'U', queueMode: true } : undefined;
  // 1.0 (Core 1.0 §5.3.1.1): U, UQ, S, SQ, US, UQS. 1.1+ (Core §6.2.1.1, Table 6.2.1.1-1): each of
  // U, M, H, T, S, N at most once, Q as its own parameter; a 1.0-style Q inside b is still taken
  // from 1.1 clients, once (LWM2M-NOTES: accept what clients send)
  if (b.length > 7 || !/^[UMHTSNQ]+$/.test(b) || new Set(b).size !== b.length) throw new BadRequest(Code.BAD_REQUEST, `b=${bounded(b)} is not a binding mode`);
  const queueMode = b.includes('Q') || qFlag;
  if (version === '1.0' && !['U', 'UQ', 'S', 'SQ', 'US', 'UQS'].includes(b)) throw new BadRequest(Code.BAD_REQUEST, `b=${b} is not a LwM2M 1.0 binding`);
  return { binding: b, queueMode };
}

const KNOWN = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);

const NO_LINKS: ParsedObjectLinks = deepFreeze({ rootPath: '', contentFormats: [], objectLinks: [], objectVersions: {} });
const NO_ADDITIONAL: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Devices of one class send the same object links: parsed link sets are shared (read-only)
 * between registrations, which keeps a registration's memory to its own fields.
 */
class LinkInterner {
  private readonly cache = new Map<string, ParsedObjectLinks>();
  constructor(private readonly max = 1024) {}
  get(text: string, parse: () => ParsedObjectLinks): ParsedObjectLinks {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const parsed = deepFreeze(parse());
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(text, parsed);
    return parsed;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

export function createRegistrationHandler(deps: RegistrationHandlerDeps): (req: InboundRequest) => Promise<OutboundResponse> {
  const interner = new LinkInterner();
  const links = (req: InboundRequest): ParsedObjectLinks | undefined => {
    if (req.payload.length === 0) return undefined;
    if (req.contentFormat !== undefined && req.contentFormat !== ContentFormat.LINK) {
      throw new BadRequest(Code.UNSUPPORTED_CONTENT_FORMAT, `registration payload must be application/link-format (40), got ${req.contentFormat}`);
    }
    const tooLarge = deps.admission?.admitLinkBytes(req.payload.length);
    if (tooLarge) throw refusalError(tooLarge);
    const text = decodeUtf8Strict(req.payload);
    if (text === undefined) throw new BadRequest(Code.BAD_REQUEST, 'object links are not valid UTF-8');
    return interner.get(text, () => {
      let parsed: Link[];
      try {
        parsed = deps.parseLinks(text);
      } catch (e) {
        throw new BadRequest(Code.BAD_REQUEST, `object links: ${bounded((e as Error).message, 200)}`);
      }
      const tooMany = deps.admission?.admitLinkCount(parsed.length);
      if (tooMany) throw refusalError(tooMany);
      try {
        return readObjectLinks(parsed);
      } catch (e) {
        throw new BadRequest(Code.BAD_REQUEST, (e as Error).message);
      }
    });
  };

  const register = async (req: InboundRequest): Promise<OutboundResponse> => {
    // the cheapest check first: a flood from one address costs a map lookup per datagram
    const slow = deps.admission?.admitSource(req.peer.address);
    if (slow) throw refusalError(slow);
    const q = parseQuery(req);
    const endpoint = text(q, 'ep');
    if (!endpoint) throw new BadRequest(Code.BAD_REQUEST, 'registration without an endpoint name (ep)');
    const nameProblem = endpointNameProblem(endpoint);
    if (nameProblem) throw new BadRequest(Code.BAD_REQUEST, nameProblem);
    const verdict = deps.authorize ? await deps.authorize(endpoint, req.peer) : undefined;
    if (verdict && !verdict.ok) {
      deps.log.warn({ endpoint, identity: describeIdentity(req.peer), reason: verdict.reason }, 'registration refused');
      return FORBIDDEN;
    }
    const version = text(q, 'lwm2m') ?? '1.0';
    if (!SUPPORTED_VERSIONS.includes(version)) {
      return { code: Code.PRECONDITION_FAILED, payload: Buffer.from(`LwM2M ${bounded(version)} is not supported; this server serves ${SUPPORTED_VERSIONS.join(', ')}`) };
    }
    const parsedLinks = links(req) ?? NO_LINKS;
    const b = binding(q, version) ?? { binding: 'U', queueMode: false };
    const lt = lifetime(q) ?? DEFAULT_LIFETIME;
    const sms = text(q, 'sms');
    if (sms !== undefined && !/^\+?[0-9]{1,20}$/.test(sms)) throw new BadRequest(Code.BAD_REQUEST, `sms=${bounded(sms)} is not an MSISDN`);
    if (!(deps.serves?.(endpoint) ?? false)) {
      const full = deps.admission?.admitNew();
      if (full) throw refusalError(full);
    }
    let additional: Record<string, string> = NO_ADDITIONAL;
    for (const [k, v] of q.params) {
      if (KNOWN.has(k)) continue;
      // a null prototype: a parameter named __proto__ is kept as data, not swallowed
      if (additional === NO_ADDITIONAL) additional = Object.create(null) as Record<string, string>;
      additional[k] = v === true ? '' : v;
    }
    const reg = await deps.service.register({
      endpoint,
      lwm2mVersion: version,
      lifetime: lt,
      binding: b.binding,
      queueMode: b.queueMode,
      smsNumber: sms,
      ...parsedLinks,
      address: req.peer,
      additional,
    });
    deps.onContact?.(reg.endpoint);
    return {
      code: Code.CREATED,
      // Location-Path is one option per segment (node-coap fails on arrays; RFC 7252 §5.10.7)
      options: [
        { number: Option.LOCATION_PATH, value: Buffer.from('rd') },
        { number: Option.LOCATION_PATH, value: Buffer.from(reg.id) },
      ],
    };
  };

  const update = async (req: InboundRequest, id: string): Promise<OutboundResponse> => {
    const q = parseQuery(req);
    const existing = await deps.service.byId(id);
    if (!existing) return { code: Code.NOT_FOUND, payload: Buffer.from(`no registration ${id}`) };
    if (!isSameClient(existing.address, req.peer)) return refuseForeign(existing.endpoint, req, 'update');
    const b = binding(q, existing.lwm2mVersion);
    const reg = await deps.service.update(id, {
      lifetime: lifetime(q),
      binding: b?.binding,
      queueMode: b?.queueMode,
      smsNumber: text(q, 'sms'),
      address: req.peer,
      links: links(req),
    });
    if (!reg) return { code: Code.NOT_FOUND, payload: Buffer.from(`no registration ${id}`) };
    deps.onContact?.(reg.endpoint);
    return { code: Code.CHANGED };
  };

  /**
   * Update or De-register from another client than the one that registered: 4.03, as Leshan's
   * Authorizer does, the registration untouched. (Transport §6.2.2 lists 4.04 for an unknown
   * registration only; answering 4.04 here would make a legitimate device re-register for nothing
   * when a stranger spoofs it, and its registration id is 48 random bits, not a secret to hide.)
   */
  const refuseForeign = (endpoint: string, req: InboundRequest, what: string): OutboundResponse => {
    deps.log.warn({ endpoint, from: describeIdentity(req.peer) }, `${what} from another client refused`);
    return { code: Code.FORBIDDEN, payload: Buffer.from('not the client that registered') };
  };

  return async (req) => {
    try {
      const [, id, ...rest] = req.path;
      if (rest.length > 0) return { code: Code.NOT_FOUND, payload: Buffer.from('unknown registration path') };
      if (id === undefined) {
        if (req.method !== Method.POST) return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('register with POST /rd') };
        return await register(req);
      }
      if (req.method === Method.POST) return await update(req, id);
      if (req.method === Method.DELETE) {
        const existing = await deps.service.byId(id);
        if (!existing) return { code: Code.NOT_FOUND, payload: Buffer.from(`no registration ${id}`) };
        if (!isSameClient(existing.address, req.peer)) return refuseForeign(existing.endpoint, req, 'de-register');
        const gone = await deps.service.deregister(id);
        return gone ? { code: Code.DELETED } : { code: Code.NOT_FOUND, payload: Buffer.from(`no registration ${id}`) };
      }
      return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('update with POST, de-register with DELETE') };
    } catch (e) {
      if (e instanceof BadRequest) {
        deps.log.debug({ peer: req.peer, reason: e.message }, 'registration rejected');
        return { code: e.code, payload: Buffer.from(e.message), options: e.options };
      }
      if (e instanceof StoreUnavailableError) {
        // RFC 7252 §5.9.3.4: the device retries later (its registration back-off)
        deps.log.warn({ peer: req.peer, err: e.message }, 'registration store unavailable');
        return { code: Code.SERVICE_UNAVAILABLE, payload: Buffer.from('registration store unavailable, retry later') };
      }
      throw e;
    }
  };
}
