// Security info per endpoint (issue 12 §2): GET/PUT/DELETE /security/:endpoint. Keys are
// write-only: a PUT takes the PSK, no answer ever returns it (only its length), and logs name the
// identity alone.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { judge } from '../../security/registration-authorizer.ts';
import { publicView, securityInfo, SecurityInfoError, type SecurityInfo, type SecurityInfoInput } from '../../security/security-info.ts';
import { NonUniqueSecurityInfoError, type SecurityStore } from '../../security/security-store.ts';
import type { LwM2mServer } from '../../server.ts';
import { ApiError, errorSchema } from '../errors.ts';

const endpointParam = { type: 'object', properties: { endpoint: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['endpoint'] } as const;

export const securityInfoSchema = {
  type: 'object',
  properties: {
    endpoint: { type: 'string' },
    mode: { type: 'string', enum: ['psk', 'rpk', 'x509', 'nosec'] },
    identity: { type: 'string' },
    keyLength: { type: 'integer', description: 'bytes of the PSK (the key itself is never returned)' },
    publicKey: { type: 'string', description: 'base64 DER SubjectPublicKeyInfo' },
    subject: { type: 'string' },
    trustAnchor: { type: 'boolean' },
  },
  required: ['endpoint', 'mode'],
} as const;

export const securityInputSchema = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['psk', 'rpk', 'x509', 'nosec'] },
    identity: { type: 'string', minLength: 1, maxLength: 128, description: 'PSK identity (UTF-8)' },
    key: { type: 'string', pattern: '^([0-9a-fA-F]{2}){1,64}$', description: 'PSK as hex; write-only' },
    publicKey: { type: 'string', maxLength: 1024, description: 'RPK: base64 DER SubjectPublicKeyInfo (P-256)' },
    subject: { type: 'string', minLength: 1, maxLength: 255, description: 'X.509: expected CN or subjectAltName (default: the endpoint name)' },
    trustAnchor: { type: 'string', maxLength: 16384, description: 'X.509: PEM certificate to trust for this device' },
  },
  required: ['mode'],
  additionalProperties: false,
} as const;

/** What a body must carry per mode, checked before the store is touched. */
export function toSecurityInput(body: Record<string, string | undefined>): SecurityInfoInput {
  const need = (k: string): string => {
    const v = body[k];
    if (v === undefined) throw new ApiError(400, 'VALIDATION', `mode ${body.mode} needs "${k}"`);
    return v;
  };
  switch (body.mode) {
    case 'psk':
      return { mode: 'psk', identity: need('identity'), key: need('key') };
    case 'rpk':
      return { mode: 'rpk', publicKey: need('publicKey') };
    case 'x509':
      return { mode: 'x509', subject: body.subject, trustAnchor: body.trustAnchor };
    default:
      return { mode: 'nosec' };
  }
}

/**
 * A registration made with credentials that changed (a new key, another identity) or that the new
 * info no longer admits is removed: the old credentials are retired or compromised (Leshan does the
 * same when security info changes).
 */
export async function retireRegistration(server: LwM2mServer, endpoint: string, previous: SecurityInfo | undefined, next: SecurityInfo | undefined): Promise<void> {
  const reg = await server.registrations.byEndpoint(endpoint);
  if (!reg) return;
  const changed = previous !== undefined && JSON.stringify(previous) !== JSON.stringify(next);
  if (changed || !judge(endpoint, reg.address, next).ok) {
    server.log.info({ endpoint }, 'registration removed: its credentials changed');
    await server.registrations.deregister(reg.id);
  }
}

export async function securityRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;
  await securityInfoRoutes(app, {
    path: '/security', what: 'LwM2M server', store: server.security, log: server.log.child({ component: 'security' }),
    afterChange: (endpoint, previous, next) => retireRegistration(server, endpoint, previous, next),
  });
}

/**
 * GET/PUT/DELETE of security info under `path`, for one store: the LwM2M server's (/security) or
 * the Bootstrap-Server's factory credentials (/bootstrap-security).
 */
export async function securityInfoRoutes(app: FastifyInstance, opts: {
  path: string; what: string; store: SecurityStore; log: Logger;
  afterChange?: (endpoint: string, previous: SecurityInfo | undefined, next: SecurityInfo | undefined) => Promise<void>;
}): Promise<void> {
  const { store, log, path } = opts;

  app.get(path, {
    config: { role: 'admin' },
    schema: { summary: `Security info of every endpoint for the ${opts.what} (keys never returned)`, response: { 200: { type: 'array', items: securityInfoSchema } } },
  }, async () => (await store.all()).map(publicView).sort((a, b) => a.endpoint.localeCompare(b.endpoint)));

  app.get<{ Params: { endpoint: string } }>(`${path}/:endpoint`, {
    config: { role: 'admin' },
    schema: { summary: `Security info of one endpoint for the ${opts.what} (the key is never returned)`, params: endpointParam, response: { 200: securityInfoSchema, 404: errorSchema } },
  }, async (req) => {
    const info = await store.get(req.params.endpoint);
    if (!info) throw new ApiError(404, 'NOT_FOUND', `no security info for "${req.params.endpoint}"`);
    return publicView(info);
  });

  app.put<{ Params: { endpoint: string }; Body: Record<string, string | undefined> }>(`${path}/:endpoint`, {
    config: { role: 'admin' },
    schema: {
      summary: `Set how an endpoint authenticates to the ${opts.what}: psk (identity, key), rpk (publicKey), x509 (subject), nosec`,
      params: endpointParam, body: securityInputSchema,
      response: { 200: securityInfoSchema, 201: securityInfoSchema, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    let info: SecurityInfo;
    try {
      info = securityInfo(req.params.endpoint, toSecurityInput(req.body));
    } catch (e) {
      if (e instanceof SecurityInfoError) throw new ApiError(400, e.code, e.message);
      throw e;
    }
    let previous: SecurityInfo | undefined;
    try {
      previous = await store.put(info);
    } catch (e) {
      if (e instanceof NonUniqueSecurityInfoError) throw new ApiError(409, e.code, e.message, { owner: e.owner });
      throw e;
    }
    await opts.afterChange?.(info.endpoint, previous, info);
    const view = publicView(info);
    log.info({ endpoint: info.endpoint, mode: info.mode, ...(view.mode === 'psk' ? { identity: view.identity } : {}) }, 'security info stored');
    return reply.status(previous ? 200 : 201).send(view);
  });

  app.delete<{ Params: { endpoint: string } }>(`${path}/:endpoint`, {
    config: { role: 'admin' },
    schema: { summary: `Remove the security info of an endpoint for the ${opts.what}`, params: endpointParam, response: { 204: { type: 'null' }, 404: errorSchema } },
  }, async (req, reply) => {
    const gone = await store.remove(req.params.endpoint);
    if (!gone) throw new ApiError(404, 'NOT_FOUND', `no security info for "${req.params.endpoint}"`);
    log.info({ endpoint: gone.endpoint, mode: gone.mode }, 'security info removed');
    await opts.afterChange?.(gone.endpoint, gone, undefined);
    return reply.status(204).send();
  });
}
