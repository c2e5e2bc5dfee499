// Issue 14, the deployment engine's faults: the store (Redis) going away mid-rollout crashes
// nothing and loses nothing; an attempt cut short by the server's own crash costs no retry and
// installs nothing twice (the device's state is read first, stale /9 instances reset); a dead
// device fails within its own step limits, not after the 60 s CoAP default.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { defaultPolicy, type Deployment, type DeviceRollout } from '../../src/ota/deployment.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import { storedRows } from '../helpers/deployment-rows.ts';
import { createRng } from '../helpers/prng.ts';
import { startRedis, type Service } from '../support/services.ts';
import { startOtaHarness, zooModule, type OtaHarness } from './ota-harness.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

async function ok(h: OtaHarness, endpoint: string, req: Parameters<OtaHarness['platform']['server']['request']>[1]): Promise<void> {
  const out = await h.platform.server.request(endpoint, req);
  if (out.queued || !out.result.success) throw new Error(`${req.kind} ${'path' in req ? req.path.join('/') : ''}: ${out.queued ? 'queued' : out.result.code}`);
}

describe('deployment engine faults', () => {
  it('Redis stopped mid-rollout and started again (empty): no crash, no unhandled rejection, the rollout finishes and is written back', async () => {
    let redis: Service = await startRedis();
    const port = redis.port;
    cleanups.push(() => redis.stop());
    const store = await RedisDeploymentStore.open(redis.url, 'fault');
    cleanups.push(() => store.close());
    const h = await startOtaHarness({ deploymentStore: store });
    cleanups.push(() => h.close());
    await Promise.all(Array.from({ length: 6 }, (_, i) => h.client(`redis-out-${i}`, { firmwareOnly: {} })));
    const img = buildFirmwareImage({ version: '1.1.0', payload: createRng(14).bytes(2000) });
    const up = await h.api.inject({ method: 'POST', url: '/packages?name=fw&version=1.1.0&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    const before = unhandled.length;
    const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: up.json().digest, method: 'fota-push', selector: { prefix: 'redis-out-' }, policy: { maxParallel: 1, deviceTimeoutMs: 20_000 } } });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    // kill Redis once the first device is done; start it again (empty) once two more finished
    // without it or the engine paused for it (its heartbeat probe finds the store gone within a
    // second: on a busy machine that comes before two more devices finish, which it then never would)
    const done: string[] = [];
    let restart: Promise<void> | undefined;
    const restartRedis = (): Promise<void> => (restart ??= startRedis(port).then((r) => void (redis = r)));
    const restarted = new Promise<void>((resolve) => {
      let paused: NodeJS.Timeout | undefined;
      const off = h.platform.server.events.on((e) => {
        if (e.type !== 'deployment' || e.deploymentId !== id || e.state !== 'done' || !e.endpoint) return;
        done.push(e.endpoint);
        if (done.length === 1) {
          redis.kill();
          paused = setInterval(() => {
            if (h.platform.engine.pause.stats.outages === 0) return;
            clearInterval(paused);
            off();
            void restartRedis().then(resolve);
          }, 50);
        }
        if (done.length === 3) {
          clearInterval(paused);
          off();
          void restartRedis().then(resolve);
        }
      });
    });
    await restarted;
    await h.platform.engine.settled(id);
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${id}` })).json();
    expect(d.status).toBe('completed');
    expect(d.counts).toEqual({ done: 6 });
    expect(unhandled.length).toBe(before);
    // what Redis holds now is the final state, written again after it came back
    const stored = await store.get(id);
    expect(stored?.status).toBe('completed');
    expect(stored?.counts).toEqual({ done: 6 });
    const rows = Object.values(await storedRows(store, id));
    expect(rows.map((r) => r.state)).toEqual(Array(6).fill('done'));
  }, 120_000);

  it('a restart mid-attempt costs no retry and installs nothing twice: the installed module is activated, a stale /9 instance reset', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'crash-'));
    const a = await startOtaHarness({ dataDir });
    const mod = zooModule('mlp');
    const { digest } = await a.platform.repo.put(mod);
    const c = await a.client('crashy');
    cleanups.push(() => c.stop());
    // what a crashed attempt leaves behind: /9/0 INSTALLED with the module (an ML Model instance,
    // not active yet), and a second delivery half-way in /9/1 (DELIVERED)
    await ok(a, 'crashy', { kind: 'write', path: [9, 0, 2], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 2, type: 'opaque', value: mod } });
    await expect.poll(() => c.store.get([9, 0, 7]), { timeout: 10_000 }).toBe(3);
    await ok(a, 'crashy', { kind: 'execute', path: [9, 0, 4] });
    await expect.poll(() => c.store.get([9, 0, 7]), { timeout: 10_000 }).toBe(4);
    await ok(a, 'crashy', { kind: 'create', path: [9], node: { kind: 'instance', id: 1, resources: [{ kind: 'resource', id: 3, type: 'string', value: '' }] } });
    await ok(a, 'crashy', { kind: 'write', path: [9, 1, 2], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 2, type: 'opaque', value: mod } });
    await expect.poll(() => c.store.get([9, 1, 7]), { timeout: 10_000 }).toBe(3);
    const coapPort = a.platform.server.coapAddress.port;
    await a.api.close();
    await a.platform.stop();
    // the record a kill -9 leaves: the device mid-attempt, its only attempt (retries 0) already counted;
    // written in the single-file form of before the header/rows split, which the store migrates on open
    const record: Omit<Deployment, 'counts' | 'total'> & { devices: Record<string, DeviceRollout> } = {
      id: 'crashed0', moduleDigest: digest, packageKind: 'ml-module', method: 'sota-push', selector: { endpoints: ['crashy'] },
      policy: { ...defaultPolicy, retries: 0, deviceTimeoutMs: 20_000 }, status: 'running', createdAt: Date.now(),
      devices: { crashy: { endpoint: 'crashy', state: 'installing', attempts: 1, startedAt: Date.now() } },
    };
    await writeFile(path.join(dataDir, 'deployments.json'), JSON.stringify([record]));
    const b = await startOtaHarness({ dataDir, coapPort });
    cleanups.push(() => b.close());
    await c.update(); // the new server does not know it (4.04): it registers again
    await b.platform.engine.settled('crashed0');
    const d = (await b.api.inject({ method: 'GET', url: '/deployments/crashed0' })).json();
    expect(d.status).toBe('completed');
    expect(d.devices[0]).toMatchObject({ state: 'done', attempts: 2, failures: 0, error: null, alreadyInstalled: true });
    const withDigest = c.store.instanceIds(32001).filter((i) => c.store.get([32001, i, 2]) === digest);
    expect(withDigest).toHaveLength(1);
    expect(c.store.get([32001, withDigest[0]!, 9])).toBe(1); // active
    expect(c.store.get([9, 0, 7])).toBe(4);
    expect(c.store.get([9, 1, 7])).toBe(0); // the stale delivery is gone
  }, 120_000);

  it('a dead device fails within its own step limits (two attempts of 2 s), not after the CoAP default', async () => {
    const h = await startOtaHarness();
    cleanups.push(() => h.close());
    const c = await h.client('dead-0', { firmwareOnly: {} });
    await c.stop(); // gone without a word: still registered
    const img = buildFirmwareImage({ version: '9.9.9', payload: Buffer.alloc(100, 1) });
    const up = await h.api.inject({ method: 'POST', url: '/packages?name=fw&version=9.9.9&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    const t0 = Date.now();
    const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: up.json().digest, method: 'fota-push', selector: { endpoints: ['dead-0'] }, policy: { deviceTimeoutMs: 2000, retries: 1 } } });
    await h.platform.engine.settled(res.json().id);
    const elapsed = Date.now() - t0;
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
    expect(d.devices[0]).toMatchObject({ state: 'failed', attempts: 2, failures: 2 });
    expect(['TIMEOUT', 'DEVICE_TIMEOUT']).toContain(d.devices[0].error.code);
    expect(elapsed).toBeLessThan(2 * 2000 + 3000);
  }, 60_000);
});
