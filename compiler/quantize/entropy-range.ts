// Entropy calibration (TensorRT's KL-divergence method, as in its "Int8EntropyCalibrator"): among
// clipping thresholds T over the histogram of |x|, choose the one whose quantized distribution (the
// bins up to T merged into the available int8 levels and spread back) loses the least information
// against the clipped reference distribution (everything beyond T added to the last bin), measured
// by KL(P || Q). Non-negative tensors (after ReLU) have 255 levels on one side, others 127 per side.
import type { Histogram } from './histogram.ts';
import type { Range } from './calibrate.ts';

const THRESHOLD_STEP = 8;

export function entropyRange(h: Histogram): Range {
  const n = h.bins;
  const mag = new Float64Array(n);
  for (let b = 0; b < n; b++) mag[b] = h.pos[b] + h.neg[b];
  const levels = h.min >= 0 ? 255 : 127;
  const width = h.range / n;
  let total = 0;
  for (let b = 0; b < n; b++) total += mag[b];
  if (total === 0) return { min: Math.min(0, h.min), max: Math.max(0, h.max) };
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  let best = n;
  let bestKl = Infinity;
  // mass of the bins >= i
  const suffix = new Float64Array(n + 1);
  for (let b = n - 1; b >= 0; b--) suffix[b] = suffix[b + 1] + mag[b];
  // thresholds every THRESHOLD_STEP bins (TensorRT tries each bin; 1/256 of the range is finer than int8 itself)
  for (let i = levels; i <= n; i += THRESHOLD_STEP) {
    const beyond = suffix[i];
    // reference: bins [0, i) with the clipped mass in the last one
    for (let b = 0; b < i; b++) p[b] = mag[b];
    p[i - 1] += beyond;
    // candidate: bins [0, i) merged into `levels` groups, each group's mass spread over its non-empty bins
    for (let l = 0; l < levels; l++) {
      const from = Math.floor((l * i) / levels);
      const to = Math.floor(((l + 1) * i) / levels);
      let mass = 0;
      let nonEmpty = 0;
      for (let b = from; b < to; b++) {
        mass += mag[b];
        if (mag[b] > 0) nonEmpty++;
      }
      for (let b = from; b < to; b++) q[b] = mag[b] > 0 ? mass / nonEmpty : 0;
    }
    let pSum = 0;
    let qSum = 0;
    for (let b = 0; b < i; b++) {
      pSum += p[b];
      qSum += q[b];
    }
    let kl = 0;
    for (let b = 0; b < i; b++) {
      if (p[b] === 0) continue;
      const pp = p[b] / pSum;
      const qq = q[b] / qSum;
      kl += qq > 0 ? pp * Math.log(pp / qq) : pp * 30; // an empty Q bin under real P mass: a large, finite penalty
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  const t = best * width;
  return { min: Math.min(0, Math.max(h.min, -t)), max: Math.max(0, Math.min(h.max, t)) };
}
