// Issue 5: a deployment started on node A completes for devices registered through node B
// (requests travel over Redis pub/sub to the serving node; pull URIs point at node A).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { quietLogger } from '../../src/log.ts';
import type { Deployment } from '../../src/ota/deployment.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startOtaHarness, zooModule, type OtaHarness } from '../e2e/ota-harness.ts';
import { startRedis, type Service } from '../support/services.ts';

let redis: Service;
let a: OtaHarness;
let b: OtaHarness;
let ca: ClusterNode;
let cb: ClusterNode;
const stores: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const store = async (): Promise<RedisRegistrationStore> => {
    const s = await new RedisRegistrationStore({ url: redis.url }).connect();
    stores.push(s);
    return s;
  };
  const deployments = async (): Promise<RedisDeploymentStore> => {
    const c = await RedisDeploymentStore.open(redis.url);
    stores.push(c);
    return c;
  };
  a = await startOtaHarness({ store: await store(), nodeId: 'node-a', deploymentStore: await deployments() });
  b = await startOtaHarness({ store: await store(), nodeId: 'node-b', deploymentStore: await deployments() });
  ca = await ClusterNode.start({ url: redis.url, nodeId: 'node-a', server: a.platform.server, log: quietLogger });
  cb = await ClusterNode.start({ url: redis.url, nodeId: 'node-b', server: b.platform.server, log: quietLogger });
});
afterAll(async () => {
  await ca?.close();
  await cb?.close();
  await a?.close();
  await b?.close();
  await Promise.all(stores.map((s) => s.close()));
  await redis?.stop();
});

describe('deployments across nodes', () => {
  it.each(['sota-push', 'sota-pull'])('a %s rollout started on node A completes for devices registered on node B', async (method) => {
    const prefix = `x-${method}-`;
    await Promise.all(Array.from({ length: 4 }, (_, i) => b.client(`${prefix}${i}`)));
    const reg = await a.platform.server.registrations.byEndpoint(`${prefix}0`);
    expect(reg?.node).toBe('node-b');
    const { digest } = await a.platform.repo.put(zooModule('cnn'));
    const res = await a.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method, selector: { prefix }, policy: { deviceTimeoutMs: 60_000 } } });
    expect(res.statusCode).toBe(201);
    await a.platform.engine.settled(res.json().id);
    const d = (await a.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
    expect({ status: d.status, counts: d.counts, errors: d.devices.map((r: { error: unknown }) => r.error).filter(Boolean) }).toEqual({ status: 'completed', counts: { done: 4 }, errors: [] });
    expect(ca.stats.forwarded).toBeGreaterThan(0);
    // the deployment lives in Redis: node B reports the same rollout, and never ran it itself
    const onB = (await b.api.inject({ method: 'GET', url: `/deployments/${res.json().id}` })).json();
    expect({ status: onB.status, counts: onB.counts }).toEqual({ status: 'completed', counts: { done: 4 } });
    expect(await b.platform.engine.resume()).toBe(0);
  }, 120_000);
});
