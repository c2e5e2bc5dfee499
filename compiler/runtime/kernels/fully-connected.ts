// FULLY_CONNECTED: y[o] = requant(bias[o] + sum_i (x[i] - inZp) * w[o, i]), weights [out, in]
// symmetric per output row (TFLM kernels/fully_connected.cc, per-channel variant).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import { int32Const, int8Const, type Kernel } from '../kernel.ts';
import { FC_FIXED_PARAMS, OpCode } from '../../module/opcodes.ts';
import { unpackRequant } from '../../module/requant-params.ts';

export const fullyConnected: Kernel = {
  code: OpCode.FULLY_CONNECTED,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const [outN, inN] = ctx.constant(op.consts[0]).shape;
    const w = int8Const(ctx, op.consts[0]);
    const bias = int32Const(ctx, op.consts[1]);
    const { mult, shift } = unpackRequant(op.params, FC_FIXED_PARAMS, outN);
    const [inZp, outZp, actMin, actMax] = op.params;
    const inOffset = -inZp;
    return () => {
      for (let o = 0; o < outN; o++) {
        let acc = bias[o];
        const row = o * inN;
        for (let i = 0; i < inN; i++) acc += (x[i] + inOffset) * w[row + i];
        let v = multiplyByQuantizedMultiplier(acc, mult[o], shift[o]) + outZp;
        v = v < actMin ? actMin : v > actMax ? actMax : v;
        y[o] = v;
      }
    };
  },
};
