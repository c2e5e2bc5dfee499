// Observe / Cancel Observation through the API; notifications arrive on the event stream.
import type { FastifyInstance } from 'fastify';
import { formatPath, parsePath } from '../../lwm2m/path.ts';
import type { LwM2mServer } from '../../server.ts';
import { StoreUnavailableError } from '../../store/store-error.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { resultToJson } from '../../json/result-json.ts';
import { sendOutcome } from '../send-outcome.ts';
import { formatFrom } from './device-management.ts';

const observationSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, endpoint: { type: 'string' }, path: { type: 'string' }, format: { type: ['integer', 'null'] }, createdAt: { type: 'string' }, lastNotification: { type: ['string', 'null'] } },
} as const;

export async function observationRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;
  const toJson = (o: ReturnType<LwM2mServer['observations']['list']>[number]) => ({
    id: o.id, endpoint: o.endpoint, path: formatPath(o.path), format: o.format ?? null,
    createdAt: new Date(o.createdAt).toISOString(), lastNotification: o.lastNotification ? new Date(o.lastNotification).toISOString() : null,
  });

  app.post<{ Params: { endpoint: string }; Body: { path: string; format?: string } }>('/devices/:endpoint/observations', {
    config: { role: 'operator' },
    schema: {
      summary: 'Observe a path; notifications go to GET /events',
      params: { type: 'object', properties: { endpoint: { type: 'string' } }, required: ['endpoint'] },
      body: { type: 'object', properties: { path: { type: 'string', minLength: 2 }, format: { type: 'string' } }, required: ['path'], additionalProperties: false },
      response: { 201: { type: 'object', additionalProperties: true }, 200: { type: 'object', additionalProperties: true }, 202: { type: 'object', additionalProperties: true }, 400: errorSchema, 404: errorSchema, 504: errorSchema },
    },
  }, async (req, reply) => {
    const path = parsePath(req.body.path);
    if (path.length < 1) throw new ApiError(400, 'BAD_PATH', 'observe needs an object, instance or resource path');
    const out = await server.observe(req.params.endpoint, path, formatFrom(req.body));
    if (out.queued) return sendOutcome(reply, out); // 202: established when the device wakes (GET /requests/:id)
    const { observation, result } = out;
    if (!observation) return reply.status(200).send({ observation: null, ...resultToJson(result) });
    return reply.status(201).send({ observation: toJson(observation), ...resultToJson(result) });
  });

  app.get<{ Params: { endpoint: string } }>('/devices/:endpoint/observations', {
    config: { role: 'viewer' },
    schema: { summary: 'Active observations of a device', params: { type: 'object', properties: { endpoint: { type: 'string' } }, required: ['endpoint'] }, response: { 200: { type: 'array', items: observationSchema } } },
  }, async (req) => {
    const local = server.observations.list(req.params.endpoint).map(toJson);
    // several nodes: the ones other nodes hold, from the shared store (issue 14 §3)
    const shared = await server.remoteNodes?.observationsOf?.(req.params.endpoint).catch((e: unknown) => {
      throw new StoreUnavailableError(`shared observations unreadable: ${(e as Error).message}`, e);
    });
    const seen = new Set(local.map((o) => o.id));
    const others = (shared ?? []).filter((o) => !seen.has(o.id)).map((o) => ({
      id: o.id, endpoint: o.endpoint, path: o.path, format: o.format, createdAt: new Date(o.createdAt).toISOString(),
      lastNotification: o.lastNotification ? new Date(o.lastNotification).toISOString() : null,
    }));
    return [...local, ...others];
  });

  app.delete<{ Params: { endpoint: string; id: string } }>('/devices/:endpoint/observations/:id', {
    config: { role: 'operator' },
    schema: { summary: 'Cancel an observation', params: { type: 'object', properties: { endpoint: { type: 'string' }, id: { type: 'string' } }, required: ['endpoint', 'id'] }, response: { 202: { type: 'object', additionalProperties: true }, 204: { type: 'null' }, 404: errorSchema } },
  }, async (req, reply) => {
    const obs = server.observations.get(req.params.id);
    if (!obs || obs.endpoint !== req.params.endpoint) throw new ApiError(404, 'OBSERVATION_NOT_FOUND', `no observation ${req.params.id} on ${req.params.endpoint}`);
    const out = await server.cancelObservation(req.params.endpoint, req.params.id);
    if (out.queued) return sendOutcome(reply, out); // 202: the device is asleep; cancelled when it wakes
    return reply.status(204).send();
  });
}
