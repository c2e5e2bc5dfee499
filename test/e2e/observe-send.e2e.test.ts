import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/events/server-event.ts';
import { startHarness, type Harness } from './harness.ts';
import { waitUntil } from '../support/wait.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

type Notification = Extract<ServerEvent, { type: 'notification' }>;
const notificationsFor = (id: string): Notification[] => h.events.filter((e): e is Notification => e.type === 'notification' && e.observationId === id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('observe and send (end to end over UDP)', () => {
  it.each(['senml-cbor', 'tlv'])('observes a resource in %s: changes notify, pmin throttles, pmax repeats', async (format) => {
    const ep = `obs-${format}`;
    const dev = await h.client(ep);
    const attrs = await h.api.inject({ method: 'PUT', url: `/devices/${ep}/attributes/3/0/9`, payload: { pmin: 1, pmax: 2 } });
    expect(attrs.json().success).toBe(true);
    const o = await h.api.inject({ method: 'POST', url: `/devices/${ep}/observations`, payload: { path: '/3/0/9', format } });
    expect(o.statusCode).toBe(201);
    const { observation, node } = o.json();
    expect(node.value).toBe(100);
    const t0 = Date.now();
    dev.store.set([3, 0, 9], 90);
    dev.store.set([3, 0, 9], 80); // within pmin: folded into one notification carrying 80
    await h.waitFor((e) => e.type === 'notification' && e.observationId === observation.id);
    const first = notificationsFor(observation.id);
    expect(first).toHaveLength(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // pmin = 1 s since the observe response
    expect(first[0]!.node).toMatchObject({ kind: 'resource', id: 9, value: 80 });
    // nothing changes: pmax = 2 s brings another notification with the same value
    await sleep(2300);
    const all = notificationsFor(observation.id);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.at(-1)!.node).toMatchObject({ value: 80 });
    // cancel: the device stops notifying
    const del = await h.api.inject({ method: 'DELETE', url: `/devices/${ep}/observations/${observation.id}` });
    expect(del.statusCode).toBe(204);
    await sleep(300);
    expect(dev.observerCount).toBe(0);
    const count = notificationsFor(observation.id).length;
    dev.store.set([3, 0, 9], 10);
    await sleep(1300);
    expect(notificationsFor(observation.id).length).toBe(count);
  });

  it('observes an instance whose notifications are larger than one block (Block2)', async () => {
    const dev = await h.client('obs-big');
    const o = await h.api.inject({ method: 'POST', url: '/devices/obs-big/observations', payload: { path: '/3/0', format: 'senml-json' } });
    const { observation } = o.json();
    const long = 'x'.repeat(1500);
    dev.store.set([3, 0, 17], long);
    const n = await h.waitFor((e) => e.type === 'notification' && e.observationId === observation.id);
    const res = (n as Notification).node;
    expect(res?.kind).toBe('instance');
    const r17 = res?.kind === 'instance' ? res.resources.find((r) => r.id === 17) : undefined;
    expect(r17 && r17.kind === 'resource' ? r17.value : undefined).toBe(long);
  });

  it('re-establishes observations after the device registers again', async () => {
    const dev = await h.client('obs-reboot');
    const o = (await h.api.inject({ method: 'POST', url: '/devices/obs-reboot/observations', payload: { path: '/3/0/9' } })).json();
    await dev.reboot();
    // the server re-observes after the new registration: wait for the new observation to replace the old
    const list = await waitUntil('the re-established observation', async () => {
      const l = (await h.api.inject({ method: 'GET', url: '/devices/obs-reboot/observations' })).json() as { id: string }[];
      return l.length === 1 && l[0]!.id !== o.observation.id ? l : undefined;
    });
    expect(list).toHaveLength(1);
    dev.store.set([3, 0, 9], 42);
    const n = await h.waitFor((e) => e.type === 'notification' && e.observationId === list[0].id);
    expect((n as Notification).node).toMatchObject({ value: 42 });
  });

  it.each([['senml-cbor', 112], ['senml-json', 110], ['lwm2m-cbor', 11544]] as const)('accepts Send in %s and keeps the latest values', async (name, cf) => {
    const ep = `send-${name}`;
    const dev = await h.client(ep, { lwm2mVersion: '1.2' });
    dev.store.set([3, 0, 9], 77);
    expect(await dev.send([[3, 0, 9], [4, 0, 4]], cf)).toBe((2 << 5) | 4);
    const ev = await h.waitFor((e) => e.type === 'send' && e.endpoint === ep);
    expect(ev.type === 'send' && ev.records.map((r) => r.path.join('/'))).toEqual(['3/0/9', '4/0/4/0']);
    const latest = (await h.api.inject({ method: 'GET', url: `/devices/${ep}/send` })).json();
    expect(latest['/3/0/9'].value).toBe(77);
    expect(latest['/4/0/4/0'].value).toBe('127.0.0.1');
    expect(typeof latest['/3/0/9'].time).toBe(cf === 11544 ? 'object' : 'number'); // null: LwM2M CBOR carries no time
  });
});
