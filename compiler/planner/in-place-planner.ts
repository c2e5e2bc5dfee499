// Greedy planning with in-place buffers: an op's output and the input it may overwrite
// (in-place.ts) become one buffer when that input dies at the op. Buffers are planned by TFLM's
// greedy algorithm (greedy-planner.ts) over their joined lifetimes; a tensor's offset is its buffer's.
import { planGreedy } from './greedy-planner.ts';
import { inPlaceInput, type TensorShape } from './in-place.ts';
import { computeLifetimes, type Lifetime } from './lifetimes.ts';
import { DEFAULT_ALIGNMENT, type MemoryPlan } from './memory-plan.ts';
import type { ModuleOp } from '../module/module-types.ts';

export type InPlacePair = { readonly op: number; readonly input: number; readonly output: number };

export type InPlacePlan = { readonly plan: MemoryPlan; readonly pairs: readonly InPlacePair[]; readonly lifetimes: readonly Lifetime[] };

export function planInPlace(ops: readonly ModuleOp[], tensors: readonly TensorShape[], graphInput: number, graphOutput: number, alignment = DEFAULT_ALIGNMENT, inPlace = true): InPlacePlan {
  const lifetimes = computeLifetimes(ops.map((op) => ({ reads: op.inputs, writes: op.outputs })), tensors.map((t) => t.bytes), [graphInput], [graphOutput]);
  const root = tensors.map((_, t) => t);
  const find = (t: number): number => (root[t] === t ? t : (root[t] = find(root[t])));
  const pairs: InPlacePair[] = [];
  ops.forEach((op, i) => {
    const input = inPlaceInput(op, tensors);
    if (!inPlace || input < 0 || input === graphInput || lifetimes[input].lastUse !== i) return;
    // the input must not also be read by this op in another role that indexes it differently
    if (op.outputs.length !== 1) return;
    root[op.outputs[0]] = find(input);
    pairs.push({ op: i, input, output: op.outputs[0] });
  });
  // one lifetime per buffer: the union of its tensors' (contiguous: each joins where the last one dies)
  const buffers = new Map<number, { firstUse: number; lastUse: number; size: number }>();
  lifetimes.forEach((l, t) => {
    if (l.size === 0) return;
    const r = find(t);
    const b = buffers.get(r);
    if (!b) buffers.set(r, { firstUse: l.firstUse, lastUse: l.lastUse, size: l.size });
    else buffers.set(r, { firstUse: Math.min(b.firstUse, l.firstUse), lastUse: Math.max(b.lastUse, l.lastUse), size: Math.max(b.size, l.size) });
  });
  const roots = [...buffers.keys()];
  const bufferPlan = planGreedy(roots.map((r, k) => ({ tensor: k, ...(buffers.get(r) as { firstUse: number; lastUse: number; size: number }) })), alignment);
  const offsetOfRoot = new Map(roots.map((r, k) => [r, bufferPlan.offsets[k]]));
  const offsets = tensors.map((_, t) => (lifetimes[t].size === 0 ? 0 : (offsetOfRoot.get(find(t)) as number)));
  return { plan: { planner: 'greedy', offsets, arenaBytes: bufferPlan.arenaBytes, alignment }, pairs, lifetimes };
}
