// A deployment's rows over the API a page at a time (issue 14): GET /deployments/:id carries the
// header, counts and the first 1,000 rows with `nextCursor`; GET /deployments/:id/devices pages the
// rest in endpoint order, filtered by state; GET /deployments lists headers only. On the memory
// store and on Redis, with a real platform and registrations of devices that never answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { defaultPolicy, type DeviceRollout, type DeviceRolloutState } from '../../src/ota/deployment.ts';
import { Platform } from '../../src/platform.ts';
import { openDeploymentStore, type DeploymentStore } from '../../src/store/deployment-store.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { compareUtf8 } from '../../src/store/sorted-names.ts';
import { objectsDir } from '../helpers/live-server.ts';
import { createRng } from '../helpers/prng.ts';
import { registration } from '../store/registration-store.contract.ts';
import { startRedis, type Service } from '../support/services.ts';

type Row = { endpoint: string; state: string; attempts: number; error: { code: string } | null };
type Page = { id: string; devices: Row[]; nextCursor: string | null };
type View = { id: string; status: string; total: number; counts: Record<string, number>; devices?: Row[]; nextCursor?: string | null };

let redis: Service;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.stop());

const N = 2_345;
const STATES: DeviceRolloutState[] = ['done', 'failed', 'skipped', 'pending'];

for (const kind of ['memory', 'redis'] as const) {
  describe(`deployment rows over the API (${kind} deployment store)`, () => {
    let platform: Platform;
    let api: FastifyInstance;
    let store: DeploymentStore;
    const names: string[] = [];
    beforeAll(async () => {
      const regs = new MemoryRegistrationStore();
      const rng = createRng(1717);
      for (let i = 0; i < N; i++) {
        const name = `rows-${rng.int(1_000_000).toString(36)}-${i}`;
        names.push(name);
        await regs.add(registration(name, { expiresAt: Date.now() + 3_600_000 }));
      }
      names.sort(compareUtf8);
      store = kind === 'memory' ? await openDeploymentStore() : await RedisDeploymentStore.open(redis.url, `rows-api-${Date.now()}`);
      platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, store: regs, deploymentStore: store });
      api = await buildApi({ server: platform.server, log: quietLogger, platform });
    }, 60_000);
    afterAll(async () => {
      await api?.close();
      await platform?.stop();
      await store?.close?.();
    });

    const get = async <T>(url: string): Promise<{ status: number; body: T }> => {
      const r = await api.inject({ method: 'GET', url });
      return { status: r.statusCode, body: r.json<T>() };
    };

    it('a rollout to every device: the first 1,000 rows with the header, the rest page by page, each device once, in byte order', async () => {
      const up = await api.inject({ method: 'POST', url: '/packages?name=rows&version=1.0.0&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(512, 3) });
      expect(up.statusCode).toBe(201);
      const res = await api.inject({ method: 'POST', url: '/deployments', payload: { package: up.json().digest, method: 'fota-push', selector: { prefix: 'rows-' }, policy: { maxParallel: 1, deviceTimeoutMs: 1000, retries: 0 } } });
      expect(res.statusCode).toBe(201);
      const created = res.json<View>();
      expect(created.total).toBe(N);
      expect(created.devices).toHaveLength(1000);
      expect(created.nextCursor).not.toBeNull();
      await platform.engine.abort(created.id);

      const view = await get<View>(`/deployments/${created.id}`);
      expect(view.body.status).toBe('aborted');
      expect(view.body.counts).toEqual({ skipped: N });
      expect(view.body.devices!.map((r) => r.endpoint)).toEqual(names.slice(0, 1000));
      const seen = view.body.devices!.map((r) => r.endpoint);
      let cursor = view.body.nextCursor ?? null;
      while (cursor !== null) {
        const p = await get<Page>(`/deployments/${created.id}/devices?limit=700&cursor=${cursor}`);
        expect(p.status).toBe(200);
        expect(p.body.devices.length).toBeLessThanOrEqual(700);
        seen.push(...p.body.devices.map((r) => r.endpoint));
        cursor = p.body.nextCursor;
      }
      expect(seen).toEqual(names);
      expect((await get<Page>(`/deployments/${created.id}/devices`)).body.devices).toHaveLength(100); // the default page

      // the list: headers with counts, never rows
      const list = await get<View[]>('/deployments');
      const listed = list.body.find((d) => d.id === created.id)!;
      expect(listed).toMatchObject({ total: N, counts: { skipped: N } });
      expect(listed.devices).toBeUndefined();
    }, 120_000);

    it('filters by state page by page; a stopped deployment\'s rows are read from the store', async () => {
      // a finished deployment as the store holds it: states in turn
      const rows: DeviceRollout[] = names.map((endpoint, i) => ({ endpoint, state: STATES[i % STATES.length]!, attempts: i % 3 }));
      const counts: Record<string, number> = {};
      for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
      const header = {
        id: `stored-${kind}`, moduleDigest: 'c'.repeat(64), method: 'sota-push' as const, selector: { prefix: 'rows-' }, policy: defaultPolicy,
        status: 'completed' as const, createdAt: Date.now(), finishedAt: Date.now(), counts, total: rows.length,
      };
      for (let i = 0; i < rows.length; i += 1000) await store.write(header, rows.slice(i, i + 1000));

      const failed: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const p: { status: number; body: Page } = await get<Page>(`/deployments/${header.id}/devices?state=failed&limit=150${cursor ? `&cursor=${cursor}` : ''}`);
        expect(p.status).toBe(200);
        expect(p.body.devices.every((r) => r.state === 'failed')).toBe(true);
        failed.push(...p.body.devices.map((r) => r.endpoint));
        cursor = p.body.nextCursor;
      }
      expect(failed).toEqual(rows.filter((r) => r.state === 'failed').map((r) => r.endpoint));
      const view = await get<View>(`/deployments/${header.id}`);
      expect(view.body.counts).toEqual(counts);
      expect(view.body.devices!.slice(0, 4).map((r) => r.state)).toEqual(STATES);
      // the fleet views read only failed rows, a page at a time
      const fw = await get<{ failures: { endpoint: string }[] }>('/ml/status');
      expect(fw.body.failures.map((f) => f.endpoint)).toEqual(failed.slice(0, 500));
    });

    it('writes only changed rows: a whole-fleet creation in batches of at most 1,000, device changes a few rows per write', async () => {
      // the store under the engine, counted: every write's row count
      const writes: number[] = [];
      const write = store.write.bind(store);
      store.write = async (h, rows) => {
        writes.push(rows.length);
        return write(h, rows);
      };
      try {
        const up = await api.inject({ method: 'POST', url: '/packages?name=rows2&version=1.0.0&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(512, 4) });
        const res = await api.inject({ method: 'POST', url: '/deployments', payload: { package: up.json().digest, method: 'fota-push', selector: { prefix: 'rows-' }, policy: { maxParallel: 1, deviceTimeoutMs: 1000, retries: 0 } } });
        expect(res.statusCode).toBe(201);
        const id = res.json<View>().id;
        // the creation's writes come first (the rollout may have written its first device's row since)
        const created = 3;
        expect(writes.slice(0, created)).toEqual([1000, 1000, N - 2000]);
        // the first device's attempt: its own row per write, never the whole deployment
        await new Promise<void>((resolve) => {
          const off = platform.server.events.on((e) => {
            if (e.type === 'deployment' && e.deploymentId === id && e.endpoint !== undefined && e.state === 'failed') {
              off();
              resolve();
            }
          });
        });
        await platform.engine.abort(id);
        const during = writes.slice(created);
        // the abort skips every other row: written in batches of at most 1,000 too
        expect(Math.max(...during)).toBeLessThanOrEqual(1000);
        expect(during.reduce((a, b) => a + b, 0)).toBeLessThan(N + 50);
        expect((await get<View>(`/deployments/${id}`)).body.counts).toMatchObject({ failed: expect.any(Number), skipped: expect.any(Number) });
      } finally {
        store.write = write;
      }
    }, 120_000);

    it('refuses bad paging input with a clear error; an unknown deployment is 404', async () => {
      expect((await get('/deployments/none/devices')).status).toBe(404);
      const any = (await get<View[]>('/deployments')).body[0]!.id;
      for (const q of ['limit=0', 'limit=1001', 'limit=x', 'state=exploded', 'cursor=%2F%2F..', `cursor=${'A'.repeat(401)}`, 'other=1']) {
        const r = await get<{ error: string }>(`/deployments/${any}/devices?${q}`);
        expect(r.status, q).toBe(400);
        expect(r.body.error, q).toBeTruthy();
      }
      // a cursor past every endpoint: an empty last page
      const past = Buffer.from('\u{10FFFF}', 'utf8').toString('base64url');
      expect((await get<Page>(`/deployments/${any}/devices?cursor=${past}`)).body).toEqual({ id: any, devices: [], nextCursor: null });
    });
  });
}
