// Tanh: y = tanh(x).
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { mapUnary } from './elementwise.ts';

export const tanh: Kernel = (node, inputs) => [floatTensor(input(node, inputs, 0).shape, mapUnary(floatInput(node, inputs, 0), Math.tanh))];
