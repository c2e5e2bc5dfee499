// Dropout in inference mode is the identity (Dropout-13: training_mode false => y = x, no scaling).
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const dropout: Kernel = (node, inputs) => [floatTensor(input(node, inputs, 0).shape, floatInput(node, inputs, 0))];
