// MAX_POOL_2D and AVERAGE_POOL_2D on int8 NCHW. Input and output share scale and zero point (as in
// TFLM kernels/pooling.cc), so max is taken on raw values and the average needs no requantization.
// The window rule (clipping, padding, rounding) is pool-window.ts.
import type { Kernel, KernelContext } from '../kernel.ts';
import type { ModuleOp } from '../../module/module-types.ts';
import { OpCode } from '../../module/opcodes.ts';
import { poolAt, poolWindow } from './pool-window.ts';

function pool(op: ModuleOp, ctx: KernelContext, average: boolean): () => void {
  const x = ctx.view(op.inputs[0]);
  const y = ctx.view(op.outputs[0]);
  const xt = ctx.tensor(op.inputs[0]);
  const [, c, hi, wi] = xt.shape;
  const [, , ho, wo] = ctx.tensor(op.outputs[0]).shape;
  const [kh, kw, sh, sw, pt, pl, pb, pr, , countIncludePad, actMin, actMax] = op.params;
  const window = poolWindow(average, kh, kw, hi, wi, [pt, pl, pb, pr], countIncludePad, xt.zeroPoint);
  const cell = (ch: number, iy: number, ix: number): number => x[(ch * hi + iy) * wi + ix];
  return () => {
    for (let ch = 0; ch < c; ch++) {
      for (let oy = 0; oy < ho; oy++) {
        const iy0 = oy * sh - pt;
        for (let ox = 0; ox < wo; ox++) {
          const out = poolAt(window, cell, ch, iy0, ox * sw - pl);
          y[(ch * ho + oy) * wo + ox] = out < actMin ? actMin : out > actMax ? actMax : out;
        }
      }
    }
  };
}

export const maxPool2d: Kernel = { code: OpCode.MAX_POOL_2D, prepare: (op, ctx) => pool(op, ctx, false) };
export const averagePool2d: Kernel = { code: OpCode.AVERAGE_POOL_2D, prepare: (op, ctx) => pool(op, ctx, true) };
