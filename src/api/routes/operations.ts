// Operations: Prometheus metrics and the readiness probe (/health, liveness, sits in app.ts).
import type { FastifyInstance } from 'fastify';
import type { LwM2mServer } from '../../server.ts';
import { errorSchema } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';

export async function operationRoutes(app: FastifyInstance, opts: { server: LwM2mServer; metrics: ServerMetrics }): Promise<void> {
  const { server, metrics } = opts;

  app.get('/metrics', { config: { role: 'viewer' }, schema: { summary: 'Prometheus metrics (text exposition format)', hide: false } }, async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.get('/ready', {
    config: { role: 'public' },
    schema: {
      summary: 'Readiness: the registration store answers',
      response: { 200: { type: 'object', properties: { status: { type: 'string' }, store: { type: 'string' } } }, 503: errorSchema },
    },
  }, async (_req, reply) => {
    const store = server.registrations.store;
    const ok = store.ping ? await store.ping() : true;
    if (!ok) return reply.status(503).send({ error: 'NOT_READY', message: 'the registration store does not answer', details: { store: 'unreachable' } });
    return { status: 'ready', store: 'ok' };
  });
}
