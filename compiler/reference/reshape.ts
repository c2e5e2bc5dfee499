// Reshape (Reshape-14): new shape from the int64 `shape` input (0 = copy dim unless allowzero,
// -1 = inferred). Row-major data is unchanged (shared).
import { attrInt } from '../ir/attrs.ts';
import { intValues } from '../ir/tensor.ts';
import { reshapeTarget } from '../shape-inference/op-shapes.ts';
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';

export const reshape: Kernel = (node, inputs) => {
  const x = input(node, inputs, 0);
  const what = `Reshape node '${node.name}'`;
  const target = intValues(input(node, inputs, 1).data, what);
  return [{ dtype: x.dtype, shape: reshapeTarget(x.shape, target, attrInt(node, 'allowzero', 0) !== 0, what), data: x.data }];
};
