// Shared loops for elementwise operators: a unary map and a numpy-broadcasting binary op.
import type { Shape } from '../ir/graph.ts';
import { sizeOf } from '../ir/tensor.ts';
import { broadcastShapes, broadcastStrides } from '../shape-inference/broadcast.ts';

export function mapUnary(x: Float32Array, f: (v: number) => number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

/** out[i] = f(a[ia], b[ib]) over the broadcast shape; returns [shape, data]. */
export function broadcastBinary(
  a: Float32Array, aShape: Shape, b: Float32Array, bShape: Shape, f: (x: number, y: number) => number, what: string,
): [number[], Float32Array] {
  const shape = broadcastShapes(aShape, bShape, what);
  const n = sizeOf(shape);
  const out = new Float32Array(n);
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
    return [shape, out];
  }
  if (b.length === 1 && a.length === n) {
    const bv = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], bv);
    return [shape, out];
  }
  if (n === 0) return [shape, out];
  // General case: walk the output with an odometer over all but the last dim, inner loop on the last.
  const rank = shape.length;
  const sa = broadcastStrides(aShape, shape);
  const sb = broadcastStrides(bShape, shape);
  const inner = shape[rank - 1];
  const ia = sa[rank - 1];
  const ib = sb[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let oa = 0;
  let ob = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = f(a[oa + j * ia], b[ob + j * ib]);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < shape[d]) break;
      oa -= sa[d] * shape[d];
      ob -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
  return [shape, out];
}
