// Elementwise unary ops (compiler/ir/unary-functions.ts) and PRelu -> LUT: the float function
// evaluated once per int8 input code, from the input's quantization to the output's. Sigmoid and
// Tanh get TFLM's fixed output quantization (1/256, -128 and 1/128, 0); the others use the
// calibrated range. Exact to 1/2 LSB against the float function on the dequantized input.
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { sizeOf } from '../../ir/tensor.ts';
import { UNARY_FUNCTIONS, unaryFunction, type UnaryFunction } from '../../ir/unary-functions.ts';
import { OpCode } from '../../module/opcodes.ts';
import { floatData, type LowerContext } from '../lower-context.ts';
import { quantizeValue, type TensorQuant } from '../quant-params.ts';

function table(f: UnaryFunction, qi: TensorQuant, qo: TensorQuant, into: Int8Array, at: number): void {
  for (let q = -128; q <= 127; q++) {
    const y = f(qi.scale * (q - qi.zeroPoint));
    into[at + q + 128] = Number.isNaN(y) ? qo.zeroPoint : quantizeValue(y, qo);
  }
}

export function lowerUnary(node: Node, ctx: LowerContext): void {
  const x = ctx.use(node.inputs[0], node);
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node, UNARY_FUNCTIONS[node.op].outputQuant);
  const data = new Int8Array(256);
  table(unaryFunction(node), qi, ctx.quantOf(y), data, 0);
  const t = ctx.addConst({ dtype: 'int8', shape: [1, 256], data });
  ctx.emit({ code: OpCode.LUT, inputs: [x], outputs: [y], consts: [t], params: [1, 1] }, node, 0);
}

/**
 * The one axis along which a (unidirectionally broadcast) operand varies: [channels, inner] with
 * inner = the product of x's dims after that axis; [1, 1] for a scalar. Undefined when it varies
 * along more than one axis.
 */
export function broadcastAxis(xShape: readonly number[], sShape: readonly number[]): { channels: number; inner: number } | undefined {
  const off = xShape.length - sShape.length;
  const varying = sShape.map((d, i) => (d !== 1 ? i + off : -1)).filter((i) => i >= 0);
  if (varying.length === 0) return { channels: 1, inner: 1 };
  if (varying.length > 1) return undefined;
  const axis = varying[0];
  return { channels: xShape[axis], inner: sizeOf(xShape.slice(axis + 1)) };
}

export function preluRefusal(node: Node, ctx: Pick<LowerContext, 'initializer' | 'shapeOf'>): string | undefined {
  const slope = ctx.initializer(node.inputs[1]);
  if (!slope) return 'the slope must be a constant';
  if (!broadcastAxis(ctx.shapeOf(node.inputs[0]), slope.shape)) return `slope [${slope.shape.join(',')}] varies along more than one axis`;
  return undefined;
}

export function lowerPRelu(node: Node, ctx: LowerContext): void {
  const why = preluRefusal(node, ctx);
  if (why) throw new CompileError('UNSUPPORTED_OP', `PRelu node '${node.name}': ${why}`);
  const slopeT = ctx.initializer(node.inputs[1]);
  if (!slopeT) throw new CompileError('UNSUPPORTED_OP', `PRelu node '${node.name}': the slope must be a constant`);
  const slope = floatData(slopeT, node);
  const xShape = ctx.shapeOf(node.inputs[0]);
  const { channels, inner } = broadcastAxis(xShape, slopeT.shape) ?? { channels: 1, inner: 1 };
  const x = ctx.use(node.inputs[0], node);
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const data = new Int8Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const a = slope[slope.length === 1 ? 0 : c];
    table((v) => (v >= 0 ? v : a * v), qi, qo, data, c * 256);
  }
  const t = ctx.addConst({ dtype: 'int8', shape: [channels, 256], data });
  ctx.emit({ code: OpCode.LUT, inputs: [x], outputs: [y], consts: [t], params: [channels, channels === 1 ? 1 : inner] }, node, 0);
}
