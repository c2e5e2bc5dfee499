// Float vs int8 accuracy on a labeled set: the float path is the reference executor on the passed
// graph (what was calibrated), the int8 path is the module runtime on the emitted bytes.
import type { Graph } from '../ir/graph.ts';
import { runFloat } from '../reference/executor.ts';
import type { LoadedModule } from '../runtime/load-module.ts';
import type { LabeledSet } from './calibration-set.ts';

export type AccuracyReport = {
  readonly samples: number;
  /** top-1 accuracy of the float graph, 0..1 */
  readonly float: number;
  /** top-1 accuracy of the int8 module, 0..1 */
  readonly int8: number;
  /** fraction of samples where float and int8 predict the same label */
  readonly agreement: number;
  /** int8 confusion matrix: confusion[true label][predicted label] = samples (the dashboard's heat map) */
  readonly confusion: readonly (readonly number[])[];
};

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

export function evaluateAccuracy(
  graph: Graph,
  module: LoadedModule,
  set: LabeledSet,
  onSample?: (done: number, total: number) => void,
): AccuracyReport {
  const inName = graph.inputs[0].name;
  const outName = graph.outputs[0].name;
  let floatOk = 0;
  let int8Ok = 0;
  let agree = 0;
  const n = set.images.length;
  let classes = 0;
  for (const l of set.labels) classes = Math.max(classes, l + 1);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < n; i++) {
    const f = runFloat(graph, { [inName]: set.images[i] }).get(outName);
    if (!f) throw new Error(`float run produced no '${outName}'`);
    const fl = argmax(f);
    const ql = module.invoke(set.images[i]).label;
    if (fl === set.labels[i]) floatOk++;
    if (ql === set.labels[i]) int8Ok++;
    if (fl === ql) agree++;
    const row = confusion[set.labels[i]];
    if (ql >= row.length) for (const r of confusion) while (r.length <= ql) r.push(0);
    row[ql]++;
    if (onSample && (i % 250 === 249 || i === n - 1)) onSample(i + 1, n);
  }
  return { samples: n, float: floatOk / n, int8: int8Ok / n, agreement: agree / n, confusion };
}
