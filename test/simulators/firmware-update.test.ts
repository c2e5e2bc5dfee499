import { describe, expect, it } from 'vitest';
import { Code } from '../../src/coap/message.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { getTarget } from '../../compiler/targets/index.ts';
import { readIdxFile, sampleAsFloat32 } from '../../compiler/data/idx.ts';
import { loadModule } from '../../compiler/runtime/index.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { FASHION, useOtaFixture, retarget, sha256, stalledPush, until } from './ota-helpers.ts';

const fx = useOtaFixture();

const fwState = (d: SimulatedClient) => fx.server.readNumber(d, '/5/0/3');
const fwResult = (d: SimulatedClient) => fx.server.readNumber(d, '/5/0/5');
const registrationsOf = (name: string) => fx.server.registrations.filter((r) => r.query.includes(`ep=${name}`));

/** Execute Update, then wait for the device to register again from a new port. */
async function updateAndWaitForReboot(d: SimulatedClient, name: string): Promise<void> {
  const before = registrationsOf(name).length;
  const oldPort = d.address.port;
  expect(await fx.server.execute(d, '/5/0/2')).toBe(Code.CHANGED);
  await until(() => registrationsOf(name).length === before + 1, 5000, 'the registration after the reboot');
  const reg = registrationsOf(name).at(-1)!;
  expect(reg.peer.port).not.toBe(oldPort);
  expect(d.address.port).toBe(reg.peer.port);
}

async function expectRunningFirmware(d: SimulatedClient, module: Uint8Array): Promise<void> {
  const version = sha256(module).slice(0, 12);
  expect([await fwState(d), await fwResult(d)]).toEqual([0, 1]);
  expect(await fx.server.read(d, '/3/0/3')).toBe(version);
  expect(await fx.server.read(d, '/5/0/6')).toBe('cnn');
  expect(await fx.server.read(d, '/5/0/7')).toBe(version);
  const id = d.ml!.activeModelId!;
  expect(await fx.server.read(d, '/32002/0/7')).toBe(`32001:${id}`);
  expect(await fx.server.read(d, `/32001/${id}/12`)).toBe('5:0');
  expect(await fx.server.read(d, `/32001/${id}/9`)).toBe('1');
  expect(await fx.server.read(d, `/32001/${id}/2`)).toBe(sha256(module));
}

describe('Firmware Update (Object 5) on the simulated device', () => {
  it('push: the Write answers 2.04, State 1 then 2; Update reboots the device into the module (State 0, Result 1 after the new registration)', async () => {
    const d = await fx.device('fw-push', { firmwareUpdateDelayMs: 50 });
    expect(await fx.server.execute(d, '/5/0/2')).toBe(Code.METHOD_NOT_ALLOWED); // Update in Idle
    expect(await fx.server.read(d, '/3/0/3')).toBe('1.0.0');
    const seen: number[] = [];
    await fx.server.ep.observe(d.address, { method: 1, path: ['5', '0', '3'], accept: ContentFormat.TEXT }, (n) => seen.push(Number(n.payload.toString())));
    const res = await fx.server.write(d, '/5/0/0', fx.cnn);
    expect(res.code).toBe(Code.CHANGED);
    await until(async () => (await fwState(d)) === 2, 5000, 'Downloaded');
    expect(await fwResult(d)).toBe(0);
    await until(() => seen.includes(2), 2000, 'the Downloaded notification');
    expect(seen.filter((s, i) => i === 0 || s !== seen[i - 1])).toEqual([1, 2]);
    expect(await fx.server.execute(d, '/5/0/2')).toBe(Code.CHANGED);
    // State 3 is visible until the reboot
    expect(await fwState(d)).toBe(3);
    await until(() => d.stats.reboots === 1, 3000, 'the reboot');
    await until(() => registrationsOf('fw-push').length === 2, 5000, 'the registration after the reboot');
    await expectRunningFirmware(d, fx.cnn);
    // the model runs
    const images = readIdxFile(`${FASHION}/t10k-images-idx3-ubyte.gz`);
    const want = loadModule(fx.cnn).invoke(sampleAsFloat32(images, 3)).label;
    expect(d.ml!.infer(sampleAsFloat32(images, 3)).classIndex).toBe(want);
  });

  it('pull: fetched from the URI on a new socket; Update; the firmware and its model survive a later reboot', async () => {
    const d = await fx.device('fw-pull', { firmwareUpdateDelayMs: 20, downloadBlockSize: 1024 });
    const digest = fx.files.put(fx.cnn);
    const before = fx.files.requests.length;
    expect((await fx.server.write(d, '/5/0/1', fx.files.uri(digest))).code).toBe(Code.CHANGED);
    expect(await fx.server.read(d, '/5/0/1')).toBe(fx.files.uri(digest));
    await until(async () => (await fwState(d)) === 2, 5000, 'Downloaded');
    const gets = fx.files.requests.slice(before);
    expect(new Set(gets.map((g) => g.num)).size).toBe(Math.ceil(fx.cnn.length / 1024)); // retransmissions aside
    expect(gets.every((g) => g.size === 1024 && g.peer.port !== d.address.port)).toBe(true);
    await updateAndWaitForReboot(d, 'fw-pull');
    await expectRunningFirmware(d, fx.cnn);
    const id = d.ml!.activeModelId;
    // a plain reboot (Device Reboot 3/4): flash keeps the firmware and the active model
    await d.reboot();
    expect(d.ml!.activeModelId).toBe(id);
    expect(await fx.server.read(d, '/32002/0/7')).toBe(`32001:${id}`);
    expect(await fx.server.read(d, '/3/0/3')).toBe(sha256(fx.cnn).slice(0, 12));
    expect(await fx.server.readNumber(d, '/32002/0/3')).toBe(0); // inference count is since boot
  });

  it('a second firmware update replaces the firmware model and deactivates a software-delivered one', async () => {
    const d = await fx.device('fw-replace', { firmwareUpdateDelayMs: 20 });
    await fx.server.write(d, '/9/0/2', fx.cnn);
    await until(async () => (await fx.server.readNumber(d, '/9/0/7')) === 3, 5000, 'DELIVERED');
    await fx.server.execute(d, '/9/0/4');
    await fx.server.execute(d, '/9/0/10');
    expect(await fx.server.read(d, '/9/0/12')).toBe('1');
    for (const image of [retarget(fx.cnn, 0), fx.cnn]) {
      await fx.server.write(d, '/5/0/0', image);
      await until(async () => (await fwState(d)) === 2, 5000, 'Downloaded');
      await updateAndWaitForReboot(d, 'fw-replace');
      await expectRunningFirmware(d, image);
    }
    expect(await fx.server.read(d, '/9/0/12')).toBe('0');
    expect(d.store.instanceIds(32001)).toHaveLength(2); // the software model and one firmware model
  });

  it('a bad image: the Write answers 2.04, then State 0 with Result 5 (integrity), 6 (other target) or 2 (too big); Update stays 4.05', async () => {
    const d = await fx.device('fw-bad');
    const bad = new Uint8Array(fx.cnn);
    bad[500] ^= 1;
    const outcome = async (image: Uint8Array, dev = d): Promise<[number, number]> => {
      expect((await fx.server.write(dev, '/5/0/0', image)).code).toBe(Code.CHANGED);
      await until(async () => (await fwState(dev)) === 0 && (await fwResult(dev)) !== 0, 5000, 'the image to be refused');
      return [await fwState(dev), await fwResult(dev)];
    };
    expect(await outcome(bad)).toEqual([0, 5]);
    expect(await fx.server.execute(d, '/5/0/2')).toBe(Code.METHOD_NOT_ALLOWED);
    expect(await outcome(retarget(fx.cnn, getTarget('stm32f746').code))).toEqual([0, 6]);
    const small = await fx.device('fw-small', { target: { ...getTarget('esp32'), flashBytes: getTarget('esp32').runtimeOverhead.flashBytes + 100 } });
    expect(await outcome(fx.cnn, small)).toEqual([0, 2]);
    expect(await fx.server.read(d, '/3/0/3')).toBe('1.0.0');
    expect(d.ml!.activeModelId).toBeUndefined();
  });

  it('pull failures: 4.04 gives 7, a non-coap scheme 9, a lost connection 4; an empty URI and Cancel reset to Idle', async () => {
    const d = await fx.device('fw-pull-bad', { timing: { ackTimeoutMs: 80, maxRetransmit: 1, requestTimeoutMs: 1500 } });
    const outcome = async (uri: string): Promise<[number, number]> => {
      expect((await fx.server.write(d, '/5/0/1', uri)).code).toBe(Code.CHANGED);
      await until(async () => (await fwState(d)) === 0 && (await fwResult(d)) !== 0, 8000, `the pull of ${uri} to fail`);
      return [await fwState(d), await fwResult(d)];
    };
    expect(await outcome(fx.files.uri('cd'.repeat(32)))).toEqual([0, 7]);
    expect(await outcome('coaps://127.0.0.1:5684/fw/x')).toEqual([0, 9]);
    expect(await outcome('::::')).toEqual([0, 7]);
    const digest = fx.files.put(fx.cnn);
    fx.files.stallAfter = fx.files.requests.length + 2;
    expect(await outcome(fx.files.uri(digest))).toEqual([0, 4]);
    // an empty URI during the download: Idle, Result 0
    fx.files.stallAfter = fx.files.requests.length + 1;
    await fx.server.write(d, '/5/0/1', fx.files.uri(digest));
    expect(await fwState(d)).toBe(1);
    expect((await fx.server.write(d, '/5/0/1', '')).code).toBe(Code.CHANGED);
    expect([await fwState(d), await fwResult(d)]).toEqual([0, 0]);
    // Cancel (10) of a downloaded image: Idle, Result 10
    fx.files.stallAfter = Infinity;
    await fx.server.write(d, '/5/0/1', fx.files.uri(digest));
    await until(async () => (await fwState(d)) === 2, 5000, 'Downloaded');
    expect((await fx.server.write(d, '/5/0/0', fx.cnn)).code).toBe(Code.METHOD_NOT_ALLOWED); // a new image only in Idle
    expect(await fx.server.execute(d, '/5/0/10')).toBe(Code.CHANGED);
    expect([await fwState(d), await fwResult(d)]).toEqual([0, 10]);
    expect(await fx.server.execute(d, '/5/0/10')).toBe(Code.METHOD_NOT_ALLOWED);
  });

  it('a reboot during a pull download loses it: State 0, Result 4 after the new registration; a downloaded image survives', async () => {
    const d = await fx.device('fw-reboot');
    const digest = fx.files.put(fx.cnn);
    fx.files.stallAfter = fx.files.requests.length + 2;
    await fx.server.write(d, '/5/0/1', fx.files.uri(digest));
    await until(() => fx.files.requests.length >= fx.files.stallAfter, 3000, 'two blocks');
    expect(await fwState(d)).toBe(1);
    await d.reboot();
    expect([await fwState(d), await fwResult(d)]).toEqual([0, 4]);
    fx.files.stallAfter = Infinity;
    await fx.server.write(d, '/5/0/1', fx.files.uri(digest));
    await until(async () => (await fwState(d)) === 2, 5000, 'Downloaded');
    await d.reboot();
    expect(await fwState(d)).toBe(2);
    await updateAndWaitForReboot(d, 'fw-reboot');
    await expectRunningFirmware(d, fx.cnn);
  });

  it('a block-wise push is Downloading from its first block; a reboot in the middle ends Idle with Result 4', async () => {
    const d = await fx.device('fw-push-cut', { pushIdleTimeoutMs: 400 });
    const cut = await stalledPush(d, '/5/0/0', fx.cnn, 4);
    try {
      await until(async () => (await fwState(d)) === 1, 3000, 'Downloading');
      await d.reboot();
      expect([await fwState(d), await fwResult(d)]).toEqual([0, 4]);
    } finally {
      await cut.close();
    }
    const silent = await stalledPush(d, '/5/0/0', fx.cnn, 2);
    try {
      await until(async () => (await fwState(d)) === 1, 3000, 'Downloading');
      await until(async () => (await fwResult(d)) === 4 && (await fwState(d)) === 0, 3000, 'the push watchdog');
    } finally {
      await silent.close();
    }
  });
});
