// The memory techniques of issue 11 §4 applied to a quantized program, and their arena figures:
// conv + pool fusion, conv + residual-add fusion, in-place element-wise ops. Every plan is replayed by
// the checker (planner/replay-plan.ts) before it is used: an overlap of live tensors is a compiler bug.
import type { QuantizedProgram } from '../quantize/quantized-program.ts';
import { planInPlace, type InPlacePair } from '../planner/in-place-planner.ts';
import { replayPlan } from '../planner/replay-plan.ts';
import type { MemoryPlan } from '../planner/memory-plan.ts';
import { fuseConvAdd } from './fuse-conv-add.ts';
import { fuseConvPool } from './fuse-conv-pool.ts';

export type MemoryTechniques = {
  /** an element-wise op's output overwrites an input that dies there */
  readonly inPlace: boolean;
  /** CONV_POOL_2D: the conv output is never resident */
  readonly fuseConvPool: boolean;
  /** CONV_ADD: the conv output of a residual block is never resident */
  readonly fuseConvAdd: boolean;
};

export const ALL_TECHNIQUES: MemoryTechniques = { inPlace: true, fuseConvPool: true, fuseConvAdd: true };
export const NO_TECHNIQUES: MemoryTechniques = { inPlace: false, fuseConvPool: false, fuseConvAdd: false };

export type TechniquePlan = { readonly program: QuantizedProgram; readonly plan: MemoryPlan; readonly inPlacePairs: readonly InPlacePair[] };

export function planWithTechniques(p0: QuantizedProgram, t: MemoryTechniques): TechniquePlan {
  let program = p0;
  if (t.fuseConvPool) program = fuseConvPool(program);
  if (t.fuseConvAdd) program = fuseConvAdd(program);
  const { plan, pairs } = planInPlace(program.ops, program.tensors, program.input, program.output, undefined, t.inPlace);
  const problems = replayPlan(program.ops, program.tensors.map((x, i) => ({ ...x, offset: plan.offsets[i] })), program.input, program.output, plan.arenaBytes, plan.alignment);
  if (problems.length > 0) throw new Error(`internal: the memory plan fails the replay check: ${problems.slice(0, 5).join('; ')}`);
  return { program, plan, inPlacePairs: pairs };
}

/** arena bytes: the greedy plan of the unfused program, all techniques, and all but each one */
export type ArenaByTechnique = { readonly greedy: number; readonly all: number; readonly withoutInPlace: number; readonly withoutConvPool: number; readonly withoutConvAdd: number };

export function arenaByTechnique(p0: QuantizedProgram): ArenaByTechnique {
  const arena = (t: MemoryTechniques): number => planWithTechniques(p0, t).plan.arenaBytes;
  return {
    greedy: arena(NO_TECHNIQUES),
    all: arena(ALL_TECHNIQUES),
    withoutInPlace: arena({ ...ALL_TECHNIQUES, inPlace: false }),
    withoutConvPool: arena({ ...ALL_TECHNIQUES, fuseConvPool: false }),
    withoutConvAdd: arena({ ...ALL_TECHNIQUES, fuseConvAdd: false }),
  };
}
