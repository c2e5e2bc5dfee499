// Issue 12 acceptance, small by default: a simulated fleet registers over DTLS-PSK (each device its
// own identity and key) and receives a module rollout (SOTA push: Block1 writes over each device's
// DTLS session). bench/dtls.ts runs it with 1,000 devices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { quietLogger } from '../../src/log.ts';
import { fleetPsk, startFleet, type Fleet } from '../../simulators/fleet.ts';
import { fastTiming } from './harness.ts';
import { startOtaHarness, zooModule, type OtaHarness } from './ota-harness.ts';

const N = Number(process.env.DTLS_FLEET ?? 40);
const SECRET = 'fleet-secret-for-tests';

describe(`a ${N}-device fleet over DTLS-PSK`, () => {
  let h: OtaHarness;
  let fleet: Fleet;

  beforeAll(async () => {
    h = await startOtaHarness({ dtls: { port: 0, credentials: { pskKey: (id) => fleetPsk(SECRET, id.toString()) } } });
    fleet = await startFleet({
      server: `127.0.0.1:${h.platform.server.coapsAddress!.port}`, count: N, prefix: 'dfl-', log: quietLogger, pskSecret: SECRET,
      models: h.platform.server.models, concurrency: 20, client: { timing: fastTiming },
    });
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    await h?.close();
  });

  it('every device registered over its own DTLS session, with its endpoint name as PSK identity', async () => {
    expect(fleet.failed).toBe(0);
    const regs = (await h.platform.server.registrations.all()).filter((r) => r.endpoint.startsWith('dfl-'));
    expect(regs).toHaveLength(N);
    const dtls = h.platform.server.dtls!;
    expect(regs.every((r) => dtls.hasSession(r.address))).toBe(true);
    expect(dtls.sessionCount).toBe(N);
    expect(dtls.stats.failures).toBe(0);
  });

  it('a module rollout over the DTLS sessions reaches every device', async () => {
    const mod = zooModule('mlp');
    const { digest } = await h.platform.repo.put(mod);
    const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method: 'sota-push', selector: { prefix: 'dfl-' }, policy: { maxParallel: 20, deviceTimeoutMs: 60_000 } } });
    expect(res.statusCode).toBe(201);
    await h.platform.engine.settled(res.json().id);
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
    expect({ status: d.status, counts: d.counts }).toEqual({ status: 'completed', counts: { done: N } });
    const ml = (await h.api.inject({ method: 'GET', url: '/devices/dfl-00007/ml' })).json();
    expect(ml.activeDigest).toBe(sha256Hex(mod));
  }, 120_000);
});
