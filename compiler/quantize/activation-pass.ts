// One pass of the float reference executor over calibration samples, handing every activation
// (every computed value that is not a weight) to a visitor: the loop the calibration statistics share.
import type { Graph } from '../ir/graph.ts';
import { runFloat } from '../reference/executor.ts';
import { addToHistogram, newHistogram, type Histogram } from './histogram.ts';

export type ActivationVisitor = (name: string, data: Float32Array) => void;

/** Runs `graph` on each sample; `done` counts samples across passes (the caller's progress). */
export function forEachActivation(graph: Graph, samples: Iterable<Float32Array>, visit: ActivationVisitor, onSample?: () => void): number {
  if (graph.inputs.length !== 1) throw new RangeError(`calibration supports one graph input, graph has ${graph.inputs.length}`);
  const inputName = graph.inputs[0].name;
  let count = 0;
  for (const x of samples) {
    for (const [name, data] of runFloat(graph, { [inputName]: x })) {
      if (!graph.initializers.has(name)) visit(name, data);
    }
    count++;
    onSample?.();
  }
  return count;
}

/** A histogram of every activation over the samples, and how many samples were run. */
export function activationHistograms(graph: Graph, samples: Iterable<Float32Array>, onSample?: () => void): { hist: Map<string, Histogram>; count: number } {
  const hist = new Map<string, Histogram>();
  const count = forEachActivation(graph, samples, (name, data) => {
    let h = hist.get(name);
    if (!h) hist.set(name, (h = newHistogram()));
    addToHistogram(h, data);
  }, onSample);
  return { hist, count };
}
