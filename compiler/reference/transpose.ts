// Transpose: y[i_perm[0], ..] = x[i_0, ..]; output dim j is input dim perm[j] (default: reversed).
import { allocData, sizeOf, stridesOf } from '../ir/tensor.ts';
import { transposePerm } from '../shape-inference/op-shapes.ts';
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';

export const transpose: Kernel = (node, inputs) => {
  const x = input(node, inputs, 0);
  const rank = x.shape.length;
  const perm = transposePerm(node, rank);
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = stridesOf(x.shape);
  const step = perm.map((p) => inStrides[p]); // input stride of each output dim
  const n = sizeOf(outShape);
  const y = allocData(x.dtype, n);
  const src = x.data as unknown as ArrayLike<number | bigint>; // same element type as y
  const dst = y as unknown as { [i: number]: number | bigint };
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let o = 0; o < n; o++) {
    dst[o] = src[off];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += step[d];
      if (idx[d] < outShape[d]) break;
      off -= step[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return [{ dtype: x.dtype, shape: outShape, data: y }];
};
