// Rollout policy with real devices: a failing canary stops the rollout before the fleet is
// touched; a failure rate past the threshold aborts; the per-device timeout ends a device that
// never finishes (LWM2M-NOTES: never wait for ever).
import { afterEach, describe, expect, it } from 'vitest';
import { startOtaHarness, zooModule, type OtaHarness } from '../e2e/ota-harness.ts';

let h: OtaHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function corrupted(): Buffer {
  const bad = Buffer.from(zooModule('cnn'));
  bad[100] ^= 0xff;
  return bad;
}

async function deploy(hh: OtaHarness, bytes: Uint8Array, prefix: string, policy: Record<string, number>): Promise<Record<string, unknown> & { counts: Record<string, number>; status: string; reason: string; devices: { endpoint: string; state: string; error: { code: string } | null }[] }> {
  const { digest } = await hh.platform.repo.put(bytes);
  const res = await hh.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method: 'sota-push', selector: { prefix }, policy } });
  expect(res.statusCode).toBe(201);
  await hh.platform.engine.settled(res.json().id);
  return (await hh.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
}

describe('rollout policy', () => {
  it('a failing canary aborts the rollout and leaves the rest of the fleet untouched', async () => {
    h = await startOtaHarness();
    const hh = h;
    const devices = await Promise.all(Array.from({ length: 6 }, (_, i) => hh.client(`canary-${i}`)));
    const d = await deploy(hh, corrupted(), 'canary-', { canary: 2, retries: 0, maxParallel: 2 });
    expect(d.status).toBe('aborted');
    expect(d.reason).toMatch(/canary/);
    expect(d.counts).toEqual({ failed: 2, skipped: 4 });
    // the four devices outside the canary never received a package
    for (const c of devices.slice(2)) expect(c.stats.requestsServed).toBeLessThan(3);
  }, 60_000);

  it('aborts when the failure rate passes the threshold', async () => {
    h = await startOtaHarness();
    const hh = h;
    await Promise.all(Array.from({ length: 8 }, (_, i) => hh.client(`rate-${i}`)));
    const d = await deploy(hh, corrupted(), 'rate-', { retries: 0, maxParallel: 1, minSample: 3, abortFailureRate: 0.5 });
    expect(d.status).toBe('aborted');
    expect(d.reason).toMatch(/failure rate/);
    expect(d.counts.failed).toBe(3);
    expect(d.counts.skipped).toBe(5);
    expect(d.devices.filter((r) => r.state === 'failed').every((r) => r.error?.code === 'SW_RESULT_53')).toBe(true);
  }, 60_000);

  it('ends a device that never answers at its timeout, as failed', async () => {
    h = await startOtaHarness();
    const hh = h;
    await hh.client('slow-ok');
    const mute = await hh.client('slow-mute');
    mute.sleep(); // drops everything from now on, a device that partly implements nothing
    const t0 = Date.now();
    const d = await deploy(hh, zooModule('cnn'), 'slow-', { retries: 0, deviceTimeoutMs: 3000, minSample: 10 });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(d.status).toBe('completed');
    const byEp = Object.fromEntries(d.devices.map((r) => [r.endpoint, r]));
    expect(byEp['slow-ok']!.state).toBe('done');
    expect(byEp['slow-mute']!.state).toBe('failed');
  }, 60_000);
});
