// A BatchNormalization the folding pass left alone (no Conv/Gemm before it) is a per-channel affine
// y = x * s + t, which is exactly a 1x1 depthwise convolution: lowered as DEPTHWISE_CONV_2D.
import { attrFloat } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import { packRequant } from '../../module/requant-params.ts';
import { floatData, perChannelRequant, type LowerContext } from '../lower-context.ts';
import { quantizeBias, quantizeWeightsPerChannel } from '../quant-params.ts';

export function lowerBatchNormalization(node: Node, ctx: LowerContext): void {
  const x = ctx.useShaped(node.inputs[0], node);
  const shape = ctx.shapeOf(node.inputs[0]);
  if (shape.length !== 4) throw new CompileError('UNSUPPORTED_OP', `BatchNormalization node '${node.name}': only NCHW 4-D input`);
  const c = shape[1];
  const p = node.inputs.slice(1, 5).map((name) => {
    const t = ctx.initializer(name);
    if (!t) throw new CompileError('UNSUPPORTED_OP', `BatchNormalization node '${node.name}': '${name}' must be constant`);
    return floatData(t, node);
  });
  const [gamma, beta, mean, variance] = p;
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const s = new Float32Array(c);
  const t = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = gamma[i] / Math.sqrt(variance[i] + eps);
    t[i] = beta[i] - mean[i] * s[i];
  }
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const w = quantizeWeightsPerChannel(s, c);
  const bias = quantizeBias(t, c, qi.scale, w.scales);
  const { mult, shift } = perChannelRequant(qi.scale, w.scales, qo.scale);
  const consts = [
    ctx.addConst({ dtype: 'int8', shape: [c, 1, 1, 1], data: w.data }),
    ctx.addConst({ dtype: 'int32', shape: [c], data: bias }),
  ];
  const params = [1, 1, 0, 0, 0, 0, 1, 1, qi.zeroPoint, qo.zeroPoint, -128, 127, c, ...packRequant(mult, shift)];
  ctx.emit({ code: OpCode.DEPTHWISE_CONV_2D, inputs: [x], outputs: [y], consts, params }, node, shape[1] * shape[2] * shape[3]);
}
