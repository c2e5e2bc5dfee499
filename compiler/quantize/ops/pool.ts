// ONNX MaxPool / AveragePool (2-D) -> MAX_POOL_2D / AVERAGE_POOL_2D. The output keeps the input's
// scale and zero point (TFLM requires it), so the kernel never requantizes. The declared padding and
// ceil_mode are stored as such: count_include_pad counts the declared padding, never the overhang of
// a ceil_mode window (as onnxruntime and the float reference do).
import { attrInt } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import { windowGeometry } from '../../shape-inference/window-geometry.ts';
import type { LowerContext } from '../lower-context.ts';

export function lowerPool(node: Node, ctx: LowerContext): void {
  const x = ctx.useShaped(node.inputs[0], node);
  const inShape = ctx.shapeOf(node.inputs[0]);
  if (inShape.length !== 4) throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': only 2-D pooling (NCHW)`);
  if (node.outputs.length > 1 && node.outputs[1]) throw new CompileError('UNSUPPORTED_OP', `MaxPool node '${node.name}': Indices output`);
  const kernel = node.attrs['kernel_shape'];
  if (!Array.isArray(kernel) || kernel.length !== 2) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': kernel_shape must have 2 values`);
  const [kh, kw] = kernel as number[];
  const g = windowGeometry(node, inShape.slice(2), [kh, kw], true);
  if (g.dilations.some((d) => d !== 1)) throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': dilated pooling`);
  const [ho, wo] = g.out;
  const y = ctx.define(node.outputs[0], node, ctx.quantOf(x));
  const average = node.op === 'AveragePool';
  const countIncludePad = average ? attrInt(node, 'count_include_pad', 0) : 0;
  const ceilMode = attrInt(node, 'ceil_mode', 0) !== 0 ? 1 : 0;
  const params = [kh, kw, g.strides[0], g.strides[1], g.padBegin[0], g.padBegin[1], g.padEnd[0], g.padEnd[1], ceilMode, countIncludePad, -128, 127];
  ctx.emit({ code: average ? OpCode.AVERAGE_POOL_2D : OpCode.MAX_POOL_2D, inputs: [x], outputs: [y], consts: [], params }, node, average ? inShape[1] * ho * wo * kh * kw : 0);
}
