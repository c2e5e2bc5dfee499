// The held-back calibration slice (issue 11 §3): per-tensor range choice is judged on samples the
// candidate ranges were not estimated from, so a range that merely fits the calibration set's own
// outliers does not win. Every HELD_BACK_EVERY-th sample (12.5 %) is held back: deterministic,
// and spread over the whole set rather than its tail, so a set sorted by class still gives a
// representative slice.

export const HELD_BACK_EVERY = 8;

export type CalibrationSplit<T> = { readonly fit: readonly T[]; readonly heldBack: readonly T[] };

/** Sample i goes to the held-back slice when i % every === every - 1; fewer than `every` samples hold nothing back. */
export function splitHeldBack<T>(samples: readonly T[], every = HELD_BACK_EVERY): CalibrationSplit<T> {
  if (!(Number.isInteger(every) && every >= 2)) throw new RangeError(`held-back period must be an integer >= 2, not ${every}`);
  const fit: T[] = [];
  const heldBack: T[] = [];
  samples.forEach((s, i) => (i % every === every - 1 ? heldBack : fit).push(s));
  return { fit, heldBack };
}
