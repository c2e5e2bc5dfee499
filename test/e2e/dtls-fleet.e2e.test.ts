// Issue 12 acceptance, small by default: a simulated fleet registers over DTLS-PSK (each device its
// own identity and key, held in the security store as an operator would provision them) and
// receives module rollouts over coaps: SOTA pull (each device downloads the package block-wise from
// the coaps:// URI the server wrote, over a DTLS session of its own; the package server serves only
// known identities) and SOTA push (Block1 writes over each device's registration session).
// bench/dtls.ts --fleet 1000 runs the same with 1,000 devices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { quietLogger } from '../../src/log.ts';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { fleetPsk, startFleet, type Fleet } from '../../simulators/fleet.ts';
import { fastTiming } from './harness.ts';
import { startOtaHarness, zooModule, type OtaHarness } from './ota-harness.ts';

const N = Number(process.env.DTLS_FLEET ?? 16);
const SECRET = 'fleet-secret-for-tests';
const endpoint = (i: number): string => `dfl-${String(i).padStart(5, '0')}`;

describe(`a ${N}-device fleet over DTLS-PSK`, () => {
  let h: OtaHarness;
  let fleet: Fleet;

  beforeAll(async () => {
    const security = MemorySecurityStore.memory();
    for (let i = 0; i < N; i++) await security.put(securityInfo(endpoint(i), { mode: 'psk', identity: endpoint(i), key: fleetPsk(SECRET, endpoint(i)).toString('hex') }));
    h = await startOtaHarness({ security, dtls: { port: 0, credentials: dtlsCredentialsFromStore(security) } });
    fleet = await startFleet({
      server: `127.0.0.1:${h.platform.server.coapsAddress!.port}`, count: N, prefix: 'dfl-', log: quietLogger, pskSecret: SECRET,
      models: h.platform.server.models, concurrency: 16, client: { timing: fastTiming },
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
    expect(regs.every((r) => dtls.hasSession(r.address) && r.address.identity?.mode === 'psk' && r.address.identity.identity === r.endpoint)).toBe(true);
    expect(dtls.sessionCount).toBe(N);
    expect(dtls.stats.failures).toBe(0);
  });

  async function rollout(digest: string, method: 'sota-pull' | 'sota-push'): Promise<void> {
    const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method, selector: { prefix: 'dfl-' }, policy: { maxParallel: 16, deviceTimeoutMs: 90_000 } } });
    expect(res.statusCode).toBe(201);
    await h.platform.engine.settled(res.json().id);
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
    expect({ status: d.status, counts: d.counts }).toEqual({ status: 'completed', counts: { done: N } });
  }

  it('a SOTA-pull rollout: every device downloads the module from a coaps:// URI over a DTLS session of its own', async () => {
    const mod = zooModule('mlp');
    const { digest } = await h.platform.repo.put(mod);
    const dtls = h.platform.server.dtls!;
    const handshakes = dtls.stats.handshakes;
    await rollout(digest, 'sota-pull');
    const port = h.platform.server.coapsAddress!.port;
    for (const c of fleet.clients) {
      const inst = c.store.instanceIds(9).find((i) => String(c.store.get([9, i, 3])).endsWith(digest));
      expect(inst, c.endpoint).toBeDefined();
      expect(c.store.get([9, inst!, 3])).toBe(`coaps://127.0.0.1:${port}/fw/${digest}`);
    }
    // one download session per device, all of them authenticated; none failed
    expect(dtls.stats.handshakes - handshakes).toBeGreaterThanOrEqual(N);
    expect(dtls.stats.failures).toBe(0);
    const ml = (await h.api.inject({ method: 'GET', url: `/devices/${endpoint(N - 1)}/ml` })).json();
    expect(ml.activeDigest).toBe(sha256Hex(mod));
  }, 180_000);

  it('a SOTA-push rollout over the registration sessions reaches every device', async () => {
    const mod = zooModule('cnn');
    const { digest } = await h.platform.repo.put(mod);
    const handshakes = h.platform.server.dtls!.stats.handshakes;
    await rollout(digest, 'sota-push');
    expect(h.platform.server.dtls!.stats.handshakes).toBe(handshakes); // no new session: the pushes ride the registrations'
    const ml = (await h.api.inject({ method: 'GET', url: `/devices/${endpoint(3)}/ml` })).json();
    expect(ml.activeDigest).toBe(sha256Hex(mod));
  }, 180_000);
});
