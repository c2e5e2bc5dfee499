// Device management on any path (LwM2M 1.1 TS Core §6.3): read, write, execute, discover,
// create, delete, write-attributes, composite read. Paths come after the operation's prefix.
import type { FastifyInstance } from 'fastify';
import { parseContentFormat, type ContentFormat } from '../../lwm2m/content-format.ts';
import { parsePath, type LwM2mPath } from '../../lwm2m/path.ts';
import type { NotificationAttributes } from '../../request/downlink-request.ts';
import type { LwM2mServer } from '../../server.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { nodeFromJson } from '../../json/node-json.ts';
import { resultSchema } from '../../json/result-json.ts';
import { sendOutcome } from '../send-outcome.ts';

type PathParams = { endpoint: string; '*': string };
const pathParams = {
  type: 'object',
  properties: { endpoint: { type: 'string', minLength: 1, maxLength: 255 }, '*': { type: 'string', maxLength: 64 } },
  required: ['endpoint'],
} as const;
const formatQuery = {
  type: 'object',
  properties: { format: { type: 'string', description: 'content format by name (tlv, senml-json, senml-cbor, lwm2m-json, lwm2m-cbor, text, opaque, cbor) or number' } },
  additionalProperties: false,
} as const;
const responses = { 200: resultSchema, 202: resultSchema, 400: errorSchema, 404: errorSchema, 502: errorSchema, 504: errorSchema };

export function formatFrom(q: { format?: string }): ContentFormat | undefined {
  if (q.format === undefined) return undefined;
  const f = parseContentFormat(q.format);
  if (f === undefined) throw new ApiError(400, 'BAD_FORMAT', `unknown content format "${q.format}"`);
  return f;
}

function pathOf(params: PathParams, min: number, max: number, what: string): LwM2mPath {
  const path = parsePath(params['*'] ?? '');
  if (path.length < min || path.length > max) throw new ApiError(400, 'BAD_PATH', `${what} needs a path of ${min} to ${max} levels, got "/${params['*'] ?? ''}"`);
  return path;
}

export async function deviceManagementRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;

  app.get<{ Params: PathParams; Querystring: { format?: string } }>('/devices/:endpoint/data/*', {
    config: { role: 'viewer' },
    schema: { summary: 'Read an object, instance, resource or resource instance', params: pathParams, querystring: formatQuery, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 4, 'Read');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'read', path, format: formatFrom(req.query) }));
  });

  const write = (mode: 'replace' | 'update') => async (req: { params: PathParams; query: { format?: string }; body: unknown }, reply: Parameters<typeof sendOutcome>[0]) => {
    const path = pathOf(req.params, mode === 'replace' ? 2 : 2, 4, 'Write');
    const node = nodeFromJson(req.body, path, server.models);
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'write', path, node, mode, format: formatFrom(req.query) }));
  };
  const bodySchema = { type: 'object', additionalProperties: true, description: '{ "value": v } | { "values": { "0": v } } | { "resources": { "1": v } }' } as const;
  app.put<{ Params: PathParams; Querystring: { format?: string }; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Write (replace) an instance, resource or resource instance', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, (req, reply) => write('replace')(req, reply));
  app.patch<{ Params: PathParams; Querystring: { format?: string }; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Write (partial update) an instance or resource', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, (req, reply) => write('update')(req, reply));

  app.post<{ Params: PathParams; Querystring: { format?: string }; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Create an object instance', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 1, 'Create');
    const node = nodeFromJson(req.body, path, server.models);
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'create', path, node, format: formatFrom(req.query) }));
  });

  app.delete<{ Params: PathParams }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Delete an object instance', params: pathParams, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 2, 'Delete');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'delete', path }));
  });

  app.post<{ Params: PathParams; Body: { args?: string } | undefined }>('/devices/:endpoint/execute/*', {
    config: { role: 'operator' },
    schema: {
      summary: 'Execute a resource, with optional arguments (Core §5.4.5: 0=\'v\',1)',
      params: pathParams,
      body: { type: ['object', 'null'], properties: { args: { type: 'string', maxLength: 4096 } }, additionalProperties: false },
      response: responses,
    },
  }, async (req, reply) => {
    const path = pathOf(req.params, 3, 3, 'Execute');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'execute', path, args: req.body?.args }));
  });

  app.get<{ Params: PathParams }>('/devices/:endpoint/discover/*', {
    config: { role: 'viewer' },
    schema: { summary: 'Discover attributes and resources', params: pathParams, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 3, 'Discover');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'discover', path }));
  });

  app.put<{ Params: PathParams; Body: NotificationAttributes }>('/devices/:endpoint/attributes/*', {
    config: { role: 'operator' },
    schema: {
      summary: 'Write-Attributes (pmin, pmax, gt, lt, st, epmin, epmax); null removes one',
      params: pathParams,
      body: {
        type: 'object',
        properties: Object.fromEntries(['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'].map((k) => [k, { type: ['number', 'null'] }])),
        additionalProperties: false,
        minProperties: 1,
      },
      response: responses,
    },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 4, 'Write-Attributes');
    const a = req.body;
    for (const k of ['pmin', 'pmax', 'epmin', 'epmax'] as const) {
      const v = a[k];
      if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) throw new ApiError(400, 'BAD_VALUE', `${k} must be a whole number of seconds`);
    }
    if (typeof a.pmin === 'number' && typeof a.pmax === 'number' && a.pmax < a.pmin) throw new ApiError(400, 'BAD_VALUE', 'pmax must not be less than pmin');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'writeAttributes', path, attributes: a }));
  });

  app.post<{ Params: { endpoint: string }; Querystring: { format?: string }; Body: { paths: string[] } }>('/devices/:endpoint/composite-read', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Composite Read (LwM2M 1.1) of several paths at once',
      params: { type: 'object', properties: { endpoint: { type: 'string' } }, required: ['endpoint'] },
      querystring: formatQuery,
      body: { type: 'object', properties: { paths: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 256 } }, required: ['paths'], additionalProperties: false },
      response: responses,
    },
  }, async (req, reply) => {
    const paths = req.body.paths.map((p) => parsePath(p));
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'compositeRead', paths, format: formatFrom(req.query) }));
  });
}
