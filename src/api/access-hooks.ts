// The API's front door, one onRequest chain in front of every route plugin:
//   1. Host allow-list (421): a DNS-rebinding page reaches a loopback API under a foreign Host.
//   2. Bearer token (401) and the route's declared role (403); `--no-auth` lets everything through.
//   2b. Origin of mutating requests (403): a browser page of another origin may change nothing.
//   3. Content type of mutating requests (415): only application/json and multipart/form-data, so
//      a "simple" cross-site request (text/plain, form-urlencoded, no body; Fetch standard
//      §3.2.3 CORS-safelisted request headers) can never reach a handler, with or without a token.
//      A route may also take application/octet-stream (config.octetStream: POST /packages, issue 9):
//      it is not CORS-safelisted either, so a browser sends it cross-site only after a preflight.
//   4. Rate limits on mutating requests, per address and per token (429 + Retry-After).
// and, after the answer, the audit record of every mutating call.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { AuditLog, AuditTarget } from '../access/audit-log.ts';
import { actorOf } from '../access/audit-log.ts';
import { roleAllows, type Principal, type RouteRole } from '../access/roles.ts';
import type { TokenStore } from '../access/token-store.ts';
import { bearerVerifier, type JwtVerifier } from '../access/jwt-verifier.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** who is calling, once the auth hook ran (null on public routes without a token) */
    principal: Principal | null;
    /** what a mutating call acted on, beyond its URL parameters (a created deployment's id ...) */
    auditTarget: AuditTarget | null;
  }
}

export type ApiAccess = {
  /** bearer tokens; undefined means --no-auth (every caller is an anonymous admin) */
  tokens?: TokenStore;
  /** JWTs of an identity provider, accepted beside our tokens (--jwt-jwks) */
  jwt?: JwtVerifier;
  audit?: AuditLog;
  /** Host header names allowed (lowercase, without port); undefined skips the check */
  allowedHosts?: readonly string[];
  /** origins allowed by CORS; none by default */
  corsOrigins?: readonly string[];
  /** mutating requests per minute, per client address and per token; 0 disables */
  rateLimit?: { perAddress: number; perToken: number; windowMs?: number };
  /** GET /metrics without a token (--metrics-public) */
  metricsPublic?: boolean;
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

type Fail = { status: number; error: string; message: string; details?: unknown; headers?: Record<string, string> };

function refuse(reply: FastifyReply, f: Fail): FastifyReply {
  for (const [k, v] of Object.entries(f.headers ?? {})) void reply.header(k, v);
  return reply.status(f.status).send({ error: f.error, message: f.message, details: f.details ?? null });
}

/** The host name of a Host header ("[::1]:8080" -> "::1", "Example.org:80" -> "example.org"). */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : undefined;
  }
  const colon = h.indexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

function routeRole(req: FastifyRequest, access: ApiAccess): RouteRole {
  // a CORS preflight never carries credentials (Fetch standard, CORS-preflight fetch)
  if (req.method === 'OPTIONS') return 'public';
  // unknown URLs (404) need a token too: their answers must not map the API for strangers
  const role = req.routeOptions.config?.role ?? 'viewer';
  if (access.metricsPublic && req.routeOptions.url === '/metrics') return 'public';
  return role;
}

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer[ ]+(\S+)$/i.exec(h.trim());
  return m ? m[1] : '';
}

export async function installAccessHooks(app: FastifyInstance, access: ApiAccess): Promise<void> {
  app.decorateRequest('principal', null);
  app.decorateRequest('auditTarget', null);
  const allowed = access.allowedHosts && new Set(access.allowedHosts.map((h) => h.toLowerCase()));
  const corsOrigins = new Set(access.corsOrigins ?? []);
  const verifyBearer = access.tokens && bearerVerifier(access.tokens, access.jwt);

  app.addHook('onRequest', async (req, reply) => {
    if (allowed) {
      const host = hostName(req.headers.host ?? (req.headers[':authority'] as string | undefined));
      // RFC 9110 §15.5.20: 421 Misdirected Request, "not able to produce a response" for this authority
      if (!host || !allowed.has(host)) return refuse(reply, { status: 421, error: 'MISDIRECTED_REQUEST', message: `host "${host ?? ''}" is not served here`, details: { allowed: [...allowed] } });
    }

    // a browser names the page's origin on every request that is not GET or HEAD (Fetch standard,
    // "append a request Origin header"); a foreign one may not change anything, token or not:
    // this is what stops a multipart form of another site when the API runs with --no-auth
    if (MUTATING.has(req.method) && req.headers.origin !== undefined) {
      const origin = req.headers.origin;
      if (origin !== `${req.protocol}://${req.headers.host ?? ''}` && !corsOrigins.has(origin)) {
        return refuse(reply, { status: 403, error: 'CROSS_ORIGIN', message: `changes from the origin "${origin}" are not accepted (--cors-origin names the allowed ones)`, details: { origin } });
      }
    }

    const needed = routeRole(req, access);
    if (!access.tokens) {
      req.principal = { kind: 'open', role: 'admin' };
    } else {
      const token = bearerOf(req);
      if (token === undefined || token === '') {
        if (needed !== 'public') {
          // RFC 6750 §3: a protected resource asks for a bearer token with WWW-Authenticate
          return refuse(reply, { status: 401, error: 'UNAUTHENTICATED', message: token === '' ? 'the Authorization header is not "Bearer <token>"' : 'this route needs a bearer token (Authorization: Bearer <token>)', headers: { 'www-authenticate': 'Bearer realm="tinymlaas"' } });
        }
      } else {
        const check = await verifyBearer!(token);
        if (!check.ok) {
          req.log.warn({ source: req.ip, url: req.url, reason: check.code }, 'API token refused');
          return refuse(reply, { status: 401, error: 'UNAUTHENTICATED', message: `the token is ${check.code.toLowerCase()}`, details: { reason: check.code }, headers: { 'www-authenticate': 'Bearer realm="tinymlaas", error="invalid_token"' } });
        }
        req.principal = { kind: 'token', tokenId: check.token.id, name: check.token.name, role: check.token.role };
      }
      if (req.principal && !roleAllows(req.principal.role, needed)) {
        return refuse(reply, { status: 403, error: 'FORBIDDEN', message: `this route needs the ${needed} role; the token "${req.principal.kind === 'token' ? req.principal.name : 'open'}" has ${req.principal.role}`, details: { needed, held: req.principal.role } });
      }
    }

    if (BODY_METHODS.has(req.method)) {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const octet = type === 'application/octet-stream' && req.routeOptions.config?.octetStream === true;
      if (type !== 'application/json' && type !== 'multipart/form-data' && !octet) {
        return refuse(reply, { status: 415, error: 'UNSUPPORTED_MEDIA_TYPE', message: `${req.method} requests must be application/json or multipart/form-data, got "${type || 'none'}"` });
      }
    }
  });

  // application/json keeps the parser json-body.ts installed (an empty body is no body there, nesting
  // is bounded and 64-bit integers are read exactly); text/plain is not accepted
  app.removeContentTypeParser(['text/plain']);

  const limits = access.rateLimit;
  if (limits && (limits.perAddress > 0 || limits.perToken > 0)) {
    await app.register(rateLimit, { global: false });
    const windowMs = limits.windowMs ?? 60_000;
    const perAddress = limits.perAddress > 0 ? app.createRateLimit({ max: limits.perAddress, timeWindow: windowMs, keyGenerator: (req) => `a:${req.ip}` }) : undefined;
    const perToken = limits.perToken > 0 ? app.createRateLimit({ max: limits.perToken, timeWindow: windowMs, keyGenerator: (req) => `t:${req.principal?.kind === 'token' ? req.principal.tokenId : 'open'}` }) : undefined;
    app.addHook('onRequest', async (req, reply) => {
      if (!MUTATING.has(req.method)) return;
      for (const [limiter, scope] of [[perAddress, 'address'], [perToken, 'token']] as const) {
        if (!limiter || (scope === 'token' && req.principal?.kind !== 'token')) continue;
        const r = await limiter(req);
        if (!r.isAllowed && r.isExceeded) {
          return refuse(reply, { status: 429, error: 'RATE_LIMITED', message: `more than ${r.max} changes per ${windowMs / 1000} s from this ${scope}; retry in ${r.ttlInSeconds} s`, details: { scope, limit: r.max, retryAfter: r.ttlInSeconds }, headers: { 'retry-after': String(r.ttlInSeconds) } });
        }
      }
      return undefined;
    });
  }

  const audit = access.audit;
  if (audit) {
    app.addHook('onResponse', async (req, reply) => {
      if (!MUTATING.has(req.method) || !req.principal) return;
      const params = (req.params ?? {}) as Record<string, string | undefined>;
      const url = req.routeOptions.url ?? req.url;
      const target: AuditTarget = { ...(params.endpoint ? { endpoint: params.endpoint } : {}) };
      if (params.id && url.startsWith('/deployments')) target.deployment = params.id;
      if (params.id && url.startsWith('/models')) target.model = params.id;
      if (params.id && url.startsWith('/tokens')) target.token = params.id;
      if (params.digest) target.package = params.digest;
      Object.assign(target, req.auditTarget ?? {});
      const status = reply.statusCode;
      await audit.record({
        via: 'api', actor: actorOf(req.principal), source: req.ip, action: `${req.method} ${url}`, target,
        outcome: { status, ok: status < 400 },
      }).catch((e: unknown) => req.log.error({ err: (e as Error).message }, 'audit record failed'));
    });
  }
}
