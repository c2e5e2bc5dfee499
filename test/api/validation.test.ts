// The API's error edge (STYLE.md: HTTP status + `{ error, message, details }`): every bad call
// gets the documented shape and the right status, and /openapi.json describes the routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import type { LightMyRequestResponse } from 'fastify';
import { Code, type CoapMessage } from '../../src/coap/message.ts';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';

let live: LiveServer;

beforeAll(async () => {
  live = await startLiveServer();
});

afterAll(async () => {
  await live?.close();
});

type Call = { method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE'; url: string; body?: string; contentType?: string };

async function call(c: Call): Promise<LightMyRequestResponse> {
  return live.api.inject({
    method: c.method, url: c.url, payload: c.body,
    headers: c.contentType ? { 'content-type': c.contentType } : c.body !== undefined ? { 'content-type': 'application/json' } : {},
  });
}

/** Asserts the documented error body: exactly error (a code), message, details. */
function expectErrorShape(res: LightMyRequestResponse, status: number, error?: string | RegExp): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body).sort(), res.body).toEqual(['details', 'error', 'message']);
  expect(typeof body.error).toBe('string');
  // a machine-readable code, not an HTTP reason phrase ("Bad Request")
  expect(body.error).toMatch(/^[A-Z][A-Z0-9_]+$/);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  if (error instanceof RegExp) expect(body.error).toMatch(error);
  else if (error !== undefined) expect(body.error).toBe(error);
  return body;
}

describe('unknown devices: 404 DEVICE_NOT_FOUND', () => {
  const calls: Call[] = [
    { method: 'GET', url: '/devices/ghost' },
    { method: 'DELETE', url: '/devices/ghost' },
    { method: 'GET', url: '/devices/ghost/send' },
    { method: 'GET', url: '/devices/ghost/data/3/0/1' },
    { method: 'PUT', url: '/devices/ghost/data/3/0/14', body: JSON.stringify({ value: '+01:00' }) },
    { method: 'DELETE', url: '/devices/ghost/data/3303/0' },
    { method: 'POST', url: '/devices/ghost/execute/3/0/4', body: '{}' },
    { method: 'GET', url: '/devices/ghost/discover/3' },
    { method: 'PUT', url: '/devices/ghost/attributes/3/0/9', body: JSON.stringify({ pmin: 10, pmax: 60 }) },
    { method: 'POST', url: '/devices/ghost/composite-read', body: JSON.stringify({ paths: ['/3/0/0', '/1/0'] }) },
    { method: 'POST', url: '/devices/ghost/observations', body: JSON.stringify({ path: '/3/0/9' }) },
  ];
  for (const c of calls) {
    it(`${c.method} ${c.url}`, async () => {
      const body = expectErrorShape(await call(c), 404, 'DEVICE_NOT_FOUND');
      expect(body.message).toContain('ghost');
    });
  }

  it('DELETE of an unknown observation is 404 OBSERVATION_NOT_FOUND', async () => {
    expectErrorShape(await call({ method: 'DELETE', url: '/devices/ghost/observations/abc' }), 404, 'OBSERVATION_NOT_FOUND');
  });

  it('GET of an unknown queued request is 404 REQUEST_NOT_FOUND', async () => {
    expectErrorShape(await call({ method: 'GET', url: '/requests/0123456789abcdef' }), 404, 'REQUEST_NOT_FOUND');
  });
});

describe('bad paths: 400 BAD_PATH', () => {
  const calls: [string, Call][] = [
    ['a non-numeric segment', { method: 'GET', url: '/devices/x/data/abc' }],
    ['5 levels', { method: 'GET', url: '/devices/x/data/1/2/3/4/5' }],
    ['no path', { method: 'GET', url: '/devices/x/data/' }],
    ['id 65535 (reserved)', { method: 'GET', url: '/devices/x/data/65535' }],
    ['a negative id', { method: 'GET', url: '/devices/x/data/3/-1' }],
    ['an object path for Write', { method: 'PUT', url: '/devices/x/data/3', body: JSON.stringify({ resources: {} }) }],
    ['an instance path for Create', { method: 'POST', url: '/devices/x/data/3303/0', body: JSON.stringify({ resources: {} }) }],
    ['a resource path for Delete', { method: 'DELETE', url: '/devices/x/data/3/0/1' }],
    ['an instance path for Execute', { method: 'POST', url: '/devices/x/execute/3/0', body: '{}' }],
    ['a resource-instance path for Discover', { method: 'GET', url: '/devices/x/discover/3/0/1/2' }],
    ['a bad composite-read path', { method: 'POST', url: '/devices/x/composite-read', body: JSON.stringify({ paths: ['/3/0/0', 'abc'] }) }],
    ['a bad observation path', { method: 'POST', url: '/devices/x/observations', body: JSON.stringify({ path: '/3/0/x' }) }],
  ];
  for (const [name, c] of calls) {
    it(`${name}: ${c.method} ${c.url}`, async () => {
      expectErrorShape(await call(c), 400, 'BAD_PATH');
    });
  }

  it('a path longer than the schema allows is 400 VALIDATION', async () => {
    expectErrorShape(await call({ method: 'GET', url: `/devices/x/data/${'1/'.repeat(40)}` }), 400, 'VALIDATION');
  });
});

describe('bad bodies and queries: 400', () => {
  const calls: [string, Call, string | RegExp][] = [
    ['invalid JSON', { method: 'PUT', url: '/devices/x/data/3/0/14', body: '{bad' }, /JSON/],
    ['a JSON string for a write body', { method: 'PUT', url: '/devices/x/data/3/0/14', body: '"+01:00"' }, 'VALIDATION'],
    ['a value of the wrong type for the resource', { method: 'PUT', url: '/devices/x/data/3/0/14', body: JSON.stringify({ value: 1 }) }, 'BAD_VALUE'],
    ['no attributes', { method: 'PUT', url: '/devices/x/attributes/3/0/9', body: '{}' }, 'VALIDATION'],
    ['an attribute that is not a number', { method: 'PUT', url: '/devices/x/attributes/3/0/9', body: JSON.stringify({ pmin: 'soon' }) }, 'VALIDATION'],
    ['an unknown attribute', { method: 'PUT', url: '/devices/x/attributes/3/0/9', body: JSON.stringify({ step: 1 }) }, 'VALIDATION'],
    ['pmax < pmin', { method: 'PUT', url: '/devices/x/attributes/3/0/9', body: JSON.stringify({ pmin: 60, pmax: 10 }) }, 'BAD_VALUE'],
    ['a fractional pmin', { method: 'PUT', url: '/devices/x/attributes/3/0/9', body: JSON.stringify({ pmin: 1.5 }) }, 'BAD_VALUE'],
    ['an empty composite-read', { method: 'POST', url: '/devices/x/composite-read', body: JSON.stringify({ paths: [] }) }, 'VALIDATION'],
    ['composite-read without paths', { method: 'POST', url: '/devices/x/composite-read', body: '{}' }, 'VALIDATION'],
    ['an unknown execute property', { method: 'POST', url: '/devices/x/execute/3/0/4', body: JSON.stringify({ argv: 'x' }) }, 'VALIDATION'],
    ['an observation without path', { method: 'POST', url: '/devices/x/observations', body: '{}' }, 'VALIDATION'],
    ['an unknown /devices filter', { method: 'GET', url: '/devices?colour=red' }, 'VALIDATION'],
    ['limit=0', { method: 'GET', url: '/devices?limit=0' }, 'VALIDATION'],
    ['object=70000', { method: 'GET', url: '/devices?object=70000' }, 'VALIDATION'],
    ['a malformed request id', { method: 'GET', url: '/requests/not-an-id' }, 'VALIDATION'],
  ];
  for (const [name, c, error] of calls) {
    it(`${name}: ${c.method} ${c.url}`, async () => {
      expectErrorShape(await call(c), 400, error);
    });
  }

  it('VALIDATION errors carry the validator findings in details', async () => {
    const body = expectErrorShape(await call({ method: 'GET', url: '/devices?limit=0' }), 400, 'VALIDATION');
    expect(Array.isArray(body.details)).toBe(true);
    expect((body.details as { instancePath: string }[])[0]!.instancePath).toBe('/limit');
  });

  it('a body over the limit is 413 in the same shape', async () => {
    expectErrorShape(await call({ method: 'PUT', url: '/devices/x/data/3/0/14', body: JSON.stringify({ value: 'a'.repeat(1_100_000) }) }), 413);
  });

  it('a body of another media type is 415 in the same shape', async () => {
    expectErrorShape(await call({ method: 'PUT', url: '/devices/x/data/3/0/14', body: '<value/>', contentType: 'application/xml' }), 415);
  });
});

describe('bad format names: 400 BAD_FORMAT', () => {
  for (const c of [
    { method: 'GET', url: '/devices/x/data/3/0?format=xml' },
    { method: 'GET', url: '/devices/x/data/3/0?format=99' },
    { method: 'PUT', url: '/devices/x/data/3/0/14?format=yaml', body: JSON.stringify({ value: '+01:00' }) },
    { method: 'POST', url: '/devices/x/composite-read?format=protobuf', body: JSON.stringify({ paths: ['/3/0'] }) },
    { method: 'POST', url: '/devices/x/observations', body: JSON.stringify({ path: '/3/0/9', format: 'xml' }) },
  ] as Call[]) {
    it(`${c.method} ${c.url}`, async () => {
      const body = expectErrorShape(await call(c), 400, 'BAD_FORMAT');
      expect(body.message).toMatch(/unknown content format/);
    });
  }

  it('a format that exists but is unknown as a name is rejected before the device is looked up', async () => {
    // the device does not exist, yet the bad input is reported first (400, not 404)
    expectErrorShape(await call({ method: 'GET', url: '/devices/ghost/data/3/0/0?format=senml' }), 400, 'BAD_FORMAT');
  });
});

describe('unknown routes and malformed URLs', () => {
  for (const c of [
    { method: 'GET', url: '/nope' },
    { method: 'GET', url: '/devices/x/frobnicate/3/0' },
    { method: 'PATCH', url: '/devices' },
    { method: 'GET', url: '/devices/x/execute/3/0/4' },
  ] as Call[]) {
    it(`${c.method} ${c.url} is 404 NOT_FOUND`, async () => {
      expectErrorShape(await call(c), 404, 'NOT_FOUND');
    });
  }

  it('a URL with broken percent-encoding is 400 in the documented shape', async () => {
    // fastify answers this before routing (FST_ERR_BAD_URL); it must still come out as { error, message, details }
    expectErrorShape(await call({ method: 'GET', url: '/devices/%ZZ' }), 400);
  });

  it('a device whose endpoint name is 150 characters long (allowed: up to 255) can be looked up', async () => {
    // the registration interface accepts ep up to 255 bytes, the route schema says maxLength 255
    const endpoint = `urn:dev:${'x'.repeat(142)}`;
    expect(endpoint).toHaveLength(150);
    await live.server.registrations.register({
      endpoint, lwm2mVersion: '1.1', lifetime: 60, binding: 'U', queueMode: false, rootPath: '', objectLinks: [],
      contentFormats: [], objectVersions: {}, address: { address: '127.0.0.1', port: 1 }, additional: {},
    });
    const res = await call({ method: 'GET', url: `/devices/${encodeURIComponent(endpoint)}` });
    expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
    expect(res.json<{ endpoint: string }>().endpoint).toBe(endpoint);
  });

  it('an endpoint name over 255 characters is rejected in the documented shape', async () => {
    const res = await call({ method: 'GET', url: `/devices/${'a'.repeat(300)}` });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expectErrorShape(res, res.statusCode);
  });
});

// ------------------------------------------------------------------ devices that misbehave

type DeviceMode = 'silent' | 'reset' | 'garbage' | 'not-found';

/** A registered "device" on a raw socket that answers every request the way `mode` says. */
async function fakeDevice(server: LiveServer, endpoint: string, mode: DeviceMode): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  socket.on('message', (raw, rinfo) => {
    let req: CoapMessage;
    try {
      req = parseMessage(raw);
    } catch {
      return;
    }
    if (req.type !== 'CON' || req.code === 0 || req.code > 31) return;
    const answer = (m: Omit<CoapMessage, 'messageId'>): void => socket.send(serializeMessage({ ...m, messageId: req.messageId }), rinfo.port, rinfo.address);
    switch (mode) {
      case 'silent': return;
      case 'reset': return answer({ type: 'RST', code: 0, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) });
      case 'garbage': return answer({ type: 'ACK', code: Code.CONTENT, token: req.token, options: [{ number: 12, value: Buffer.from([0x2d, 0x16]) }], payload: Buffer.from([0xc8, 0x00, 0x50, 0x01]) });
      case 'not-found': return answer({ type: 'ACK', code: Code.NOT_FOUND, token: req.token, options: [], payload: Buffer.alloc(0) });
    }
  });
  await server.server.registrations.register({
    endpoint, lwm2mVersion: '1.1', lifetime: 300, binding: 'U', queueMode: false, rootPath: '',
    objectLinks: [{ path: [3, 0], attributes: {} }], contentFormats: [11542], objectVersions: {},
    address: { address: '127.0.0.1', port: socket.address().port }, additional: {},
  });
  return socket;
}

describe('devices that misbehave: 5xx in the documented shape', () => {
  let fast: LiveServer;
  const sockets: dgram.Socket[] = [];
  beforeAll(async () => {
    fast = await startLiveServer({ timing: { ackTimeoutMs: 100, maxRetransmit: 1, requestTimeoutMs: 1500 }, requestTimeoutMs: 1500 });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await fast?.close();
  });

  const get = (ep: string): Promise<LightMyRequestResponse> => fast.api.inject({ method: 'GET', url: `/devices/${ep}/data/3/0/0?format=tlv` });

  it('a device that never answers: 504 DEVICE_TIMEOUT', async () => {
    sockets.push(await fakeDevice(fast, 'silent-1', 'silent'));
    expectErrorShape(await get('silent-1'), 504, 'DEVICE_TIMEOUT');
  });

  it('a device that answers RST: 502 DEVICE_RESET', async () => {
    sockets.push(await fakeDevice(fast, 'reset-1', 'reset'));
    expectErrorShape(await get('reset-1'), 502, 'DEVICE_RESET');
  });

  it('a device that answers an undecodable payload: 502 BAD_RESPONSE', async () => {
    sockets.push(await fakeDevice(fast, 'garbage-1', 'garbage'));
    expectErrorShape(await get('garbage-1'), 502, 'BAD_RESPONSE');
  });

  it('a device error (4.04) is an answer, not an API failure: 200 with success=false', async () => {
    sockets.push(await fakeDevice(fast, 'nf-1', 'not-found'));
    const res = await get('nf-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ code: '4.04', success: false });
  });
});

// ------------------------------------------------------------------ OpenAPI

type Operation = { summary?: string; parameters?: { in: string; name: string; required?: boolean; schema?: unknown }[]; responses?: Record<string, unknown>; requestBody?: unknown };
type OpenApiDoc = { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>>; components?: unknown };

describe('/openapi.json', () => {
  let doc: OpenApiDoc;
  beforeAll(async () => {
    const res = await live.api.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<OpenApiDoc>();
  });

  it('is an OpenAPI 3 document with info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(doc.info.title.length).toBeGreaterThan(0);
    expect(typeof doc.info.version).toBe('string');
    expect(typeof doc.paths).toBe('object');
  });

  it('lists every documented route with its methods', () => {
    const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p.replace(/\{\*\}$/, '*')}`));
    for (const expected of [
      'GET /devices', 'GET /devices/{endpoint}', 'DELETE /devices/{endpoint}',
      'GET /devices/{endpoint}/data/*', 'PUT /devices/{endpoint}/data/*', 'PATCH /devices/{endpoint}/data/*',
      'POST /devices/{endpoint}/data/*', 'DELETE /devices/{endpoint}/data/*',
      'POST /devices/{endpoint}/execute/*', 'GET /devices/{endpoint}/discover/*', 'PUT /devices/{endpoint}/attributes/*',
      'POST /devices/{endpoint}/composite-read',
      'POST /devices/{endpoint}/observations', 'GET /devices/{endpoint}/observations', 'DELETE /devices/{endpoint}/observations/{id}',
      'GET /requests/{id}', 'GET /events', 'GET /health',
    ]) {
      expect(ops, expected).toContain(expected);
    }
    // the document itself is hidden
    expect(Object.keys(doc.paths)).not.toContain('/openapi.json');
  });

  it('every operation is well formed: known method, responses, declared path parameters', () => {
    const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
    for (const [p, item] of Object.entries(doc.paths)) {
      expect(p.startsWith('/'), p).toBe(true);
      const templated = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      for (const [method, op] of Object.entries(item)) {
        expect(methods.has(method), `${method} ${p}`).toBe(true);
        expect(op.responses && Object.keys(op.responses).length, `${method} ${p} responses`).toBeGreaterThan(0);
        for (const code of Object.keys(op.responses!)) expect(code, `${method} ${p}`).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        // OpenAPI 3: each template expression is a required path parameter, and no others
        const pathParams = (op.parameters ?? []).filter((x) => x.in === 'path');
        expect(pathParams.map((x) => x.name).sort(), `${method} ${p}`).toEqual([...templated].sort());
        for (const x of pathParams) expect(x.required, `${method} ${p} ${x.name}`).toBe(true);
        for (const x of op.parameters ?? []) expect(['path', 'query', 'header', 'cookie']).toContain(x.in);
      }
    }
  });

  it('documents the error shape on 4xx responses of the device routes', () => {
    const op = doc.paths['/devices/{endpoint}']!.get!;
    const notFound = op.responses!['404'] as { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
    const schema = notFound.content?.['application/json']?.schema;
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(['details', 'error', 'message']);
  });
});
