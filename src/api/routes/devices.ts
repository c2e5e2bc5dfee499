// Registrations: list with filters, one device, server-side removal.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { LwM2mServer } from '../../server.ts';
import { decodeCursor, encodeCursor } from '../endpoint-cursor.ts';
import { ApiError, errorSchema } from '../errors.ts';
import type { Registration } from '../../registration/registration.ts';
import { registrationSchema, registrationToJson } from '../../json/registration-json.ts';
import { recordValueToJson } from '../../json/node-json.ts';

/** GET /devices: the largest page, and how many registrations one call may read to fill a filtered page. */
const MAX_PAGE = 1000;
const SCAN_BUDGET = 10_000;

export async function deviceRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;
  const endpointParam = { type: 'object', properties: { endpoint: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['endpoint'] } as const;

  app.get<{ Querystring: { endpoint?: string; queueMode?: boolean; lwm2mVersion?: string; object?: number; limit: number; cursor?: string } }>('/devices', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List registered devices, a page at a time in endpoint order: pass `next` back as `cursor` for the following page (null: the last one)',
      querystring: {
        type: 'object',
        properties: {
          endpoint: { type: 'string', description: 'substring of the endpoint name' },
          queueMode: { type: 'boolean' },
          lwm2mVersion: { type: 'string' },
          object: { type: 'integer', minimum: 0, maximum: 65534, description: 'only devices that list this object' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
          cursor: { type: 'string', maxLength: 400, pattern: '^[A-Za-z0-9_-]*$', description: 'the `next` of the previous page' },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer', description: 'registered devices in all (unfiltered)' },
            devices: { type: 'array', items: registrationSchema },
            next: { type: ['string', 'null'], description: 'cursor of the next page; null after the last one' },
          },
        },
      },
    },
  }, async (req, reply) => {
    const q = req.query;
    const keep = (r: Registration): boolean =>
      (q.endpoint === undefined || r.endpoint.includes(q.endpoint))
      && (q.queueMode === undefined || r.queueMode === q.queueMode)
      && (q.lwm2mVersion === undefined || r.lwm2mVersion === q.lwm2mVersion)
      && (q.object === undefined || r.objectLinks.some((l) => l.path[0] === q.object));
    let after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const devices: Registration[] = [];
    let scanned = 0;
    let more = true;
    // a filter may match few devices: read pages until this one is full, but never more than
    // SCAN_BUDGET registrations per call (the event loop stays free); `next` resumes the scan
    while (devices.length < q.limit && scanned < SCAN_BUDGET) {
      const page = await server.registrations.store.page(after, Math.min(MAX_PAGE, Math.max(q.limit, 100)));
      let i = 0;
      for (; i < page.registrations.length && devices.length < q.limit; i++) {
        const r = page.registrations[i]!;
        scanned++;
        after = r.endpoint;
        if (keep(r)) devices.push(r);
      }
      if (i === page.registrations.length && page.next === undefined) {
        more = false;
        break;
      }
      if (i === page.registrations.length) after = page.next;
      await yieldToLoop(); // other requests and CoAP traffic run between pages
    }
    const total = await server.registrations.store.count();
    const next = more && after !== undefined ? encodeCursor(after) : null;
    // serialized 100 devices at a time with the event loop free in between: a page of 1,000
    // registrations must not hold it for tens of milliseconds (issue 14, bench/api-event-loop.ts)
    const parts: string[] = [];
    for (let i = 0; i < devices.length; i += 100) {
      if (i > 0) await yieldToLoop();
      parts.push(devices.slice(i, i + 100).map((r) => JSON.stringify(registrationToJson(r, server.presence.isAwake(r.endpoint)))).join(','));
    }
    return reply.type('application/json; charset=utf-8').send(`{"total":${total},"devices":[${parts.join(',')}],"next":${JSON.stringify(next)}}`);
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
    return Object.fromEntries(Object.entries(latest).map(([p, r]) => [p, { ...recordValueToJson(r.value), time: r.time ?? null }]));
  });
}
