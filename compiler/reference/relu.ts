// Relu: y = max(0, x).
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { mapUnary } from './elementwise.ts';

export const relu: Kernel = (node, inputs) => [
  floatTensor(input(node, inputs, 0).shape, mapUnary(floatInput(node, inputs, 0), (v) => (v < 0 ? 0 : v))),
];
