// Device management on any path (LwM2M 1.1 TS Core §6.3): read, write, execute, discover,
// create, delete, write-attributes, composite read. Paths come after the operation's prefix.
import type { FastifyInstance } from 'fastify';
import { supportsLevel } from '../../lwm2m/codec.ts';
import { ContentFormat, parseContentFormat } from '../../lwm2m/content-format.ts';
import { parsePath, type LwM2mPath } from '../../lwm2m/path.ts';
import type { NotificationAttributes, RequestLimits } from '../../request/downlink-request.ts';
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
/** ?timeout=: how long to wait for the device, ms (default: the server's --request-timeout, 60 s) */
const timeoutProperty = { type: 'integer', minimum: 100, maximum: 600_000, description: 'ms to wait for the device (default: the server\'s request timeout, 60000)' } as const;
const formatQuery = {
  type: 'object',
  properties: {
    format: { type: 'string', description: 'content format by name (tlv, senml-json, senml-cbor, lwm2m-json, lwm2m-cbor, text, opaque, cbor) or number' },
    timeout: timeoutProperty,
  },
  additionalProperties: false,
} as const;
const timeoutQuery = { type: 'object', properties: { timeout: timeoutProperty }, additionalProperties: false } as const;
type Query = { format?: string; timeout?: number };

function limits(q: { timeout?: number }): RequestLimits {
  return q.timeout === undefined ? {} : { timeoutMs: q.timeout };
}
const responses = { 200: resultSchema, 202: resultSchema, 400: errorSchema, 404: errorSchema, 502: errorSchema, 504: errorSchema };

export function formatFrom(q: { format?: string }): ContentFormat | undefined {
  if (q.format === undefined) return undefined;
  const f = parseContentFormat(q.format);
  if (f === undefined) throw new ApiError(400, 'BAD_FORMAT', `unknown content format "${q.format}"`);
  return f;
}

/**
 * A format that cannot carry the target is refused before anything is sent: text/plain, CBOR and
 * opaque carry one resource value only (Core §7.3, LWM2M-NOTES); plain CBOR (60) exists from
 * LwM2M 1.1 and LwM2M CBOR (11544) from 1.2 (Core 1.2 §7.4.6), so a device registered with an
 * older version cannot be asked for them.
 */
async function checkFormat(server: LwM2mServer, endpoint: string, paths: LwM2mPath[], format: ContentFormat | undefined): Promise<void> {
  if (format === undefined) return;
  for (const path of paths) {
    if (!supportsLevel(format, path, server.models)) {
      throw new ApiError(400, 'FORMAT_CANNOT_CARRY', `content format ${format} cannot carry /${path.join('/')}: text, cbor and opaque carry a single resource value`);
    }
  }
  const since = format === ContentFormat.LWM2M_CBOR ? '1.2' : format === ContentFormat.CBOR ? '1.1' : undefined;
  if (since !== undefined) {
    const reg = await server.registration(endpoint);
    if (Number(reg.lwm2mVersion) < Number(since)) throw new ApiError(400, 'FORMAT_NOT_IN_VERSION', `content format ${format} exists from LwM2M ${since}; ${endpoint} registered with ${reg.lwm2mVersion}`);
  }
}

function pathOf(params: PathParams, min: number, max: number, what: string): LwM2mPath {
  const path = parsePath(params['*'] ?? '');
  if (path.length < min || path.length > max) throw new ApiError(400, 'BAD_PATH', `${what} needs a path of ${min} to ${max} levels, got "/${params['*'] ?? ''}"`);
  return path;
}

export async function deviceManagementRoutes(app: FastifyInstance, opts: { server: LwM2mServer }): Promise<void> {
  const { server } = opts;

  app.get<{ Params: PathParams; Querystring: Query }>('/devices/:endpoint/data/*', {
    config: { role: 'viewer' },
    schema: { summary: 'Read an object, instance, resource or resource instance', params: pathParams, querystring: formatQuery, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 4, 'Read');
    const format = formatFrom(req.query);
    await checkFormat(server, req.params.endpoint, [path], format);
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'read', path, format, ...limits(req.query) }));
  });

  const write = (mode: 'replace' | 'update') => async (req: { params: PathParams; query: Query; body: unknown }, reply: Parameters<typeof sendOutcome>[0]) => {
    const path = pathOf(req.params, mode === 'replace' ? 2 : 2, 4, 'Write');
    const node = nodeFromJson(req.body, path, server.models);
    const format = formatFrom(req.query);
    await checkFormat(server, req.params.endpoint, [path], format);
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'write', path, node, mode, format, ...limits(req.query) }));
  };
  const bodySchema = { type: 'object', additionalProperties: true, description: '{ "value": v } | { "values": { "0": v } } | { "resources": { "1": v } }' } as const;
  app.put<{ Params: PathParams; Querystring: Query; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Write (replace) an instance, resource or resource instance', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, (req, reply) => write('replace')(req, reply));
  app.patch<{ Params: PathParams; Querystring: Query; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Write (partial update) an instance or resource', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, (req, reply) => write('update')(req, reply));

  app.post<{ Params: PathParams; Querystring: Query; Body: unknown }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Create an object instance', params: pathParams, querystring: formatQuery, body: bodySchema, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 1, 'Create');
    const node = nodeFromJson(req.body, path, server.models);
    const format = formatFrom(req.query);
    await checkFormat(server, req.params.endpoint, [path], format);
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'create', path, node, format, ...limits(req.query) }));
  });

  app.delete<{ Params: PathParams; Querystring: Query }>('/devices/:endpoint/data/*', {
    config: { role: 'operator' },
    schema: { summary: 'Delete an object instance', params: pathParams, querystring: timeoutQuery, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 2, 'Delete');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'delete', path, ...limits(req.query) }));
  });

  app.post<{ Params: PathParams; Querystring: Query; Body: { args?: string } | undefined }>('/devices/:endpoint/execute/*', {
    config: { role: 'operator' },
    schema: {
      summary: 'Execute a resource, with optional arguments (Core §5.4.5: 0=\'v\',1)',
      params: pathParams,
      querystring: timeoutQuery,
      body: { type: ['object', 'null'], properties: { args: { type: 'string', maxLength: 4096 } }, additionalProperties: false },
      response: responses,
    },
  }, async (req, reply) => {
    const path = pathOf(req.params, 3, 3, 'Execute');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'execute', path, args: req.body?.args, ...limits(req.query) }));
  });

  app.get<{ Params: PathParams; Querystring: Query }>('/devices/:endpoint/discover/*', {
    config: { role: 'viewer' },
    schema: { summary: 'Discover attributes and resources', params: pathParams, querystring: timeoutQuery, response: responses },
  }, async (req, reply) => {
    const path = pathOf(req.params, 1, 3, 'Discover');
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'discover', path, ...limits(req.query) }));
  });

  app.put<{ Params: PathParams; Querystring: Query; Body: NotificationAttributes }>('/devices/:endpoint/attributes/*', {
    config: { role: 'operator' },
    schema: {
      summary: 'Write-Attributes (pmin, pmax, gt, lt, st, epmin, epmax); null removes one',
      params: pathParams,
      querystring: timeoutQuery,
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
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'writeAttributes', path, attributes: a, ...limits(req.query) }));
  });

  app.post<{ Params: { endpoint: string }; Querystring: Query; Body: { paths: string[] } }>('/devices/:endpoint/composite-read', {
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
    return sendOutcome(reply, await server.request(req.params.endpoint, { kind: 'compositeRead', paths, format: formatFrom(req.query), ...limits(req.query) }));
  });
}
