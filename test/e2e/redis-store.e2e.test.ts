// The server on a Redis store, end to end: real Redis, real UDP, a simulated device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startRedis, type Service } from '../support/services.ts';
import { startHarness, type Harness } from './harness.ts';

let redis: Service;
let store: RedisRegistrationStore;
let h: Harness;

beforeAll(async () => {
  redis = await startRedis();
  store = await new RedisRegistrationStore({ url: redis.url }).connect();
  h = await startHarness({ store });
});
afterAll(async () => {
  await h.close();
  await store.close();
  await redis.stop();
});

describe('server on the Redis store', () => {
  it('registers, reads, replaces on reboot and de-registers through Redis', async () => {
    const c = await h.client('redis-1');
    expect((await store.byEndpoint('redis-1'))?.id).toBe(c.registrationId);
    const read = await h.api.inject({ method: 'GET', url: '/devices/redis-1/data/3/0/2' });
    expect(read.json().node.value).toBe('SN-redis-1');
    await c.reboot();
    expect((await store.byEndpoint('redis-1'))?.id).toBe(c.registrationId);
    expect(await store.count()).toBe(1);
    await c.deregister();
    expect(await store.byEndpoint('redis-1')).toBeUndefined();
  });

  it('answers 5.03 to devices and 503 to the API while Redis is down, and recovers', async () => {
    await h.client('redis-before');
    await redis.stop();
    const api = await h.api.inject({ method: 'GET', url: '/devices/redis-before' });
    expect(api.statusCode).toBe(503);
    expect(api.json().error).toBe('STORE_UNAVAILABLE');
    const err = await h.client('redis-during').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/5\.03.*registration store unavailable/);
    // let the expiry sweeper fail a few times: it must not take the process down
    await new Promise((r) => setTimeout(r, 1500));
    redis = await startRedis(redis.port);
    for (let i = 0; i < 50 && !(await store.ping()); i++) await new Promise((r) => setTimeout(r, 100));
    const c = await h.client('redis-after');
    expect((await h.api.inject({ method: 'GET', url: '/devices/redis-after' })).json().registrationId).toBe(c.registrationId);
  });
});
