// Calibration: run the float reference executor (A's runFloat) over sample inputs and record the
// min/max of every activation, the statistic TFLite's post-training quantizer uses by default; or,
// as options (issue 11 §3), a histogram per activation from which the percentile or entropy (KL)
// estimator picks a range that clips outliers; or, with 'auto', the method chosen per tensor by
// its error on a held-back slice of the samples (per-tensor-choice.ts).
import type { Graph } from '../ir/graph.ts';
import { activationHistograms, forEachActivation } from './activation-pass.ts';
import { histogramRange } from './histogram-range.ts';
import { calibratePerTensor, type TensorRangeChoice } from './per-tensor-choice.ts';

export type Range = { readonly min: number; readonly max: number };

export type CalibrationMethod =
  | { readonly kind: 'minmax' }
  | { readonly kind: 'percentile'; readonly percentile?: number }
  | { readonly kind: 'entropy' }
  | { readonly kind: 'auto' };

export type Calibration = {
  readonly ranges: Map<string, Range>;
  /** 'auto' only: per activation, the chosen method and every candidate's held-back error */
  readonly choices?: readonly TensorRangeChoice[];
  /** 'auto' only: samples the candidate ranges were estimated from / held back to judge them */
  readonly fitSamples?: number;
  readonly heldBackSamples?: number;
};

export function calibrate(
  graph: Graph,
  samples: Iterable<Float32Array>,
  onSample?: (done: number) => void,
  method: CalibrationMethod = { kind: 'minmax' },
): Map<string, Range> {
  return calibrateWithReport(graph, samples, onSample, method).ranges;
}

export function calibrateWithReport(
  graph: Graph,
  samples: Iterable<Float32Array>,
  onSample?: (done: number) => void,
  method: CalibrationMethod = { kind: 'minmax' },
): Calibration {
  let done = 0;
  const counted = (): void => onSample?.(++done);
  if (method.kind === 'auto') return calibratePerTensor(graph, Array.from(samples), counted);
  if (method.kind !== 'minmax') return { ranges: calibrateHistograms(graph, samples, counted, method) };
  const seen = new Map<string, Float64Array>();
  const count = forEachActivation(graph, samples, (name, data) => {
    let minMax = seen.get(name);
    if (!minMax) seen.set(name, (minMax = Float64Array.of(Infinity, -Infinity)));
    widenMinMax(minMax, data);
  }, counted);
  if (count === 0) throw new RangeError('calibration needs at least one sample');
  const ranges = new Map<string, Range>();
  for (const [name, minMax] of seen) ranges.set(name, { min: minMax[0], max: minMax[1] });
  return { ranges };
}

/** minMax = [min, max] widened by `data`; a plain function of typed arrays, so V8 compiles one tight loop */
function widenMinMax(minMax: Float64Array, data: Float32Array): void {
  let mn = minMax[0];
  let mx = minMax[1];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  minMax[0] = mn;
  minMax[1] = mx;
}

function calibrateHistograms(graph: Graph, samples: Iterable<Float32Array>, onSample: () => void, method: CalibrationMethod & { kind: 'percentile' | 'entropy' }): Map<string, Range> {
  const { hist, count } = activationHistograms(graph, samples, onSample);
  if (count === 0) throw new RangeError('calibration needs at least one sample');
  const inputName = graph.inputs[0].name;
  const ranges = new Map<string, Range>();
  for (const [name, h] of hist) {
    // the graph input keeps its full range: clipping it would only throw away what the sensor measured
    if (name === inputName) ranges.set(name, { min: Math.min(0, h.min), max: Math.max(0, h.max) });
    else ranges.set(name, histogramRange(h, method));
  }
  return ranges;
}
