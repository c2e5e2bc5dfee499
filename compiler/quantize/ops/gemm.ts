// ONNX Gemm (A [M,K] x B + C, M rows one after the other) and MatMul with a constant 2-D right operand -> FULLY_CONNECTED with
// weights stored [N, K] (TFLM layout) and quantized per output row. alpha / beta are folded into the
// float weights / bias before quantization.
import { attrFloat, attrInt } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import { activationRange, readFusedActivation } from '../../ir/fused-activation.ts';
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import { packRequant } from '../../module/requant-params.ts';
import { floatData, perChannelRequant, type LowerContext } from '../lower-context.ts';
import { quantizeBias, quantizeValue, quantizeWeightsPerChannel } from '../quant-params.ts';

export function lowerGemm(node: Node, ctx: LowerContext): void {
  const isGemm = node.op === 'Gemm';
  const x = ctx.use(node.inputs[0], node);
  const aShape = ctx.shapeOf(node.inputs[0]);
  const bT = ctx.initializer(node.inputs[1]);
  if (!bT || bT.shape.length !== 2) throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': the right operand must be a constant matrix`);
  if (aShape.length !== 2) {
    throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': left operand must be [M, K], got [${aShape.join(',')}]`);
  }
  if (isGemm && attrInt(node, 'transA', 0) !== 0) throw new CompileError('UNSUPPORTED_OP', `Gemm node '${node.name}': transA=1`);
  const transB = isGemm && attrInt(node, 'transB', 0) === 1;
  const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
  const beta = isGemm ? attrFloat(node, 'beta', 1) : 1;
  const b = floatData(bT, node);
  const [r, c] = bT.shape;
  const [n, k] = transB ? [r, c] : [c, r];
  if (k !== aShape[1]) throw new CompileError('SHAPE_MISMATCH', `${node.op} node '${node.name}': K=${aShape[1]} vs weights [${bT.shape.join(',')}]`);
  const wf = new Float32Array(n * k);
  for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) wf[o * k + i] = alpha * (transB ? b[o * k + i] : b[i * n + o]);

  let biasF: Float32Array | undefined;
  if (isGemm && node.inputs[2]) {
    const cT = ctx.initializer(node.inputs[2]);
    if (!cT) throw new CompileError('UNSUPPORTED_OP', `Gemm node '${node.name}': C must be constant`);
    const cd = floatData(cT, node);
    if (cd.length !== 1 && cd.length !== n) throw new CompileError('UNSUPPORTED_OP', `Gemm node '${node.name}': C of ${cd.length} elements, expected 1 or ${n}`);
    biasF = new Float32Array(n).map((_, o) => beta * cd[cd.length === 1 ? 0 : o]);
  }

  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const [lo, hi] = activationRange(readFusedActivation(node));
  const w = quantizeWeightsPerChannel(wf, n);
  const bias = quantizeBias(biasF, n, qi.scale, w.scales);
  const { mult, shift } = perChannelRequant(qi.scale, w.scales, qo.scale);
  const consts = [
    ctx.addConst({ dtype: 'int8', shape: [n, k], data: w.data }),
    ctx.addConst({ dtype: 'int32', shape: [n], data: bias }),
  ];
  const params = [qi.zeroPoint, qo.zeroPoint, quantizeValue(lo, qo), quantizeValue(hi, qo), ...packRequant(mult, shift)];
  ctx.emit({ code: OpCode.FULLY_CONNECTED, inputs: [x], outputs: [y], consts, params }, node, aShape[0] * n * k);
}
