// Issue 11 §3: percentile and entropy (KL) calibration clip outliers that min/max keeps, on a
// hand-made distribution: 20,000 values of a standard normal (fixed seed) plus 5 outliers at ±50.
import { describe, expect, it } from 'vitest';
import { entropyRange } from '../../compiler/quantize/entropy-range.ts';
import { addToHistogram, newHistogram } from '../../compiler/quantize/histogram.ts';
import { percentileRange } from '../../compiler/quantize/percentile-range.ts';
import type { Range } from '../../compiler/quantize/calibrate.ts';
import { rng } from './helpers/onnx-builder.ts';

function normals(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); // Box-Muller
  return out;
}

/** mean squared error of int8 fake quantization (asymmetric, as the quantizer does) over `xs` */
function quantMse(xs: Float32Array, r: Range): number {
  const scale = (r.max - r.min) / 255;
  const zp = Math.round(-128 - r.min / scale);
  let e = 0;
  for (const x of xs) {
    const q = Math.max(-128, Math.min(127, Math.round(x / scale) + zp));
    e += ((q - zp) * scale - x) ** 2;
  }
  return e / xs.length;
}

describe('calibration range estimators', () => {
  const inliers = normals(20000, 11);
  const all = Float32Array.from([...inliers, 50, -50, 50, 49, -48]);
  // fed in four batches, so the histogram grows its range on the way (the outliers come last)
  const h = newHistogram();
  for (let k = 0; k < 4; k++) addToHistogram(h, all.subarray(k * 5000, k === 3 ? all.length : (k + 1) * 5000));

  it('the histogram keeps every value and the exact min / max', () => {
    expect(h.count).toBe(all.length);
    expect([...h.pos, ...h.neg].reduce((a, b) => a + b, 0)).toBe(all.length);
    expect(h.min).toBe(-50);
    expect(h.max).toBe(50);
  });

  it('percentile 99.9 clips at about 3.3 sigma on each side', () => {
    const r = percentileRange(h, 99.9);
    // the normal's 0.05 % / 99.95 % quantiles are ±3.29; one histogram bin is 100/2048 wide
    expect(r.max).toBeGreaterThan(3.0);
    expect(r.max).toBeLessThan(3.7);
    expect(r.min).toBeLessThan(-3.0);
    expect(r.min).toBeGreaterThan(-3.7);
  });

  it('entropy picks a threshold far inside the outliers and beyond the bulk', () => {
    const r = entropyRange(h);
    expect(r.max).toBeGreaterThan(2);
    expect(r.max).toBeLessThan(15);
    expect(r.min).toBe(-r.max);
  });

  it('both quantize the inliers with a smaller error than min/max', () => {
    const minmax = quantMse(inliers, { min: -50, max: 50 });
    expect(quantMse(inliers, percentileRange(h, 99.9))).toBeLessThan(minmax / 10);
    expect(quantMse(inliers, entropyRange(h))).toBeLessThan(minmax / 4);
  });

  it('a non-negative tensor (after ReLU) keeps min 0', () => {
    const relu = newHistogram();
    addToHistogram(relu, all.map((v) => Math.max(0, v)));
    expect(percentileRange(relu, 99.9).min).toBe(0);
    const e = entropyRange(relu);
    expect(e.min).toBe(0);
    expect(e.max).toBeGreaterThan(1.5);
    expect(e.max).toBeLessThan(15);
  });
});
