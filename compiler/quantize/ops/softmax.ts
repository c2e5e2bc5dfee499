// ONNX Softmax (opset 13: over one axis; we require the last) -> SOFTMAX. Output quantization is
// fixed at scale 1/256, zero point -128 (TFLM). beta * input_scale becomes a multiplier > 1 with a
// left shift, and diffMin bounds the differences whose exp is not negligible
// (TFLite PreprocessSoftmaxScaling / CalculateInputRadius with kScaledDiffIntegerBits = 5).
import { attrInt } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { normAxis, sizeOf } from '../../ir/tensor.ts';
import { transposeParams } from './transpose.ts';
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
  const shape = ctx.shapeOf(node.inputs[0]);
  const rank = shape.length;
  const legacy = ctx.graph.opset < 13;
  const axis = normAxis(attrInt(node, 'axis', legacy ? 1 : -1), rank, `Softmax '${node.name}'`);
  const p = softmaxParams(ctx.quantOf(x).scale);
  const outQ = { scale: 1 / 256, zeroPoint: -128 };
  if (legacy || axis === rank - 1) {
    // before opset 13 Softmax normalizes over all dims from `axis` on (the input coerced to 2-D)
    const depth = sizeOf(shape.slice(axis));
    const y = ctx.define(node.outputs[0], node, outQ);
    ctx.emit({ code: OpCode.SOFTMAX, inputs: [x], outputs: [y], consts: [], params: [p.inputMultiplier, p.inputLeftShift, p.diffMin, -128, depth] }, node, 0);
    return;
  }
  // another axis (opset 13+): move it last, normalize, move it back
  if (rank > 4) throw new CompileError('UNSUPPORTED_OP', `Softmax node '${node.name}': axis ${axis} of a rank-${rank} input (at most rank 4 off the last axis)`);
  const perm = [...Array(rank).keys()].filter((d) => d !== axis).concat(axis);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const moved = perm.map((d) => shape[d]);
  const xt = ctx.defineInternal(`${node.outputs[0]}/in-transposed`, moved, ctx.quantOf(x));
  ctx.emit({ code: OpCode.TRANSPOSE, inputs: [x], outputs: [xt], consts: [], params: transposeParams(perm, shape) }, node, 0);
  const st = ctx.defineInternal(`${node.outputs[0]}/transposed`, moved, outQ);
  ctx.emit({ code: OpCode.SOFTMAX, inputs: [xt], outputs: [st], consts: [], params: [p.inputMultiplier, p.inputLeftShift, p.diffMin, -128, shape[axis]] }, node, 0);
  const y = ctx.define(node.outputs[0], node, outQ);
  ctx.emit({ code: OpCode.TRANSPOSE, inputs: [st], outputs: [y], consts: [], params: transposeParams(inverse, moved) }, node, 0);
}
