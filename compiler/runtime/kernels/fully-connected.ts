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
    // sum((x - inZp) * w) = sum(x * w) - inZp * sum(w): the zero-point term is folded into the bias
    // once, and the dot product runs on raw int8 values, unrolled by four.
    const base = new Int32Array(outN);
    for (let o = 0; o < outN; o++) {
      let s = 0;
      for (let i = 0; i < inN; i++) s += w[o * inN + i];
      base[o] = bias[o] - inZp * s;
    }
    const batch = x.length / inN;
    const rows = (x: Int8Array, y: Int8Array): void => {
      for (let o = 0; o < outN; o++) {
        const row = o * inN;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let i = 0;
        for (; i + 3 < inN; i += 4) {
          a0 += x[i] * w[row + i];
          a1 += x[i + 1] * w[row + i + 1];
          a2 += x[i + 2] * w[row + i + 2];
          a3 += x[i + 3] * w[row + i + 3];
        }
        for (; i < inN; i++) a0 += x[i] * w[row + i];
        let v = multiplyByQuantizedMultiplier(base[o] + a0 + a1 + a2 + a3, mult[o], shift[o]) + outZp;
        v = v < actMin ? actMin : v > actMax ? actMax : v;
        y[o] = v;
      }
    };
    if (batch === 1) return () => rows(x, y);
    const xs = Array.from({ length: batch }, (_, b) => x.subarray(b * inN, (b + 1) * inN));
    const ys = Array.from({ length: batch }, (_, b) => y.subarray(b * outN, (b + 1) * outN));
    return () => {
      for (let b = 0; b < batch; b++) rows(xs[b], ys[b]);
    };
  },
};
