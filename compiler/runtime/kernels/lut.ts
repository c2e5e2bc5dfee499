// LUT: an elementwise function tabulated at compile time over the 256 int8 input codes (TFLM's
// approach for Sigmoid, Tanh and HardSwish). One table per channel when the function depends on it
// (PRelu's slope): element i uses table (i / inner) % channels.
import { int8Const, type Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const lut: Kernel = {
  code: OpCode.LUT,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const table = int8Const(ctx, op.consts[0]);
    const [channels, inner] = op.params;
    if (channels === 1) {
      return () => {
        for (let i = 0; i < x.length; i++) y[i] = table[x[i] + 128];
      };
    }
    return () => {
      for (let i = 0, c = 0; i < x.length; c = c + 1 === channels ? 0 : c + 1) {
        const t = c * 256 + 128;
        for (const end = i + inner; i < end; i++) y[i] = table[t + x[i]];
      }
    };
  },
};
