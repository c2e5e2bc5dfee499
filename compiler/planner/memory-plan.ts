// The result every planner returns: one arena offset per tensor and the arena size.

export type MemoryPlan = {
  readonly planner: 'greedy' | 'naive';
  /** arena offset of tensor i (bytes, aligned) */
  readonly offsets: readonly number[];
  /** total arena bytes (a multiple of the alignment) */
  readonly arenaBytes: number;
  readonly alignment: number;
};

/** TFLM aligns every buffer to 16 bytes (MicroArenaBufferAlignment), which also suits SIMD loads. */
export const DEFAULT_ALIGNMENT = 16;

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
