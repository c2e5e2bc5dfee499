// Which input an op's output may overwrite in place (issue 11 §4): the kernel must read element i of
// that input before it writes element i of the output and read no other element of it afterwards,
// and both must have the same size. That holds for the element-wise kernels (LUT, CLAMP — activations
// and requantization —, ADD and MUL on an operand of the output's shape, whatever the other operand
// broadcasts) and for CONV_ADD's residual (conv-add.ts). The planner shares the buffer only when that
// input dies at this op and is not the graph input.
import type { ModuleOp } from '../module/module-types.ts';
import { OpCode } from '../module/opcodes.ts';

export type TensorShape = { readonly shape: readonly number[]; readonly bytes: number };

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, k) => d === b[k]);

/** the tensor `op`'s output may overwrite, or -1 */
export function inPlaceInput(op: ModuleOp, tensors: readonly TensorShape[]): number {
  const y = tensors[op.outputs[0]];
  const fits = (t: number): boolean => tensors[t].bytes === y.bytes;
  switch (op.code) {
    case OpCode.LUT:
    case OpCode.CLAMP:
      return fits(op.inputs[0]) ? op.inputs[0] : -1;
    case OpCode.ADD:
    case OpCode.MUL:
      return op.inputs.find((t) => fits(t) && sameShape(tensors[t].shape, y.shape)) ?? -1;
    case OpCode.CONV_ADD:
      // not when the residual is also the convolution's input (x + conv(x)): the convolution reads
      // neighbouring elements the output would already have overwritten
      return fits(op.inputs[1]) && op.inputs[0] !== op.inputs[1] ? op.inputs[1] : -1;
    default:
      return -1;
  }
}
