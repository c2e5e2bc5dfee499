// DEPTHWISE_CONV_2D: ONNX Conv with group == input channels. Output channel oc reads input channel
// oc / depthMultiplier; weights [C_out, 1, kh, kw] (TFLM reference_integer_ops::DepthwiseConvPerChannel).
// The kernel window is clipped to the input, which is the same as padding with the zero point.
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import { windowBounds } from './window-bounds.ts';
import { int32Const, int8Const, perBatch, type Kernel } from '../kernel.ts';
import { CONV_FIXED_PARAMS, OpCode } from '../../module/opcodes.ts';
import { unpackRequant } from '../../module/requant-params.ts';

export const depthwiseConv2d: Kernel = {
  code: OpCode.DEPTHWISE_CONV_2D,
  prepare(op, ctx) {
    const [batch, ci, hi, wi] = ctx.tensor(op.inputs[0]).shape;
    const [, co, ho, wo] = ctx.tensor(op.outputs[0]).shape;
    const wShape = ctx.constant(op.consts[0]).shape;
    const kh = wShape[2];
    const kw = wShape[3];
    const depthMultiplier = co / ci;
    const w = int8Const(ctx, op.consts[0]);
    const bias = int32Const(ctx, op.consts[1]);
    const { mult, shift } = unpackRequant(op.params, CONV_FIXED_PARAMS, co);
    const [sh, sw, pt, pl, , , dh, dw, inZp, outZp, actMin, actMax] = op.params;
    const inOffset = -inZp;
    // kernel rows / columns that land inside the input, per output row / column (clipping = zero-point padding)
    const [yLo, yHi] = windowBounds(ho, sh, pt, dh, kh, hi);
    const [xLo, xHi] = windowBounds(wo, sw, pl, dw, kw, wi);
    const row3 = kw === 3 && dw === 1; // the common 3-wide kernel row, unrolled
    const wsum = new Int32Array(co);
    for (let oc = 0; oc < co; oc++) {
      let t = 0;
      for (let k = 0; k < kh * kw; k++) t += w[oc * kh * kw + k];
      wsum[oc] = t;
    }
    return perBatch(ctx, op, batch, (x, y) => {
      for (let oc = 0; oc < co; oc++) {
        const xC = Math.floor(oc / depthMultiplier) * hi * wi;
        const wC = oc * kh * kw;
        const b = bias[oc];
        const m = mult[oc];
        const s = shift[oc];
        for (let oy = 0; oy < ho; oy++) {
          const iy0 = oy * sh - pt;
          const kyLo = yLo[oy];
          const kyHi = yHi[oy];
          for (let ox = 0; ox < wo; ox++) {
            const ix0 = ox * sw - pl;
            const kxLo = xLo[ox];
            const kxHi = xHi[ox];
            let acc = b;
            if (kyLo === 0 && kyHi === kh && kxLo === 0 && kxHi === kw) {
              // interior: zero-point term folded (sum of the channel's weights precomputed)
              acc += inOffset * wsum[oc];
              for (let ky = 0; ky < kh; ky++) {
                const xRow = xC + (iy0 + ky * dh) * wi + ix0;
                const wRow = wC + ky * kw;
                if (row3) acc += x[xRow] * w[wRow] + x[xRow + 1] * w[wRow + 1] + x[xRow + 2] * w[wRow + 2];
                else for (let kx = 0; kx < kw; kx++) acc += x[xRow + kx * dw] * w[wRow + kx];
              }
            } else {
              for (let ky = kyLo; ky < kyHi; ky++) {
                const xRow = xC + (iy0 + ky * dh) * wi + ix0;
                const wRow = wC + ky * kw;
                for (let kx = kxLo; kx < kxHi; kx++) acc += (x[xRow + kx * dw] + inOffset) * w[wRow + kx];
              }
            }
            let v = multiplyByQuantizedMultiplier(acc, m, s) + outZp;
            v = v < actMin ? actMin : v > actMax ? actMax : v;
            y[(oc * ho + oy) * wo + ox] = v;
          }
        }
      }
    });
  },
};
