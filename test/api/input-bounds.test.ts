// Input bounds at the API edge (issue 14 §1): nested or huge JSON gets 400 with a bounded message,
// written values are range-checked against the object model before anything reaches the device,
// and the per-device bounds (requests under way, requests queued for a sleeping device) answer 429.
import { afterEach, describe, expect, it } from 'vitest';
import { jsonDepth } from '../../src/api/json-body.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { startOtaHarness } from '../e2e/ota-harness.ts';
import { testAccess } from '../helpers/access.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const json = { 'content-type': 'application/json' };

describe('JSON bodies', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[[{{{"}]}')).toBe(3);
    expect(jsonDepth('"\\"[[["')).toBe(0);
    expect(jsonDepth('[]')).toBe(1);
  });

  it('a value nested 5,000 deep gets 400 with a short message, and the server keeps serving', async () => {
    h = await startHarness();
    await h.client('nest-1');
    const deep = `{"value":${'['.repeat(5000)}1${']'.repeat(5000)}}`;
    const res = await h.api.inject({ method: 'PUT', url: '/devices/nest-1/data/3/0/14', headers: json, payload: deep });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'BAD_JSON' });
    expect(res.body.length).toBeLessThan(400);
    // 30 levels is still a JSON value (the converter then says what it expected)
    const shallow = `{"value":${'['.repeat(30)}1${']'.repeat(30)}}`;
    const r2 = await h.api.inject({ method: 'PUT', url: '/devices/nest-1/data/3/0/14', headers: json, payload: shallow });
    expect(r2.statusCode).toBe(400);
    expect(r2.json()).toMatchObject({ error: 'BAD_VALUE', message: '/3/0/14: an array is not a valid string' });
    expect((await h.api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('a huge wrong value is named by its kind, never echoed whole; bad JSON gets a bounded message', async () => {
    h = await startHarness();
    await h.client('big-1');
    const res = await h.api.inject({ method: 'PUT', url: '/devices/big-1/data/1/0/1', headers: json, payload: JSON.stringify({ value: 'x'.repeat(200_000) }) });
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(400);
    expect(res.json().message).toMatch(/200000 characters/);
    const bad = await h.api.inject({ method: 'PUT', url: '/devices/big-1/data/1/0/1', headers: json, payload: `{"value": ${'1'.repeat(100_000)}x}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.body.length).toBeLessThan(500);
    const proto = await h.api.inject({ method: 'PUT', url: '/devices/big-1/data/1/0/1', headers: json, payload: '{"__proto__":{"x":1},"value":5}' });
    expect(proto.statusCode).toBe(400);
  });
});

describe('JSON bodies with access control on (the parser the API runs in production)', () => {
  it('bounds nesting, refuses __proto__ and constructor.prototype, and reads 64-bit integers exactly', async () => {
    const t = await testAccess();
    const o = await startOtaHarness({}, { access: t.access });
    try {
      const dev = await o.client('acc-json-1');
      dev.store.setInstance(3442, 0, { 120: 0 });
      await dev.update({ withLinks: true });
      const put = (payload: string) => o.api.inject({ method: 'PUT', url: '/devices/acc-json-1/data/3442/0/120', headers: { ...json, ...t.bearer('operator') }, payload });
      expect((await put(`{"value":${'['.repeat(100)}1${']'.repeat(100)}}`)).json()).toMatchObject({ error: 'BAD_JSON' });
      expect((await put('{"__proto__":{"x":1},"value":5}')).statusCode).toBe(400);
      expect((await put('{"constructor":{"prototype":{"x":1}},"value":5}')).statusCode).toBe(400);
      const exact = await put('{"value": 9007199254740993}');
      expect(exact.statusCode, exact.body).toBe(200);
      expect(dev.store.get([3442, 0, 120])).toBe(9007199254740993n); // fastify's default parser made it ...992
      expect((await put('')).statusCode).toBe(400); // an empty body is no body: "give { value }"
    } finally {
      await o.close();
    }
  });
});

describe('written values against the object model', () => {
  it('a lifetime of -5 (units s), an Integer past 64 bits or a value outside its RangeEnumeration gets 400 and nothing is sent', async () => {
    h = await startHarness();
    const dev = await h.client('range-1');
    const lifetime = dev.store.get([1, 0, 1]);
    const sentBefore = h.server.endpoint.stats.datagramsOut;
    const cases: [string, unknown, RegExp][] = [
      ['/1/0/1', -5, /negative duration/],
      ['/1/0/0', 0, /outside 1\.\.65534/], // Short Server ID, RangeEnumeration 1..65534
      ['/1/0/0', 70000, /outside 1\.\.65534/],
      ['/3/0/9', 101, /outside 0\.\.100/], // Battery Level 0..100 (not writable, still checked first)
      ['/1/0/1', 2 ** 64, /64-bit Integer/],
    ];
    for (const [path, value, why] of cases) {
      const res = await h.api.inject({ method: 'PUT', url: `/devices/range-1/data${path}`, headers: json, payload: JSON.stringify({ value }) });
      expect(res.statusCode, `${path} ${value}`).toBe(400);
      expect(res.json().message, path).toMatch(why);
    }
    expect(h.server.endpoint.stats.datagramsOut).toBe(sentBefore);
    expect(dev.store.get([1, 0, 1])).toBe(lifetime);
    // inside the range it goes out and the device takes it
    const ok = await h.api.inject({ method: 'PUT', url: '/devices/range-1/data/1/0/1', headers: json, payload: JSON.stringify({ value: 120 }) });
    expect(ok.statusCode).toBe(200);
    expect(dev.store.get([1, 0, 1])).toBe(120);
  });
});

describe('per-device request bounds', () => {
  it('requests under way to one device past the bound get 429 with Retry-After', async () => {
    h = await startHarness({ maxPendingPerDevice: 2 });
    const dev = await h.client('busy-1');
    dev.faults.latencyMs = 400;
    const codes = await Promise.all([0, 1, 2, 3].map(() => h!.api.inject({ method: 'GET', url: '/devices/busy-1/data/3/0/0' }).then((r) => r)));
    const statuses = codes.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = codes.find((r) => r.statusCode === 429)!;
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json()).toMatchObject({ error: 'TOO_MANY_REQUESTS' });
    dev.faults.latencyMs = 0;
    expect((await h.api.inject({ method: 'GET', url: '/devices/busy-1/data/3/0/0' })).statusCode).toBe(200);
  });

  it('requests queued for a sleeping device past the bound get 429', async () => {
    h = await startHarness({ maxQueuedPerDevice: 3, awakeTimeMs: 200 });
    const dev = await h.client('sleepy-1', { queueMode: true });
    dev.sleep();
    await h.waitFor((e) => e.type === 'sleeping' && e.endpoint === 'sleepy-1');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await h.api.inject({ method: 'GET', url: '/devices/sleepy-1/data/3/0/0' })).statusCode);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(h.server.limitRejections()['queued-per-device']).toBe(2);
  });
});
