// Security info per endpoint (issue 12 §2): GET/PUT/DELETE /security/:endpoint. Keys are
// write-only: a PUT takes the PSK, no answer ever returns it (only its length), and logs name the
// identity alone.
import type { FastifyInstance } from 'fastify';
import { judge } from '../../security/registration-authorizer.ts';
import { publicView, securityInfo, SecurityInfoError, type SecurityInfo, type SecurityInfoInput } from '../../security/security-info.ts';
import { NonUniqueSecurityInfoError } from '../../security/security-store.ts';
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
 * Stores security info. A registration made with credentials that changed (a new key, another
 * identity) or that the new info no longer admits is removed: the old credentials are retired or
 * compromised (Leshan does the same when security info changes).
 */
export async function storeSecurityInfo(server: LwM2mServer, info: SecurityInfo): Promise<SecurityInfo | undefined> {
  let previous: SecurityInfo | undefined;
  try {
    previous = await server.security.put(info);
  } catch (e) {
    if (e instanceof NonUniqueSecurityInfoError) throw new ApiError(409, e.code, e.message, { owner: e.owner });
    throw e;
  }
  await retireRegistration(server, info.endpoint, previous, info);
  return previous;
}

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
  const log = server.log.child({ component: 'security' });

  app.get('/security', {
    config: { role: 'admin' },
    schema: { summary: 'Security info of every endpoint (keys never returned)', response: { 200: { type: 'array', items: securityInfoSchema } } },
  }, async () => (await server.security.all()).map(publicView).sort((a, b) => a.endpoint.localeCompare(b.endpoint)));

  app.get<{ Params: { endpoint: string } }>('/security/:endpoint', {
    config: { role: 'admin' },
    schema: { summary: 'Security info of one endpoint (the key is never returned)', params: endpointParam, response: { 200: securityInfoSchema, 404: errorSchema } },
  }, async (req) => {
    const info = await server.security.get(req.params.endpoint);
    if (!info) throw new ApiError(404, 'NOT_FOUND', `no security info for "${req.params.endpoint}"`);
    return publicView(info);
  });

  app.put<{ Params: { endpoint: string }; Body: Record<string, string | undefined> }>('/security/:endpoint', {
    config: { role: 'admin' },
    schema: {
      summary: 'Set how an endpoint authenticates: psk (identity, key), rpk (publicKey), x509 (subject), nosec',
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
    const previous = await storeSecurityInfo(server, info);
    const view = publicView(info);
    log.info({ endpoint: info.endpoint, mode: info.mode, ...(view.mode === 'psk' ? { identity: view.identity } : {}) }, 'security info stored');
    return reply.status(previous ? 200 : 201).send(view);
  });

  app.delete<{ Params: { endpoint: string } }>('/security/:endpoint', {
    config: { role: 'admin' },
    schema: { summary: 'Remove the security info of an endpoint', params: endpointParam, response: { 204: { type: 'null' }, 404: errorSchema } },
  }, async (req, reply) => {
    const gone = await server.security.remove(req.params.endpoint);
    if (!gone) throw new ApiError(404, 'NOT_FOUND', `no security info for "${req.params.endpoint}"`);
    log.info({ endpoint: gone.endpoint, mode: gone.mode }, 'security info removed');
    await retireRegistration(server, gone.endpoint, gone, undefined);
    return reply.status(204).send();
  });
}
