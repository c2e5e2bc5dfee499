// The arithmetic every convolution kernel shares (CONV_2D, DEPTHWISE_CONV_2D and the fused
// CONV_POOL_2D / CONV_ADD): one int8 output value at (channel, row, column), as
// reference_integer_ops::ConvPerChannel computes it. Prepared once per op:
//   - the kernel taps as a table of input offsets relative to the window origin (channel, row,
//     column folded into one number), so an interior pixel is one dot product over `taps` values;
//   - the zero-point term folded into a per-channel base (TFLM's "kernel sums"):
//     sum((x - zp) * w) = sum(x * w) - zp * sum(w), bias included;
//   - border pixels run the clipped loop, which equals padding with the zero point.
import { multiplyByQuantizedMultiplier } from '../fixed-point.ts';
import { windowBounds } from './window-bounds.ts';

export type ConvGeometry = {
  readonly ci: number;
  readonly hi: number;
  readonly wi: number;
  readonly co: number;
  readonly ho: number;
  readonly wo: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
  readonly dh: number;
  readonly dw: number;
  /** input channels are split in `groups`; output channel oc reads group oc / (co / groups) */
  readonly groups: number;
};

export type ConvArithmetic = {
  readonly w: Int8Array;
  readonly bias: Int32Array;
  readonly mult: Int32Array;
  readonly shift: Int8Array;
  readonly inZp: number;
  readonly outZp: number;
  readonly actMin: number;
  readonly actMax: number;
};

export type ConvCore = {
  /** the int8 output at (oc, oy, ox) of input sample x (one batch item, NCHW) */
  readonly value: (x: Int8Array, oc: number, oy: number, ox: number) => number;
  /** output row oy of channel oc into y[at .. at + wo): interior pixels four at a time, sharing each weight load */
  readonly row: (x: Int8Array, oc: number, oy: number, y: Int8Array, at: number) => void;
  /** true when the windows of (oy, ox) .. (oy, ox + 3) all lie inside the input */
  readonly quadInside: (oy: number, ox: number) => boolean;
  /** the outputs at (oy, ox) .. (oy, ox + 3) into `quadOut`, when quadInside(oy, ox) */
  readonly quad: (x: Int8Array, oc: number, oy: number, ox: number) => void;
  /** quad()'s four results: the kernel's registers, not activation memory */
  readonly quadOut: Int32Array;
};

export function prepareConvCore(g: ConvGeometry, a: ConvArithmetic): ConvCore {
  const { ci, hi, wi, co, wo, kh, kw, sh, sw, pt, pl, dh, dw, groups } = g;
  const { w, bias, mult, shift, inZp, outZp, actMin, actMax } = a;
  const cig = ci / groups;
  const cog = co / groups;
  const taps = cig * kh * kw;
  const rows = cig * kh;
  // input offset of each kernel row (input channel, kernel row) from the window origin
  const rowOff = new Int32Array(rows);
  for (let ic = 0, r = 0; ic < cig; ic++) for (let ky = 0; ky < kh; ky++) rowOff[r++] = ic * hi * wi + ky * dh * wi;
  const base = new Int32Array(co);
  const groupBase = new Int32Array(co);
  for (let oc = 0; oc < co; oc++) {
    let s = 0;
    for (let k = 0; k < taps; k++) s += w[oc * taps + k];
    base[oc] = bias[oc] - inZp * s;
    groupBase[oc] = Math.floor(oc / cog) * cig * hi * wi;
  }
  const [yLo, yHi] = windowBounds(g.ho, sh, pt, dh, kh, hi);
  const [xLo, xHi] = windowBounds(wo, sw, pl, dw, kw, wi);
  // output columns whose window lies inside the input: [oxIn, oxOut)
  let oxIn = 0;
  while (oxIn < wo && !(xLo[oxIn] === 0 && xHi[oxIn] === kw)) oxIn++;
  let oxOut = oxIn;
  while (oxOut < wo && xLo[oxOut] === 0 && xHi[oxOut] === kw) oxOut++;
  const row3 = kw === 3 && dw === 1;

  const requant = (acc: number, oc: number): number => {
    const v = multiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]) + outZp;
    return v < actMin ? actMin : v > actMax ? actMax : v;
  };

  const value = (x: Int8Array, oc: number, oy: number, ox: number): number => {
    const kyLo = yLo[oy];
    const kyHi = yHi[oy];
    const kxLo = xLo[ox];
    const kxHi = xHi[ox];
    const wOc = oc * taps;
    const origin = groupBase[oc] + (oy * sh - pt) * wi + ox * sw - pl;
    let acc: number;
    if (kyLo === 0 && kyHi === kh && kxLo === 0 && kxHi === kw) {
      acc = base[oc];
      if (row3) {
        for (let r = 0, q = wOc; r < rows; r++, q += 3) {
          const p = origin + rowOff[r];
          acc += x[p] * w[q] + x[p + 1] * w[q + 1] + x[p + 2] * w[q + 2];
        }
      } else {
        for (let r = 0, q = wOc; r < rows; r++) {
          const p = origin + rowOff[r];
          for (let kx = 0; kx < kw; kx++, q++) acc += x[p + kx * dw] * w[q];
        }
      }
    } else {
      acc = bias[oc];
      for (let ic = 0; ic < cig; ic++) {
        for (let ky = kyLo; ky < kyHi; ky++) {
          const xRow = origin + ic * hi * wi + ky * dh * wi;
          const wRow = wOc + (ic * kh + ky) * kw;
          for (let kx = kxLo; kx < kxHi; kx++) acc += (x[xRow + kx * dw] - inZp) * w[wRow + kx];
        }
      }
    }
    return requant(acc, oc);
  };

  const out = new Int32Array(4);
  const quad = (x: Int8Array, oc: number, oy: number, ox: number): void => {
    // closure constants copied to locals: TurboFan keeps them in registers across the hot loop
    const w = a.w;
    const ro = rowOff;
    const nRows = rows;
    const s1 = sw;
    const s2 = 2 * sw;
    const s3 = 3 * sw;
    const origin = groupBase[oc] + (oy * sh - pt) * wi + ox * sw - pl;
    const b = base[oc];
    let a0 = b;
    let a1 = b;
    let a2 = b;
    let a3 = b;
    if (kw === 1) {
      for (let r = 0, q = oc * taps; r < nRows; r++, q++) {
        const p = origin + ro[r];
        const wv = w[q];
        a0 += x[p] * wv;
        a1 += x[p + s1] * wv;
        a2 += x[p + s2] * wv;
        a3 += x[p + s3] * wv;
      }
    } else if (row3) {
      for (let r = 0, q = oc * taps; r < nRows; r++, q += 3) {
        const p = origin + ro[r];
        const w0 = w[q];
        const w1 = w[q + 1];
        const w2 = w[q + 2];
        a0 += x[p] * w0 + x[p + 1] * w1 + x[p + 2] * w2;
        a1 += x[p + s1] * w0 + x[p + s1 + 1] * w1 + x[p + s1 + 2] * w2;
        a2 += x[p + s2] * w0 + x[p + s2 + 1] * w1 + x[p + s2 + 2] * w2;
        a3 += x[p + s3] * w0 + x[p + s3 + 1] * w1 + x[p + s3 + 2] * w2;
      }
    } else {
      for (let r = 0, q = oc * taps; r < nRows; r++) {
        const p0 = origin + ro[r];
        for (let kx = 0; kx < kw; kx++, q++) {
          const wv = w[q];
          const p = p0 + kx * dw;
          a0 += x[p] * wv;
          a1 += x[p + s1] * wv;
          a2 += x[p + s2] * wv;
          a3 += x[p + s3] * wv;
        }
      }
    }
    out[0] = requant(a0, oc);
    out[1] = requant(a1, oc);
    out[2] = requant(a2, oc);
    out[3] = requant(a3, oc);
  };
  const quadInside = (oy: number, ox: number): boolean => yLo[oy] === 0 && yHi[oy] === kh && ox >= oxIn && ox + 3 < oxOut;

  const row = (x: Int8Array, oc: number, oy: number, y: Int8Array, at: number): void => {
    let ox = 0;
    if (yLo[oy] === 0 && yHi[oy] === kh) {
      for (; ox < oxIn; ox++) y[at + ox] = value(x, oc, oy, ox);
      for (; ox + 3 < oxOut; ox += 4) {
        quad(x, oc, oy, ox);
        y[at + ox] = out[0];
        y[at + ox + 1] = out[1];
        y[at + ox + 2] = out[2];
        y[at + ox + 3] = out[3];
      }
    }
    for (; ox < wo; ox++) y[at + ox] = value(x, oc, oy, ox);
  };
  return { value, row, quad, quadInside, quadOut: out };
}
