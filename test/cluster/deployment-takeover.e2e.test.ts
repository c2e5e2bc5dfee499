// Two nodes, one dies mid-rollout, the other finishes it (issue 14 §3, acceptance): node A runs a
// rollout to devices served by node B; A stops while devices remain; B's take-over loop sees A's
// lease lapse, takes the deployment and resumes it. Every device ends done; devices A finished
// are not updated again (their rows and their single installed module stay as they were).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { DeploymentLeases } from '../../src/cluster/deployment-lease.ts';
import { DeploymentTakeover } from '../../src/cluster/deployment-takeover.ts';
import { quietLogger } from '../../src/log.ts';
import type { Deployment } from '../../src/ota/deployment.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startOtaHarness, zooModule, type OtaHarness } from '../e2e/ota-harness.ts';
import { storedRows } from '../helpers/deployment-rows.ts';
import { startRedis, type Service } from '../support/services.ts';

const LEASE_MS = 800;
let redis: Service;
let a: OtaHarness;
let b: OtaHarness;
let ca: ClusterNode;
let cb: ClusterNode;
let ta: DeploymentTakeover;
let tb: DeploymentTakeover;
let deploymentsOfB: RedisDeploymentStore;
const closers: { close(): Promise<void> | void }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const node = async (id: string) => {
    const store = await new RedisRegistrationStore({ url: redis.url }).connect();
    const deployments = await RedisDeploymentStore.open(redis.url);
    closers.push(store, deployments);
    const h = await startOtaHarness({ store, nodeId: id, deploymentStore: deployments });
    const c = await ClusterNode.start({ url: redis.url, nodeId: id, server: h.platform.server, log: quietLogger });
    const leases = DeploymentLeases.connect(redis.url, { nodeId: id, ttlMs: LEASE_MS });
    closers.push(leases);
    const t = new DeploymentTakeover({ nodeId: id, leases, store: deployments, resume: () => h.platform.engine.resume(), log: quietLogger, intervalMs: 100 });
    return { h, c, t, deployments };
  };
  ({ h: a, c: ca, t: ta } = await node('tk-a'));
  ({ h: b, c: cb, t: tb, deployments: deploymentsOfB } = await node('tk-b'));
}, 60_000);
afterAll(async () => {
  await tb?.stop();
  await cb?.close();
  await b?.close();
  for (const c of closers) await c.close();
  await redis?.stop();
});

describe('deployment take-over', () => {
  it('node A dies mid-rollout: node B takes the deployment over within a lease period and finishes it without repeating done devices', async () => {
    const devices = await Promise.all(Array.from({ length: 8 }, (_, i) => b.client(`tk-${i}`)));
    const { digest } = await a.platform.repo.put(zooModule('cnn'));
    // package blobs are per node (docs/cluster.md): the node that may take over has the package too
    expect((await b.platform.repo.put(zooModule('cnn'))).digest).toBe(digest);
    const res = await a.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method: 'sota-push', selector: { prefix: 'tk-' }, policy: { maxParallel: 2, deviceTimeoutMs: 60_000 } } });
    expect(res.statusCode).toBe(201);
    const id = res.json<{ id: string }>().id;
    // wait until some devices are done and others are not
    let before: Deployment | undefined;
    for (let i = 0; i < 600; i++) {
      before = await deploymentsOfB.get(id);
      if (before && (before.counts.done ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // node A goes away: its engine stops (the deployment stays 'running'), it renews nothing more
    await ta.stop();
    await a.platform.engine.stop();
    await ca.close();
    await a.close();
    const stoppedAt = Date.now();
    const atStop = (await deploymentsOfB.get(id))!;
    const doneAtStop = Object.values(await storedRows(deploymentsOfB, id)).filter((r) => r.state === 'done');
    expect(doneAtStop.length).toBeGreaterThanOrEqual(2);
    expect(doneAtStop.length).toBeLessThan(8);
    expect(atStop.status).toBe('running');

    let after: Deployment | undefined;
    for (let i = 0; i < 1200; i++) {
      after = await deploymentsOfB.get(id);
      if (after?.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after?.node).toBe('tk-b');
    expect(tb.stats.takenOver).toBe(1);
    expect({ status: after?.status, reason: (after as { reason?: unknown } | undefined)?.reason }).toEqual({ status: 'completed', reason: undefined });
    const rowsAfter = await storedRows(deploymentsOfB, id);
    expect(Object.values(rowsAfter).map((r) => r.state)).toEqual(Array(8).fill('done'));
    expect(after!.counts).toEqual({ done: 8 });
    // done before the take-over: the same row (not run again)
    for (const r of doneAtStop) expect(rowsAfter[r.endpoint]).toEqual(r);
    // one installed module per device, never two
    for (const d of devices) expect(d.store.instanceIds(32001), d.endpoint).toHaveLength(1);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(LEASE_MS);
  }, 180_000);
});
