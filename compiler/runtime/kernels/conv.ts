// CONV_2D: int8 NCHW input, int8 OIHW weights (symmetric per output channel), int32 bias,
// per-channel fixed-point requantization (TFLM kernels/conv.cc, reference_integer_ops::ConvPerChannel).
// Padding contributes nothing: a padded input equals the input zero point, and (zp - zp) * w = 0.
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import { int32Const, int8Const, type Kernel } from '../kernel.ts';
import { OpCode } from '../../module/opcodes.ts';

export const conv2d: Kernel = {
  code: OpCode.CONV_2D,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const [, ci, hi, wi] = ctx.tensor(op.inputs[0]).shape;
    const [, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const wShape = ctx.constant(op.consts[0]).shape;
    const kh = wShape[2];
    const kw = wShape[3];
    const w = int8Const(ctx, op.consts[0]);
    const bias = int32Const(ctx, op.consts[1]);
    const mult = int32Const(ctx, op.consts[2]);
    const shift = int8Const(ctx, op.consts[3]);
    const [sh, sw, pt, pl, , , dh, dw, inZp, outZp, actMin, actMax] = op.params;
    const inOffset = -inZp;
    return () => {
      for (let oc = 0; oc < co; oc++) {
        const b = bias[oc];
        const m = mult[oc];
        const s = shift[oc];
        const wOc = oc * ci * kh * kw;
        for (let oy = 0; oy < ho; oy++) {
          const iy0 = oy * sh - pt;
          for (let ox = 0; ox < wo; ox++) {
            const ix0 = ox * sw - pl;
            let acc = b;
            for (let ic = 0; ic < ci; ic++) {
              const xC = ic * hi * wi;
              const wC = wOc + ic * kh * kw;
              for (let ky = 0; ky < kh; ky++) {
                const iy = iy0 + ky * dh;
                if (iy < 0 || iy >= hi) continue;
                const xRow = xC + iy * wi;
                const wRow = wC + ky * kw;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ix0 + kx * dw;
                  if (ix < 0 || ix >= wi) continue;
                  acc += (x[xRow + ix] + inOffset) * w[wRow + kx];
                }
              }
            }
            let v = multiplyByQuantizedMultiplier(acc, m, s) + outZp;
            v = v < actMin ? actMin : v > actMax ? actMax : v;
            y[(oc * ho + oy) * wo + ox] = v;
          }
        }
      }
    };
  },
};
