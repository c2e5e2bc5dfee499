// Registrations: list with filters, one device, server-side removal.
import type { FastifyInstance } from 'fastify';
import type { LwM2mServer } from '../../server.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { registrationSchema, registrationToJson } from '../../json/registration-json.ts';

export async function deviceRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;
  const endpointParam = { type: 'object', properties: { endpoint: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['endpoint'] } as const;

  app.get<{ Querystring: { endpoint?: string; queueMode?: boolean; lwm2mVersion?: string; object?: number; limit: number; offset: number } }>('/devices', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List registered devices',
      querystring: {
        type: 'object',
        properties: {
          endpoint: { type: 'string', description: 'substring of the endpoint name' },
          queueMode: { type: 'boolean' },
          lwm2mVersion: { type: 'string' },
          object: { type: 'integer', minimum: 0, maximum: 65534, description: 'only devices that list this object' },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
          offset: { type: 'integer', minimum: 0, default: 0 },
        },
        additionalProperties: false,
      },
      response: { 200: { type: 'object', properties: { total: { type: 'integer' }, devices: { type: 'array', items: registrationSchema } } } },
    },
  }, async (req) => {
    const q = req.query;
    const all = (await server.registrations.all())
      .filter((r) => q.endpoint === undefined || r.endpoint.includes(q.endpoint))
      .filter((r) => q.queueMode === undefined || r.queueMode === q.queueMode)
      .filter((r) => q.lwm2mVersion === undefined || r.lwm2mVersion === q.lwm2mVersion)
      .filter((r) => q.object === undefined || r.objectLinks.some((l) => l.path[0] === q.object))
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
    return { total: all.length, devices: all.slice(q.offset, q.offset + q.limit).map((r) => registrationToJson(r, server.presence.isAwake(r.endpoint))) };
  });

  app.get<{ Params: { endpoint: string } }>('/devices/:endpoint', {
    config: { role: 'viewer' },
    schema: { summary: 'One registration', params: endpointParam, response: { 200: registrationSchema, 404: errorSchema } },
  }, async (req) => {
    const reg = await server.registrations.byEndpoint(req.params.endpoint);
    if (!reg) throw new ApiError(404, 'DEVICE_NOT_FOUND', `no registered device "${req.params.endpoint}"`);
    return registrationToJson(reg, server.presence.isAwake(reg.endpoint));
  });

  app.delete<{ Params: { endpoint: string } }>('/devices/:endpoint', {
    config: { role: 'operator' },
    schema: { summary: 'Remove a registration on the server side', params: endpointParam, response: { 204: { type: 'null' }, 404: errorSchema } },
  }, async (req, reply) => {
    const reg = await server.registrations.byEndpoint(req.params.endpoint);
    if (!reg) throw new ApiError(404, 'DEVICE_NOT_FOUND', `no registered device "${req.params.endpoint}"`);
    await server.registrations.deregister(reg.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { endpoint: string } }>('/devices/:endpoint/send', {
    config: { role: 'viewer' },
    schema: { summary: 'Latest values the device reported with Send', params: endpointParam, response: { 404: errorSchema } },
  }, async (req) => {
    const reg = await server.registrations.byEndpoint(req.params.endpoint);
    if (!reg) throw new ApiError(404, 'DEVICE_NOT_FOUND', `no registered device "${req.params.endpoint}"`);
    const latest = server.sendStore.get(reg.endpoint);
    return Object.fromEntries(Object.entries(latest).map(([p, r]) => [p, { value: r.value instanceof Uint8Array ? Buffer.from(r.value).toString('hex') : r.value, time: r.time ?? null }]));
  });
}
