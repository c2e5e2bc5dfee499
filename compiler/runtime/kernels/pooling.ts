// MAX_POOL_2D and AVERAGE_POOL_2D on int8 NCHW. Input and output share scale and zero point (as in
// TFLM kernels/pooling.cc), so max is taken on raw values and the average needs no requantization.
// Windows are clipped to the input. The average divides by the number of input cells in the window,
// or with countIncludePad by the cells inside the declared padding too (padded cells hold the zero
// point); the overhang of a ceil_mode window is never counted (onnxruntime's rule). It rounds half
// away from zero like TFLM's reference_integer_ops::AveragePool.
import type { Kernel, KernelContext } from '../kernel.ts';
import type { ModuleOp } from '../../module/module-types.ts';
import { OpCode } from '../../module/opcodes.ts';

function pool(op: ModuleOp, ctx: KernelContext, average: boolean): () => void {
  const x = ctx.view(op.inputs[0]);
  const y = ctx.view(op.outputs[0]);
  const xt = ctx.tensor(op.inputs[0]);
  const [, c, hi, wi] = xt.shape;
  const [, , ho, wo] = ctx.tensor(op.outputs[0]).shape;
  const [kh, kw, sh, sw, pt, pl, pb, pr, , countIncludePad, actMin, actMax] = op.params;
  const zp = xt.zeroPoint;
  // the range a window cell must fall in to be counted by the average
  const [cyLo, cyHi, cxLo, cxHi] = countIncludePad ? [-pt, hi + pb, -pl, wi + pr] : [0, hi, 0, wi];
  return () => {
    for (let ch = 0; ch < c; ch++) {
      const xC = ch * hi * wi;
      for (let oy = 0; oy < ho; oy++) {
        const iy0 = oy * sh - pt;
        for (let ox = 0; ox < wo; ox++) {
          const ix0 = ox * sw - pl;
          let acc = average ? 0 : -128;
          let count = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky;
            if (iy < cyLo || iy >= cyHi) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx;
              if (ix < cxLo || ix >= cxHi) continue;
              const inside = iy >= 0 && iy < hi && ix >= 0 && ix < wi;
              if (average) {
                acc += inside ? x[xC + iy * wi + ix] : zp;
                count++;
              } else if (inside && x[xC + iy * wi + ix] > acc) {
                acc = x[xC + iy * wi + ix];
              }
            }
          }
          let out = acc;
          if (average) {
            out = count === 0 ? zp : Math.trunc(acc > 0 ? (acc + (count >> 1)) / count : (acc - (count >> 1)) / count);
          }
          y[(ch * ho + oy) * wo + ox] = out < actMin ? actMin : out > actMax ? actMax : out;
        }
      }
    }
  };
}

export const maxPool2d: Kernel = { code: OpCode.MAX_POOL_2D, prepare: (op, ctx) => pool(op, ctx, false) };
export const averagePool2d: Kernel = { code: OpCode.AVERAGE_POOL_2D, prepare: (op, ctx) => pool(op, ctx, true) };
