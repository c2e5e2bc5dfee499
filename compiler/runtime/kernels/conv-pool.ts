// CONV_POOL_2D: a convolution whose output feeds only a MAX/AVERAGE pool, fused so the convolution's
// output is never resident in the arena (issue 11 §4; the conv+pool fusion of TinyEngine / MCUNet):
// each pooled value computes the convolution values of its window on the fly and pools them. The
// integers are the ones the two separate ops produce (the same conv value, the same pool rule, see
// pool-window.ts), so the outputs are bit-identical; overlapping windows recompute shared values instead
// of keeping a row buffer, so the op needs no scratch memory at all.
import type { Kernel } from '../kernel.ts';
import { CONV_POOL_CONV_AT, OpCode } from '../../module/opcodes.ts';
import { convCoreOf } from './conv-params.ts';
import { poolAt, poolWindow, roundedMean } from './pool-window.ts';

export const convPool2d: Kernel = {
  code: OpCode.CONV_POOL_2D,
  prepare(op, ctx) {
    const x = ctx.view(op.inputs[0]);
    const y = ctx.view(op.outputs[0]);
    const [, c, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const [poolKind, hc, wc, kh, kw, sh, sw, pt, pl, pb, pr, , countIncludePad, actMin, actMax] = op.params;
    const average = poolKind === 1;
    const { core } = convCoreOf(op, ctx, CONV_POOL_CONV_AT, c, hc, wc);
    const { value, quad, quadInside, quadOut } = core;
    // the common 2x2 / stride 2 window: two pooled values from two conv rows of four (conv-core quad)
    const pair = kh === 2 && kw === 2 && sh === 2 && sw === 2;
    const q = new Int32Array(8); // two conv quads: the kernel's registers, not activation memory
    const zp = op.params[CONV_POOL_CONV_AT + 9]; // the conv's output zero point = the pool input's
    const window = poolWindow(average, kh, kw, hc, wc, [pt, pl, pb, pr], countIncludePad, zp);
    const cell = (ch: number, iy: number, ix: number): number => value(x, ch, iy, ix);
    return () => {
      for (let ch = 0; ch < c; ch++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy0 = oy * sh - pt;
          for (let ox = 0; ox < wo; ox++) {
            const ix0 = ox * sw - pl;
            // both pooled values' windows fully inside the conv output, all eight conv values interior
            if (pair && ox + 1 < wo && iy0 >= 0 && iy0 + 1 < hc && ix0 >= 0 && ix0 + 3 < wc && quadInside(iy0, ix0) && quadInside(iy0 + 1, ix0)) {
              quad(x, ch, iy0, ix0);
              q.set(quadOut, 0);
              quad(x, ch, iy0 + 1, ix0);
              q.set(quadOut, 4);
              for (let k = 0; k < 2; k++) {
                const u = q[2 * k];
                const v = q[2 * k + 1];
                const s = q[4 + 2 * k];
                const t = q[5 + 2 * k];
                let out: number;
                if (average) {
                  const sum = u + v + s + t;
                  out = roundedMean(sum, 4);
                } else {
                  out = u > v ? u : v;
                  if (s > out) out = s;
                  if (t > out) out = t;
                }
                y[(ch * ho + oy) * wo + ox + k] = out < actMin ? actMin : out > actMax ? actMax : out;
              }
              ox++;
              continue;
            }
            const out = poolAt(window, cell, ch, iy0, ix0);
            y[(ch * ho + oy) * wo + ox] = out < actMin ? actMin : out > actMax ? actMax : out;
          }
        }
      }
    };
  },
};
