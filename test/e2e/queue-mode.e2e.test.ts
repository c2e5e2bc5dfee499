import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { waitUntil } from '../support/wait.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ awakeTimeMs: 600 });
});
afterAll(async () => h.close());

describe('queue mode (end to end over UDP)', () => {
  it('sends at once while the device is awake, queues while it sleeps, delivers when it wakes', async () => {
    const dev = await h.client('q-1', { queueMode: true, awakeTimeMs: 600, autoUpdate: false });
    const reg = (await h.api.inject({ method: 'GET', url: '/devices/q-1' })).json();
    expect(reg.queueMode).toBe(true);
    expect(reg.awake).toBe(true);
    const now = await h.api.inject({ method: 'GET', url: '/devices/q-1/data/3/0/0' });
    expect(now.statusCode).toBe(200);

    await waitUntil('the device to fall asleep', () => dev.isAsleep);
    await h.waitFor((e) => e.type === 'sleeping' && e.endpoint === 'q-1');
    const served = dev.stats.requestsServed;
    const write = await h.api.inject({ method: 'PUT', url: '/devices/q-1/data/1/0/1', payload: { value: 555 } });
    expect(write.statusCode).toBe(202);
    const { requestId, poll } = write.json();
    const read = await h.api.inject({ method: 'GET', url: '/devices/q-1/data/1/0/1' });
    expect(read.statusCode).toBe(202);
    expect((await h.api.inject({ method: 'GET', url: poll })).json().status).toBe('queued');
    expect(dev.stats.requestsServed).toBe(served); // nothing reached the sleeping device

    await dev.update(); // the device wakes up and says so
    await h.waitFor((e) => e.type === 'request' && e.requestId === read.json().requestId && e.status === 'done');
    const done = (await h.api.inject({ method: 'GET', url: `/requests/${requestId}` })).json();
    expect(done.status).toBe('done');
    expect(done.result.success).toBe(true);
    expect(dev.store.get([1, 0, 1])).toBe(555);
    const readDone = (await h.api.inject({ method: 'GET', url: `/requests/${read.json().requestId}` })).json();
    expect(readDone.result.node.value).toBe(555); // queued in order: the write went first
  });

  it('fails queued requests when the device de-registers', async () => {
    const dev = await h.client('q-2', { queueMode: true, awakeTimeMs: 300, autoUpdate: false });
    await h.waitFor((e) => e.type === 'sleeping' && e.endpoint === 'q-2');
    const r = await h.api.inject({ method: 'GET', url: '/devices/q-2/data/3/0/0' });
    expect(r.statusCode).toBe(202);
    dev.wake();
    await dev.deregister();
    const st = await waitUntil('the queued request to fail', async () => {
      const s = (await h.api.inject({ method: 'GET', url: `/requests/${r.json().requestId}` })).json();
      return s.status !== 'queued' ? s : undefined;
    });
    expect(st.status).toBe('failed');
    expect(st.error.code).toBe('DEVICE_NOT_FOUND');
  });

  it('queues an Observe and its cancellation for a sleeping device (202); both happen when it wakes', async () => {
    const dev = await h.client('q-obs', { queueMode: true, awakeTimeMs: 300, autoUpdate: false });
    await h.waitFor((e) => e.type === 'sleeping' && e.endpoint === 'q-obs');
    const served = dev.stats.requestsServed;
    const obs = await h.api.inject({ method: 'POST', url: '/devices/q-obs/observations', payload: { path: '/3/0/9' } });
    expect(obs.statusCode).toBe(202);
    expect(obs.json()).toMatchObject({ queued: true, requestId: expect.any(String) });
    expect((await h.api.inject({ method: 'GET', url: '/devices/q-obs/observations' })).json()).toEqual([]);
    expect(dev.stats.requestsServed).toBe(served); // nothing reached the sleeping device
    await dev.update(); // wakes up
    await h.waitFor((e) => e.type === 'request' && e.requestId === obs.json().requestId && e.status === 'done');
    const q = (await h.api.inject({ method: 'GET', url: `/requests/${obs.json().requestId}` })).json();
    expect(q).toMatchObject({ kind: 'observe', status: 'done', result: { success: true, code: '2.05', observationId: expect.any(String) } });
    const list = (await h.api.inject({ method: 'GET', url: '/devices/q-obs/observations' })).json() as { id: string; path: string }[];
    expect(list).toEqual([expect.objectContaining({ id: q.result.observationId, path: '/3/0/9' })]);
    // a notification of the established observation arrives
    dev.store.set([3, 0, 9], 42);
    await h.waitFor((e) => e.type === 'notification' && e.endpoint === 'q-obs' && e.path === '/3/0/9');
    // asleep again (the server says so): the cancellation waits for the next wake-up too
    await expect.poll(async () => (await h.api.inject({ method: 'GET', url: '/devices/q-obs' })).json().awake, { timeout: 10_000 }).toBe(false);
    const cancel = await h.api.inject({ method: 'DELETE', url: `/devices/q-obs/observations/${q.result.observationId}` });
    expect(cancel.statusCode).toBe(202);
    expect((await h.api.inject({ method: 'GET', url: '/devices/q-obs/observations' })).json()).toHaveLength(1);
    await dev.update();
    await h.waitFor((e) => e.type === 'request' && e.requestId === cancel.json().requestId && e.status === 'done');
    expect((await h.api.inject({ method: 'GET', url: '/devices/q-obs/observations' })).json()).toEqual([]);
  });

  it('answers 404 for an unknown request id', async () => {
    const r = await h.api.inject({ method: 'GET', url: '/requests/0123456789abcdef' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ error: 'REQUEST_NOT_FOUND' });
  });
});
