// A Redis collection while Redis stalls or goes away (issue 14 §2): a save fails fast with
// StoreUnavailableError, the record is kept in memory and written once Redis answers again.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisCollection } from '../../src/store/redis-collection.ts';
import { StoreUnavailableError } from '../../src/store/store-error.ts';
import { startRedis } from '../support/services.ts';

describe('RedisCollection when Redis stalls', () => {
  it('fails the save within the command timeout, then writes it with the next save', async () => {
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    const c = await RedisCollection.open<{ id: string; v: number }>(redis.url, 'stall', 'outage-test');
    await c.save({ id: 'a', v: 1 });
    // CLIENT PAUSE stalls every client's commands (ours too) for 2.6 s
    await admin.client('PAUSE', 2600, 'ALL');
    const t0 = Date.now();
    const err = await c.save({ id: 'a', v: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - t0).toBeLessThan(2600);
    for (let i = 0; i < 100; i++) {
      if ((await admin.hget('outage-test:stall', 'b').catch(() => null)) !== null) break;
      await c.save({ id: 'b', v: 1 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(JSON.parse((await admin.hget('outage-test:stall', 'a'))!)).toEqual({ id: 'a', v: 2 });
    await c.close();
    admin.disconnect();
    await redis.stop();
  });
});
