// Queued requests (queue-mode devices): poll by the id the 202 answer gave.
import type { FastifyInstance } from 'fastify';
import type { LwM2mServer } from '../../server.ts';
import { fromWire } from '../../cluster/wire-json.ts';
import type { DownlinkResult } from '../../request/downlink-request.ts';
import { StoreUnavailableError } from '../../store/store-error.ts';
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
    if (!q) {
      // several nodes: a request queued at another node, from the shared store (issue 14 §3)
      const shared = await opts.server.remoteNodes?.queuedRequest?.(req.params.id).catch((e: unknown) => {
        throw new StoreUnavailableError(`shared requests unreadable: ${(e as Error).message}`, e);
      });
      if (!shared) throw new ApiError(404, 'REQUEST_NOT_FOUND', `no queued request ${req.params.id}`);
      return {
        id: shared.id, endpoint: shared.endpoint, kind: shared.kind, status: shared.status,
        createdAt: new Date(shared.createdAt).toISOString(), finishedAt: shared.finishedAt ? new Date(shared.finishedAt).toISOString() : null,
        result: shared.result ? resultToJson(fromWire(shared.result) as DownlinkResult) : null, error: shared.error, node: shared.node,
      };
    }
    return {
      id: q.id, endpoint: q.endpoint, kind: q.request.kind, status: q.status,
      createdAt: new Date(q.createdAt).toISOString(),
      finishedAt: q.finishedAt ? new Date(q.finishedAt).toISOString() : null,
      result: q.result ? resultToJson(q.result) : null,
      error: q.error ?? null,
    };
  });
}
