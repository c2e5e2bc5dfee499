// ONNX Softmax (opset 13: over one axis; we require the last) -> SOFTMAX. Output quantization is
// fixed at scale 1/256, zero point -128 (TFLM). beta * input_scale becomes a multiplier > 1 with a
// left shift, and diffMin bounds the differences whose exp is not negligible
// (TFLite PreprocessSoftmaxScaling / CalculateInputRadius with kScaledDiffIntegerBits = 5).
import { attrInt } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { normAxis } from '../../ir/tensor.ts';
import { OpCode } from '../../module/opcodes.ts';
import type { LowerContext } from '../lower-context.ts';
import { quantizeMultiplier } from '../quantize-multiplier.ts';

const SCALED_DIFF_INTEGER_BITS = 5;

export function softmaxParams(inputScale: number, beta = 1): { inputMultiplier: number; inputLeftShift: number; diffMin: number } {
  const real = Math.min(beta * inputScale * 2 ** (31 - SCALED_DIFF_INTEGER_BITS), 2 ** 31 - 1);
  let q = quantizeMultiplier(real);
  // A real multiplier below 1 (a tiny input scale: every exp is ~1) has no left shift; fold the
  // right shift into the mantissa instead of refusing (TFLite would refuse the model).
  if (q.shift < 0) q = { multiplier: Math.round(q.multiplier * 2 ** q.shift), shift: 0 };
  const radius = Math.floor(((2 ** SCALED_DIFF_INTEGER_BITS - 1) * 2 ** (31 - SCALED_DIFF_INTEGER_BITS)) / 2 ** q.shift);
  return { inputMultiplier: q.multiplier, inputLeftShift: q.shift, diffMin: -radius };
}

export function lowerSoftmax(node: Node, ctx: LowerContext): void {
  const x = ctx.use(node.inputs[0], node);
  const rank = ctx.shapeOf(node.inputs[0]).length;
  const axis = normAxis(attrInt(node, 'axis', ctx.graph.opset >= 13 ? -1 : 1), rank, `Softmax '${node.name}'`);
  if (axis !== rank - 1) throw new CompileError('UNSUPPORTED_OP', `Softmax node '${node.name}': only the last axis (got axis ${axis} of rank ${rank})`);
  const p = softmaxParams(ctx.quantOf(x).scale);
  const y = ctx.define(node.outputs[0], node, { scale: 1 / 256, zeroPoint: -128 });
  ctx.emit({ code: OpCode.SOFTMAX, inputs: [x], outputs: [y], consts: [], params: [p.inputMultiplier, p.inputLeftShift, p.diffMin, -128] }, node, 0);
}
