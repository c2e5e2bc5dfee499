// Elementwise comparison with an absolute + relative tolerance: |got - want| <= atol + rtol * |want|
// (numpy.testing.assert_allclose's rule). NaN equals NaN; infinities must match exactly.
export type Comparison = { ok: boolean; maxAbsErr: number; message: string };

export function closeEnough(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): Comparison {
  if (got.length !== want.length) return { ok: false, maxAbsErr: Infinity, message: `length ${got.length} != ${want.length}` };
  let maxAbsErr = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    const err = Math.abs(g - w);
    if (!(err <= atol + rtol * Math.abs(w))) {
      return { ok: false, maxAbsErr: err, message: `element ${i}: got ${g}, want ${w} (|err| ${err})` };
    }
    maxAbsErr = Math.max(maxAbsErr, err);
  }
  return { ok: true, maxAbsErr, message: `max |err| ${maxAbsErr}` };
}
