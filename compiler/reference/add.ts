// Add: y = a + b with multidirectional broadcasting.
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { broadcastBinary } from './elementwise.ts';

export const add: Kernel = (node, inputs) => {
  const [shape, y] = broadcastBinary(
    floatInput(node, inputs, 0), input(node, inputs, 0).shape, floatInput(node, inputs, 1), input(node, inputs, 1).shape,
    (a, b) => a + b, `Add node '${node.name}'`,
  );
  return [floatTensor(shape, y)];
};
