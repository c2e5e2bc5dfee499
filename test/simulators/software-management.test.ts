import { describe, expect, it } from 'vitest';
import { Code, Method } from '../../src/coap/message.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { encodeNode } from '../../src/lwm2m/codec.ts';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { loadModule } from '../../compiler/runtime/index.ts';
import { getTarget } from '../../compiler/targets/index.ts';
import { readIdxFile, sampleAsFloat32 } from '../../compiler/data/idx.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { FASHION, useOtaFixture, models, retarget, sha256, stalledPush, startAliasServer, until } from './ota-helpers.ts';

const fx = useOtaFixture();

const state = (d: SimulatedClient, i = 0) => fx.server.readNumber(d, `/9/${i}/7`);
const result = (d: SimulatedClient, i = 0) => fx.server.readNumber(d, `/9/${i}/9`);
async function settled(d: SimulatedClient, i: number, want: number): Promise<void> {
  await until(async () => (await state(d, i)) === want, 10_000, `/9/${i}/7 = ${want}`);
}

/** Push a module to /9/i and wait until the device is done with it (DELIVERED or back to INITIAL). */
async function push(d: SimulatedClient, bytes: Uint8Array, i = 0): Promise<void> {
  const res = await fx.server.write(d, `/9/${i}/2`, bytes);
  expect(res.code).toBe(Code.CHANGED);
  await until(async () => {
    const s = await state(d, i);
    return s === 3 || (s === 0 && (await result(d, i)) !== 0);
  }, 10_000, 'the delivery to settle');
}

async function createInstance(d: SimulatedClient, id: number): Promise<void> {
  const payload = encodeNode({ kind: 'object', id: 9, instances: [{ kind: 'instance', id, resources: [{ kind: 'resource', id: 3, type: 'string', value: '' }] }] }, [9], ContentFormat.TLV, models);
  const res = await fx.server.ep.request(d.address, { method: Method.POST, path: ['9'], contentFormat: ContentFormat.TLV, payload: Buffer.from(payload) });
  expect(res.code).toBe(Code.CREATED);
}

async function installAndActivate(d: SimulatedClient, bytes: Uint8Array, i = 0): Promise<void> {
  await push(d, bytes, i);
  expect(await state(d, i)).toBe(3);
  expect(await fx.server.execute(d, `/9/${i}/4`)).toBe(Code.CHANGED);
  expect(await fx.server.execute(d, `/9/${i}/10`)).toBe(Code.CHANGED);
}

describe('Software Management (Object 9) on the simulated device', () => {
  it('starts with /9/0 INITIAL, lists 9, 32001 and 32002 at registration, and refuses operations in the wrong state with 4.05', async () => {
    const d = await fx.device('sw-initial');
    const reg = fx.server.registrations.find((r) => r.query.includes('ep=sw-initial'))!;
    const uris = parseLinks(reg.links).map((l) => l.uri);
    expect(uris).toEqual(expect.arrayContaining(['/9/0', '/32001', '/32002/0', '/5/0']));
    expect(await state(d)).toBe(0);
    expect(await result(d)).toBe(0);
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('65535:65535');
    expect(await fx.server.execute(d, '/9/0/4')).toBe(Code.METHOD_NOT_ALLOWED); // Install in INITIAL
    expect(await fx.server.execute(d, '/9/0/10')).toBe(Code.METHOD_NOT_ALLOWED); // Activate
    expect(await fx.server.execute(d, '/9/0/11')).toBe(Code.METHOD_NOT_ALLOWED); // Deactivate
    expect(await fx.server.execute(d, '/9/0/6')).toBe(Code.METHOD_NOT_ALLOWED); // Uninstall
    expect(await fx.server.execute(d, '/32002/0/6')).toBe(Code.METHOD_NOT_ALLOWED); // Run without an active model
    expect(await fx.server.readNumber(d, '/32002/0/4')).toBe(1); // counted as a failed inference
  });

  it('push: a real compiled module goes 1 -> 2 -> 3 DELIVERED, Install, Activate, and runs Fashion-MNIST inferences', async () => {
    const d = await fx.device('sw-push');
    const seen: number[] = [];
    const obs = await fx.server.ep.observe(d.address, { method: Method.GET, path: ['9', '0', '7'], accept: ContentFormat.TEXT }, (n) => seen.push(Number(n.payload.toString())));
    expect(obs.code).toBe(Code.CONTENT);
    await push(d, fx.cnn);
    expect(await result(d)).toBe(3);
    await until(() => seen.includes(3), 2000, 'the DELIVERED notification');
    expect(seen.filter((s, i) => i === 0 || s !== seen[i - 1])).toEqual([1, 2, 3]);
    expect(await fx.server.read(d, '/9/0/0')).toBe('cnn');
    expect(await fx.server.read(d, '/9/0/1')).toBe(sha256(fx.cnn).slice(0, 12));
    expect(d.store.instanceIds(32001)).toEqual([]); // delivered is not installed

    const updates = fx.server.updates.length;
    expect(await fx.server.execute(d, '/9/0/4')).toBe(Code.CHANGED);
    expect(await state(d)).toBe(4);
    expect(await result(d)).toBe(2);
    // the new ML Model instance is announced with a Registration Update carrying the object links
    await until(() => fx.server.updates.slice(updates).some((u) => parseLinks(u.links).some((l) => l.uri === '/32001/0')), 2000, 'an Update with /32001/0');
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(await fx.server.execute(d, '/9/0/4')).toBe(Code.METHOD_NOT_ALLOWED); // Install again: not DELIVERED
    const loaded = loadModule(fx.cnn, getTarget('esp32'));
    expect(await fx.server.read(d, '/32001/0/0')).toBe('cnn');
    expect(await fx.server.read(d, '/32001/0/2')).toBe(sha256(fx.cnn));
    expect(await fx.server.read(d, '/32001/0/3')).toBe('esp32');
    expect(await fx.server.readNumber(d, '/32001/0/4')).toBe(fx.cnn.length);
    expect(await fx.server.readNumber(d, '/32001/0/5')).toBe(loaded.contents.arenaBytes);
    expect(await fx.server.read(d, '/32001/0/8/9')).toBe('Ankle boot');
    expect(await fx.server.read(d, '/32001/0/9')).toBe('0');
    expect(await fx.server.read(d, '/32001/0/12')).toBe('9:0');

    expect(await fx.server.execute(d, '/9/0/10')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    expect(await fx.server.read(d, '/32001/0/9')).toBe('1');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:0');

    const images = readIdxFile(`${FASHION}/t10k-images-idx3-ubyte.gz`);
    const labels = readIdxFile(`${FASHION}/t10k-labels-idx1-ubyte.gz`);
    const N = 20;
    let correct = 0;
    for (let k = 0; k < N; k++) {
      const sample = sampleAsFloat32(images, k);
      const want = loaded.invoke(sample).label;
      const f32 = Buffer.alloc(sample.length * 4);
      sample.forEach((v, i) => f32.writeFloatLE(v, i * 4));
      expect((await fx.server.write(d, '/32002/0/5', f32)).code).toBe(Code.CHANGED); // Block1: 3136 bytes
      expect(await fx.server.execute(d, '/32002/0/6')).toBe(Code.CHANGED);
      const got = await fx.server.readNumber(d, '/32002/0/8');
      expect(got).toBe(want);
      if (got === Number(labels.data[k])) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(15);
    expect(await fx.server.readNumber(d, '/32002/0/3')).toBe(N);
    const last = loaded.invoke(sampleAsFloat32(images, N - 1));
    expect(await fx.server.read(d, '/32002/0/0')).toBe(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'][last.label]);
    expect(await fx.server.readNumber(d, '/32002/0/1')).toBeCloseTo(last.confidence, 5);
    expect(await fx.server.readNumber(d, '/32002/0/2')).toBeGreaterThan(0);

    // int8 input (the quantized tensor) gives the same answer; a wrong size is 4.00
    const q = loaded.quantizeInput(sampleAsFloat32(images, 0));
    await fx.server.write(d, '/32002/0/5', new Uint8Array(q.buffer));
    expect(await fx.server.execute(d, '/32002/0/6')).toBe(Code.CHANGED);
    expect(await fx.server.readNumber(d, '/32002/0/8')).toBe(loaded.invoke(q).label);
    await fx.server.write(d, '/32002/0/5', new Uint8Array(100));
    expect(await fx.server.execute(d, '/32002/0/6')).toBe(Code.BAD_REQUEST);
    expect(await fx.server.readNumber(d, '/32002/0/4')).toBe(1);
    // the demo's convenience path
    expect(d.ml!.infer(sampleAsFloat32(images, 1)).classIndex).toBe(loaded.invoke(sampleAsFloat32(images, 1)).label);
  });

  it('pull: downloads from the URI on a new socket with 512-byte blocks, checks the digest, and installs', async () => {
    const d = await fx.device('sw-pull');
    const digest = fx.files.put(fx.cnn);
    const before = fx.files.requests.length;
    const res = await fx.server.write(d, '/9/0/3', fx.files.uri(digest));
    expect(res.code).toBe(Code.CHANGED);
    await settled(d, 0, 3);
    expect(await result(d)).toBe(3);
    const gets = fx.files.requests.slice(before);
    expect(new Set(gets.map((g) => g.num)).size).toBe(Math.ceil(fx.cnn.length / 512)); // retransmissions aside
    expect(gets.every((g) => g.size === 512)).toBe(true);
    expect(new Set(gets.map((g) => g.peer.port)).size).toBe(1);
    expect(gets[0]!.peer.port).not.toBe(d.address.port); // a new socket, not the LwM2M one
    expect(await fx.server.execute(d, '/9/0/4')).toBe(Code.CHANGED);
    expect(await fx.server.execute(d, '/9/0/10')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/32001/0/2')).toBe(digest);
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:0');
  });

  it('pull failures: 4.04 and a malformed URI give 56, a digest mismatch 53, a lost connection 52; an empty URI cancels', async () => {
    const d = await fx.device('sw-pull-bad', { timing: { ackTimeoutMs: 80, maxRetransmit: 1, requestTimeoutMs: 1500 } });
    const outcome = async (uri: string): Promise<[number, number]> => {
      expect((await fx.server.write(d, '/9/0/3', uri)).code).toBe(Code.CHANGED);
      await until(async () => (await state(d)) === 0 && (await result(d)) !== 1 && (await result(d)) !== 0, 10_000, `the pull of ${uri} to fail`);
      return [await state(d), await result(d)];
    };
    expect(await outcome(fx.files.uri('ab'.repeat(32)))).toEqual([0, 56]);
    expect(await outcome('coap://')).toEqual([0, 56]);
    expect(await outcome('not a uri')).toEqual([0, 56]);
    expect(await outcome('https://example.com/fw.bin')).toEqual([0, 56]);
    // a package fx.server that serves a valid module under another module's name: the digest check gives 53
    const other = retarget(fx.cnn, 0);
    const digest = fx.files.put(other);
    const mislabeled = await startAliasServer(sha256(fx.cnn), other);
    try {
      expect(await outcome(mislabeled.uri)).toEqual([0, 53]);
    } finally {
      await mislabeled.close();
    }
    // the package fx.server stops answering after 3 blocks: connection lost
    fx.files.stallAfter = fx.files.requests.length + 3;
    expect(await outcome(fx.files.uri(digest))).toEqual([0, 52]);
    fx.files.stallAfter = Infinity;
    // cancel: an empty URI while the download runs
    fx.files.stallAfter = fx.files.requests.length + 1;
    expect((await fx.server.write(d, '/9/0/3', fx.files.uri(digest))).code).toBe(Code.CHANGED);
    expect(await state(d)).toBe(1);
    expect(await result(d)).toBe(1);
    expect((await fx.server.write(d, '/9/0/3', '')).code).toBe(Code.CHANGED);
    expect(await state(d)).toBe(0);
    expect(await result(d)).toBe(0);
  });

  it('a corrupted module gets 53 and is never installed; the active model stays active', async () => {
    const d = await fx.device('sw-corrupt');
    await installAndActivate(d, fx.cnn, 0);
    await createInstance(d, 1);
    expect(await state(d, 1)).toBe(0);
    const bad = new Uint8Array(fx.cnn);
    bad[300] ^= 0x5a;
    await push(d, bad, 1);
    expect(await state(d, 1)).toBe(0);
    expect(await result(d, 1)).toBe(53);
    expect(await fx.server.read(d, '/9/1/16')).toMatch(/digest/i);
    expect(await fx.server.execute(d, '/9/1/4')).toBe(Code.METHOD_NOT_ALLOWED);
    expect(d.store.instanceIds(32001)).toEqual([0]);
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:0');
    expect(await fx.server.read(d, '/32001/0/9')).toBe('1');
    // not a module at all, truncated: 53 too
    await push(d, new TextEncoder().encode('hello, this is not a module'), 1);
    expect(await result(d, 1)).toBe(53);
  });

  it('refuses a module for another target (54) and one that does not fit (50)', async () => {
    const d = await fx.device('sw-refuse');
    await push(d, retarget(fx.cnn, getTarget('nrf52840').code));
    expect([await state(d), await result(d)]).toEqual([0, 54]);
    const tiny = await fx.device('sw-tiny', { target: { ...getTarget('esp32'), flashBytes: getTarget('esp32').runtimeOverhead.flashBytes + 1000 } });
    await push(tiny, fx.cnn);
    expect([await state(tiny), await result(tiny)]).toEqual([0, 50]);
  });

  it('an activation that fails (module damaged in flash) puts that model in State 2 and rolls back to the previous one', async () => {
    const d = await fx.device('sw-rollback');
    await installAndActivate(d, fx.cnn, 0);
    await createInstance(d, 1);
    const second = retarget(fx.cnn, 0); // a different, valid package
    await push(d, second, 1);
    expect(await fx.server.execute(d, '/9/1/4')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/32001/1/2')).toBe(sha256(second));
    d.ml!.corruptModel(1);
    expect(await fx.server.execute(d, '/9/1/10')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/32001/1/9')).toBe('2');
    expect(await fx.server.read(d, '/32001/1/13')).toMatch(/digest/i);
    expect(await fx.server.read(d, '/9/1/12')).toBe('0');
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    expect(await fx.server.read(d, '/32001/0/9')).toBe('1');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:0');
    expect(await fx.server.execute(d, '/32002/0/6')).not.toBe(Code.METHOD_NOT_ALLOWED); // model 0 still runs
    // the active model damaged in flash: after a reboot it does not load, and nothing is active
    d.ml!.corruptModel(0);
    await d.reboot();
    expect(await fx.server.read(d, '/32001/0/9')).toBe('2');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('65535:65535');
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(await fx.server.execute(d, '/32002/0/6')).toBe(Code.METHOD_NOT_ALLOWED);
  });

  it('switches the active model between instances, deactivates, and uninstalls (model removed, INITIAL)', async () => {
    const d = await fx.device('sw-switch');
    await installAndActivate(d, fx.cnn, 0);
    await createInstance(d, 1);
    await installAndActivate(d, retarget(fx.cnn, 0), 1);
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(await fx.server.read(d, '/9/1/12')).toBe('1');
    expect(await fx.server.read(d, '/32001/0/9')).toBe('0');
    expect(await fx.server.read(d, '/32001/1/9')).toBe('1');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:1');
    // activating through 32001 is the same switch
    expect(await fx.server.execute(d, '/32001/0/10')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    expect(await fx.server.read(d, '/9/1/12')).toBe('0');
    expect(await fx.server.execute(d, '/9/0/11')).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('65535:65535');
    expect(await fx.server.execute(d, '/9/1/6', '2')).toBe(Code.BAD_REQUEST);
    expect(await fx.server.execute(d, '/9/1/6', '0')).toBe(Code.CHANGED);
    expect([await state(d, 1), await result(d, 1)]).toEqual([0, 0]);
    expect(await fx.server.read(d, '/9/1/0')).toBe('');
    expect(d.store.instanceIds(32001)).toEqual([0]);
    const del = await fx.server.ep.request(d.address, { method: Method.DELETE, path: ['32001', '0'] });
    expect(del.code).toBe(Code.METHOD_NOT_ALLOWED);
    const updates = fx.server.updates.length;
    expect(await fx.server.execute(d, '/9/0/6')).toBe(Code.CHANGED);
    expect(d.store.instanceIds(32001)).toEqual([]);
    await until(() => fx.server.updates.slice(updates).some((u) => u.links !== '' && !parseLinks(u.links).some((l) => l.uri.startsWith('/32001/'))), 2000, 'an Update without 32001 instances');
  });

  it('a reboot during a pull download loses it: INITIAL with result 52 after the new registration', async () => {
    const d = await fx.device('sw-reboot');
    const digest = fx.files.put(fx.cnn);
    fx.files.stallAfter = fx.files.requests.length + 2;
    await fx.server.write(d, '/9/0/3', fx.files.uri(digest));
    await until(() => fx.files.requests.length >= fx.files.stallAfter, 3000, 'two blocks');
    expect(await state(d)).toBe(1);
    const regs = fx.server.registrations.length;
    const oldPort = d.address.port;
    await d.reboot();
    expect(fx.server.registrations.length).toBe(regs + 1);
    expect(d.address.port).not.toBe(oldPort);
    expect([await state(d), await result(d)]).toEqual([0, 52]);
    // and a package written afterwards is taken again
    fx.files.stallAfter = Infinity;
    await fx.server.write(d, '/9/0/3', fx.files.uri(digest));
    await settled(d, 0, 3);
  });

  it('a block-wise push is DOWNLOAD STARTED from its first block; cut by a reboot it ends INITIAL with 52, cut by silence too', async () => {
    const d = await fx.device('sw-push-cut', { pushIdleTimeoutMs: 400 });
    const push1 = await stalledPush(d, '/9/0/2', fx.cnn, 3);
    try {
      await until(async () => (await state(d)) === 1, 3000, 'DOWNLOAD STARTED');
      expect(await result(d)).toBe(1);
      await d.reboot();
      expect([await state(d), await result(d)]).toEqual([0, 52]);
    } finally {
      await push1.close();
    }
    const push2 = await stalledPush(d, '/9/0/2', fx.cnn, 2);
    try {
      await until(async () => (await state(d)) === 1, 3000, 'DOWNLOAD STARTED');
      await until(async () => (await state(d)) === 0, 3000, 'the push watchdog');
      expect(await result(d)).toBe(52);
    } finally {
      await push2.close();
    }
    await push(d, fx.cnn); // a whole push afterwards is taken
    expect([await state(d), await result(d)]).toEqual([3, 3]);
  });

  it('pull: a lossy link (5% of datagrams dropped each way) costs retransmissions, not the download', async () => {
    const d = await fx.device('sw-lossy', { timing: { ackTimeoutMs: 60, maxRetransmit: 6, requestTimeoutMs: 5000 }, downloadBlockSize: 256 });
    const digest = fx.files.put(fx.cnn);
    expect((await fx.server.write(d, '/9/0/3', fx.files.uri(digest))).code).toBe(Code.CHANGED);
    d.faults.lossPercent = 5;
    try {
      // the device's own store is polled: the server's reads would suffer the loss too
      await until(() => d.store.get([9, 0, 7]) !== 1, 20_000, 'the lossy download to end');
    } finally {
      d.faults.lossPercent = 0;
    }
    await until(() => d.store.get([9, 0, 7]) !== 2, 2000, 'verification');
    expect([await state(d), await result(d)]).toEqual([3, 3]);
  });

  it('Uninstall "1" (ForUpdate): INITIAL while the installed model keeps running; the next Install replaces it and takes over', async () => {
    const d = await fx.device('sw-for-update');
    await installAndActivate(d, fx.cnn, 0);
    expect(await fx.server.execute(d, '/9/0/6', '1')).toBe(Code.CHANGED);
    expect([await state(d), await result(d)]).toEqual([0, 0]);
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    expect(await fx.server.read(d, '/32002/0/7')).toBe('32001:0');
    expect(await fx.server.execute(d, '/32002/0/6')).not.toBe(Code.METHOD_NOT_ALLOWED);
    const v2 = retarget(fx.cnn, 0);
    await push(d, v2, 0);
    expect(await state(d)).toBe(3);
    expect(await fx.server.execute(d, '/9/0/4')).toBe(Code.CHANGED);
    expect([await state(d), await result(d)]).toEqual([4, 2]);
    const ids = d.store.instanceIds(32001);
    expect(ids).toHaveLength(1);
    expect(await fx.server.read(d, `/32001/${ids[0]}/2`)).toBe(sha256(v2));
    expect(await fx.server.read(d, `/32001/${ids[0]}/9`)).toBe('1');
    expect(await fx.server.read(d, '/32002/0/7')).toBe(`32001:${ids[0]}`);
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    // Uninstall "0" removes everything
    expect(await fx.server.execute(d, '/9/0/6', '0')).toBe(Code.CHANGED);
    expect(d.store.instanceIds(32001)).toEqual([]);
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
  });
});
