// Identity: y = x (any dtype).
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';

export const identity: Kernel = (node, inputs) => [input(node, inputs, 0)];
