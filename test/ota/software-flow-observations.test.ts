// Issue 17: the Object 9 flow observes State, Update Result and Activation State once for the whole
// delivery, install and activation (three Observe, three Cancel), not once per stage; it still
// finishes on notifications and leaves no observation behind, on the server or on the device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '../../src/observation/observation-service.ts';
import { startOtaHarness, zooModule, type OtaHarness } from '../e2e/ota-harness.ts';

let h: OtaHarness;
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

describe('Object 9 flow observations', () => {
  for (const method of ['sota-push', 'sota-pull'] as const) {
    it(`${method}: /9/x/7, /9/x/9 and /9/x/12 observed once each for the flow, all cancelled at its end`, async () => {
      const ep = `obs-${method}`;
      const device = await h.client(ep);
      const established: Observation[] = [];
      const off = h.platform.server.observations.onChange((change, obs) => {
        if (change === 'established' && obs.endpoint === ep) established.push(obs);
      });
      try {
        const { digest } = await h.platform.repo.put(zooModule('mlp'));
        const d = await h.platform.engine.create({ moduleDigest: digest, method, selector: { endpoints: [ep] }, policy: { retries: 0 } });
        await h.platform.engine.settled(d.id);
        const row = (await h.platform.engine.row(d.id, ep))!;
        expect(row.error).toBeUndefined();
        expect(row.state).toBe('done');
        const paths = established.map((o) => o.path.join('/')).sort();
        expect(paths).toHaveLength(3);
        const x = established[0]!.path[1];
        expect(paths).toEqual([`9/${x}/12`, `9/${x}/7`, `9/${x}/9`]);
        await expect.poll(() => h.platform.server.observations.list(ep).length, { timeout: 15_000, interval: 50 }).toBe(0);
        await expect.poll(() => device.observerCount, { timeout: 15_000, interval: 50 }).toBe(0);
      } finally {
        off();
      }
    }, 60_000);
  }
});
