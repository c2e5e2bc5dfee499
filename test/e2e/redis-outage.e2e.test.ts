// A Redis outage seen from the API of the real CLI process (issue 14 §2): liveness stays 200,
// readiness 503, routes that need the store answer 503 with Retry-After at once (none hangs or
// answers 500), and when Redis returns empty the node re-writes the registrations it serves and
// the deployment/model records it saved, with no unhandled rejection on the way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { startMain, type Started } from '../support/main-process.ts';
import { startRedis, type Service } from '../support/services.ts';
import { fastTiming } from './harness.ts';

let redis: Service;
let main: Started;
let dev: SimulatedClient;
beforeAll(async () => {
  redis = await startRedis();
  main = await startMain(['--store', redis.url, '--node-id', 'outage-a']);
  dev = new SimulatedClient({ endpoint: 'survivor-1', server: { address: '127.0.0.1', port: main.coapPort }, models: loadObjectModels(objectsDir), profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming, lifetime: 3600, autoUpdate: false });
  await dev.start();
}, 60_000);
afterAll(async () => {
  await dev?.stop();
  if (main?.proc.exitCode === null) {
    main.proc.kill('SIGTERM');
    await main.exited;
  }
  await redis?.stop();
});

async function timed(url: string): Promise<{ status: number; ms: number; retryAfter: string | null; body: Record<string, unknown> }> {
  const t0 = Date.now();
  const r = await fetch(`${main.http}${url}`);
  return { status: r.status, ms: Date.now() - t0, retryAfter: r.headers.get('retry-after'), body: await r.json() as Record<string, unknown> };
}

describe('Redis outage', () => {
  it('health 200, ready 503, store routes 503 + Retry-After at once; back empty: the node re-writes what it serves', async () => {
    expect((await timed('/devices/survivor-1')).status).toBe(200);
    await redis.stop();
    const health = await timed('/health');
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(1500);
    expect((await timed('/ready')).status).toBe(503);
    for (const url of ['/devices', '/devices/survivor-1', '/models', '/deployments/none']) {
      const r = await timed(url);
      expect(r.status, url).toBe(503);
      expect(r.retryAfter, url).toMatch(/^\d+$/);
      expect(r.ms, url).toBeLessThan(3000);
      expect(r.body.error).toBe('STORE_UNAVAILABLE');
    }
    redis = await startRedis(redis.port); // empty: no persistence
    let listed: string[] = [];
    for (let i = 0; i < 100 && !listed.includes('survivor-1'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${main.http}/devices`).catch(() => undefined);
      if (r?.status === 200) listed = ((await r.json()) as { devices: { endpoint: string }[] }).devices.map((d) => d.endpoint);
    }
    expect(listed).toEqual(['survivor-1']);
    expect((await timed('/ready')).status).toBe(200);
    expect(main.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('redis came back without its data') && l.rewritten === 1)).toBe(true);
    const read = await timed('/devices/survivor-1/data/3/0/2');
    expect(read.body).toMatchObject({ node: { value: 'SN-survivor-1' } });
    const metrics = await (await fetch(`${main.http}/metrics`)).text();
    expect(metrics).toMatch(/^process_unhandled_rejections_total\{node="outage-a"\} 0$/m);
    expect(main.proc.exitCode).toBeNull();
  }, 60_000);
});
