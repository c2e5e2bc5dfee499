// MQTT as operators run it: the bridge reaches mosquitto over TLS (mqtts://, a private CA) with a
// username and password; commands carry an API token with the operator role (in the body or as an
// MQTT 5 user property); without one, or with a lesser role, they are answered on cmd-error and
// nothing reaches the device; what runs, and what a token holder was refused, is audited.
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { MqttBridge } from '../../src/mqtt/mqtt-bridge.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { testAccess, type TestAccess, secretOf } from '../helpers/access.ts';
import { startSecureMosquitto, type SecureBroker } from '../support/services.ts';

type Msg = { topic: string; body: Record<string, unknown> };

let broker: SecureBroker;
let h: Harness;
let t: TestAccess;
let bridge: MqttBridge;
let sub: MqttClient;
const received: Msg[] = [];

function waitMsg(pred: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = received.find(pred);
      if (m) {
        clearTimeout(timer);
        sub.off('message', check);
        resolve(m);
      }
      return Boolean(m);
    };
    const timer = setTimeout(() => {
      sub.off('message', check);
      reject(new Error(`no matching MQTT message; got ${received.map((m) => m.topic).join(', ')}`));
    }, timeoutMs);
    if (!check()) sub.on('message', check);
  });
}

const sent = (): number => [...h.server.sender.stats.responses.values()].reduce((a, b) => a + b, 0);

beforeAll(async () => {
  broker = await startSecureMosquitto();
  t = await testAccess();
  h = await startHarness();
  await h.client('mq-auth');
  bridge = new MqttBridge({
    url: broker.url, events: h.server.events, log: quietLogger, prefix: 'sec',
    client: { username: broker.username, password: broker.password, ca: broker.ca },
    commands: { request: (ep, req) => h.server.request(ep, req), models: h.server.models, authorize: (tok) => t.tokens.verify(tok), audit: t.audit },
  });
  await bridge.ready(10_000);
  sub = await connectAsync(broker.url, { username: broker.username, password: broker.password, ca: broker.ca, protocolVersion: 5 });
  sub.on('message', (topic, payload) => {
    if (!topic.includes('/cmd/')) received.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  await sub.subscribeAsync('sec/#', { qos: 1 });
  // the bridge's command subscription is in place once a command gets any answer
  await sub.publishAsync('sec/mq-auth/cmd/read', '{}', { qos: 1 });
  await waitMsg((m) => m.topic === 'sec/mq-auth/cmd-error');
  received.length = 0;
}, 60_000);
afterAll(async () => {
  await sub?.endAsync();
  await bridge?.close();
  await h?.close();
  await broker?.stop();
});

describe('MQTT commands with tokens, over TLS with a password', () => {
  it('does not connect with a wrong password or without the CA', async () => {
    await expect(connectAsync(broker.url, { username: broker.username, password: 'wrong', ca: broker.ca, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(connectAsync(broker.url, { username: broker.username, password: broker.password, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses a command without a token or with a bad one on cmd-error; nothing reaches the device', async () => {
    const before = sent();
    await sub.publishAsync('sec/mq-auth/cmd/execute', JSON.stringify({ id: 'no-token', path: '/3/0/4' }), { qos: 1 });
    const m = await waitMsg((x) => x.topic === 'sec/mq-auth/cmd-error' && x.body.id === 'no-token');
    expect(m.body).toMatchObject({ ok: false, error: 'UNAUTHENTICATED' });
    await sub.publishAsync('sec/mq-auth/cmd/execute', JSON.stringify({ id: 'forged', path: '/3/0/4', token: `tmla_0123456789abcdef_${'A'.repeat(43)}` }), { qos: 1 });
    expect((await waitMsg((x) => x.topic === 'sec/mq-auth/cmd-error' && x.body.id === 'forged')).body).toMatchObject({ error: 'UNAUTHENTICATED', message: 'the token is unknown' });
    expect(sent()).toBe(before);
    expect(received.some((x) => x.topic.startsWith('sec/mq-auth/cmd-reply/'))).toBe(false);
  });

  it('refuses a viewer token (FORBIDDEN, audited) and runs an operator token in the body or as an MQTT 5 user property', async () => {
    const before = sent();
    await sub.publishAsync('sec/mq-auth/cmd/write', JSON.stringify({ id: 'viewer-1', path: '/1/0/1', value: 300, token: t.token.viewer }), { qos: 1 });
    expect((await waitMsg((x) => x.topic === 'sec/mq-auth/cmd-error' && x.body.id === 'viewer-1')).body).toMatchObject({ error: 'FORBIDDEN' });
    expect(sent()).toBe(before);

    await sub.publishAsync('sec/mq-auth/cmd/write', JSON.stringify({ id: 'op-1', path: '/1/0/1', value: 300, token: t.token.operator }), { qos: 1 });
    const w = await waitMsg((x) => x.topic === 'sec/mq-auth/cmd-reply/op-1');
    expect(w.body).toMatchObject({ id: 'op-1', ok: true, result: { code: '2.04', success: true } });
    await sub.publishAsync('sec/mq-auth/cmd/read', JSON.stringify({ id: 'op-2', path: '/1/0/1' }), { qos: 1, properties: { userProperties: { authorization: `Bearer ${t.token.operator}` } } });
    const r = await waitMsg((x) => x.topic === 'sec/mq-auth/cmd-reply/op-2');
    expect(r.body).toMatchObject({ ok: true, result: { node: { value: 300 } } });
    expect(sent()).toBe(before + 2);

    const audit = await t.audit.query({ endpoint: 'mq-auth' });
    expect(audit.map((e) => [e.via, e.action, e.actor?.name, e.outcome.ok, e.outcome.status])).toEqual([
      ['mqtt', 'mqtt read', 'test-operator', true, 200],
      ['mqtt', 'mqtt write', 'test-operator', true, 200],
      ['mqtt', 'mqtt write', 'test-viewer', false, 403],
    ]);
    // the token is never echoed on any topic nor kept in the audit trail
    const all = JSON.stringify(received) + JSON.stringify(audit);
    for (const s of Object.values(t.token)) expect(all).not.toContain(secretOf(s));
  });
});
