// The MQTT bridge against a real mosquitto, a real server and simulated devices over UDP.
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTopicLevel, MqttBridge, topicLevel } from '../../src/mqtt/mqtt-bridge.ts';
import { quietLogger } from '../../src/log.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { startMosquitto, startMosquittoOn, type Service } from '../support/services.ts';

type Msg = { topic: string; body: Record<string, unknown> };

let broker: Service;
let h: Harness;
let bridge: MqttBridge;
let sub: MqttClient;
const received: Msg[] = [];

function waitMsg(pred: (m: Msg) => boolean, timeoutMs = 8000): Promise<Msg> {
  const hit = received.find(pred);
  if (hit) return Promise.resolve(hit);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sub.off('message', on);
      reject(new Error(`no matching MQTT message within ${timeoutMs} ms; got topics ${received.map((m) => m.topic).join(', ')}`));
    }, timeoutMs);
    const on = (): void => {
      const m = received.find(pred);
      if (m) {
        clearTimeout(t);
        sub.off('message', on);
        resolve(m);
      }
    };
    sub.on('message', on);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// the subscriber also sees the commands it publishes itself (fleet/a/#): keep only what the bridge sent
function record(topic: string, payload: Buffer): void {
  if (topic.includes('/cmd/')) return;
  received.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> });
}

beforeAll(async () => {
  broker = await startMosquitto();
  h = await startHarness({ awakeTimeMs: 500 });
  bridge = new MqttBridge({
    url: broker.url, events: h.server.events, log: quietLogger, prefix: 'fleet/a',
    commands: { request: (ep, req) => h.server.request(ep, req), models: h.server.models },
  });
  await bridge.ready();
  sub = await connectAsync(broker.url);
  sub.on('message', record);
  await sub.subscribeAsync(['fleet/a/#', 'ota/#'], { qos: 1 });
  await sleep(200); // the bridge's own subscription settles
});
afterAll(async () => {
  await sub?.endAsync();
  await bridge?.close();
  await h?.close();
  await broker?.stop();
});

describe('MQTT northbound bridge', () => {
  it('publishes register, update and deregister with the SSE payloads', async () => {
    const c = await h.client('mq-1');
    const reg = await waitMsg((m) => m.topic === 'fleet/a/mq-1/register');
    expect(reg.body).toMatchObject({ type: 'registration', endpoint: 'mq-1', replaced: false, registration: { registrationId: c.registrationId, lwm2mVersion: '1.1' } });
    await c.update({ lifetime: 77 });
    const upd = await waitMsg((m) => m.topic === 'fleet/a/mq-1/update');
    expect(upd.body).toMatchObject({ type: 'update', endpoint: 'mq-1', registration: { lifetime: 77 } });
    const id = c.registrationId;
    await c.deregister();
    const dereg = await waitMsg((m) => m.topic === 'fleet/a/mq-1/deregister');
    expect(dereg.body).toEqual({ type: 'deregistration', endpoint: 'mq-1', registrationId: id, reason: 'deregistered' });
  });

  it('publishes notifications under notify/<path> and Send under send', async () => {
    const dev = await h.client('mq-2');
    const o = await h.api.inject({ method: 'POST', url: '/devices/mq-2/observations', payload: { path: '/3/0/9' } });
    expect(o.statusCode).toBe(201);
    dev.store.set([3, 0, 9], 42);
    const n = await waitMsg((m) => m.topic === 'fleet/a/mq-2/notify/3/0/9' && (m.body.node as { value?: number } | undefined)?.value === 42);
    expect(n.body).toMatchObject({ type: 'notification', endpoint: 'mq-2', path: '/3/0/9', observationId: o.json().observation.id, node: { kind: 'resource', id: 9, value: 42 } });
    await dev.send([[3, 0, 9]]);
    const s = await waitMsg((m) => m.topic === 'fleet/a/mq-2/send');
    expect(s.body).toMatchObject({ type: 'send', endpoint: 'mq-2', records: [{ path: '/3/0/9', value: 42 }] });
  });

  it('publishes awake, sleeping and queued request progress of a queue-mode device', async () => {
    const dev = await h.client('mq-q', { queueMode: true, awakeTimeMs: 500, autoUpdate: false });
    await waitMsg((m) => m.topic === 'fleet/a/mq-q/awake');
    await waitMsg((m) => m.topic === 'fleet/a/mq-q/sleeping');
    const r = await h.api.inject({ method: 'GET', url: '/devices/mq-q/data/3/0/0' });
    expect(r.statusCode).toBe(202);
    const queued = await waitMsg((m) => m.topic === 'fleet/a/mq-q/request' && m.body.status === 'queued');
    expect(queued.body).toMatchObject({ type: 'request', endpoint: 'mq-q', requestId: r.json().requestId });
    await dev.update();
    const done = await waitMsg((m) => m.topic === 'fleet/a/mq-q/request' && m.body.status === 'done');
    expect(done.body).toMatchObject({ requestId: r.json().requestId, code: '2.05' });
  });

  it('runs read, write and execute commands and replies on cmd-reply/<id>', async () => {
    const dev = await h.client('mq-cmd');
    await sub.publishAsync('fleet/a/mq-cmd/cmd/read', JSON.stringify({ id: 'r1', path: '/3/0/2' }), { qos: 1 });
    const read = await waitMsg((m) => m.topic === 'fleet/a/mq-cmd/cmd-reply/r1');
    expect(read.body).toMatchObject({ id: 'r1', ok: true, queued: false, result: { code: '2.05', success: true, node: { value: 'SN-mq-cmd' } } });

    await sub.publishAsync('fleet/a/mq-cmd/cmd/write', JSON.stringify({ id: 'w1', path: '/1/0/1', value: 4242 }), { qos: 1 });
    const write = await waitMsg((m) => m.topic === 'fleet/a/mq-cmd/cmd-reply/w1');
    expect(write.body).toMatchObject({ id: 'w1', ok: true, result: { code: '2.04', success: true } });
    expect(dev.store.get([1, 0, 1])).toBe(4242);

    const updates = dev.stats.updates;
    await sub.publishAsync('fleet/a/mq-cmd/cmd/execute', JSON.stringify({ id: 'x1', path: '/1/0/8' }), { qos: 1 });
    const exec = await waitMsg((m) => m.topic === 'fleet/a/mq-cmd/cmd-reply/x1');
    expect(exec.body).toMatchObject({ id: 'x1', ok: true, result: { code: '2.04' } });
    await waitMsg((m) => m.topic === 'fleet/a/mq-cmd/update'); // Registration Update Trigger did its job
    expect(dev.stats.updates).toBeGreaterThan(updates);

    // a device answer that is an error is still a reply, with its CoAP code
    await sub.publishAsync('fleet/a/mq-cmd/cmd/read', JSON.stringify({ id: 'r404', path: '/3/7' }), { qos: 1 });
    const nf = await waitMsg((m) => m.topic === 'fleet/a/mq-cmd/cmd-reply/r404');
    expect(nf.body).toMatchObject({ ok: true, result: { code: '4.04', success: false } });
  });

  it('answers garbage on command topics with clear errors and keeps working', async () => {
    await h.client('mq-bad');
    await sub.publishAsync('fleet/a/mq-bad/cmd/read', 'not json{', { qos: 1 });
    const e1 = await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-error' && m.body.message === 'command body is not JSON');
    expect(e1.body).toMatchObject({ ok: false, error: 'BAD_COMMAND', topic: 'fleet/a/mq-bad/cmd/read' });
    await sub.publishAsync('fleet/a/mq-bad/cmd/read', JSON.stringify({ path: '/3/0/0' }), { qos: 1 });
    await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-error' && /needs "id"/.test(String(m.body.message)));
    await sub.publishAsync('fleet/a/mq-bad/cmd/reboot', JSON.stringify({ id: 'b1', path: '/3/0/4' }), { qos: 1 });
    expect((await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-reply/b1')).body).toMatchObject({ ok: false, error: 'BAD_COMMAND', message: expect.stringContaining('unknown command') });
    await sub.publishAsync('fleet/a/mq-bad/cmd/read', JSON.stringify({ id: 'b2', path: '/x/y' }), { qos: 1 });
    expect((await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-reply/b2')).body).toMatchObject({ ok: false, error: 'BAD_PATH' });
    await sub.publishAsync('fleet/a/mq-bad/cmd/write', JSON.stringify({ id: 'b3', path: '/1/0/1', value: 'many' }), { qos: 1 });
    expect((await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-reply/b3')).body).toMatchObject({ ok: false, error: 'BAD_VALUE' });
    await sub.publishAsync('fleet/a/nobody/cmd/read', JSON.stringify({ id: 'b4', path: '/3/0/0' }), { qos: 1 });
    expect((await waitMsg((m) => m.topic === 'fleet/a/nobody/cmd-reply/b4')).body).toMatchObject({ ok: false, error: 'DEVICE_NOT_FOUND' });
    await sub.publishAsync('fleet/a/mq-bad/cmd/read', Buffer.alloc(70_000, 0x20), { qos: 1 });
    await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-error' && /larger than/.test(String(m.body.message)));
    // still alive and serving
    await sub.publishAsync('fleet/a/mq-bad/cmd/read', JSON.stringify({ id: 'ok1', path: '/3/0/2' }), { qos: 1 });
    expect((await waitMsg((m) => m.topic === 'fleet/a/mq-bad/cmd-reply/ok1')).body).toMatchObject({ ok: true, result: { node: { value: 'SN-mq-bad' } } });
  });

  it('keeps every endpoint name on one topic level and publishes rollout progress on ota/<deployment>/<ep>', async () => {
    expect(topicLevel('a/b+c#d%e')).toBe('a%2Fb%2Bc%23d%25e');
    expect(decodeTopicLevel(topicLevel('a/b+c#d%e'))).toBe('a/b+c#d%e');
    // '/' is refused in endpoint names since issue 14; the wildcards and '%' are still encoded
    await h.client('odd#name+1%');
    await waitMsg((m) => m.topic === 'fleet/a/odd%23name%2B1%25/register' && m.body.endpoint === 'odd#name+1%');
    bridge.publishRollout('dep-7', 'mq-2', { state: 'downloading', progress: 0.5 });
    const ota = await waitMsg((m) => m.topic === 'ota/dep-7/mq-2');
    expect(ota.body).toEqual({ deployment: 'dep-7', endpoint: 'mq-2', state: 'downloading', progress: 0.5 });
  });

  it('survives the broker going away: events are kept and published once it returns', async () => {
    await broker.stop();
    await sleep(300);
    expect(bridge.connected).toBe(false);
    const before = bridge.stats.published;
    await h.client('mq-offline');
    expect(h.events.some((e) => e.type === 'registration' && e.registration.endpoint === 'mq-offline')).toBe(true);
    expect(bridge.stats.published).toBe(before);
    broker = await startMosquittoOn(broker.port);
    await bridge.ready(10_000);
    for (let i = 0; i < 30 && bridge.stats.published === before; i++) await sleep(100);
    expect(bridge.stats.published).toBeGreaterThan(before); // the register of mq-offline, acknowledged by the new broker
    await sub.endAsync();
    received.length = 0;
    sub = await connectAsync(broker.url);
    sub.on('message', record);
    await sub.subscribeAsync('fleet/a/#', { qos: 1 });
    await sleep(300);
    await h.client('mq-back');
    await waitMsg((m) => m.topic === 'fleet/a/mq-back/register');
  });
});

describe('MQTT bridge without a broker', () => {
  it('bounds what it keeps for the reconnect and counts the rest as dropped', async () => {
    const { EventBus } = await import('../../src/events/server-event.ts');
    const { freePort } = await import('../support/services.ts');
    const events = new EventBus();
    const b = new MqttBridge({ url: `mqtt://127.0.0.1:${await freePort()}`, events, log: quietLogger, maxOffline: 2 });
    await expect(b.ready(300)).rejects.toThrow(/not reachable within 300 ms/);
    for (let i = 0; i < 5; i++) events.emit({ type: 'awake', endpoint: `e${i}` });
    expect(b.stats.dropped).toBe(3);
    expect(b.stats.published).toBe(0);
    await b.close();
  });

  it('refuses wildcard prefixes', async () => {
    const { EventBus } = await import('../../src/events/server-event.ts');
    expect(() => new MqttBridge({ url: 'mqtt://127.0.0.1:1', events: new EventBus(), log: quietLogger, prefix: 'a/+' })).toThrow(/wildcards/);
  });
});
