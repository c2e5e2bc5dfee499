// GLOBAL_AVERAGE_POOL: mean over H x W per channel, with the 1/(H*W) folded into the requantization
// multiplier in_scale / (out_scale * H * W), like TFLM's int8 MEAN over axes (1, 2).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import type { Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const globalAveragePool: Kernel = {
  code: OpCode.GLOBAL_AVERAGE_POOL,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const shape = ctx.tensor(op.inputs[0]).shape;
    const channels = shape[0] * shape[1];
    const spatial = shape.slice(2).reduce((a, b) => a * b, 1);
    const [inZp, outZp, mult, shift] = op.params;
    return () => {
      for (let ch = 0; ch < channels; ch++) {
        let acc = 0;
        const base = ch * spatial;
        for (let i = 0; i < spatial; i++) acc += x[base + i] - inZp;
        const v = multiplyByQuantizedMultiplier(acc, mult, shift) + outZp;
        y[ch] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
    };
  },
};
