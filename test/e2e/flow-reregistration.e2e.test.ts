// Issue 9: an update flow's observations belong to the device's registration (LwM2M 1.1 TS Core
// §6.4.1; a client forgets its observations when it registers again). A firmware-only device that
// registers again from a new port while the flow watches State and Update Result: the flow observes
// again on the new registration (it does not wait on a dead observation), finishes, and leaves no
// observation behind, neither on the server nor on the device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import { createRng } from '../helpers/prng.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
const rng = createRng(91);
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

async function upload(version: string): Promise<string> {
  const img = buildFirmwareImage({ version, payload: rng.bytes(2000) });
  const q = new URLSearchParams({ name: 'rereg-fw', version, kind: 'firmware' });
  const r = await h.api.inject({ method: 'POST', url: `/packages?${q}`, headers: { 'content-type': 'application/octet-stream' }, payload: img });
  expect(r.statusCode).toBe(201);
  return r.json().digest as string;
}

describe('an update flow across a new registration', () => {
  it('re-observes on the new registration, succeeds, and leaves no observation on the server or the device', async () => {
    const ep = 'fw-rereg';
    // the device stays Downloading for 1.5 s after the package write: time to move mid-flow
    const c = await h.client(ep, { firmwareOnly: {}, updateStepDelayMs: 1500 });
    const server = h.platform.server;
    const pkg = await upload('3.0.0');
    const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: { package: pkg, method: 'fota-push', selector: { endpoints: [ep] }, policy: { deviceTimeoutMs: 20_000, retries: 2 } } });
    expect(r.statusCode, r.body).toBe(201);
    const id = r.json().id as string;

    // the flow watches /5/0/3 and /5/0/5 by observe
    await expect.poll(() => server.observations.list(ep).map((o) => o.path.join('/')).sort(), { timeout: 15_000, interval: 20 }).toEqual(['5/0/3', '5/0/5']);
    const before = await server.registrations.byEndpoint(ep);
    const portBefore = c.address.port;
    await c.reconnect(); // a new socket and a new Register; the device forgets its observers
    expect(c.address.port).not.toBe(portBefore);
    const after = await server.registrations.byEndpoint(ep);
    expect(after!.id).not.toBe(before!.id);

    // the old observations ended with the old registration; the flow observes again on the new one
    await expect.poll(() => server.observations.list(ep).filter((o) => o.registrationId === after!.id).length, { timeout: 10_000, interval: 20 }).toBe(2);
    expect(server.observations.list(ep).filter((o) => o.registrationId === before!.id)).toEqual([]);
    expect(c.observerCount).toBe(2);

    await h.platform.engine.settled(id);
    const view = (await h.api.inject({ method: 'GET', url: `/deployments/${id}` })).json() as { status: string; devices: Array<{ state: string; attempts: number; failures: number; error: unknown }> };
    expect(view.status).toBe('completed');
    expect(view.devices[0]).toMatchObject({ state: 'done', attempts: 1, failures: 0, error: null });
    expect(c.firmware.counts.installs).toBe(1);
    expect(c.store.get([5, 0, 7])).toBe('3.0.0');

    // nothing left: the flow cancelled its observations, on the device too (RFC 7641 §3.6)
    await expect.poll(() => server.observations.list(ep).length, { timeout: 10_000, interval: 50 }).toBe(0);
    await expect.poll(() => c.observerCount, { timeout: 10_000, interval: 50 }).toBe(0);
  });
});
