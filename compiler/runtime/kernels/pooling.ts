// MAX_POOL_2D and AVERAGE_POOL_2D on int8 NCHW. Input and output share scale and zero point (as in
// TFLM kernels/pooling.cc), so max is taken on raw values and the average needs no requantization.
// Average rounds half away from zero like TFLM's reference_integer_ops::AveragePool.
import type { Kernel, KernelContext } from '../kernel.ts';
import type { ModuleOp } from '../../module/module-types.ts';
import { OpCode } from '../../module/opcodes.ts';

function pool(op: ModuleOp, ctx: KernelContext, average: boolean): () => void {
  const x = ctx.view(op.inputs[0]);
  const y = ctx.view(op.outputs[0]);
  const xt = ctx.tensor(op.inputs[0]);
  const [, c, hi, wi] = xt.shape;
  const [, , ho, wo] = ctx.tensor(op.outputs[0]).shape;
  const [kh, kw, sh, sw, pt, pl, , , countIncludePad, actMin, actMax] = op.params;
  const padValue = xt.zeroPoint;
  return () => {
    for (let ch = 0; ch < c; ch++) {
      const xC = ch * hi * wi;
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const iy0 = oy * sh - pt;
          const ix0 = ox * sw - pl;
          let acc = average ? 0 : -128;
          let count = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx;
              if (iy < 0 || iy >= hi || ix < 0 || ix >= wi) {
                if (average && countIncludePad) { acc += padValue; count++; }
                continue;
              }
              const v = x[xC + iy * wi + ix];
              if (average) acc += v;
              else if (v > acc) acc = v;
              count++;
            }
          }
          let out = acc;
          if (average) {
            out = count === 0 ? padValue : Math.trunc(acc > 0 ? (acc + (count >> 1)) / count : (acc - (count >> 1)) / count);
          }
          y[(ch * ho + oy) * wo + ox] = out < actMin ? actMin : out > actMax ? actMax : out;
        }
      }
    }
  };
}

export const maxPool2d: Kernel = { code: OpCode.MAX_POOL_2D, prepare: (op, ctx) => pool(op, ctx, false) };
export const averagePool2d: Kernel = { code: OpCode.AVERAGE_POOL_2D, prepare: (op, ctx) => pool(op, ctx, true) };
