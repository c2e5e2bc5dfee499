import { describe, expect, it } from 'vitest';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { StoreUnavailableError } from '../../src/store/store-error.ts';
import { freePort, startRedis } from '../support/services.ts';
import { registration, registrationStoreContract } from './registration-store.contract.ts';

registrationStoreContract('redis', async () => {
  const redis = await startRedis();
  const open: RedisRegistrationStore[] = [];
  let prefix = '';
  let n = 0;
  const connect = async (): Promise<RedisRegistrationStore> => {
    const s = await new RedisRegistrationStore({ url: redis.url, keyPrefix: prefix }).connect();
    open.push(s);
    return s;
  };
  return {
    async store() {
      prefix = `t${++n}:`; // each test on its own keys
      return connect();
    },
    // another connection on the same keys, as a second server node would have
    peer: connect,
    async close() {
      await Promise.all(open.map((s) => s.close()));
      await redis.stop();
    },
  };
});

describe('redis registration store when Redis is away', () => {
  it('fails connect with a clear StoreUnavailableError', async () => {
    const port = await freePort();
    const store = new RedisRegistrationStore({ url: `redis://127.0.0.1:${port}` });
    const err = await store.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`redis redis://127.0.0.1:${port}.*connect failed`));
    await store.close();
  });

  it('fails commands fast while Redis is down and recovers when it returns', async () => {
    const redis = await startRedis();
    const store = await new RedisRegistrationStore({ url: redis.url }).connect();
    await store.add(registration('survivor'));
    expect(await store.ping()).toBe(true);
    await redis.stop();
    const t0 = Date.now();
    const err = await store.byEndpoint('survivor').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await store.ping()).toBe(false);
    const again = await startRedis(redis.port);
    // the data went with the process (no persistence in tests); the store reconnects by itself
    for (let i = 0; i < 50 && !(await store.ping()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await store.ping()).toBe(true);
    expect(await store.count()).toBe(0);
    await store.close();
    await again.stop();
  });
});

describe('Redis back without its data (restart without persistence)', () => {
  it('each store re-writes what its node wrote; a newer registration of a moved device is kept', async () => {
    const redis = await startRedis();
    const future = Date.now() + 3_600_000;
    const a = await new RedisRegistrationStore({ url: redis.url }).connect();
    const b = await new RedisRegistrationStore({ url: redis.url }).connect();
    const onA = ['a1', 'a2', 'a3'].map((ep) => registration(ep, { expiresAt: future, lastUpdate: 1000, node: 'a' }));
    for (const r of onA) await a.add(r);
    const gone = registration('a-removed', { expiresAt: future });
    await a.add(gone);
    await a.remove(gone.id);
    // a3 moved to node b (it registered there again, later)
    const moved = registration('a3', { expiresAt: future, lastUpdate: 2000, node: 'b' });
    await b.add(moved);
    const { RedisCollection } = await import('../../src/store/redis-collection.ts');
    const col = await RedisCollection.open<{ id: string; v: number }>(redis.url, 'things', 'restore-test');
    await col.save({ id: 'x', v: 1 });
    await col.save({ id: 'x', v: 2 });

    await redis.stop();
    const again = await startRedis(redis.port);
    // both stores notice the missing markers after reconnecting and re-write
    for (let i = 0; i < 100 && (await a.count().catch(() => 0)) < 3; i++) await new Promise((r) => setTimeout(r, 100));
    await Promise.all([a.settled(), b.settled(), col.settled()]);
    for (let i = 0; i < 100 && (await col.get('x').catch(() => undefined)) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await a.count()).toBe(3);
    expect((await a.byEndpoint('a1'))?.id).toBe(onA[0]!.id);
    expect((await a.byEndpoint('a3'))).toMatchObject({ id: moved.id, node: 'b' });
    expect(await a.byEndpoint('a-removed')).toBeUndefined();
    expect((await a.page(undefined, 10)).registrations.map((r) => r.endpoint)).toEqual(['a1', 'a2', 'a3']);
    expect(await col.get('x')).toEqual({ id: 'x', v: 2 });
    await Promise.all([a.close(), b.close(), col.close()]);
    await again.stop();
  });
});
