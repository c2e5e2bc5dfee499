// Calibration: run the float reference executor (A's runFloat) over sample inputs and record the
// min/max of every activation, the statistic TFLite's post-training quantizer uses by default.
import type { Graph } from '../ir/graph.ts';
import { runFloat } from '../reference/executor.ts';

export type Range = { readonly min: number; readonly max: number };

export function calibrate(
  graph: Graph,
  samples: Iterable<Float32Array>,
  onSample?: (done: number) => void,
): Map<string, Range> {
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
