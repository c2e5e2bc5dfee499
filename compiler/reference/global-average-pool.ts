// GlobalAveragePool: mean over all spatial positions of each (n, c) plane.
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const globalAveragePool: Kernel = (node, inputs) => {
  const shape = input(node, inputs, 0).shape;
  const x = floatInput(node, inputs, 0);
  const planes = shape[0] * shape[1];
  const size = planes === 0 ? 0 : x.length / planes;
  const y = new Float32Array(planes);
  for (let p = 0; p < planes; p++) {
    let sum = 0;
    for (let i = p * size; i < (p + 1) * size; i++) sum += x[i];
    y[p] = sum / size;
  }
  return [floatTensor([shape[0], shape[1], ...shape.slice(2).map(() => 1)], y)];
};
