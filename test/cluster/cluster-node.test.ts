// ClusterNode in one process: two servers on one Redis, plus hostile and silent peers on the channels.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { fromWire, toWire } from '../../src/cluster/wire-json.ts';
import { quietLogger } from '../../src/log.ts';
import { RequestError } from '../../src/request/downlink-request.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { startRedis, type Service } from '../support/services.ts';

let redis: Service;
let h1: Harness;
let h2: Harness;
let c1: ClusterNode;
let c2: ClusterNode;
const stores: RedisRegistrationStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const store = async () => {
    const s = await new RedisRegistrationStore({ url: redis.url }).connect();
    stores.push(s);
    return s;
  };
  h1 = await startHarness({ store: await store(), nodeId: 'n1' });
  h2 = await startHarness({ store: await store(), nodeId: 'n2' });
  c1 = await ClusterNode.start({ url: redis.url, nodeId: 'n1', server: h1.server, log: quietLogger, requestTimeoutMs: 1500 });
  c2 = await ClusterNode.start({ url: redis.url, nodeId: 'n2', server: h2.server, log: quietLogger, requestTimeoutMs: 1500 });
});
afterAll(async () => {
  await c1?.close();
  await c2?.close();
  await h1?.close();
  await h2?.close();
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

async function until(pred: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('wire JSON between nodes', () => {
  it('keeps opaque bytes as bytes and everything else as JSON', () => {
    const v = { a: new Uint8Array([0, 1, 255]), b: Buffer.from('hi'), c: [1, 'x', null, { d: true }], e: { $bytes: 1 } };
    const back = fromWire(toWire(v)) as Record<string, unknown>;
    expect(back.a).toEqual(new Uint8Array([0, 1, 255]));
    expect(Buffer.from(back.b as Uint8Array).toString()).toBe('hi');
    expect(back.c).toEqual([1, 'x', null, { d: true }]);
    expect(back.e).toEqual({ $bytes: 1 });
  });

  it('keeps 64-bit integers past 2^53 exact (JSON.stringify refuses a bigint)', () => {
    const v = { max: 2n ** 63n - 1n, min: -(2n ** 63n), u: 2n ** 64n - 1n, n: 7, fake: { $bigint: 'x1' } };
    const text = toWire(v);
    expect(text).toContain('"9223372036854775807"');
    expect(fromWire(text)).toEqual(v);
  });
});

describe('ClusterNode', () => {
  it('forwards an opaque write and read to the serving node and fans its events out', async () => {
    const dev = await h2.client('cn-1');
    expect((await h1.server.registrations.byEndpoint('cn-1'))?.node).toBe('n2');
    await new Promise((r) => setTimeout(r, 100));
    const seen: string[] = [];
    const off = c1.fleetEvents.on((e) => seen.push(e.type));
    const bytes = new Uint8Array([1, 2, 3, 250]);
    // ML Inference Input (/32002/0/5) is a plain writable opaque resource (a Firmware package
    // write would be consumed by the update state machine, not stored)
    const out = await h1.server.request('cn-1', { kind: 'write', path: [32002, 0, 5], mode: 'replace', node: { kind: 'resource', id: 5, type: 'opaque', value: bytes } });
    expect(out.queued === false && out.result.code).toBe('2.04');
    expect(dev.store.get([32002, 0, 5])).toEqual(bytes);
    const obs = await h1.server.observe('cn-1', [3, 0, 9]);
    if (obs.queued) throw new Error('the device is awake: the Observe must not be queued');
    expect(obs.result.success).toBe(true);
    expect(obs.observation?.endpoint).toBe('cn-1');
    dev.store.set([3, 0, 9], 55);
    for (let i = 0; i < 50 && !seen.includes('notification'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toContain('notification'); // observed on n2, streamed on n1
    off();
    expect(c1.stats.forwarded).toBeGreaterThanOrEqual(2);
    expect(c2.stats.served).toBeGreaterThanOrEqual(2);
  });

  it('carries device errors back as the same error codes', async () => {
    await h2.client('cn-err', {});
    // a value the codec cannot encode fails on the serving node as BAD_REQUEST, and arrives as such
    const err = await h1.server.request('cn-err', { kind: 'write', path: [1, 0, 1], mode: 'replace', format: 11542, node: { kind: 'resource', id: 1, type: 'integer', value: { objectId: 1, instanceId: 2 } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).code).toBe('BAD_REQUEST');
    expect(c2.stats.served).toBeGreaterThan(0);
  });

  it('answers NODE_UNAVAILABLE at once for a dead node and after the timeout for a silent one', async () => {
    const store = stores[0]!;
    const ghost = { ...(await store.byEndpoint('cn-1'))!, id: 'ghost-id', endpoint: 'ghost', node: 'nobody' };
    await store.add(ghost);
    const t0 = Date.now();
    await expect(h1.server.request('ghost', { kind: 'read', path: [3, 0, 0] })).rejects.toMatchObject({ code: 'NODE_UNAVAILABLE' });
    expect(Date.now() - t0).toBeLessThan(500);
    // a subscriber that never answers
    const silent = new Redis(redis.url);
    await silent.subscribe('lwm2m:node:mute');
    await store.add({ ...ghost, id: 'mute-id', endpoint: 'mute', node: 'mute' });
    const t1 = Date.now();
    await expect(h1.server.request('mute', { kind: 'read', path: [3, 0, 0] })).rejects.toThrow(/node mute serving mute did not answer within 1500 ms/);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(1400);
    silent.disconnect();
  });

  it('the serving node expires its own devices; another node sweeps only those of a node that is gone', async () => {
    await h2.client('cn-exp', { lifetime: 1, autoUpdate: false });
    const ev = await h2.waitFor((e) => e.type === 'deregistration' && e.registration.endpoint === 'cn-exp', 8000);
    expect(ev.type === 'deregistration' && ev.reason).toBe('expired');
    // both nodes sweep every second; only n2, which served it, removed it (and cleaned up after it)
    expect(h1.events.some((e) => e.type === 'deregistration' && e.registration.endpoint === 'cn-exp')).toBe(false);
    const store = stores[0]!;
    const template = (await store.byEndpoint('cn-1'))!;
    await store.add({ ...template, id: 'orphan-id', endpoint: 'orphan', node: 'gone-node', expiresAt: Date.now() - 60_000 });
    await until(async () => (await store.byEndpoint('orphan')) === undefined, 5000);
    const removedBy = [h1, h2].filter((h) => h.events.some((e) => e.type === 'deregistration' && e.registration.endpoint === 'orphan'));
    expect(removedBy).toHaveLength(1);
  });

  it('ignores garbage on its channels and keeps working', async () => {
    const r = new Redis(redis.url);
    for (const ch of ['lwm2m:events', 'lwm2m:node:n2', 'lwm2m:reply:n1']) {
      for (const junk of ['not json', '42', 'null', '{}', '{"cid":"x","from":"n1","op":"explode"}', '{"origin":"x","event":{}}', '{"cid":"nope","ok":false,"error":{}}']) await r.publish(ch, junk);
    }
    await new Promise((res) => setTimeout(res, 200));
    r.disconnect();
    await h2.client('cn-after');
    const out = await h1.server.request('cn-after', { kind: 'read', path: [3, 0, 2] });
    expect(out.queued === false && out.result.node).toMatchObject({ value: 'SN-cn-after' });
  });
});
