// Every elementwise unary operator of compiler/ir/unary-functions.ts: y[i] = f(x[i]), computed in
// float64 and stored as float32.
import { unaryFunction } from '../ir/unary-functions.ts';
import { mapUnary } from './elementwise.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const unary: Kernel = (node, inputs) => [floatTensor(input(node, inputs, 0).shape, mapUnary(floatInput(node, inputs, 0), unaryFunction(node)))];
