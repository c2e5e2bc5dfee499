// Flatten: [d0..dn] -> [d0*..*d(axis-1), d(axis)*..*dn]. Row-major data is unchanged (shared).
import { attrInt } from '../ir/attrs.ts';
import { normAxis, sizeOf } from '../ir/tensor.ts';
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';

export const flatten: Kernel = (node, inputs) => {
  const x = input(node, inputs, 0);
  const axis = normAxis(attrInt(node, 'axis', 1), x.shape.length, `Flatten node '${node.name}'`, true);
  return [{ dtype: x.dtype, shape: [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))], data: x.data }];
};
