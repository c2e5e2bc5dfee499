// DEPTHWISE_CONV_2D: ONNX Conv with group == input channels. Output channel oc reads input channel
// oc / depthMultiplier; weights [C_out, 1, kh, kw] (TFLM reference_integer_ops::DepthwiseConvPerChannel).
// Same arithmetic as CONV_2D with one input channel per group (conv-core.ts).
import { perBatch, type Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';
import { convCoreOf } from './conv-params.ts';

export const depthwiseConv2d: Kernel = {
  code: OpCode.DEPTHWISE_CONV_2D,
  prepare(op, ctx) {
    const [batch, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const { core } = convCoreOf(op, ctx, 0, co, ho, wo);
    const row = core.row;
    return perBatch(ctx, op, batch, (x, y) => {
      for (let oc = 0; oc < co; oc++) for (let oy = 0; oy < ho; oy++) row(x, oc, oy, y, (oc * ho + oy) * wo);
    });
  },
};
