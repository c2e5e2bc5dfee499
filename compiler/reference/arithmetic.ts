// Add, Sub, Mul, Div (multidirectional broadcasting) and PRelu (slope broadcast to x), with the
// fused activation the passes may have written onto Add/Sub/Mul/Div (compiler/ir/fused-activation.ts).
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { broadcastBinary } from './elementwise.ts';

function binaryKernel(f: (a: number, b: number) => number): Kernel {
  return (node, inputs) => {
    const [shape, y] = broadcastBinary(
      floatInput(node, inputs, 0), input(node, inputs, 0).shape, floatInput(node, inputs, 1), input(node, inputs, 1).shape,
      f, `${node.op} node '${node.name}'`,
    );
    applyFusedActivation(y, readFusedActivation(node));
    return [floatTensor(shape, y)];
  };
}

export const add = binaryKernel((a, b) => a + b);
export const sub = binaryKernel((a, b) => a - b);
export const mul = binaryKernel((a, b) => a * b);
export const div = binaryKernel((a, b) => a / b);
export const prelu = binaryKernel((x, slope) => (x < 0 ? slope * x : x));
