// Profile matching and the fit check against what a device reports (issue 16 §1).
import { describe, expect, it } from 'vitest';
import { deviceInfoFrom, type DeviceInfo, type MlRuntimeInfo } from '../../src/ml/device-info.ts';
import { matchProfile } from '../../src/ml/device-profile-matcher.ts';
import { checkDeviceFit } from '../../src/ml/module-fit.ts';

const runtime = (o: Partial<MlRuntimeInfo> = {}): MlRuntimeInfo => ({
  version: '1.2.0', ops: ['CONV_2D', 'FULLY_CONNECTED', 'SOFTMAX'], arenaBytesAvailable: 100_000, moduleFlashBytes: 200_000,
  accelerator: null, clockMhz: 64, targetCode: null, macsPerCycle: null, ...o,
});
const info = (o: Partial<DeviceInfo> = {}): DeviceInfo => ({
  endpoint: 'd', manufacturer: null, modelNumber: null, firmwareVersion: null, memoryFreeKB: null, memoryTotalKB: null, runtime: null, readAt: 0, ...o,
});

describe('matchProfile', () => {
  it('takes the first rule whose manufacturer and model match, case-insensitively', () => {
    expect(matchProfile(info({ manufacturer: 'ESPRESSIF Systems', modelNumber: 'esp32-s3-wroom' }))).toMatchObject({ profile: 'esp32-s3', how: 'rule', rule: 'espressif-esp32-s3' });
    expect(matchProfile(info({ manufacturer: 'Espressif', modelNumber: 'ESP32-WROVER' }))).toMatchObject({ profile: 'esp32', how: 'rule' });
    expect(matchProfile(info({ manufacturer: 'Espressif', modelNumber: 'ESP32' }), [{ name: 'mine', profile: 'nrf52840', model: 'ESP32' }])).toMatchObject({ profile: 'nrf52840', rule: 'mine' });
  });

  it('falls back to the runtime: its target code, else one target with its clock and accelerator', () => {
    expect(matchProfile(info({ manufacturer: 'Acme', runtime: runtime({ targetCode: 3 }) }))).toMatchObject({ profile: 'nrf52840', how: 'capabilities' });
    // 216 MHz, no accelerator: only the STM32F746
    expect(matchProfile(info({ manufacturer: 'Acme', runtime: runtime({ clockMhz: 216 }) }))).toMatchObject({ profile: 'stm32f746', how: 'capabilities' });
    // 240 MHz without accelerator is the ESP32 only; with the vector unit the ESP32-S3
    expect(matchProfile(info({ runtime: runtime({ clockMhz: 240 }) })).profile).toBe('esp32');
    expect(matchProfile(info({ runtime: runtime({ clockMhz: 240, accelerator: 'vector instructions (ESP-NN)' }) })).profile).toBe('esp32-s3');
    // 64 MHz without accelerator: nRF52840 and the Nano 33 BLE Sense (the same chip) — ambiguous, none
    const two = matchProfile(info({ runtime: runtime({ clockMhz: 64 }) }));
    expect(two).toMatchObject({ profile: null, how: 'none' });
    expect(two.detail).toMatch(/2 targets/);
  });

  it('reports a device it cannot place, and why', () => {
    const none = matchProfile(info({ manufacturer: 'Acme', modelNumber: 'X' }));
    expect(none).toMatchObject({ profile: null, how: 'none' });
    expect(none.detail).toMatch(/no ML Runtime object/);
    const odd = matchProfile(info({ manufacturer: 'Acme', runtime: runtime({ clockMhz: 123 }) }));
    expect(odd).toMatchObject({ profile: null, how: 'none' });
    expect(odd.detail).toMatch(/123 MHz/);
  });
});

describe('checkDeviceFit', () => {
  const needs = { arenaBytes: 7840, moduleBytes: 10_248, ops: ['CONV_2D', 'SOFTMAX'] };

  it('fits when RAM, flash and ops are there', () => {
    expect(checkDeviceFit(needs, info({ runtime: runtime() }))).toEqual({ ok: true });
  });

  it('names the missing RAM in bytes, from the runtime or else from Memory Free (KB)', () => {
    expect(checkDeviceFit(needs, info({ runtime: runtime({ arenaBytesAvailable: 4096 }) }))).toMatchObject({ ok: false, code: 'TOO_LITTLE_RAM', shortBy: 3744 });
    const v = checkDeviceFit(needs, info({ memoryFreeKB: 5 }));
    expect(v).toMatchObject({ ok: false, code: 'TOO_LITTLE_RAM', shortBy: 7840 - 5120 });
    expect(!v.ok && v.reason).toMatch(/too little RAM by 2720 bytes/);
  });

  it('names the missing flash and the unsupported op with the runtime version', () => {
    expect(checkDeviceFit(needs, info({ runtime: runtime({ moduleFlashBytes: 10_000 }) }))).toMatchObject({ code: 'TOO_LITTLE_FLASH', shortBy: 248 });
    expect(checkDeviceFit(needs, info({ runtime: runtime({ version: '0.9', ops: ['CONV_2D'] }) }))).toMatchObject({ code: 'OP_UNSUPPORTED', op: 'SOFTMAX', reason: 'op SOFTMAX not supported by runtime version 0.9' });
  });
});

describe('deviceInfoFrom', () => {
  it('keeps what a hostile device reports bounded', () => {
    const ops = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [i, 'X'.repeat(1000)]));
    const i = deviceInfoFrom('d', { kind: 'instance', id: 0, resources: [{ kind: 'resource', id: 0, type: 'string', value: 'M'.repeat(10_000) }] },
      { kind: 'instance', id: 0, resources: [{ kind: 'multiResource', id: 1, type: 'string', values: ops }, { kind: 'resource', id: 2, type: 'integer', value: Number.NaN }] });
    expect(i.manufacturer!.length).toBe(64);
    expect(i.runtime!.ops.length).toBe(256);
    expect(i.runtime!.ops[0]!.length).toBe(64);
    expect(i.runtime!.arenaBytesAvailable).toBeNull();
  });
});
