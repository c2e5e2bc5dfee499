// Issue 4 acceptance: 100 simulated devices, one rollout over SOTA push and one over pull; every
// device ends with the module's digest active and predicts known samples correctly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModule } from '../../compiler/runtime/index.ts';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { startOtaHarness, sampleHex, testSamples, zooModule, type OtaHarness, type Sample } from './ota-harness.ts';
import { waitUntil } from '../support/wait.ts';

let h: OtaHarness;
const N = 100;
beforeAll(async () => {
  h = await startOtaHarness();
  const eps = Array.from({ length: N }, (_, i) => `ota-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < eps.length; i += 25) await Promise.all(eps.slice(i, i + 25).map((ep) => h.client(ep)));
}, 120_000);
afterAll(async () => h.close());

async function rollout(moduleBytes: Uint8Array, method: string): Promise<Record<string, unknown>> {
  const { digest } = await h.platform.repo.put(moduleBytes);
  const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method, selector: { prefix: 'ota-' }, policy: { maxParallel: 25, deviceTimeoutMs: 60_000 } } });
  expect(res.statusCode).toBe(201);
  const id = res.json().id as string;
  await h.platform.engine.settled(id);
  return (await h.api.inject({ method: 'GET', url: `/deployments/${id}` })).json();
}

/** Samples the module itself classifies correctly: a device running it must agree. */
function knownSamples(moduleBytes: Uint8Array, n: number): Sample[] {
  const m = loadModule(moduleBytes);
  return testSamples(60).filter((s) => m.invoke(s.pixels).label === s.label).slice(0, n);
}

async function predict(ep: string, s: Sample): Promise<number> {
  const w = await h.api.inject({ method: 'PUT', url: `/devices/${ep}/data/32002/0/5`, payload: { value: sampleHex(s) } });
  expect(w.json().success).toBe(true);
  const run = await h.api.inject({ method: 'POST', url: `/devices/${ep}/execute/32002/0/6`, payload: {} });
  expect(run.json().success).toBe(true);
  return (await h.api.inject({ method: 'GET', url: `/devices/${ep}/data/32002/0/8` })).json().node.value as number;
}

describe('model rollout to 100 devices', () => {
  it('rolls the CNN out over SOTA push: every device runs it and predicts known samples', async () => {
    const mod = zooModule('cnn');
    const d = await rollout(mod, 'sota-push');
    expect(d.status).toBe('completed');
    expect(d.counts).toEqual({ done: N });
    const digest = sha256Hex(mod);
    const ml = (await h.api.inject({ method: 'GET', url: '/devices/ota-007/ml' })).json();
    expect(ml.activeDigest).toBe(digest);
    const samples = knownSamples(mod, 3);
    expect(samples.length).toBe(3);
    for (const ep of ['ota-000', 'ota-042', 'ota-099']) {
      for (const s of samples) expect(await predict(ep, s)).toBe(s.label);
    }
  }, 180_000);

  it('rolls the MLP out over SOTA pull: the fleet view shows it active on all 100', async () => {
    const mod = zooModule('mlp');
    const d = await rollout(mod, 'sota-pull');
    expect({ status: d.status, reason: d.reason, firstFailure: (d.devices as { error: unknown }[]).find((r) => r.error)?.error }).toMatchObject({ status: 'completed' });
    expect(d.counts).toEqual({ done: N });
    const digest = sha256Hex(mod);
    // every device reports the digest active (the engine refreshed each device's ML view)
    const entry = await waitUntil(`the MLP active on all ${N} devices in /ml/status`, async () => {
      const status = (await h.api.inject({ method: 'GET', url: '/ml/status' })).json();
      const e = status.models.find((m: { digest: string }) => m.digest === digest) as { active: number } | undefined;
      return e?.active === N ? e : undefined;
    }, 30_000, 200);
    expect(entry.active).toBe(N);
    const samples = knownSamples(mod, 2);
    for (const ep of ['ota-001', 'ota-050', 'ota-098']) {
      for (const s of samples) expect(await predict(ep, s)).toBe(s.label);
    }
  }, 240_000);
});
