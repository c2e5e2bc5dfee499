// Greedy arena planner after TFLite Micro's GreedyMemoryPlanner
// (tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc):
//   1. order buffers by size, largest first (ties: earlier first use, then tensor index — deterministic);
//   2. place each at the lowest aligned offset where it overlaps no already-placed buffer that is
//      live at the same time; the gaps between those buffers are tried in offset order.
// The arena is the highest end offset. Buffers whose lifetimes do not intersect may share bytes.
import type { Lifetime } from './lifetimes.ts';
import { overlapInTime } from './lifetimes.ts';
import { alignUp, DEFAULT_ALIGNMENT, type MemoryPlan } from './memory-plan.ts';

export function planGreedy(lifetimes: readonly Lifetime[], alignment = DEFAULT_ALIGNMENT): MemoryPlan {
  const order = lifetimes
    .map((_, i) => i)
    .sort((a, b) => lifetimes[b].size - lifetimes[a].size || lifetimes[a].firstUse - lifetimes[b].firstUse || a - b);
  const offsets = new Array<number>(lifetimes.length).fill(0);
  const placed: number[] = [];
  let arenaBytes = 0;
  for (const i of order) {
    const buf = lifetimes[i];
    if (buf.size === 0) continue;
    // Live neighbours, sorted by offset: the candidate gaps lie between them.
    const live = placed
      .filter((j) => overlapInTime(lifetimes[j], buf))
      .sort((a, b) => offsets[a] - offsets[b]);
    let candidate = 0;
    for (const j of live) {
      const start = offsets[j];
      const end = start + lifetimes[j].size;
      if (candidate + buf.size <= start) break; // fits in the gap before j
      if (end > candidate) candidate = alignUp(end, alignment);
    }
    offsets[i] = candidate;
    placed.push(i);
    arenaBytes = Math.max(arenaBytes, candidate + buf.size);
  }
  return { planner: 'greedy', offsets, arenaBytes: alignUp(arenaBytes, alignment), alignment };
}
