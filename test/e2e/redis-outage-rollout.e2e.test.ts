// Issue 14 acceptance: "Redis killed during a rollout of 50 devices and restarted 20 s later: no
// crash, the rollout finishes with every device accounted for." The real CLI on a real
// redis-server; Redis is killed with SIGKILL mid-rollout and started again on the same port 20 s
// later without persistence, i.e. empty (§2's harder case: "after Redis comes back empty the node
// re-writes what it holds"). The engine pauses while Redis is away (no device starts), the outage
// consumes no retries (retries: 0 here, so one counted failure would fail a device), the rollout
// resumes once Redis is back and every device ends done, flashed exactly once.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { createRng } from '../helpers/prng.ts';
import { startMain, type Started } from '../support/main-process.ts';
import { startRedis, type Service } from '../support/services.ts';
import { fastTiming } from './harness.ts';

const DEVICES = 50;
const OUTAGE_MS = 20_000;

type Row = { endpoint: string; state: string; attempts: number; failures: number; startedAt: string | null; error: { code: string } | null };
type View = { status: string; devices: Row[] };

let redis: Service | undefined;
let main: Started | undefined;
const clients: SimulatedClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  if (main?.proc.exitCode === null) {
    main.proc.kill('SIGTERM');
    await main.exited;
  }
  await redis?.stop();
});

const lineTime = (m: Started, msg: string): number | undefined => m.lines.find((l) => l.msg === msg)?.time as number | undefined;

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Redis killed during a rollout of 50 devices', () => {
  it('pauses, resumes when Redis is back empty 20 s later, finishes with every device done once and no retry consumed', async () => {
    redis = await startRedis();
    const m = main = await startMain(['--store', redis.url, '--node-id', 'outage-rollout', '--log-level', 'info']);
    const models = loadObjectModels(objectsDir);
    for (let i = 0; i < DEVICES; i++) {
      const c = new SimulatedClient({
        endpoint: `ro-${String(i).padStart(2, '0')}`, server: { address: '127.0.0.1', port: m.coapPort }, models, profile: loadProfile('esp32'),
        log: quietLogger, timing: fastTiming, firmwareOnly: {}, lifetime: 3600,
      });
      clients.push(c);
      await c.start();
    }
    const img = buildFirmwareImage({ version: '4.2.0', payload: createRng(2014).bytes(4000) });
    const up = await fetch(`${m.http}/packages?name=fw&version=4.2.0&kind=firmware`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: img });
    expect(up.status).toBe(201);
    const digest = ((await up.json()) as { digest: string }).digest;
    const created = await fetch(`${m.http}/deployments`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ package: digest, method: 'fota-push', selector: { prefix: 'ro-' }, policy: { maxParallel: 8, batchSize: DEVICES, deviceTimeoutMs: 30_000, retries: 0, abortFailureRate: 1 } }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    const view = async (): Promise<View> => {
      const r = await fetch(`${m.http}/deployments/${id}`);
      if (r.status !== 200) throw new Error(`GET /deployments/${id}: ${r.status}`);
      return r.json() as Promise<View>;
    };

    // kill Redis once a few devices are done and others are in the middle of their update
    await until('devices done and others under way', 120_000, async () => {
      const v = await view();
      const done = v.devices.filter((r) => r.state === 'done').length;
      return done >= 5 && v.devices.some((r) => !['pending', 'done', 'failed'].includes(r.state)) ? true : undefined;
    });
    const killedAt = Date.now();
    const gone = new Promise((r) => redis!.proc.once('exit', r));
    redis.kill();
    await gone;
    const pausedAt = await until('the engine to pause', 15_000, async () => lineTime(m, 'deployment store unavailable: deployments paused (no new device starts; state kept in memory)'));
    // during the outage: alive (liveness 200), not ready, the running rollout still visible from memory
    expect((await fetch(`${m.http}/health`)).status).toBe(200);
    expect((await fetch(`${m.http}/ready`)).status).toBe(503);
    expect((await view()).status).toBe('running');
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + OUTAGE_MS - Date.now())));
    redis = await startRedis(redis.port); // same port, no persistence: Redis comes back empty
    const resumedAt = await until('the engine to resume', 30_000, async () => lineTime(m, 'deployment store available again: deployments resume'));
    expect(resumedAt - pausedAt).toBeGreaterThan(OUTAGE_MS / 2);
    // what the node held in memory is written to the emptied Redis on resume, not only at the end
    const direct = new Redis(redis.url, { lazyConnect: true });
    await direct.connect();
    // the header, and every row (not only those that changed after the outage): the rows hash and its paging index
    const rewritten = await until('the running deployment in the new Redis', 15_000, async () => {
      const json = await direct.hget('tinymlaas:deployments', id);
      const rows = await direct.hlen(`tinymlaas:deployment-rows:${id}`);
      return json === null || rows < DEVICES ? undefined : { header: JSON.parse(json) as { total: number }, rows, order: await direct.zcard(`tinymlaas:deployment-order:${id}`) };
    });
    expect(rewritten).toEqual({ header: expect.objectContaining({ total: DEVICES }), rows: DEVICES, order: DEVICES });
    await direct.quit();

    const final = await until('the rollout to finish', 240_000, async () => {
      const v = await view();
      return v.status === 'running' ? undefined : v;
    });
    expect(main.proc.exitCode).toBeNull();
    expect(final.status).toBe('completed');
    const parked = final.devices.reduce((n, r) => n + r.attempts - 1, 0);
    console.log(`rollout across a ${OUTAGE_MS / 1000} s Redis outage: paused ${resumedAt - pausedAt} ms, attempts parked and started again: ${parked}`);
    for (const r of final.devices) {
      expect(r.state, `${r.endpoint}: ${JSON.stringify(r.error)}, ${r.attempts} attempts, started ${r.startedAt}, paused ${new Date(pausedAt).toISOString()}..${new Date(resumedAt).toISOString()}`).toBe('done');
      expect(r.failures, r.endpoint).toBe(0); // the outage consumed no retry
      // no device (or attempt) started while the engine was paused
      const started = Date.parse(r.startedAt!);
      expect(started < pausedAt || started >= resumedAt, `${r.endpoint} started at ${started}, paused ${pausedAt}..${resumedAt}`).toBe(true);
    }
    for (const c of clients) {
      expect(c.firmware.counts.installs, c.endpoint).toBe(1); // flashed once: never twice
      expect(c.store.get([3, 0, 3]), c.endpoint).toBe('4.2.0');
    }
    // what the node held in memory is in the new (empty) Redis again: the finished rollout, read from the store
    const stored = await until('the finished deployment in the store', 15_000, async () => {
      const r = await fetch(`${m.http}/deployments`);
      if (r.status !== 200) return undefined;
      // GET /deployments reads the store for deployments that no longer run
      return ((await r.json()) as { id: string; status: string }[]).find((d) => d.id === id && d.status === 'completed');
    });
    expect(stored.status).toBe('completed');
    const devicesListed = await until('the fleet listed again', 15_000, async () => {
      const r = await fetch(`${m.http}/devices?limit=1000`);
      if (r.status !== 200) return undefined;
      const n = ((await r.json()) as { devices: unknown[] }).devices.length;
      return n === DEVICES ? n : undefined;
    });
    expect(devicesListed).toBe(DEVICES);
    const metrics = await (await fetch(`${m.http}/metrics`)).text();
    expect(metrics).toMatch(/^process_unhandled_rejections_total\{node="outage-rollout"\} 0$/m);
  }, 420_000);
});
