// ONNX Conv (2-D, NCHW) -> CONV_2D (any group count) or DEPTHWISE_CONV_2D (group == input channels).
// Weights symmetric per output channel, int32 bias at in_scale * w_scale, fused activation as the
// int8 clamp range [actMin, actMax].
import { attrInt } from '../../ir/attrs.ts';
import { CompileError } from '../../ir/compile-error.ts';
import { activationRange, readFusedActivation } from '../../ir/fused-activation.ts';
import type { Node } from '../../ir/graph.ts';
import { OpCode } from '../../module/opcodes.ts';
import { packRequant } from '../../module/requant-params.ts';
import { windowGeometry } from '../../shape-inference/window-geometry.ts';
import { floatData, perChannelRequant, type LowerContext } from '../lower-context.ts';
import { quantizeBias, quantizeValue, quantizeWeightsPerChannel } from '../quant-params.ts';

export function lowerConv(node: Node, ctx: LowerContext): void {
  const x = ctx.useShaped(node.inputs[0], node);
  const wT = ctx.initializer(node.inputs[1]);
  if (!wT) throw new CompileError('UNSUPPORTED_OP', `Conv node '${node.name}': weights must be constant`);
  const bT = node.inputs[2] ? ctx.initializer(node.inputs[2]) : undefined;
  if (node.inputs[2] && !bT) throw new CompileError('UNSUPPORTED_OP', `Conv node '${node.name}': bias must be constant`);
  const inShape = ctx.shapeOf(node.inputs[0]);
  if (inShape.length !== 4 || wT.shape.length !== 4) throw new CompileError('UNSUPPORTED_OP', `Conv node '${node.name}': only 2-D convolution (NCHW) is supported`);
  const [, ci] = inShape;
  const [co, wci, kh, kw] = wT.shape;
  const group = attrInt(node, 'group', 1);
  let code: OpCode;
  if (group === ci && wci === 1) code = OpCode.DEPTHWISE_CONV_2D;
  else if (group >= 1 && ci % group === 0 && co % group === 0 && wci * group === ci) code = OpCode.CONV_2D; // grouped: each output channel reads its group's inputs
  else throw new CompileError('BAD_MODEL', `Conv node '${node.name}': group=${group} does not divide ${ci} input / ${co} output channels with weights [${wT.shape.join(',')}]`);

  const g = windowGeometry(node, inShape.slice(2), [kh, kw], false);
  const qi = ctx.quantOf(x);
  const y = ctx.define(node.outputs[0], node);
  const qo = ctx.quantOf(y);
  const [lo, hi] = activationRange(readFusedActivation(node));

  const w = quantizeWeightsPerChannel(floatData(wT, node), co);
  const bias = quantizeBias(bT ? floatData(bT, node) : undefined, co, qi.scale, w.scales);
  const { mult, shift } = perChannelRequant(qi.scale, w.scales, qo.scale);
  const consts = [
    ctx.addConst({ dtype: 'int8', shape: [...wT.shape], data: w.data }),
    ctx.addConst({ dtype: 'int32', shape: [co], data: bias }),
  ];
  const params = [
    g.strides[0], g.strides[1], g.padBegin[0], g.padBegin[1], g.padEnd[0], g.padEnd[1], g.dilations[0], g.dilations[1],
    qi.zeroPoint, qo.zeroPoint, quantizeValue(lo, qo), quantizeValue(hi, qo), group,
    ...packRequant(mult, shift),
  ];
  const [ho, wo] = g.out;
  ctx.emit({ code, inputs: [x], outputs: [y], consts, params }, node, co * ho * wo * wci * kh * kw);
}
