// 64-bit integers end to end: a simulated device's Integer resource holds 2^63 - 1 (LwM2M 1.1 TS
// Core Appendix C: Integer is signed 64-bit); the REST API reads it in every content format as the
// decimal string "9223372036854775807" beside its type, and writes taking a JSON number or a
// decimal string reach the device exactly (9007199254740993 is not written as ...992).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';

const INT64_MAX = 2n ** 63n - 1n;
let h: OtaHarness;
let device: SimulatedClient;

beforeAll(async () => {
  h = await startOtaHarness();
  device = await h.client('int64-1', { lwm2mVersion: '1.2', autoUpdate: false }); // 1.2: LwM2M CBOR too
  device.store.setInstance(3442, 0, { 120: INT64_MAX, 125: 2n ** 64n - 1n, 1120: new Map<number, bigint | number>([[0, -(2n ** 63n)], [1, 7]]) });
  await device.update({ withLinks: true });
});
afterAll(async () => h.close());

type ReadBody = { success: boolean; node?: { kind: string; type: string; value?: unknown; values?: Record<string, unknown> } };

async function read(path: string, format: string): Promise<ReadBody> {
  const res = await h.api.inject({ method: 'GET', url: `/devices/int64-1/data/${path}?format=${format}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as ReadBody;
}

async function write(path: string, json: string): Promise<{ statusCode: number; body: string }> {
  const res = await h.api.inject({ method: 'PUT', url: `/devices/int64-1/data/${path}`, headers: { 'content-type': 'application/json' }, payload: json });
  return { statusCode: res.statusCode, body: res.body };
}

describe('64-bit integers through the REST API', () => {
  it('reads 2^63 - 1 exactly in every content format, as a decimal string with its type', async () => {
    for (const format of ['text', 'cbor', 'tlv', 'senml-json', 'senml-cbor', 'lwm2m-json', 'lwm2m-cbor']) {
      const body = await read('3442/0/120', format);
      expect(body.node, format).toEqual({ kind: 'resource', id: 120, type: 'integer', value: '9223372036854775807' });
    }
    const u = await read('3442/0/125', 'senml-cbor');
    expect(u.node).toEqual({ kind: 'resource', id: 125, type: 'unsigned', value: '18446744073709551615' });
    const multi = await read('3442/0/1120', 'tlv');
    expect(multi.node).toEqual({ kind: 'multiResource', id: 1120, type: 'integer', values: { 0: '-9223372036854775808', 1: 7 } });
  });

  it('writes a JSON number or a decimal string exactly, in every format that carries it', async () => {
    const cases: Array<[string, string, bigint | number]> = [
      ['tlv', '{"value": 9007199254740993}', 9007199254740993n],
      ['senml-json', '{"value": "-9223372036854775808"}', -(2n ** 63n)],
      ['senml-cbor', '{"value": 9223372036854775807}', INT64_MAX],
      ['lwm2m-json', '{"value": "9007199254740993"}', 9007199254740993n],
      ['lwm2m-cbor', '{"value": -9007199254740993}', -9007199254740993n],
      ['text', '{"value": -6275414928917528891}', -6275414928917528891n],
      ['cbor', '{"value": 9007199254740991}', 9007199254740991],
    ];
    for (const [format, json, expected] of cases) {
      const w = await write(`3442/0/120?format=${format}`, json);
      expect(w.statusCode, `${format}: ${w.body}`).toBe(200);
      expect(device.store.get([3442, 0, 120]), format).toBe(expected);
    }
    const u = await write('3442/0/125?format=tlv', '{"value": "18446744073709551615"}');
    expect(u.statusCode, u.body).toBe(200);
    expect(device.store.get([3442, 0, 125])).toBe(2n ** 64n - 1n);
  });

  it('records (Send, Composite Read) carry the decimal string with its type', async () => {
    device.store.set([3442, 0, 120], -(2n ** 63n));
    device.store.set([3442, 0, 125], 2n ** 64n - 1n);
    for (const format of [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]) {
      expect(await device.send([[3442, 0, 120], [3442, 0, 125]], format)).toBe(0x44); // 2.04
      const latest = (await h.api.inject({ method: 'GET', url: '/devices/int64-1/send' })).json() as Record<string, { value: unknown; type?: string }>;
      expect(latest['/3442/0/120']).toMatchObject({ value: '-9223372036854775808', type: 'integer' });
      expect(latest['/3442/0/125']).toMatchObject({ value: '18446744073709551615', type: 'unsigned' });
    }
    const cr = await h.api.inject({ method: 'POST', url: '/devices/int64-1/composite-read', payload: { paths: ['/3442/0/120', '/3442/0/125'] } });
    expect(cr.statusCode, cr.body).toBe(200);
    expect(cr.json().records).toEqual([
      { path: '/3442/0/120', value: '-9223372036854775808', type: 'integer' },
      { path: '/3442/0/125', value: '18446744073709551615', type: 'unsigned' },
    ]);
  });

  it('refuses values outside the 64-bit range with 400 before anything is sent', async () => {
    device.store.set([3442, 0, 120], 5);
    for (const json of ['{"value": 9223372036854775808}', '{"value": "-9223372036854775809"}', '{"value": "12a"}', '{"value": 1.5}']) {
      const w = await write('3442/0/120', json);
      expect(w.statusCode, json).toBe(400);
    }
    const neg = await write('3442/0/125', '{"value": -1}');
    expect(neg.statusCode).toBe(400);
    expect(device.store.get([3442, 0, 120])).toBe(5);
  });
});
