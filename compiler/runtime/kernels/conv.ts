// CONV_2D: int8 NCHW input, int8 OIHW weights (symmetric per output channel), int32 bias,
// per-channel fixed-point requantization (TFLM kernels/conv.cc, reference_integer_ops::ConvPerChannel),
// grouped convolution included. Two paths with identical integer results: a 1x1 / stride 1 / no
// padding fast path (the pointwise half of a depthwise-separable block), where
// sum((x - zp) * w) = sum(x * w) - zp * sum(w) with sum(w) precomputed per channel, four pixels
// sharing each weight load; and conv-core.ts for every other window (kernel sums folded, interior
// pixels four at a time, border windows clipped = zero-point padding).
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import { int32Const, int8Const, perBatch, type Kernel } from '../kernel.ts';
import { CONV_FIXED_PARAMS, OpCode } from '../../module/opcodes.ts';
import { unpackRequant } from '../../module/requant-params.ts';
import { convCoreOf } from './conv-params.ts';

function clampTo(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export const conv2d: Kernel = {
  code: OpCode.CONV_2D,
  prepare(op, ctx) {
    const [batch, ci, hi, wi] = ctx.tensor(op.inputs[0]).shape;
    const [, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const wShape = ctx.constant(op.consts[0]).shape;
    const kh = wShape[2];
    const kw = wShape[3];
    const [sh, sw, pt, pl, pb, pr, , , inZp, outZp, actMin, actMax, groups] = op.params;
    const w = int8Const(ctx, op.consts[0]);
    const bias = int32Const(ctx, op.consts[1]);
    const { mult, shift } = unpackRequant(op.params, CONV_FIXED_PARAMS, co);
    const inOffset = -inZp;
    // grouped convolution: output channel oc reads the cig input channels of its group
    const cig = ci / groups;
    const cog = co / groups;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && pb === 0 && pr === 0) {
      const hw = hi * wi;
      // bias + inOffset * sum(w) per output channel, folded once
      const base = new Int32Array(co);
      for (let oc = 0; oc < co; oc++) {
        let s = 0;
        for (let ic = 0; ic < cig; ic++) s += w[oc * cig + ic];
        base[oc] = bias[oc] + inOffset * s;
      }
      return perBatch(ctx, op, batch, (x, y) => {
        for (let oc = 0; oc < co; oc++) {
          const wOc = oc * cig;
          const xG = Math.floor(oc / cog) * cig * hw;
          const m = mult[oc];
          const s = shift[oc];
          const b = base[oc];
          const yOc = oc * hw;
          let p = 0;
          // four output pixels at a time share each weight load
          for (; p + 3 < hw; p += 4) {
            let a0 = b;
            let a1 = b;
            let a2 = b;
            let a3 = b;
            for (let ic = 0, xi = xG + p; ic < cig; ic++, xi += hw) {
              const wv = w[wOc + ic];
              a0 += x[xi] * wv;
              a1 += x[xi + 1] * wv;
              a2 += x[xi + 2] * wv;
              a3 += x[xi + 3] * wv;
            }
            y[yOc + p] = clampTo(multiplyByQuantizedMultiplier(a0, m, s) + outZp, actMin, actMax);
            y[yOc + p + 1] = clampTo(multiplyByQuantizedMultiplier(a1, m, s) + outZp, actMin, actMax);
            y[yOc + p + 2] = clampTo(multiplyByQuantizedMultiplier(a2, m, s) + outZp, actMin, actMax);
            y[yOc + p + 3] = clampTo(multiplyByQuantizedMultiplier(a3, m, s) + outZp, actMin, actMax);
          }
          for (; p < hw; p++) {
            let acc = b;
            for (let ic = 0, xi = xG + p; ic < cig; ic++, xi += hw) acc += x[xi] * w[wOc + ic];
            y[yOc + p] = clampTo(multiplyByQuantizedMultiplier(acc, m, s) + outZp, actMin, actMax);
          }
        }
      });
    }

    const { core } = convCoreOf(op, ctx, 0, co, ho, wo);
    const row = core.row;
    return perBatch(ctx, op, batch, (x, y) => {
      for (let oc = 0; oc < co; oc++) for (let oy = 0; oy < ho; oy++) row(x, oc, oy, y, (oc * ho + oy) * wo);
    });
  },
};
