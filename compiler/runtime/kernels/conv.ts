// CONV_2D: int8 NCHW input, int8 OIHW weights (symmetric per output channel), int32 bias,
// per-channel fixed-point requantization (TFLM kernels/conv.cc, reference_integer_ops::ConvPerChannel),
// grouped convolution included. The arithmetic is conv-core.ts: kernel sums folded into a per-channel
// base, interior pixels four at a time, border windows clipped (= zero-point padding).
import { perBatch, type Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';
import { convCoreOf } from './conv-params.ts';

export const conv2d: Kernel = {
  code: OpCode.CONV_2D,
  prepare(op, ctx) {
    const [batch, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const { core } = convCoreOf(op, ctx, 0, co, ho, wo);
    const row = core.row;
    return perBatch(ctx, op, batch, (x, y) => {
      for (let oc = 0; oc < co; oc++) for (let oy = 0; oy < ho; oy++) row(x, oc, oy, y, (oc * ho + oy) * wo);
    });
  },
};
