// Concat: join inputs along `axis` (any dtype; all inputs share it).
import { attrInt } from '../ir/attrs.ts';
import { allocData, normAxis, sizeOf } from '../ir/tensor.ts';
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';

export const concat: Kernel = (node, inputs) => {
  const xs = inputs.map((_, i) => input(node, inputs, i));
  const first = xs[0];
  const axis = normAxis(attrInt(node, 'axis', 0), first.shape.length, `Concat node '${node.name}'`);
  const outer = sizeOf(first.shape.slice(0, axis));
  const inner = sizeOf(first.shape.slice(axis + 1));
  const total = xs.reduce((acc, t) => acc + t.shape[axis], 0);
  const shape = [...first.shape];
  shape[axis] = total;
  const y = allocData(first.dtype, sizeOf(shape));
  const dst = y as unknown as { set(src: ArrayLike<number | bigint>, offset: number): void };
  let col = 0;
  for (const t of xs) {
    const chunk = t.shape[axis] * inner;
    const src = t.data as unknown as { subarray(a: number, b: number): ArrayLike<number | bigint> }; // same element type as y
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * chunk, (o + 1) * chunk), o * total * inner + col * inner);
    col += t.shape[axis];
  }
  return [{ dtype: first.dtype, shape, data: y }];
};
