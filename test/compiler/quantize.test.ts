import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { activationQuant, quantizeBias, quantizeValue, quantizeWeightsPerChannel, roundHalfAway } from '../../compiler/quantize/quant-params.ts';
import { softmaxParams } from '../../compiler/quantize/ops/softmax.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { emitModule } from '../../compiler/module/emit-module.ts';
import { OpCode } from '../../compiler/module/opcodes.ts';
import type { ModuleContents } from '../../compiler/module/module-types.ts';
import { fashionMnistDir, loadCalibrationDir, loadFashionMnist, readCalibrationDir } from '../../compiler/quantize/calibration-set.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('quantization parameters', () => {
  it('activations: asymmetric int8, real 0 exactly representable, range covered', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0.01, max: 100, noNaN: true }), (lo, width) => {
        const q = activationQuant(lo, lo + width);
        expect(q.zeroPoint).toBeGreaterThanOrEqual(-128);
        expect(q.zeroPoint).toBeLessThanOrEqual(127);
        expect(quantizeValue(0, q)).toBe(q.zeroPoint);
        const loQ = Math.min(0, lo);
        const hiQ = Math.max(0, lo + width);
        expect(q.scale * (-128 - q.zeroPoint)).toBeLessThanOrEqual(loQ + q.scale);
        expect(q.scale * (127 - q.zeroPoint)).toBeGreaterThanOrEqual(hiQ - q.scale);
      }),
    );
    expect(activationQuant(0, 1)).toEqual({ scale: 1 / 255, zeroPoint: -128 });
  });

  it('rounding never yields -0: quantized values are integers', () => {
    // toBe compares with Object.is, so -0 would fail against 0 here
    expect(roundHalfAway(-0.3)).toBe(0);
    expect(roundHalfAway(-0)).toBe(0);
    expect(roundHalfAway(-0.5)).toBe(-1);
    expect(roundHalfAway(2.5)).toBe(3);
    expect(quantizeValue(-1e-9, { scale: 1, zeroPoint: 0 })).toBe(0);
  });

  it('weights: symmetric per output channel in [-127, 127]; bias at in_scale * w_scale', () => {
    const w = Float32Array.from([0.5, -1, -0.25, 100, -50.4, 0]);
    const q = quantizeWeightsPerChannel(w, 2);
    expect(Array.from(q.scales)).toEqual([1 / 127, 100 / 127]);
    expect(Array.from(q.data)).toEqual([64, -127, -32, 127, -64, 0]); // 63.5 and -31.75 round away from zero
    expect(Array.from(quantizeBias(Float32Array.from([1, -2]), 2, 0.5, q.scales))).toEqual([254, -5]);
  });
});

describe('int8 softmax', () => {
  function softmaxModule(inScale: number, inZp: number, n: number): ModuleContents {
    const p = softmaxParams(inScale);
    return {
      formatVersion: 1, targetCode: 0, name: 'sm', arenaBytes: 32, macs: 0, input: 0, output: 1, constants: [],
      ops: [{ code: OpCode.SOFTMAX, inputs: [0], outputs: [1], consts: [], params: [p.inputMultiplier, p.inputLeftShift, p.diffMin, -128, n] }],
      tensors: [
        { dtype: 'int8', shape: [1, n], scale: inScale, zeroPoint: inZp, offset: 0, bytes: n },
        { dtype: 'int8', shape: [1, n], scale: 1 / 256, zeroPoint: -128, offset: 16, bytes: n },
      ],
    };
  }

  it('matches float softmax within 1/256 per probability (integer-only gemmlowp exp)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.005, max: 0.5, noNaN: true }),
        fc.integer({ min: -20, max: 20 }),
        fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 10, maxLength: 10 }),
        (scale, zp, xs) => {
          const m = loadModule(emitModule(softmaxModule(scale, zp, 10)));
          const r = m.invoke(Int8Array.from(xs));
          const real = xs.map((q) => scale * (q - zp));
          const mx = Math.max(...real);
          const e = real.map((v) => Math.exp(v - mx));
          const s = e.reduce((a, b) => a + b, 0);
          e.forEach((v, i) => expect(Math.abs(r.dequantized[i] - v / s)).toBeLessThanOrEqual(1.5 / 256));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('calibration sets', () => {
  it('reads a directory of IDX files, skipping label files, up to a limit', () => {
    const samples = loadCalibrationDir(fashionMnistDir(), 784, 12);
    expect(samples).toHaveLength(12);
    for (const x of samples) {
      expect(x.length).toBe(784);
      expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...x)).toBeLessThanOrEqual(1);
    }
    expect(() => loadCalibrationDir(fashionMnistDir(), 1001)).toThrow(/not a multiple of the model input size/);
  });

  it('never calibrates on the test split: the Debian directory gives train-images only, and says so', () => {
    // t10k-* sorts before train-*: reading in name order used to calibrate on the first test images
    const d = readCalibrationDir(fashionMnistDir(), 784, 20);
    expect(d.files).toEqual([{ file: 'train-images-idx3-ubyte.gz', samples: 20 }]);
    const train = loadFashionMnist('train', 20).images;
    expect(Array.from(d.samples[7])).toEqual(Array.from(train[7]));
  });

  it('leaves out files named like an evaluation split, and refuses a directory of only those', () => {
    const dir = mkdtempSync(join(tmpdir(), 'calib-'));
    try {
      const npy = (values: number[]): Buffer => {
        const header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${values.length},), }`.padEnd(118, ' ') + '\n';
        return Buffer.concat([Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]), Buffer.from(header), Buffer.from(values)]);
      };
      writeFileSync(join(dir, 'test.npy'), npy([255, 255]));
      expect(() => readCalibrationDir(dir, 2)).toThrow(/only evaluation files \(test.npy\)/);
      writeFileSync(join(dir, 'samples.npy'), npy([0, 51, 102, 153]));
      const d = readCalibrationDir(dir, 2);
      expect(d.files).toEqual([{ file: 'samples.npy', samples: 2 }]);
      expect(Array.from(d.samples[1])).toEqual([0.4, 0.6].map((v) => Math.fround(v)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
