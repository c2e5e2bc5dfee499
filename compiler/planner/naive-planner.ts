// One buffer per tensor, back to back: the baseline the greedy plan is measured against
// (TFLM's LinearMemoryPlanner).
import type { Lifetime } from './lifetimes.ts';
import { alignUp, DEFAULT_ALIGNMENT, type MemoryPlan } from './memory-plan.ts';

export function planNaive(lifetimes: readonly Lifetime[], alignment = DEFAULT_ALIGNMENT): MemoryPlan {
  const offsets: number[] = [];
  let next = 0;
  for (const buf of lifetimes) {
    offsets.push(buf.size === 0 ? 0 : next);
    if (buf.size > 0) next = alignUp(next + buf.size, alignment);
  }
  return { planner: 'naive', offsets, arenaBytes: next, alignment };
}
