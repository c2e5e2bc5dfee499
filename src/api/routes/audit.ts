// The audit trail (admin): state-changing calls through the API and MQTT, newest first.
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../access/audit-log.ts';
import { ApiError } from '../errors.ts';

export async function auditRoutes(app: FastifyInstance, opts: { audit: AuditLog }): Promise<void> {
  app.get<{ Querystring: { since?: string; token?: string; endpoint?: string; limit: number } }>('/audit', {
    config: { role: 'admin' },
    schema: {
      summary: 'Audit trail of state-changing calls (API and MQTT commands), newest first',
      querystring: {
        type: 'object',
        properties: {
          since: { type: 'string', description: 'ISO date-time or milliseconds since the epoch' },
          token: { type: 'string', description: 'token id or name' },
          endpoint: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
        },
        additionalProperties: false,
      },
    },
  }, async (req) => {
    const q = req.query;
    let since: number | undefined;
    if (q.since !== undefined) {
      since = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
      if (!Number.isFinite(since)) throw new ApiError(400, 'BAD_QUERY', `since must be an ISO date-time or milliseconds, got "${q.since}"`);
    }
    const entries = await opts.audit.query({ since, token: q.token, endpoint: q.endpoint, limit: q.limit });
    return entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
  });
}
