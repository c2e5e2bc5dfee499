// BatchNormalization, inference mode (BatchNormalization-15 with training_mode=0):
//   y = scale[c] * (x - mean[c]) / sqrt(var[c] + epsilon) + B[c], c = dim 1.
import { attrFloat } from '../ir/attrs.ts';
import { sizeOf } from '../ir/tensor.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const batchNormalization: Kernel = (node, inputs) => {
  const shape = input(node, inputs, 0).shape;
  const x = floatInput(node, inputs, 0);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => floatInput(node, inputs, i));
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const N = shape[0];
  const C = shape[1];
  const inner = sizeOf(shape.slice(2));
  const y = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    const k = scale[c] / Math.sqrt(variance[c] + eps);
    const b = bias[c] - mean[c] * k;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * inner;
      for (let i = base; i < base + inner; i++) y[i] = x[i] * k + b;
    }
  }
  return [floatTensor(shape, y)];
};
