// Two server processes sharing one Redis, 500 simulated devices over both: reads travel to the
// serving node, every node streams the whole fleet's events, and after one node is SIGKILLed its
// devices update or register at the other without any registration lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { startMain, type Started } from '../support/main-process.ts';
import { startRedis, type Service } from '../support/services.ts';
import { openSse } from '../helpers/sse-reader.ts';

const PER_NODE = 250;
const timing = { ackTimeoutMs: 1000, maxRetransmit: 3, requestTimeoutMs: 10_000 };

let redis: Service;
let a: Started;
let b: Started;
const onA: SimulatedClient[] = [];
const onB: SimulatedClient[] = [];
let sse: { text: () => string; close: () => void };

type Device = { endpoint: string; node: string | null; registrationId: string };

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json() as T };
}

/** Every device, page by page (GET /devices pages: at most 1,000 a call). */
async function allDevices(http: string): Promise<{ total: number; devices: Device[] }> {
  const devices: Device[] = [];
  let cursor: string | null = '';
  let total = 0;
  while (cursor !== null) {
    const { body }: { body: { total: number; devices: Device[]; next: string | null } } = await json<{ total: number; devices: Device[]; next: string | null }>(`${http}/devices?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    devices.push(...body.devices);
    total = body.total;
    cursor = body.next;
  }
  return { total, devices };
}

async function registerAll(clients: SimulatedClient[], concurrency = 50): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < clients.length) await clients[next++]!.start();
  }));
}

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metrics(node: Started): Promise<string> {
  return (await fetch(`${node.http}/metrics`)).text();
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([
    startMain(['--store', redis.url, '--node-id', 'node-a', '--log-level', 'info']),
    startMain(['--store', redis.url, '--node-id', 'node-b', '--log-level', 'info']),
  ]);
  const models = loadObjectModels(objectsDir);
  const profile = loadProfile('esp32');
  const make = (endpoint: string, port: number): SimulatedClient => new SimulatedClient({
    endpoint, server: { address: '127.0.0.1', port }, models, profile, log: quietLogger, timing, lifetime: 600, autoUpdate: false,
  });
  for (let i = 0; i < PER_NODE; i++) {
    onA.push(make(`ca-${String(i).padStart(3, '0')}`, a.coapPort));
    onB.push(make(`cb-${String(i).padStart(3, '0')}`, b.coapPort));
  }
  sse = await openSse(`${a.http}/events?types=registration`);
  await Promise.all([registerAll(onA), registerAll(onB)]);
}, 60_000);

afterAll(async () => {
  sse?.close();
  await Promise.all([...onA, ...onB].map((c) => c.stop()));
  for (const n of [a, b]) if (n && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGTERM');
  await Promise.all([a?.exited, b?.exited]);
  await redis?.stop();
});

describe('two nodes sharing Redis', () => {
  it('both nodes list all 500 devices, each owned by the node it registered at', async () => {
    for (const node of [a, b]) {
      const body = await allDevices(node.http);
      expect(body.total).toBe(2 * PER_NODE);
      expect(body.devices.filter((d) => d.node === 'node-a').map((d) => d.endpoint).sort()).toEqual(onA.map((c) => c.endpoint).sort());
      expect(body.devices.filter((d) => d.node === 'node-b').map((d) => d.endpoint).sort()).toEqual(onB.map((c) => c.endpoint).sort());
    }
  });

  it("node A's event stream carries node B's registrations too", async () => {
    await until(() => (sse.text().match(/^event: registration$/gm) ?? []).length >= 2 * PER_NODE, 10_000, 'all registration events on A');
    const endpoints = [...sse.text().matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { endpoint: string }).endpoint);
    expect(new Set(endpoints).size).toBe(2 * PER_NODE);
    expect(endpoints).toContain('cb-000');
    expect(endpoints).toContain('cb-249');
  });

  it('a read and a write on node A reach a device served by node B, through node B', async () => {
    const dev = onB[17]!;
    const served = dev.stats.requestsServed;
    const [aBefore, bBefore] = [await metrics(a), await metrics(b)];
    const read = await json<{ node: { value: string } }>(`${a.http}/devices/${dev.endpoint}/data/3/0/2`);
    expect(read.status).toBe(200);
    expect(read.body.node.value).toBe(`SN-${dev.endpoint}`);
    expect(dev.stats.requestsServed).toBe(served + 1);
    const write = await json<{ code: string }>(`${a.http}/devices/${dev.endpoint}/data/1/0/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 777 }) });
    expect(write.body.code).toBe('2.04');
    expect(dev.store.get([1, 0, 1])).toBe(777);
    // and the device's answer, opaque bytes included, survives the trip between nodes
    const inst = await json<{ node: { kind: string; resources: unknown[] } }>(`${a.http}/devices/${dev.endpoint}/data/3/0?format=senml-cbor`);
    expect(inst.body.node.kind).toBe('instance');
    expect(inst.body.node.resources.length).toBeGreaterThan(5);
    // A forwarded, B sent: the device heard B's socket, the one it registered to
    const [aAfter, bAfter] = [await metrics(a), await metrics(b)];
    expect(sample(aAfter, 'cluster_requests_forwarded_total{node="node-a"}') - sample(aBefore, 'cluster_requests_forwarded_total{node="node-a"}')).toBe(3);
    expect(sample(bAfter, 'cluster_requests_served_total{node="node-b"}') - sample(bBefore, 'cluster_requests_served_total{node="node-b"}')).toBe(3);
    expect(aAfter).not.toMatch(/^lwm2m_downlink_responses_total/m);
    expect(sample(bAfter, 'lwm2m_downlink_responses_total{code="2.05",node="node-b"}')).toBe(2);
    expect(sample(bAfter, 'lwm2m_downlink_responses_total{code="2.04",node="node-b"}')).toBe(1);
  });

  it('an unknown device is still a 404 on every node', async () => {
    expect((await fetch(`${a.http}/devices/nobody/data/3/0/2`)).status).toBe(404);
  });

  it('after node B is SIGKILLed its devices update or register at node A, and nothing is lost', async () => {
    b.proc.kill('SIGKILL');
    expect(await b.exited).toBe(null);
    const orphan = onB[3]!;
    const t0 = Date.now();
    const refused = await json<{ error: string; message: string }>(`${a.http}/devices/${orphan.endpoint}/data/3/0/2`);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('NODE_UNAVAILABLE');
    expect(refused.body.message).toMatch(/served by node node-b, which is not running/);
    expect(Date.now() - t0).toBeLessThan(1000); // no waiting for a timeout

    // the devices fail over to A: even ones send their next Update there, odd ones register again
    const oldIds = new Map(onB.map((c) => [c.endpoint, c.registrationId]));
    for (const c of onB) c.opts.server = { address: '127.0.0.1', port: a.coapPort };
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < onB.length) {
        const i = next++;
        const c = onB[i]!;
        await (i % 2 === 0 ? c.update() : c.register());
      }
    }));

    const body = await allDevices(a.http);
    expect(body.total).toBe(2 * PER_NODE);
    expect(new Set(body.devices.map((d) => d.endpoint)).size).toBe(2 * PER_NODE);
    expect(body.devices.every((d) => d.node === 'node-a')).toBe(true);
    const byEp = new Map(body.devices.map((d) => [d.endpoint, d]));
    onB.forEach((c, i) => {
      const d = byEp.get(c.endpoint)!;
      // an Update keeps the registration, a Register replaces it
      if (i % 2 === 0) expect(d.registrationId).toBe(oldIds.get(c.endpoint));
      else expect(d.registrationId).not.toBe(oldIds.get(c.endpoint));
      expect(d.registrationId).toBe(c.registrationId);
    });
    for (const c of [onB[0]!, onB[1]!, orphan, onA[5]!]) {
      const read = await json<{ node: { value: string } }>(`${a.http}/devices/${c.endpoint}/data/3/0/2`);
      expect(read.body.node.value).toBe(`SN-${c.endpoint}`);
    }
  });
});
