// Per-tensor calibration method, `--calib-method auto` (issue 11 §3): min/max, percentile and
// entropy (KL) ranges are estimated for every activation from most of the calibration set; the
// held-back slice (held-back-slice.ts) then measures the int8 quantization error each candidate
// range causes on that tensor's float values, and the tensor keeps the method with the least
// error. A clipping method must beat min/max by REQUIRED_GAIN: on an outlier-free tensor the
// methods differ by noise, and min/max is the one that never clips a value the model relies on.
// The error is measured tensor by tensor on float activations (not propagated through the int8
// graph): each tensor's choice is then independent of the others and costs one extra pass over
// the held-back slice.
import type { Graph } from '../ir/graph.ts';
import { activationHistograms, forEachActivation } from './activation-pass.ts';
import type { Range } from './calibrate.ts';
import { splitHeldBack } from './held-back-slice.ts';
import { histogramRange, methodLabel, type RangeMethod } from './histogram-range.ts';
import { addToHistogram } from './histogram.ts';
import { addQuantizationError, meanSquaredError, newErrorSum, type ErrorSum } from './quantization-error.ts';

const MINMAX: RangeMethod = { kind: 'minmax' };

/** the clipping methods tried against min/max */
export const CLIPPING_CANDIDATES: readonly RangeMethod[] = [
  { kind: 'percentile', percentile: 99.99 },
  { kind: 'percentile', percentile: 99.9 },
  { kind: 'entropy' },
];

/** a clipping range replaces min/max only when it cuts the held-back error by at least this fraction */
export const REQUIRED_GAIN = 0.01;

export type CandidateError = {
  readonly method: string;
  /** the range estimated from the fit slice */
  readonly min: number;
  readonly max: number;
  /** mean squared int8 quantization error on the held-back slice */
  readonly mse: number;
};

export type TensorRangeChoice = {
  readonly tensor: string;
  readonly chosen: string;
  /** the chosen method applied to the whole calibration set (fit and held-back slices) */
  readonly range: Range;
  /** min/max first; empty when nothing was held back */
  readonly candidates: readonly CandidateError[];
};

export type PerTensorCalibration = {
  readonly ranges: Map<string, Range>;
  readonly choices: readonly TensorRangeChoice[];
  readonly fitSamples: number;
  readonly heldBackSamples: number;
};

/** Index of the chosen candidate; index 0 is min/max, which a clipper must beat by REQUIRED_GAIN. */
export function chooseCandidate(mse: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < mse.length; i++) {
    if (mse[i] <= mse[0] * (1 - REQUIRED_GAIN) && mse[i] < mse[best]) best = i;
  }
  return best;
}

export function calibratePerTensor(
  graph: Graph,
  samples: readonly Float32Array[],
  onSample?: () => void,
  clippers: readonly RangeMethod[] = CLIPPING_CANDIDATES,
): PerTensorCalibration {
  const methods = [MINMAX, ...clippers];
  const { fit, heldBack } = splitHeldBack(samples);
  const { hist, count: fitted } = activationHistograms(graph, fit, onSample);
  if (fitted === 0) throw new RangeError('calibration needs at least one sample');

  // candidate ranges are frozen from the fit slice before the held-back slice is seen
  const inputName = graph.inputs[0].name;
  const errors = new Map<string, ErrorSum[]>();
  for (const [name, h] of hist) if (name !== inputName) errors.set(name, methods.map((m) => newErrorSum(histogramRange(h, m))));
  forEachActivation(graph, heldBack, (name, data) => {
    for (const e of errors.get(name) ?? []) addQuantizationError(e, data);
    const h = hist.get(name);
    if (h) addToHistogram(h, data);
  }, onSample);

  const ranges = new Map<string, Range>();
  const choices: TensorRangeChoice[] = [];
  for (const [name, h] of hist) {
    const errs = errors.get(name);
    if (!errs) {
      // the graph input keeps its full range: clipping it would only throw away what the sensor measured
      ranges.set(name, histogramRange(h, MINMAX));
      continue;
    }
    const candidates = heldBack.length === 0 ? [] : methods.map((m, i) => ({ method: methodLabel(m), min: errs[i].range.min, max: errs[i].range.max, mse: meanSquaredError(errs[i]) }));
    const k = candidates.length === 0 ? 0 : chooseCandidate(candidates.map((c) => c.mse));
    const range = histogramRange(h, methods[k]);
    ranges.set(name, range);
    choices.push({ tensor: name, chosen: methodLabel(methods[k]), range, candidates });
  }
  return { ranges, choices, fitSamples: fit.length, heldBackSamples: heldBack.length };
}
