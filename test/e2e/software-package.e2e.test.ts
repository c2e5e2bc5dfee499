// Object 9 for software packages decides by Update State, Update Result and Activation State, and
// by the package version the device then reports (/9/x/1), not by a 2.04 to the package write.
// The simulated device takes inference modules as software; its PkgVersion is the first 12 hex
// digits of the package's SHA-256 (simulators/UPDATE-BEHAVIOUR.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { createRng } from '../helpers/prng.ts';
import { startOtaHarness, zooModule, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

async function upload(bytes: Uint8Array, version: string): Promise<string> {
  const r = await h.api.inject({ method: 'POST', url: `/packages?name=app&version=${version}&kind=software`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
  expect(r.statusCode).toBeLessThan(300);
  return r.json().digest as string;
}

async function deploy(pkg: string, endpoint: string): Promise<{ status: string; devices: { state: string; attempts: number; error: { code: string; message: string } | null; alreadyInstalled: boolean }[] }> {
  const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: pkg, method: 'sota-push', selector: { endpoints: [endpoint] }, policy: { retries: 2, deviceTimeoutMs: 20_000 } } });
  expect(r.statusCode, r.body).toBe(201);
  await h.platform.engine.settled(r.json().id);
  return (await h.api.inject({ method: 'GET', url: `/deployments/${r.json().id}` })).json();
}

describe('software packages over Object 9', () => {
  it('a package the device cannot take ends with its Update Result at once, not retried', async () => {
    await h.client('sw-bad');
    const pkg = await upload(createRng(54).bytes(3000), '1.0.0');
    const d = await deploy(pkg, 'sw-bad');
    expect(d.status).toBe('failed');
    expect(d.devices[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: expect.stringMatching(/^SW_RESULT_5[34]$/) } });
  });

  it('installed, activated and reporting the package version: done; again: nothing installed twice', async () => {
    const c = await h.client('sw-good');
    const mod = zooModule('mlp');
    const pkg = await upload(mod, sha256Hex(mod).slice(0, 12));
    const d = await deploy(pkg, 'sw-good');
    expect(d.devices[0]).toMatchObject({ state: 'done', attempts: 1, alreadyInstalled: false });
    const again = await deploy(pkg, 'sw-good');
    expect(again.devices[0]).toMatchObject({ state: 'done', alreadyInstalled: true });
    const installed = c.store.instanceIds(9).filter((i) => c.store.get([9, i, 7]) === 4);
    expect(installed).toHaveLength(1);
  });

  it('a device that reports another version than the package\'s fails as VERSION_MISMATCH', async () => {
    await h.client('sw-version');
    const mod = zooModule('cnn');
    const pkg = await upload(mod, '9.9.9');
    const d = await deploy(pkg, 'sw-version');
    expect(d.devices[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'VERSION_MISMATCH', message: expect.stringMatching(/9\.9\.9/) } });
  });
});
