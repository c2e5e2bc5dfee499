// API tokens (admin): create (the secret is in this one answer only), list, revoke.
import type { FastifyInstance } from 'fastify';
import { ROLES, type Role } from '../../access/roles.ts';
import type { TokenStore, TokenView } from '../../access/token-store.ts';
import { ApiError, errorSchema } from '../errors.ts';

const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());

export function tokenToJson(t: TokenView): Record<string, unknown> {
  return { id: t.id, name: t.name, role: t.role, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt) };
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: [...ROLES] }, createdAt: { type: 'string' },
    lastUsedAt: { type: ['string', 'null'] }, expiresAt: { type: ['string', 'null'] }, revokedAt: { type: ['string', 'null'] },
  },
} as const;

export async function tokenRoutes(app: FastifyInstance, opts: { tokens: TokenStore }): Promise<void> {
  const { tokens } = opts;

  app.post<{ Body: { name: string; role: Role; expiresAt?: string } }>('/tokens', {
    config: { role: 'admin' },
    schema: {
      summary: 'Create an API token; the token itself is shown in this answer only',
      body: {
        type: 'object',
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,64}$' }, role: { type: 'string', enum: [...ROLES] }, expiresAt: { type: 'string', format: 'date-time' } },
        required: ['name', 'role'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', properties: { ...tokenSchema.properties, token: { type: 'string' } } }, 400: errorSchema },
    },
  }, async (req, reply) => {
    const expiresAt = req.body.expiresAt === undefined ? undefined : Date.parse(req.body.expiresAt);
    if (expiresAt !== undefined && !(expiresAt > Date.now())) throw new ApiError(400, 'BAD_EXPIRY', 'expiresAt must be a date in the future');
    const { secret, token } = await tokens.create(req.body.name, req.body.role, expiresAt);
    req.auditTarget = { token: token.id };
    return reply.status(201).send({ ...tokenToJson(token), token: secret });
  });

  app.get('/tokens', {
    config: { role: 'admin' },
    schema: { summary: 'API tokens (never their secrets)', response: { 200: { type: 'array', items: tokenSchema } } },
  }, async () => (await tokens.list()).map(tokenToJson));

  app.delete<{ Params: { id: string } }>('/tokens/:id', {
    config: { role: 'admin' },
    schema: { summary: 'Revoke a token', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } }, required: ['id'] }, response: { 200: tokenSchema, 404: errorSchema } },
  }, async (req) => {
    const t = await tokens.revoke(req.params.id);
    if (!t) throw new ApiError(404, 'TOKEN_NOT_FOUND', `no token ${req.params.id}`);
    return tokenToJson(t);
  });
}
