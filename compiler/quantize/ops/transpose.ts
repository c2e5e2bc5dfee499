// ONNX Transpose (rank <= 4) -> TRANSPOSE. Moving bytes changes no value: the output keeps the
// input's scale and zero point.
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import { transposePerm } from '../../shape-inference/op-shapes.ts';
import type { LowerContext } from '../lower-context.ts';

/** The input dims travel in the params: the arena tensor may be a Reshape alias of another shape. */
export function transposeParams(perm: readonly number[], inShape: readonly number[]): number[] {
  return [perm.length, ...[0, 1, 2, 3].map((i) => (i < perm.length ? perm[i] : i)), ...[0, 1, 2, 3].map((i) => (i < inShape.length ? inShape[i] : 1))];
}

export function lowerTranspose(node: Node, ctx: LowerContext): void {
  const x = ctx.use(node.inputs[0], node);
  const inShape = ctx.shapeOf(node.inputs[0]);
  const perm = transposePerm(node, inShape.length);
  const y = ctx.define(node.outputs[0], node, ctx.quantOf(x));
  ctx.emit({ code: OpCode.TRANSPOSE, inputs: [x], outputs: [y], consts: [], params: transposeParams(perm, inShape) }, node, 0);
}
