import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let dev: SimulatedClient;
const ALL = [112, 110, 11542, 11543, 11544, 60];
const FORMATS = ['tlv', 'senml-json', 'senml-cbor', 'lwm2m-json', 'lwm2m-cbor'];
// the registered Content-Format numbers, written out (OMA LwM2M 1.2 Core §7.3, Table 7.3-1; RFC 8428 §12.3)
const CODE: Record<string, number> = { tlv: 11542, 'senml-json': 110, 'senml-cbor': 112, 'lwm2m-json': 11543, 'lwm2m-cbor': 11544, text: 0, cbor: 60, opaque: 42 };

beforeAll(async () => {
  h = await startHarness();
  dev = await h.client('dm-1', { contentFormats: ALL, lwm2mVersion: '1.2' });
});
afterAll(async () => h.close());

const get = async (url: string) => h.api.inject({ method: 'GET', url });
const send = async (method: 'PUT' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: unknown) => h.api.inject({ method, url, payload: payload as object });

describe('device management (end to end over UDP)', () => {
  it.each(FORMATS)('reads an instance, a resource and a multiple resource in %s', async (format) => {
    const inst = await get(`/devices/dm-1/data/3/0?format=${format}`);
    expect(inst.statusCode).toBe(200);
    const body = inst.json();
    expect(body.success).toBe(true);
    expect(body.contentFormat).toBe(CODE[format]); // the device answered in the format asked for
    const byId = Object.fromEntries(body.node.resources.map((r: { id: number }) => [r.id, r]));
    expect(byId[0].value).toBe('Espressif (simulated)');
    expect(byId[21].value).toBe(520);
    expect(byId[11].values).toEqual({ 0: 0 });
    const res = await get(`/devices/dm-1/data/3/0/2?format=${format}`);
    expect(res.json().node.value).toBe('SN-dm-1');
    expect(res.json().contentFormat).toBe(CODE[format]);
    const multi = await get(`/devices/dm-1/data/4/0/4?format=${format}`);
    expect(multi.json().node.values).toEqual({ 0: '127.0.0.1' });
    expect(multi.json().contentFormat).toBe(CODE[format]);
  });

  it('reads a single resource as text/plain and as CBOR, an object, and refuses text on an instance before sending it', async () => {
    const text = (await get('/devices/dm-1/data/3/0/9?format=text')).json();
    expect(text).toMatchObject({ contentFormat: 0, node: { value: 100 } });
    const cbor = (await get('/devices/dm-1/data/3/0/9?format=cbor')).json();
    expect(cbor).toMatchObject({ contentFormat: 60, node: { value: 100 } });
    const obj = (await get('/devices/dm-1/data/4?format=senml-json')).json();
    expect(obj.node.kind).toBe('object');
    expect(obj.contentFormat).toBe(110);
    expect(obj.node.instances[0].id).toBe(0);
    const bad = await get('/devices/dm-1/data/3/0?format=text');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('FORMAT_CANNOT_CARRY');
  });

  it.each(['tlv', 'senml-cbor', 'senml-json', 'lwm2m-json', 'lwm2m-cbor'])('writes (replace and partial update) in %s', async (format) => {
    const put = await send('PUT', `/devices/dm-1/data/1/0/1?format=${format}`, { value: 1234 });
    expect(put.json()).toMatchObject({ success: true, code: '2.04' });
    expect(dev.lastReceivedFormat).toBe(CODE[format]); // the server wrote in the format asked for
    expect(dev.store.get([1, 0, 1])).toBe(1234);
    const patch = await send('PATCH', `/devices/dm-1/data/3/0?format=${format}`, { resources: { 14: '+02:00', 15: `Europe/${format}` } });
    expect(patch.json().success).toBe(true);
    expect(dev.lastReceivedFormat).toBe(CODE[format]);
    expect(dev.store.get([3, 0, 15])).toBe(`Europe/${format}`);
    expect(dev.store.get([3, 0, 14])).toBe('+02:00');
  });

  it('refuses a write to a read-only resource with the device\'s 4.05 and a bad value with 400', async () => {
    const ro = await send('PUT', '/devices/dm-1/data/3/0/0', { value: 'x' });
    expect(ro.json()).toMatchObject({ success: false, code: '4.05' });
    const bad = await send('PUT', '/devices/dm-1/data/1/0/1', { value: 'not a number' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('BAD_VALUE');
  });

  it('executes with arguments', async () => {
    let got = '';
    dev.store.onExecute(3, 5, (_i, args) => {
      got = args;
    });
    const ex = await send('POST', '/devices/dm-1/execute/3/0/5', { args: "0='factory',1" });
    expect(ex.json()).toMatchObject({ success: true, code: '2.04' });
    expect(got).toBe("0='factory',1");
    const notExec = await send('POST', '/devices/dm-1/execute/3/0/0', {});
    expect(notExec.json().code).toBe('4.05');
  });

  it('discovers an object instance with attributes', async () => {
    await send('PUT', '/devices/dm-1/attributes/3/0/9', { pmin: 5, pmax: 60 });
    const d = (await get('/devices/dm-1/discover/3/0')).json();
    expect(d.success).toBe(true);
    const uris = d.links.map((l: { uri: string }) => l.uri);
    expect(uris).toContain('/3/0/9');
    expect(d.links.find((l: { uri: string }) => l.uri === '/3/0/9').attributes).toMatchObject({ pmin: '5', pmax: '60' });
  });

  it.each([['tlv', 1], ['senml-cbor', 2], ['senml-json', 3]])('creates and deletes a Software Management instance in %s', async (format, id) => {
    const c = await send('POST', `/devices/dm-1/data/9?format=${format}`, { id, resources: { 0: `model-${id}`, 1: '1.0.0' } });
    expect(c.json()).toMatchObject({ success: true, code: '2.01', location: `/9/${id}` });
    expect(dev.store.get([9, id, 0])).toBe(`model-${id}`);
    const d = await send('DELETE', `/devices/dm-1/data/9/${id}`);
    expect(d.json()).toMatchObject({ success: true, code: '2.02' });
    expect(dev.store.instanceIds(9)).not.toContain(id);
    expect((await send('DELETE', `/devices/dm-1/data/9/${id}`)).json().code).toBe('4.04');
  });

  it.each(['senml-json', 'senml-cbor'])('composite-reads several paths in %s', async (format) => {
    const r = await h.api.inject({ method: 'POST', url: `/devices/dm-1/composite-read?format=${format}`, payload: { paths: ['/3/0/0', '/3/0/21', '/4/0/4', '/1/0'] } });
    const body = r.json();
    expect(body.success).toBe(true);
    const byPath = Object.fromEntries(body.records.map((x: { path: string; value: unknown }) => [x.path, x.value]));
    expect(byPath['/3/0/0']).toBe('Espressif (simulated)');
    expect(byPath['/3/0/21']).toBe(520);
    expect(byPath['/4/0/4/0']).toBe('127.0.0.1');
    expect(byPath['/1/0/0']).toBe(123);
  });

  it('falls back to another format when the device answers 4.06, and uses SenML JSON for a client that rejects a missing Accept', async () => {
    await h.client('dm-wakaama', { contentFormats: [110], defaultFormat: 'error' });
    const r = (await get('/devices/dm-wakaama/data/3/0')).json();
    expect(r.success).toBe(true);
    expect(r.contentFormat).toBe(110);
    await h.client('dm-tlv-only', { contentFormats: [11542] });
    const t = (await get('/devices/dm-tlv-only/data/3/0')).json();
    expect(t.contentFormat).toBe(11542);
  });

  it('answers 404 for an unknown device and 504 when the device does not answer', async () => {
    expect((await get('/devices/nobody/data/3/0')).statusCode).toBe(404);
    const silent = await h.client('dm-silent');
    silent.sleep(); // drops everything, not in queue mode: the server times out
    const r = await get('/devices/dm-silent/data/3/0');
    expect(r.statusCode).toBe(504);
    expect(r.json().error).toBe('DEVICE_TIMEOUT');
  });
});
