// Calibration: run the float reference executor (A's runFloat) over sample inputs and record the
// min/max of every activation, the statistic TFLite's post-training quantizer uses by default; or,
// as options (issue 11 §3), a histogram per activation from which the percentile or entropy (KL)
// estimator picks a range that clips outliers.
import type { Graph } from '../ir/graph.ts';
import { runFloat } from '../reference/executor.ts';
import { entropyRange } from './entropy-range.ts';
import { addToHistogram, newHistogram, type Histogram } from './histogram.ts';
import { DEFAULT_PERCENTILE, percentileRange } from './percentile-range.ts';

export type Range = { readonly min: number; readonly max: number };

export type CalibrationMethod =
  | { readonly kind: 'minmax' }
  | { readonly kind: 'percentile'; readonly percentile?: number }
  | { readonly kind: 'entropy' };

export function calibrate(
  graph: Graph,
  samples: Iterable<Float32Array>,
  onSample?: (done: number) => void,
  method: CalibrationMethod = { kind: 'minmax' },
): Map<string, Range> {
  if (method.kind !== 'minmax') return calibrateHistograms(graph, samples, onSample, method);
  if (graph.inputs.length !== 1) throw new RangeError(`calibration supports one graph input, graph has ${graph.inputs.length}`);
  const inputName = graph.inputs[0].name;
  const lo = new Map<string, number>();
  const hi = new Map<string, number>();
  let count = 0;
  for (const x of samples) {
    const values = runFloat(graph, { [inputName]: x });
    for (const [name, data] of values) {
      if (graph.initializers.has(name)) continue;
      let mn = lo.get(name) ?? Infinity;
      let mx = hi.get(name) ?? -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      lo.set(name, mn);
      hi.set(name, mx);
    }
    count++;
    onSample?.(count);
  }
  if (count === 0) throw new RangeError('calibration needs at least one sample');
  const ranges = new Map<string, Range>();
  for (const [name, min] of lo) ranges.set(name, { min, max: hi.get(name) ?? min });
  return ranges;
}

function calibrateHistograms(graph: Graph, samples: Iterable<Float32Array>, onSample: ((done: number) => void) | undefined, method: CalibrationMethod): Map<string, Range> {
  if (graph.inputs.length !== 1) throw new RangeError(`calibration supports one graph input, graph has ${graph.inputs.length}`);
  const inputName = graph.inputs[0].name;
  const hist = new Map<string, Histogram>();
  let count = 0;
  for (const x of samples) {
    for (const [name, data] of runFloat(graph, { [inputName]: x })) {
      if (graph.initializers.has(name)) continue;
      let h = hist.get(name);
      if (!h) hist.set(name, (h = newHistogram()));
      addToHistogram(h, data);
    }
    count++;
    onSample?.(count);
  }
  if (count === 0) throw new RangeError('calibration needs at least one sample');
  const ranges = new Map<string, Range>();
  for (const [name, h] of hist) {
    // the graph input keeps its full range: clipping it would only throw away what the sensor measured
    if (name === inputName) ranges.set(name, { min: Math.min(0, h.min), max: Math.max(0, h.max) });
    else ranges.set(name, method.kind === 'entropy' ? entropyRange(h) : percentileRange(h, method.kind === 'percentile' ? (method.percentile ?? DEFAULT_PERCENTILE) : DEFAULT_PERCENTILE));
  }
  return ranges;
}
