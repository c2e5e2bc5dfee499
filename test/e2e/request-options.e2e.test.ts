// The API refuses a content format that cannot carry the target before anything is sent, and
// bounds the wait for a device per request (?timeout=).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('format refusal and ?timeout=', () => {
  it('refuses text, cbor and opaque on an instance or object with 400, sending nothing', async () => {
    const dev = await h.client('fmt-1');
    const served = dev.stats.requestsServed;
    for (const [url, format] of [['/devices/fmt-1/data/3/0', 'text'], ['/devices/fmt-1/data/3', 'cbor'], ['/devices/fmt-1/data/3/0', 'opaque']] as const) {
      const r = await h.api.inject({ method: 'GET', url: `${url}?format=${format}` });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ error: 'FORMAT_CANNOT_CARRY' });
    }
    const w = await h.api.inject({ method: 'PUT', url: '/devices/fmt-1/data/1/0?format=text', payload: { resources: { 1: 300 } } });
    expect(w.statusCode).toBe(400);
    expect(dev.stats.requestsServed).toBe(served);
    // the same formats on a single resource go out
    const ok = await h.api.inject({ method: 'GET', url: '/devices/fmt-1/data/3/0/0?format=text' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ success: true, contentFormat: 0 });
  });

  it('refuses LwM2M CBOR to a 1.1 device and CBOR to a 1.0 device; a 1.2 device gets LwM2M CBOR', async () => {
    await h.client('ver-10', { lwm2mVersion: '1.0' });
    await h.client('ver-11', { lwm2mVersion: '1.1' });
    await h.client('ver-12', { lwm2mVersion: '1.2' });
    const l11 = await h.api.inject({ method: 'GET', url: '/devices/ver-11/data/3/0?format=lwm2m-cbor' });
    expect(l11.statusCode).toBe(400);
    expect(l11.json()).toMatchObject({ error: 'FORMAT_NOT_IN_VERSION', message: expect.stringMatching(/1\.2/) });
    const c10 = await h.api.inject({ method: 'GET', url: '/devices/ver-10/data/3/0/0?format=cbor' });
    expect(c10.statusCode).toBe(400);
    const l12 = await h.api.inject({ method: 'GET', url: '/devices/ver-12/data/3/0?format=lwm2m-cbor' });
    expect(l12.statusCode).toBe(200);
    expect(l12.json()).toMatchObject({ success: true, contentFormat: 11544 });
  });

  it('?timeout= bounds the wait for a silent device (504 within it, not the server default)', async () => {
    const dev = await h.client('silent-1');
    await dev.stop(); // registered, but answers nothing
    const t0 = Date.now();
    const r = await h.api.inject({ method: 'GET', url: '/devices/silent-1/data/3/0/0?timeout=400' });
    const elapsed = Date.now() - t0;
    expect(r.statusCode).toBe(504);
    expect(elapsed).toBeLessThan(3000); // the harness default is 8000 ms
    expect((await h.api.inject({ method: 'GET', url: '/devices/silent-1/data/3/0/0?timeout=5' })).statusCode).toBe(400);
  });
});
