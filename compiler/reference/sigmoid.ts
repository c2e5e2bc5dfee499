// Sigmoid: y = 1 / (1 + exp(-x)).
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { mapUnary } from './elementwise.ts';

export const sigmoid: Kernel = (node, inputs) => [
  floatTensor(input(node, inputs, 0).shape, mapUnary(floatInput(node, inputs, 0), (v) => 1 / (1 + Math.exp(-v)))),
];
