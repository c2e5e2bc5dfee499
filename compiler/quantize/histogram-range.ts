// A clipping method applied to one activation's histogram.
import type { CalibrationMethod, Range } from './calibrate.ts';
import { entropyRange } from './entropy-range.ts';
import type { Histogram } from './histogram.ts';
import { DEFAULT_PERCENTILE, percentileRange } from './percentile-range.ts';

export type RangeMethod = Exclude<CalibrationMethod, { readonly kind: 'auto' }>;

export function histogramRange(h: Histogram, method: RangeMethod): Range {
  if (method.kind === 'minmax') return { min: h.min, max: h.max };
  if (method.kind === 'entropy') return entropyRange(h);
  return percentileRange(h, method.percentile ?? DEFAULT_PERCENTILE);
}

/** 'minmax', 'percentile 99.9', 'entropy': how the report and the CLI name a method */
export function methodLabel(method: CalibrationMethod): string {
  return method.kind === 'percentile' ? `percentile ${method.percentile ?? DEFAULT_PERCENTILE}` : method.kind;
}
