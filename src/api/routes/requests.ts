// Queued requests (queue-mode devices): poll by the id the 202 answer gave.
import type { FastifyInstance } from 'fastify';
import type { LwM2mServer } from '../../server.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { resultToJson } from '../../json/result-json.ts';

export async function requestRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  app.get<{ Params: { id: string } }>('/requests/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Status of a queued request',
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } }, required: ['id'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req) => {
    const q = opts.server.queue.get(req.params.id);
    if (!q) throw new ApiError(404, 'REQUEST_NOT_FOUND', `no queued request ${req.params.id}`);
    return {
      id: q.id, endpoint: q.endpoint, kind: q.request.kind, status: q.status,
      createdAt: new Date(q.createdAt).toISOString(),
      finishedAt: q.finishedAt ? new Date(q.finishedAt).toISOString() : null,
      result: q.result ? resultToJson(q.result) : null,
      error: q.error ?? null,
    };
  });
}
