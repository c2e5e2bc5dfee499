// GET /devices pages (issue 14 §1): cursor + limit (default 100, max 1,000) on every store, in
// endpoint order, filters applied while paging; on Redis from the sorted index, never HVALS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import type { RegistrationStore } from '../../src/store/registration-store.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';
import { createRng } from '../helpers/prng.ts';
import { startRedis, type Service } from '../support/services.ts';
import { registration } from '../store/registration-store.contract.ts';

type Page = { total: number; devices: { endpoint: string; queueMode: boolean }[]; next: string | null };

let redis: Service;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.stop());

const N = 2_345;

for (const kind of ['memory', 'redis'] as const) {
  describe(`GET /devices pages (${kind} store)`, () => {
    let live: LiveServer;
    let store: RegistrationStore;
    const names: string[] = [];
    beforeAll(async () => {
      store = kind === 'memory' ? new MemoryRegistrationStore() : await new RedisRegistrationStore({ url: redis.url, keyPrefix: `paging-${Date.now()}:` }).connect();
      live = await startLiveServer({ store });
      const rng = createRng(1414);
      for (let i = 0; i < N; i++) {
        const name = `dev-${rng.int(1_000_000).toString(36)}-${i}`;
        names.push(name);
        await store.add(registration(name, { queueMode: i % 10 === 0, expiresAt: Date.now() + 3_600_000 }));
      }
      names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    }, 60_000);
    afterAll(async () => {
      await live?.close();
      await store?.close?.();
    });

    const get = async (url: string): Promise<{ status: number; body: Page }> => {
      const r = await live.api.inject({ method: 'GET', url });
      return { status: r.statusCode, body: r.json<Page>() };
    };

    it('default page of 100, then cursor by cursor through every device exactly once', async () => {
      const first = await get('/devices');
      expect(first.body.total).toBe(N);
      expect(first.body.devices).toHaveLength(100);
      const seen = first.body.devices.map((d) => d.endpoint);
      let cursor = first.body.next;
      let calls = 1;
      while (cursor !== null) {
        const p = await get(`/devices?limit=1000&cursor=${cursor}`);
        expect(p.status).toBe(200);
        expect(p.body.devices.length).toBeLessThanOrEqual(1000);
        seen.push(...p.body.devices.map((d) => d.endpoint));
        cursor = p.body.next;
        calls++;
      }
      expect(seen).toEqual(names);
      expect(calls).toBe(1 + Math.ceil((N - 100) / 1000) + (kind === 'redis' && (N - 100) % 1000 === 0 ? 1 : 0));
    });

    it('filters while paging: every queue-mode device once, each page full until the last', async () => {
      const seen: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const p: { status: number; body: Page } = await get(`/devices?queueMode=true&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
        expect(p.body.devices.every((d) => d.queueMode)).toBe(true);
        if (p.body.next !== null) expect(p.body.devices).toHaveLength(50);
        seen.push(...p.body.devices.map((d) => d.endpoint));
        cursor = p.body.next;
      }
      expect(seen.length).toBe(Math.ceil(N / 10));
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('refuses limit past 1,000 and a cursor that is not base64url', async () => {
      expect((await get('/devices?limit=1001')).status).toBe(400);
      expect((await get('/devices?cursor=a%2Fb')).status).toBe(400);
      expect((await get('/devices?offset=10')).status).toBe(400);
    });
  });
}
