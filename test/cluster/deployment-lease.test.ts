// Deployment ownership by lease (issue 14 §3), against a real redis-server: one holder at a time,
// renewal only by the holder, expiry when the holder stops renewing, and the take-over loop that
// hands a dead node's running deployment to a live one (after a whole lease period, once).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentLeases } from '../../src/cluster/deployment-lease.ts';
import { DeploymentTakeover } from '../../src/cluster/deployment-takeover.ts';
import { quietLogger } from '../../src/log.ts';
import type { Deployment } from '../../src/ota/deployment.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { startRedis, type Service } from '../support/services.ts';

let redis: Service;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

function client(): Redis {
  const r = new Redis(redis.url);
  clients.push(r);
  return r;
}

const until = async (pred: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('DeploymentLeases', () => {
  it('one holder at a time; only the holder renews or releases; the lease expires without renewal', async () => {
    const a = new DeploymentLeases(client(), { nodeId: 'a', ttlMs: 300, keyPrefix: 't1:' });
    const b = new DeploymentLeases(client(), { nodeId: 'b', ttlMs: 300, keyPrefix: 't1:' });
    const [ga, gb] = await Promise.all([a.acquire('d1'), b.acquire('d1')]);
    expect([ga, gb].filter(Boolean)).toHaveLength(1); // a race: exactly one wins
    const holder = ga ? a : b;
    const other = ga ? b : a;
    expect(await holder.acquire('d1')).toBe(true); // acquiring what one holds renews it
    expect(await other.renew('d1')).toBe(false);
    expect(await other.release('d1')).toBe(false);
    expect(await a.owner('d1')).toBe(ga ? 'a' : 'b');
    await until(async () => (await a.owner('d1')) === undefined, 3000); // no renewal: gone after the TTL
    expect(await other.acquire('d1')).toBe(true);
    expect(await other.release('d1')).toBe(true);
    expect(await a.owner('d1')).toBeUndefined();
  });
});

describe('DeploymentTakeover', () => {
  it('the live node renews its leases; a dead node\'s running deployment is taken over once, after a lease period', async () => {
    const store = await RedisDeploymentStore.open(redis.url, 'takeover-test');
    const running = (id: string, node: string): Deployment => ({ id, node, status: 'running', counts: {}, total: 0 } as unknown as Deployment);
    await store.write(running('dep-a', 'a'), []);
    await store.write(running('dep-b', 'b'), []);
    await store.write({ ...running('dep-done', 'a'), status: 'completed' }, []);
    // long enough that a loaded CI machine never delays a renewal past it (a 400 ms lease was taken
    // over once while both nodes were alive, when the event loop stalled under the compiler tests)
    const ttlMs = 1500;
    const resumed = { a: 0, b: 0 };
    const loop = (node: 'a' | 'b') => new DeploymentTakeover({
      nodeId: node, leases: new DeploymentLeases(client(), { nodeId: node, ttlMs, keyPrefix: 't2:' }), store, log: quietLogger,
      resume: async () => ++resumed[node], intervalMs: 100,
    });
    const a = loop('a');
    const b = loop('b');
    const leases = new DeploymentLeases(client(), { nodeId: 'observer', ttlMs, keyPrefix: 't2:' });
    await until(async () => (await leases.owner('dep-a')) === 'a' && (await leases.owner('dep-b')) === 'b');
    // both alive for several lease periods: nothing changes hands
    await new Promise((r) => setTimeout(r, 3 * ttlMs));
    expect(a.stats.takenOver + b.stats.takenOver).toBe(0);
    expect(await leases.owner('dep-a')).toBe('a');
    // node a dies (its loop stops without releasing anything): b takes dep-a over
    const diedAt = Date.now();
    await a.stop();
    await until(async () => (await store.get('dep-a'))?.node === 'b');
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(ttlMs); // the lease had to expire first
    expect(await leases.owner('dep-a')).toBe('b');
    expect(b.stats.takenOver).toBe(1);
    // the takeover records the new owner, then resumes the engine: wait for that call
    await until(async () => resumed.b === 1);
    expect(resumed.b).toBe(1);
    expect((await store.get('dep-done'))?.node).toBe('a'); // finished deployments stay where they are
    await new Promise((r) => setTimeout(r, 2 * ttlMs));
    expect(b.stats.takenOver).toBe(1);
    await b.stop(['dep-a', 'dep-b']);
    expect(await leases.owner('dep-b')).toBeUndefined();
    await store.close();
  });
});
