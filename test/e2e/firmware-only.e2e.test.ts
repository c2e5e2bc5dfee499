// Issue 9 acceptance: an ordinary device with Firmware Update only (no Object 9, no /32001), with
// the E.6 state machine (validation after the write, Update Result codes, reboot and a new
// registration from a new port, State 2 with Result 8 on a failed update), updated through
// POST /packages + POST /deployments, by push and by pull.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { createRng } from '../helpers/prng.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
const rng = createRng(9);
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

type Row = { endpoint: string; state: string; attempts: number; failures: number; error: { code: string; message: string } | null; note: string | null; alreadyInstalled: boolean; startedAt: string; finishedAt: string };
type View = { id: string; status: string; reason: string | null; counts: Record<string, number>; devices: Row[]; packageKind: string; packageVersion: string | null };

async function upload(version: string, opts: { failsAtBoot?: boolean; corrupt?: boolean; deviceModel?: string } = {}): Promise<string> {
  const img = buildFirmwareImage({ version, payload: rng.bytes(1500 + rng.int(1500)), failsAtBoot: opts.failsAtBoot });
  if (opts.corrupt) img[img.length >> 1] ^= 0x40; // one bit in the payload: the trailing SHA-256 no longer matches
  const q = new URLSearchParams({ name: 'sensor-fw', version, kind: 'firmware', ...(opts.deviceModel ? { deviceModel: opts.deviceModel } : {}) });
  const r = await h.api.inject({ method: 'POST', url: `/packages?${q}`, headers: { 'content-type': 'application/octet-stream' }, payload: img });
  expect(r.statusCode).toBe(201);
  return r.json().digest as string;
}

async function deploy(pkg: string, method: string, selector: Record<string, unknown>, policy: Record<string, unknown> = {}): Promise<View> {
  const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: pkg, method, selector, policy: { deviceTimeoutMs: 20_000, retries: 2, ...policy } } });
  expect(r.statusCode, r.body).toBe(201);
  await h.platform.engine.settled(r.json().id);
  return (await h.api.inject({ method: 'GET', url: `/deployments/${r.json().id}` })).json() as View;
}

async function fwDevice(endpoint: string, firmwareOnly: { deliveryMethod?: 0 | 1 | 2; protocols?: number[] } = {}): Promise<SimulatedClient> {
  return h.client(endpoint, { firmwareOnly });
}

const ms = (r: Row): number => Date.parse(r.finishedAt) - Date.parse(r.startedAt);

describe('firmware update of a firmware-only device', () => {
  it('has Object 5 and no Object 9 or ML objects', async () => {
    const c = await fwDevice('fw-shape');
    const reg = await h.platform.server.registrations.byEndpoint('fw-shape');
    const objects = new Set(reg!.objectLinks.map((l) => l.path[0]));
    expect(objects.has(5)).toBe(true);
    expect(objects.has(9) || objects.has(32001) || objects.has(32002)).toBe(false);
    expect(() => c.software).toThrow(/firmware-only/);
  });

  it('push: succeeded, flashed exactly once with retries on, back from a new port; a second deployment delivers nothing', async () => {
    const c = await fwDevice('fw-push');
    const portBefore = c.address.port;
    const pkg = await upload('2.0.0');
    const d = await deploy(pkg, 'fota-push', { endpoints: ['fw-push'] });
    expect(d).toMatchObject({ status: 'completed', packageKind: 'firmware', packageVersion: '2.0.0' });
    expect(d.devices[0]).toMatchObject({ state: 'done', attempts: 1, failures: 0, error: null, alreadyInstalled: false });
    expect(c.firmware.counts).toMatchObject({ installs: 1, uriWrites: 0 });
    expect(c.store.get([3, 0, 3])).toBe('2.0.0');
    expect(c.store.get([5, 0, 7])).toBe('2.0.0');
    expect(c.address.port).not.toBe(portBefore); // rebooted into the image: a new socket
    expect(c.stats.registrations).toBe(2);
    // the firmware fleet view learns the new version when the rollout is done with the device
    await expect.poll(() => h.platform.firmware.all().find((f) => f.endpoint === 'fw-push')?.pkgVersion, { timeout: 10_000 }).toBe('2.0.0');
    // the same package again: the device already runs it, nothing is sent
    const again = await deploy(pkg, 'fota-push', { endpoints: ['fw-push'] });
    expect(again.devices[0]).toMatchObject({ state: 'done', alreadyInstalled: true });
    expect(c.firmware.counts.installs).toBe(1);
    expect(c.firmware.counts.packageWrites).toBe(1);
  });

  it('pull: the device fetches the URI, flashes once, and reports the new version', async () => {
    const c = await fwDevice('fw-pull');
    const pkg = await upload('2.1.0');
    const d = await deploy(pkg, 'fota-pull', { endpoints: ['fw-pull'] });
    expect(d.status).toBe('completed');
    expect(d.devices[0]).toMatchObject({ state: 'done', failures: 0, note: null });
    expect(c.firmware.counts).toMatchObject({ installs: 1, uriWrites: 1, packageWrites: 0 });
    expect(c.store.get([3, 0, 3])).toBe('2.1.0');
    // the observations the flow opened (State, Update Result) ended with it
    expect(h.platform.server.observations.list('fw-pull')).toEqual([]);
  });

  it('bad integrity: failed with Update Result 5 within a second, no retry, no flash; the deployment failed', async () => {
    const c = await fwDevice('fw-corrupt');
    const pkg = await upload('6.6.6', { corrupt: true });
    const d = await deploy(pkg, 'fota-push', { endpoints: ['fw-corrupt'] });
    expect(d.status).toBe('failed'); // every device failed
    const r = d.devices[0]!;
    expect(r).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'FW_RESULT_5', message: expect.stringMatching(/integrity/) } });
    expect(ms(r)).toBeLessThan(1000);
    expect(c.firmware.counts.installs).toBe(0);
    expect(c.store.get([5, 0, 3])).toBe(0);
  });

  it('a failed Update (State 2, Result 8): failed within a second of the reboot, reset to Idle afterwards', async () => {
    const c = await fwDevice('fw-boot-fails');
    const pkg = await upload('7.0.0', { failsAtBoot: true });
    const d = await deploy(pkg, 'fota-push', { endpoints: ['fw-boot-fails'] });
    const r = d.devices[0]!;
    expect(r).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'FW_RESULT_8', message: expect.stringMatching(/firmware update failed/) } });
    expect(c.firmware.counts).toMatchObject({ installs: 0, failedUpdates: 1 });
    expect(ms(r)).toBeLessThan(1000 + 2000); // the device's own reboot and re-registration, then a second at most
    // the server reset the state machine (E.6): the device takes the next package
    expect(c.store.get([5, 0, 3])).toBe(0);
    const good = await upload('7.0.1');
    const next = await deploy(good, 'fota-push', { endpoints: ['fw-boot-fails'] });
    expect(next.devices[0]!.state).toBe('done');
    expect(c.store.get([3, 0, 3])).toBe('7.0.1');
  });

  it('a device left in State 2 by an earlier run is reset and updated', async () => {
    const c = await fwDevice('fw-left');
    const stale = buildFirmwareImage({ version: '0.9.0', payload: rng.bytes(800) });
    const w = await h.platform.server.request('fw-left', { kind: 'write', path: [5, 0, 0], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 0, type: 'opaque', value: stale } });
    expect(!w.queued && w.result.success).toBe(true);
    await expect.poll(() => c.store.get([5, 0, 3]), { timeout: 10_000 }).toBe(2);
    const pkg = await upload('3.0.0');
    const d = await deploy(pkg, 'fota-pull', { endpoints: ['fw-left'] });
    expect(d.devices[0]).toMatchObject({ state: 'done', attempts: 1 });
    expect(c.store.get([3, 0, 3])).toBe('3.0.0');
    expect(c.firmware.counts.installs).toBe(1);
  });

  it('a push-only device is never sent a URI: pull switches to push (noted), or is refused by policy', async () => {
    const c = await fwDevice('fw-pushonly', { deliveryMethod: 1 });
    const pkg = await upload('4.0.0');
    const refused = await deploy(pkg, 'fota-pull', { endpoints: ['fw-pushonly'] }, { deliveryFallback: 'refuse' });
    expect(refused.devices[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'DELIVERY_UNSUPPORTED', message: expect.stringMatching(/pushed firmware only/) } });
    const d = await deploy(pkg, 'fota-pull', { endpoints: ['fw-pushonly'] });
    expect(d.devices[0]).toMatchObject({ state: 'done', note: expect.stringMatching(/pull switched to push/) });
    expect(c.firmware.counts).toMatchObject({ uriWrites: 0, installs: 1 });
  });

  it('a device that cannot pull over CoAP (/5/0/8 lists CoAPS only) gets no coap:// URI', async () => {
    const c = await fwDevice('fw-coaps', { protocols: [1] });
    const pkg = await upload('4.1.0');
    const d = await deploy(pkg, 'fota-pull', { endpoints: ['fw-coaps'] });
    expect(d.devices[0]).toMatchObject({ state: 'done', note: expect.stringMatching(/cannot pull over CoAP/) });
    expect(c.firmware.counts).toMatchObject({ uriWrites: 0, installs: 1 });
  });

  it('a fleet of 20 with maxParallel 5: 20/20 succeeded, completed; the package cannot be deleted meanwhile; /ml/status ignores it', async () => {
    const fleet = await Promise.all(Array.from({ length: 20 }, (_, i) => fwDevice(`fw-fleet-${String(i).padStart(2, '0')}`)));
    const pkg = await upload('5.0.0');
    const mlBefore = (await h.api.inject({ method: 'GET', url: '/ml/status' })).json().deployments.total as number;
    const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: pkg, method: 'fota-pull', selector: { prefix: 'fw-fleet-' }, policy: { maxParallel: 5, deviceTimeoutMs: 30_000, retries: 1 } } });
    expect(r.statusCode).toBe(201);
    const del = await h.api.inject({ method: 'DELETE', url: `/packages/${pkg}` });
    expect(del.statusCode).toBe(409);
    await h.platform.engine.settled(r.json().id);
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${r.json().id}` })).json() as View;
    expect(d.status).toBe('completed');
    expect(d.counts).toEqual({ done: 20 });
    for (const c of fleet) {
      expect(c.firmware.counts.installs).toBe(1);
      expect(c.store.get([3, 0, 3])).toBe('5.0.0');
    }
    expect((await h.api.inject({ method: 'GET', url: '/ml/status' })).json().deployments.total).toBe(mlBefore);
    // the firmware fleet view: the 20 run 5.0.0, read from /5/0/7 (or /3/0/3)
    const model = fleet[0]!.store.get([3, 0, 1]) as string;
    const fw = (await h.api.inject({ method: 'GET', url: '/firmware/status?refresh=true' })).json() as { models: { deviceModel: string; versions: { version: string; devices: number; endpoints: string[] }[] }[]; deployments: { total: number } };
    const v5 = fw.models.find((m) => m.deviceModel === model)!.versions.find((v) => v.version === '5.0.0')!;
    expect(v5.devices).toBe(20);
    expect(v5.endpoints).toEqual(fleet.map((c) => c.endpoint).sort());
    expect(fw.deployments.total).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a firmware package goes by FOTA only', async () => {
    await fwDevice('fw-method');
    const pkg = await upload('8.0.0');
    const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: pkg, method: 'sota-push', selector: { endpoints: ['fw-method'] } } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('BAD_METHOD');
    const none = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: 'b'.repeat(64), method: 'fota-push', selector: { endpoints: ['fw-method'] } } });
    expect(none.statusCode).toBe(404);
  });
});
