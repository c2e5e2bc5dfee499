// Issue 11 §3: `--calib-method auto` chooses min/max, percentile or entropy (KL) per tensor by the
// int8 error each range causes on a held-back slice of the calibration samples. Hand-checkable
// cases on a one-node graph y = Relu(x) with fixed seeds: a tensor with one far outlier (a
// clipping range must win) and a uniform tensor (min/max must win).
import { describe, expect, it } from 'vitest';
import { compile, formatReport } from '../../compiler/compile.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { calibrate, calibrateWithReport } from '../../compiler/quantize/calibrate.ts';
import { splitHeldBack } from '../../compiler/quantize/held-back-slice.ts';
import { calibratePerTensor, chooseCandidate, REQUIRED_GAIN } from '../../compiler/quantize/per-tensor-choice.ts';
import { addQuantizationError, meanSquaredError, newErrorSum } from '../../compiler/quantize/quantization-error.ts';
import { buildModel, rng } from './helpers/onnx-builder.ts';

const N = 500;
const reluModel = buildModel({ inputs: [{ name: 'x', shape: [1, N] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
const relu = (): Graph => importOnnx(reluModel);

function samples(count: number, seed: number, draw: (rand: () => number) => number): Float32Array[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: N }, () => draw(rand)));
}
const normal = (rand: () => number): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); // Box-Muller
const uniform = (rand: () => number): number => rand();

/** 80 samples of N(0, 1); the first holds one value of 50 (a glitch of the sensor) */
function withOutlier(): Float32Array[] {
  const s = samples(80, 21, normal);
  s[0][123] = 50;
  return s;
}

describe('held-back slice', () => {
  it('holds back every 8th sample, deterministically, and nothing from fewer than 8', () => {
    const idx = Array.from({ length: 200 }, (_, i) => i);
    const { fit, heldBack } = splitHeldBack(idx);
    expect(heldBack.length).toBe(25);
    expect(heldBack.slice(0, 3)).toEqual([7, 15, 23]);
    expect(fit.length + heldBack.length).toBe(200);
    expect(splitHeldBack(idx.slice(0, 7)).heldBack).toEqual([]);
    expect(() => splitHeldBack(idx, 1)).toThrow(RangeError);
  });
});

describe('quantization error', () => {
  it('is the rounding error step^2 / 12 inside the range and the clipped distance outside', () => {
    const values = samples(1, 3, uniform)[0];
    const e = newErrorSum({ min: 0, max: 1 });
    addQuantizationError(e, values);
    const step = 1 / 255;
    expect(meanSquaredError(e)).toBeGreaterThan(0.85 * (step * step) / 12);
    expect(meanSquaredError(e)).toBeLessThan(1.15 * (step * step) / 12);
    const clipped = newErrorSum({ min: 0, max: 1 });
    addQuantizationError(clipped, Float32Array.of(3)); // 3 saturates at q = 127, i.e. 1.0
    expect(meanSquaredError(clipped)).toBeCloseTo(4, 6);
  });
});

describe('choosing a candidate', () => {
  it('keeps min/max unless a clipper beats it by REQUIRED_GAIN, then takes the least error', () => {
    expect(chooseCandidate([1, 0.5, 0.2, 0.9])).toBe(2);
    expect(chooseCandidate([1, 1 - REQUIRED_GAIN / 2, 2])).toBe(0);
    expect(chooseCandidate([0, 0, 0])).toBe(0); // an all-zero tensor: nothing to gain
    expect(chooseCandidate([1])).toBe(0);
  });
});

describe('calibration method auto', () => {
  it('a tensor with one far outlier: percentile wins, with the held-back errors the report lists', () => {
    const c = calibratePerTensor(relu(), withOutlier(), undefined, [{ kind: 'percentile', percentile: 99.99 }]);
    expect(c.fitSamples).toBe(70);
    expect(c.heldBackSamples).toBe(10);
    expect(c.choices.map((k) => k.tensor)).toEqual(['y']); // the graph input is never clipped
    const y = c.choices[0];
    expect(y.chosen).toBe('percentile 99.99');
    const [minmax, pct] = y.candidates;
    expect(minmax).toMatchObject({ method: 'minmax', min: 0, max: 50 });
    // min/max by hand: half the values are ReLU zeros (exact), the other half round with step 50/255
    const step = 50 / 255;
    expect(minmax.mse).toBeGreaterThan(0.8 * 0.5 * (step * step) / 12);
    expect(minmax.mse).toBeLessThan(1.2 * 0.5 * (step * step) / 12);
    // the 99.99th percentile of 35,000 values leaves out the outlier: a range near 4 sigma
    expect(pct.max).toBeGreaterThan(3);
    expect(pct.max).toBeLessThan(5);
    expect(pct.mse).toBeLessThan(minmax.mse / 20);
    expect(y.range.max).toBeLessThan(5);
    expect(c.ranges.get('x')).toMatchObject({ max: 50 });
  });

  it('with all candidates the outlier tensor still leaves min/max, for the least held-back error', () => {
    const c = calibratePerTensor(relu(), withOutlier());
    const y = c.choices[0];
    expect(y.candidates.map((k) => k.method)).toEqual(['minmax', 'percentile 99.99', 'percentile 99.9', 'entropy']);
    expect(y.chosen).not.toBe('minmax');
    const least = Math.min(...y.candidates.map((k) => k.mse));
    expect(y.candidates.find((k) => k.method === y.chosen)?.mse).toBe(least);
  });

  it('a uniform tensor keeps min/max, and then auto gives exactly the min/max ranges', () => {
    const s = samples(80, 5, uniform);
    const c = calibratePerTensor(relu(), s);
    const y = c.choices[0];
    expect(y.chosen).toBe('minmax');
    const step = 1 / 255;
    expect(y.candidates[0].mse).toBeGreaterThan(0.8 * (step * step) / 12);
    expect(y.candidates[0].mse).toBeLessThan(1.2 * (step * step) / 12);
    // clipping the top 0.1 % of a uniform tensor gains less than REQUIRED_GAIN: not taken
    expect(y.candidates[2].mse).toBeGreaterThan(y.candidates[0].mse * (1 - REQUIRED_GAIN));
    expect(c.ranges).toEqual(calibrate(relu(), s));
  });

  it('too few samples to hold any back: min/max, no candidates, counted progress', () => {
    const seen: number[] = [];
    const c = calibrateWithReport(relu(), withOutlier().slice(0, 5), (d) => seen.push(d), { kind: 'auto' });
    expect(c.heldBackSamples).toBe(0);
    expect(c.choices?.[0]).toMatchObject({ chosen: 'minmax', candidates: [] });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(() => calibrateWithReport(relu(), [], undefined, { kind: 'auto' })).toThrow(/at least one sample/);
  });

  it('compile() reports the choice per tensor, and the text report lists every candidate', () => {
    const r = compile(reluModel, { target: 'esp32', calibration: withOutlier(), calibrationMethod: { kind: 'auto' } });
    expect(r.report.calibrationSplit).toEqual({ fit: 70, heldBack: 10 });
    expect(r.report.calibrationChoices?.[0].chosen).not.toBe('minmax');
    const text = formatReport(r.report);
    expect(text).toMatch(/calibration: auto over 80 samples/);
    expect(text).toMatch(/per-tensor ranges \(estimated on 70 samples, judged by int8 MSE on 10 held back/);
    expect(text).toMatch(/ y: (percentile|entropy).*minmax \d\.\d\de-\d+.*entropy/);
  });
});
