// Tensor lifetimes over the operator order: the interval [firstUse, lastUse] (inclusive, in op
// indices) during which a tensor's bytes must survive. This is what TFLite Micro's allocator feeds
// its memory planner (micro_allocator.cc: first_created / last_used per tensor).
//
// Rules (same as TFLM):
//   - a graph input is live from before the first op (firstUse 0);
//   - a graph output is live until after the last op (lastUse = opCount - 1);
//   - any other tensor is live from the op that writes it to the last op that reads it;
//   - a tensor written but never read still occupies its producer's step.

export type PlannerOp = {
  /** indices of the arena tensors this op reads */
  readonly reads: readonly number[];
  /** indices of the arena tensors this op writes */
  readonly writes: readonly number[];
};

export type Lifetime = {
  readonly tensor: number;
  readonly size: number;
  readonly firstUse: number;
  readonly lastUse: number;
};

export function computeLifetimes(
  ops: readonly PlannerOp[],
  sizes: readonly number[],
  graphInputs: readonly number[],
  graphOutputs: readonly number[],
): Lifetime[] {
  const n = sizes.length;
  const first = new Array<number>(n).fill(-1);
  const last = new Array<number>(n).fill(-1);
  const lastOp = Math.max(0, ops.length - 1);
  const touch = (t: number, step: number): void => {
    if (!Number.isInteger(t) || t < 0 || t >= n) throw new RangeError(`op ${step} references tensor ${t}, have ${n}`);
    if (first[t] === -1 || step < first[t]) first[t] = step;
    if (step > last[t]) last[t] = step;
  };
  for (const t of graphInputs) touch(t, 0);
  ops.forEach((op, i) => {
    for (const t of op.writes) touch(t, i);
    for (const t of op.reads) touch(t, i);
  });
  for (const t of graphOutputs) touch(t, lastOp);
  const out: Lifetime[] = [];
  for (let t = 0; t < n; t++) {
    // A tensor no op touches needs no memory; it gets size 0 at offset 0.
    if (first[t] === -1) out.push({ tensor: t, size: 0, firstUse: 0, lastUse: 0 });
    else out.push({ tensor: t, size: sizes[t], firstUse: first[t], lastUse: last[t] });
  }
  return out;
}

/** True when two lifetimes share at least one op step. */
export function overlapInTime(a: Lifetime, b: Lifetime): boolean {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}
