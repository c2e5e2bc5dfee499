// Importing models older than opset 11 (ONNX version converter rules): a node is read as its
// opset-11 self when the operator's semantics have not changed between the model's opset and 11.
// The table gives, per operator, the last opset up to 11 that changed its semantics (attributes
// removed or added with a different default, broadcasting rules); a model declaring an older
// opset than that for an op it uses is refused with a clear reason. Ops absent here are refused
// below opset 11. Sources: ONNX Changelog.md / Operators.md version histories.
import { CompileError } from '../ir/compile-error.ts';
import type { Node } from '../ir/graph.ts';

export const LAST_CHANGE_UP_TO_11: Readonly<Record<string, number>> = {
  GlobalAveragePool: 1, Conv: 1, MatMul: 1, Transpose: 1, Flatten: 1, Identity: 1, Shape: 1, Softmax: 1,
  Softplus: 1, Softsign: 1, MaxPool: 1, AveragePool: 1, Gather: 1, Squeeze: 1, Unsqueeze: 1,
  // consumed_inputs removed in 6
  Relu: 6, Sigmoid: 6, Tanh: 6, Abs: 6, Neg: 6, Exp: 6, Floor: 6, Ceil: 6, LeakyRelu: 6, Elu: 6, Selu: 6, HardSigmoid: 6,
  // numpy broadcasting replaces the `broadcast` attribute in 7
  Add: 7, Sub: 7, Mul: 7, Div: 7, PRelu: 7, Gemm: 7, Dropout: 7, Sin: 7, Cos: 7, Atan: 7,
  Concat: 4, Reshape: 5, BatchNormalization: 9, Erf: 9, Sign: 9, ThresholdedRelu: 10,
  Clip: 11, Round: 11,
};

/** Checks every node can be read with opset-11 semantics; returns the opset to import with (11). */
export function convertToOpset11(nodes: readonly Node[], declared: number): number {
  const stale = nodes.filter((n) => !((LAST_CHANGE_UP_TO_11[n.op] ?? Infinity) <= declared));
  if (stale.length > 0) {
    const ops = [...new Set(stale.map((n) => n.op))];
    throw new CompileError('BAD_OPSET', `model uses ai.onnx opset ${declared}; ${ops.join(', ')} changed semantics before opset 11, so it cannot be read as opset 11 (re-export the model with opset_version 11 to 17)`, { opset: declared, ops });
  }
  return 11;
}
