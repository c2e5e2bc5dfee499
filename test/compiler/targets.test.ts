import { describe, expect, it } from 'vitest';
import { estimateInferenceMs, fits, getTarget, TARGET_IDS, targets } from '../../compiler/targets/index.ts';

describe('targets', () => {
  it('loads every profile with distinct codes', () => {
    expect([...targets().keys()]).toEqual([...TARGET_IDS]);
    const codes = [...targets().values()].map((t) => t.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(getTarget('esp32').ramBytes).toBe(520 * 1024);
    expect(getTarget('nrf52840').flashBytes).toBe(1024 * 1024);
    expect(getTarget('gap8').accelerator).toMatch(/cluster/);
    expect(() => getTarget('esp8266')).toThrow(/unknown target/);
  });

  it('fits() says by how many bytes a module misses', () => {
    const t = getTarget('nrf52840');
    const ramLeft = t.ramBytes - t.runtimeOverhead.ramBytes;
    const flashLeft = t.flashBytes - t.runtimeOverhead.flashBytes;
    expect(fits({ moduleBytes: flashLeft, arenaBytes: ramLeft }, t).fits).toBe(true);
    const r = fits({ moduleBytes: flashLeft + 10, arenaBytes: ramLeft + 1000 }, t);
    expect(r.fits).toBe(false);
    expect(r.ramOverBy).toBe(1000);
    expect(r.flashOverBy).toBe(10);
    expect(r.summary).toContain('RAM over by 1000 bytes');
    expect(r.summary).toContain('flash over by 10 bytes');
  });

  it('counts PSRAM only when allowed', () => {
    const s3 = getTarget('esp32-s3');
    const big = { moduleBytes: 1000, arenaBytes: 1024 * 1024 };
    expect(fits(big, s3).fits).toBe(false);
    expect(fits(big, s3, { allowPsram: true }).fits).toBe(true);
  });

  it('estimates inference time from MACs, clock and MACs per cycle', () => {
    // 1.2 M MACs at 0.5 MAC/cycle and 240 MHz = 10 ms
    expect(estimateInferenceMs(1_200_000, getTarget('esp32'))).toBeCloseTo(10, 6);
    for (const t of targets().values()) expect(t.macsPerCycle).toBeGreaterThan(0);
  });
});
