// Observations and queued requests in the shared store (issue 14 §3): any node lists a device's
// observations and answers /requests/:id; when the node holding them dies and the device registers
// at another node, that node re-establishes the observations and delivers the queued requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { quietLogger } from '../../src/log.ts';
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
  h1 = await startHarness({ store: await store(), nodeId: 'n1', awakeTimeMs: 300 });
  h2 = await startHarness({ store: await store(), nodeId: 'n2', awakeTimeMs: 300 });
  c1 = await ClusterNode.start({ url: redis.url, nodeId: 'n1', server: h1.server, log: quietLogger, requestTimeoutMs: 3000 });
  c2 = await ClusterNode.start({ url: redis.url, nodeId: 'n2', server: h2.server, log: quietLogger, requestTimeoutMs: 3000 });
});
afterAll(async () => {
  await c1?.close();
  await c2?.close();
  await h1?.close();
  await h2?.close();
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Obs = { id: string; path: string };

describe('shared observations and queued requests', () => {
  it('any node answers; after the holding node dies, the node the device registers at takes them over', async () => {
    const dev = await h1.client('sr-obs');
    const sleepy = await h1.client('sr-queue', { queueMode: true });
    // an observation through node 2's API: forwarded to node 1, which serves the device
    const post = await h2.api.inject({ method: 'POST', url: '/devices/sr-obs/observations', payload: { path: '/3/0/9' } });
    expect(post.statusCode).toBe(201);
    const obsId = post.json<{ observation: Obs }>().observation.id;
    const listed = await until(async () => (await h2.api.inject({ method: 'GET', url: '/devices/sr-obs/observations' })).json<Obs[]>(), (l) => l.length === 1);
    expect(listed).toMatchObject([{ id: obsId, path: '/3/0/9' }]);
    expect(h2.server.observations.list('sr-obs')).toHaveLength(0); // node 2 holds none itself

    sleepy.sleep();
    await h1.waitFor((e) => e.type === 'sleeping' && e.endpoint === 'sr-queue');
    const queued = await h2.api.inject({ method: 'GET', url: '/devices/sr-queue/data/3/0/0' });
    expect(queued.statusCode).toBe(202);
    const requestId = queued.json<{ requestId: string }>().requestId;
    expect(h2.server.queue.get(requestId)).toBeUndefined();
    const pending = await until(async () => h2.api.inject({ method: 'GET', url: `/requests/${requestId}` }), (r) => r.statusCode === 200);
    expect(pending.json()).toMatchObject({ id: requestId, endpoint: 'sr-queue', status: 'queued', node: 'n1' });

    // node 1 dies; both devices register again, at node 2
    await c1.close();
    await h1.close();
    const moved = await h2.client('sr-obs');
    const woke = await h2.client('sr-queue', { queueMode: true });
    const taken = await until(async () => h2.server.observations.list('sr-obs'), (l) => l.length === 1);
    expect(taken[0]!.path).toEqual([3, 0, 9]);
    const fromApi = await until(async () => (await h2.api.inject({ method: 'GET', url: '/devices/sr-obs/observations' })).json<Obs[]>(), (l) => l.length === 1 && l[0]!.id !== obsId);
    expect(fromApi[0]!.path).toBe('/3/0/9');
    // the re-established observation notifies node 2
    moved.store.set([3, 0, 9], 42);
    const note = await h2.waitFor((e) => e.type === 'notification' && e.endpoint === 'sr-obs');
    expect(note).toMatchObject({ type: 'notification', path: '/3/0/9' });
    const done = await until(async () => (await h2.api.inject({ method: 'GET', url: `/requests/${requestId}` })).json<{ status: string; result: { node?: { value: unknown } } | null }>(), (r) => r.status === 'done');
    expect(done.result?.node?.value).toBe(woke.store.get([3, 0, 0]));
    expect(c2.records.stats).toMatchObject({ observationsTaken: 1, requestsTaken: 1, writeFailures: 0 });
    await dev.stop();
  }, 60_000);

  it("an update flow's observation (reestablish: false) stays off the shared store: no other node would take it over", async () => {
    await h2.client('sr-flow');
    const flow = await h2.server.observe('sr-flow', [3, 0, 9], undefined, { reestablish: false });
    const plain = await h2.server.observe('sr-flow', [3, 0, 13]);
    expect(flow.queued === false && flow.observation !== undefined && plain.queued === false && plain.observation !== undefined).toBe(true);
    expect(h2.server.observations.list('sr-flow')).toHaveLength(2);
    // store writes run in order: once the second is in Redis, the first would have been too
    const shared = await until(async () => c2.records.observationsOf('sr-flow'), (l) => l.length >= 1);
    expect(shared.map((o) => o.path)).toEqual(['/3/0/13']);
  }, 30_000);
});
