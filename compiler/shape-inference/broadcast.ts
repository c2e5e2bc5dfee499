// Multidirectional (numpy-style) broadcasting, ONNX docs/Broadcasting.md.
import { CompileError } from '../ir/compile-error.ts';
import type { Shape } from '../ir/graph.ts';

export function broadcastShapes(a: Shape, b: Shape, what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new CompileError('SHAPE_MISMATCH', `${what}: shapes [${a.join(',')}] and [${b.join(',')}] are not broadcastable`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` as seen through broadcasting to `out` (0 along broadcast dimensions). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i];
  }
  return strides;
}
