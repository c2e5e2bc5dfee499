// Issue 9: package bytes live in the shared store (a real redis-server), so a node serves a package
// another node accepted: its metadata and bytes through the API, a pull download from its CoAP
// package server and a push from its deployment engine. The size limit holds on the way in.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import type { PackageEntry } from '../../src/ota/package-catalog.ts';
import { PackageTooLargeError, RedisPackageRepository } from '../../src/ota/redis-package-repository.ts';
import type { Deployment } from '../../src/ota/deployment.ts';
import { RedisCollection } from '../../src/store/redis-collection.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startOtaHarness, type OtaHarness } from '../e2e/ota-harness.ts';
import { createRng } from '../helpers/prng.ts';
import { startRedis, type Service } from '../support/services.ts';

const MAX = 64 * 1024; // a small limit for the test: the API's 413 and the repository's own bound
let redis: Service;
let a: OtaHarness;
let b: OtaHarness;
let blobsB: RedisPackageRepository;
const closers: { close(): Promise<void> }[] = [];
const rng = createRng(93);

beforeAll(async () => {
  redis = await startRedis();
  const keep = <T extends { close(): Promise<void> }>(c: T): T => {
    closers.push(c);
    return c;
  };
  const node = async (nodeId: string, revalidateMs?: number): Promise<{ h: OtaHarness; blobs: RedisPackageRepository }> => {
    const blobs = keep(await RedisPackageRepository.open(redis.url, { maxBytes: MAX, ...(revalidateMs !== undefined ? { revalidateMs } : {}) }));
    const h = await startOtaHarness({
      nodeId,
      store: keep(await new RedisRegistrationStore({ url: redis.url }).connect()),
      deploymentStore: keep(await RedisDeploymentStore.open(redis.url)),
      packageStore: keep(await RedisCollection.open<PackageEntry>(redis.url, 'packages')),
      packageBlobs: blobs,
    }, { maxPackageBytes: MAX });
    return { h, blobs };
  };
  a = (await node('node-a')).h;
  const nb = await node('node-b', 0); // B asks Redis on every cache hit whether a package still exists
  b = nb.h;
  blobsB = nb.blobs;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await Promise.all(closers.map((c) => c.close()));
  await redis?.stop();
});

async function uploadOnA(version: string, size = 3000): Promise<{ digest: string; bytes: Buffer }> {
  const bytes = Buffer.from(buildFirmwareImage({ version, payload: rng.bytes(size) }));
  const q = new URLSearchParams({ name: 'shared-fw', version, kind: 'firmware' });
  const r = await a.api.inject({ method: 'POST', url: `/packages?${q}`, headers: { 'content-type': 'application/octet-stream' }, payload: bytes });
  expect(r.statusCode, r.body).toBe(201);
  return { digest: r.json().digest as string, bytes };
}

async function deployOnB(digest: string, method: string, endpoint: string): Promise<{ status: string; devices: Array<{ state: string; error: unknown }> }> {
  const r = await b.api.inject({ method: 'POST', url: '/deployments', payload: { package: digest, method, selector: { endpoints: [endpoint] }, policy: { deviceTimeoutMs: 20_000, retries: 1 } } });
  expect(r.statusCode, r.body).toBe(201);
  await b.platform.engine.settled(r.json().id);
  return (await b.api.inject({ method: 'GET', url: `/deployments/${r.json().id}` })).json();
}

describe('package bytes shared through Redis', () => {
  it('a package accepted by node A is served by node B: metadata, download, pull and push', async () => {
    const { digest, bytes } = await uploadOnA('4.0.0');
    const meta = await b.api.inject({ method: 'GET', url: `/packages/${digest}` });
    expect(meta.statusCode).toBe(200);
    expect(meta.json()).toMatchObject({ digest, kind: 'firmware', version: '4.0.0', size: bytes.length });
    const dl = await b.api.inject({ method: 'GET', url: `/packages/${digest}?download` });
    expect(dl.statusCode).toBe(200);
    expect(Buffer.compare(dl.rawPayload, bytes)).toBe(0);

    // pull: B writes a URI of its own CoAP package server; the device downloads it block-wise from B
    const pull = await b.client('shared-pull', { firmwareOnly: {} });
    const p = await deployOnB(digest, 'fota-pull', 'shared-pull');
    expect(p.status, JSON.stringify(p.devices)).toBe('completed');
    expect(pull.firmware.counts).toMatchObject({ installs: 1, uriWrites: 1 });
    expect(pull.store.get([5, 0, 7])).toBe('4.0.0');

    // push: B's engine writes the bytes it read from Redis
    const push = await b.client('shared-push', { firmwareOnly: {} });
    const q = await deployOnB(digest, 'fota-push', 'shared-push');
    expect(q.status, JSON.stringify(q.devices)).toBe('completed');
    expect(push.firmware.counts).toMatchObject({ installs: 1, packageWrites: 1, uriWrites: 0 });
  });

  it('keeps the size limit: 413 at the API, and the repository refuses more than its bound', async () => {
    const big = Buffer.from(rng.bytes(MAX + 1));
    const r = await a.api.inject({ method: 'POST', url: '/packages?name=big&version=1&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: big });
    expect(r.statusCode).toBe(413);
    await expect(blobsB.put(big)).rejects.toBeInstanceOf(PackageTooLargeError);
    expect(await blobsB.has(createHashHex(big))).toBe(false);
  });

  it('a package deleted on node A is no longer served by node B, even from its memory', async () => {
    const { digest } = await uploadOnA('4.1.0', 1000);
    expect(await b.platform.repo.get(digest)).toBeDefined(); // now in B's memory too
    const del = await a.api.inject({ method: 'DELETE', url: `/packages/${digest}` });
    expect(del.statusCode).toBeLessThan(300);
    expect(await b.platform.repo.get(digest)).toBeUndefined();
    expect((await b.api.inject({ method: 'GET', url: `/packages/${digest}?download` })).statusCode).toBe(404);
  });
});

function createHashHex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex'); // not the code under test's helper
}
