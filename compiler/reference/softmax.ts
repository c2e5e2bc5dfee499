// Softmax. Opset >= 13 (Softmax-13): normalize along `axis` (default -1).
// Opset < 13 (Softmax-11): coerce the input to 2-D [prod(d0..d(axis-1)), prod(d(axis)..)] with
// `axis` default 1 and normalize each row.
import { attrInt } from '../ir/attrs.ts';
import { normAxis, sizeOf } from '../ir/tensor.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const softmax: Kernel = (node, inputs, opset) => {
  const shape = input(node, inputs, 0).shape;
  const x = floatInput(node, inputs, 0);
  const axis = normAxis(attrInt(node, 'axis', opset >= 13 ? -1 : 1), shape.length, `Softmax node '${node.name}'`);
  // [outer, len, inner]: the normalized elements of one group are `len` apart by `inner`
  const outer = sizeOf(shape.slice(0, axis));
  const len = opset >= 13 ? shape[axis] : sizeOf(shape.slice(axis));
  const inner = opset >= 13 ? sizeOf(shape.slice(axis + 1)) : 1;
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = -Infinity;
      for (let j = 0; j < len; j++) max = Math.max(max, x[base + j * inner]);
      let sum = 0;
      for (let j = 0; j < len; j++) sum += Math.exp(x[base + j * inner] - max);
      for (let j = 0; j < len; j++) y[base + j * inner] = Math.exp(x[base + j * inner] - max) / sum;
    }
  }
  return [floatTensor(shape, y)];
};
