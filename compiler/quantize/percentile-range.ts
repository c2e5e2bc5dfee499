// Percentile calibration: the range keeps the central `percentile` % of the observed values and
// clips the rest (a few outliers would otherwise stretch the int8 step for every other value).
// Each tail gets (100 - percentile) / 2 % of the mass; the range never exceeds the observed min/max
// and always contains 0 (int8 zero must be exact).
import type { Histogram } from './histogram.ts';
import type { Range } from './calibrate.ts';

export const DEFAULT_PERCENTILE = 99.99;

export function percentileRange(h: Histogram, percentile = DEFAULT_PERCENTILE): Range {
  const tail = (h.count * (100 - percentile)) / 200;
  const width = h.range / h.bins;
  /** upper edge of the bin where the mass counted from the far end of `side` first exceeds `tail` */
  const edge = (side: Float64Array): number => {
    let seen = 0;
    for (let b = h.bins - 1; b >= 0; b--) {
      seen += side[b];
      if (seen > tail) return (b + 1) * width;
    }
    return 0;
  };
  return { min: Math.min(0, Math.max(h.min, -edge(h.neg))), max: Math.max(0, Math.min(h.max, edge(h.pos))) };
}
