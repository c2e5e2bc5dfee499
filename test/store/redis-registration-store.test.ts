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
