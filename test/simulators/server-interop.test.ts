// The update and ML objects of the simulated device read and driven by the real LwM2mServer (its
// codecs, content negotiation and re-registration handling), not by a bare CoAP endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, ObjectInstance, Resource } from '../../src/lwm2m/node.ts';
import type { LwM2mPath } from '../../src/lwm2m/path.ts';
import type { DownlinkRequest, DownlinkResult } from '../../src/request/downlink-request.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { sha256, startFileServer, until, zooModule, type FileServer } from './ota-helpers.ts';

let h: Harness;
let files: FileServer;
let dev: SimulatedClient;
let cnn: Uint8Array;
const EP = 'ml-interop';
const ALL = [112, 110, 11542, 11543, 60];

beforeAll(async () => {
  cnn = zooModule('cnn');
  h = await startHarness();
  files = await startFileServer();
  dev = await h.client(EP, { contentFormats: ALL, firmwareUpdateDelayMs: 20 });
}, 120_000);
afterAll(async () => {
  await h.close();
  await files.close();
});

async function request(req: DownlinkRequest): Promise<DownlinkResult> {
  const out = await h.server.request(EP, req);
  if (out.queued) throw new Error('queued');
  return out.result;
}

async function value(path: LwM2mPath, format?: ContentFormat): Promise<unknown> {
  const r = await request({ kind: 'read', path, ...(format ? { format } : {}) });
  expect(r.success).toBe(true);
  const node = r.node as LwM2mNode;
  return node.kind === 'resource' || node.kind === 'resourceInstance' ? node.value : node;
}

const res = (inst: ObjectInstance, id: number): Resource => inst.resources.find((r) => r.id === id)!;

describe('update and ML objects through the real server', () => {
  it('push with a server Write (opaque), Install, Activate; every format decodes the ML Model and ML Inference instances', async () => {
    const w = await request({ kind: 'write', path: [9, 0, 2], node: { kind: 'resource', id: 2, type: 'opaque', value: cnn }, mode: 'replace', format: ContentFormat.OPAQUE });
    expect(w.code).toBe('2.04');
    await until(async () => (await value([9, 0, 7])) === 3, 8000, 'DELIVERED');
    expect(await value([9, 0, 9])).toBe(3);
    expect((await request({ kind: 'execute', path: [9, 0, 4] })).code).toBe('2.04');
    expect((await request({ kind: 'execute', path: [9, 0, 10] })).code).toBe('2.04');
    expect(await value([9, 0, 12])).toBe(true);
    for (const format of [ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON]) {
      const inst = (await value([32001, 0], format)) as ObjectInstance;
      expect(inst.kind).toBe('instance');
      expect(res(inst, 0)).toMatchObject({ value: 'cnn' });
      expect(res(inst, 2)).toMatchObject({ value: sha256(cnn) });
      expect(res(inst, 4)).toMatchObject({ value: cnn.length });
      expect(res(inst, 6)).toMatchObject({ kind: 'multiResource', values: { 0: 1, 1: 1, 2: 28, 3: 28 } });
      expect(res(inst, 8)).toMatchObject({ kind: 'multiResource' });
      expect(res(inst, 9)).toMatchObject({ value: 1 });
      expect(res(inst, 12)).toMatchObject({ value: { objectId: 9, instanceId: 0 } });
      const inf = (await value([32002, 0], format)) as ObjectInstance;
      expect(res(inf, 7)).toMatchObject({ value: { objectId: 32001, instanceId: 0 } });
      expect(inf.resources.some((r) => r.id === 5)).toBe(false); // Input is write-only
    }
  });

  it('FOTA pull: the server writes the URI and executes Update; the device registers again from a new port and reads State 0, Result 1', async () => {
    const digest = files.put(cnn);
    const oldPort = dev.address.port;
    const w = await request({ kind: 'write', path: [5, 0, 1], node: { kind: 'resource', id: 1, type: 'string', value: files.uri(digest) }, mode: 'replace' });
    expect(w.code).toBe('2.04');
    await until(async () => (await value([5, 0, 3])) === 2, 8000, 'Downloaded');
    const before = h.events.filter((e) => e.type === 'registration' && e.registration.endpoint === EP).length;
    expect((await request({ kind: 'execute', path: [5, 0, 2] })).code).toBe('2.04');
    await until(() => h.events.filter((e) => e.type === 'registration' && e.registration.endpoint === EP).length === before + 1, 8000, 'the new registration');
    expect(dev.address.port).not.toBe(oldPort);
    expect(await value([5, 0, 3])).toBe(0);
    expect(await value([5, 0, 5])).toBe(1);
    expect(await value([5, 0, 7])).toBe(digest.slice(0, 12));
    expect(await value([3, 0, 3])).toBe(digest.slice(0, 12));
    const active = (await value([32002, 0, 7])) as { objectId: number; instanceId: number };
    expect(await value([32001, active.instanceId, 12])).toEqual({ objectId: 5, instanceId: 0 });
    expect(await value([9, 0, 12])).toBe(false); // the firmware's model took over
  });
});
