// A histogram of one activation over the calibration set, for the percentile and entropy (KL)
// range estimators. Positive values and the magnitudes of negative ones are counted separately in
// `bins` bins over [0, range]; when a value beyond the range arrives the range doubles and adjacent
// bins merge, so one pass over the samples suffices (no second pass with a known range).

export type Histogram = {
  readonly bins: number;
  /** upper edge of the last bin */
  range: number;
  readonly pos: Float64Array;
  readonly neg: Float64Array;
  min: number;
  max: number;
  count: number;
};

export const HISTOGRAM_BINS = 2048;

export function newHistogram(bins = HISTOGRAM_BINS): Histogram {
  return { bins, range: 0, pos: new Float64Array(bins), neg: new Float64Array(bins), min: Infinity, max: -Infinity, count: 0 };
}

function mergePairs(a: Float64Array): void {
  const half = a.length / 2;
  for (let i = 0; i < half; i++) a[i] = a[2 * i] + a[2 * i + 1];
  a.fill(0, half);
}

export function addToHistogram(h: Histogram, data: Float32Array): void {
  let mn = h.min;
  let mx = h.max;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  h.min = mn;
  h.max = mx;
  const need = Math.max(-mn, mx);
  if (h.range === 0) h.range = need > 0 ? need : 1e-12;
  while (need > h.range) {
    mergePairs(h.pos);
    mergePairs(h.neg);
    h.range *= 2;
  }
  const scale = h.bins / h.range;
  const last = h.bins - 1;
  const { pos, neg } = h;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v >= 0) {
      const b = (v * scale) | 0;
      pos[b > last ? last : b]++;
    } else {
      const b = (-v * scale) | 0;
      neg[b > last ? last : b]++;
    }
  }
  h.count += data.length;
}
