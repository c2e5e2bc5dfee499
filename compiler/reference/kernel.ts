// The float reference kernel contract. A kernel is a pure function of its node (attributes), its
// input tensors and the model opset; it computes its own output shapes (with the same helpers as
// shape inference) and the executor checks them against `graph.values`.
import { CompileError } from '../ir/compile-error.ts';
import type { Node } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';

export type Kernel = (node: Node, inputs: readonly (Tensor | undefined)[], opset: number) => Tensor[];

export function input(node: Node, inputs: readonly (Tensor | undefined)[], i: number): Tensor {
  const t = inputs[i];
  if (!t) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': input ${i} is missing`);
  return t;
}

export function floatInput(node: Node, inputs: readonly (Tensor | undefined)[], i: number): Float32Array {
  const t = input(node, inputs, i);
  if (!(t.data instanceof Float32Array)) throw new CompileError('UNSUPPORTED_DTYPE', `${node.op} node '${node.name}': input ${i} is ${t.dtype}, expected float32`);
  return t.data;
}

export function floatTensor(shape: readonly number[], data: Float32Array): Tensor {
  return { dtype: 'float32', shape, data };
}
