// Conv (Conv-11): grouped/depthwise N-D convolution (N-D = 1, 2, 3) with pads, auto_pad, strides
// and dilations, plus the optional fused activation written by passes/fuse-activation.ts.
//   Y[n, m, o] = B[m] + sum_{c in group(m), k} X[n, c, o*s - pb + k*d] * W[m, c, k]
// Loop order: for each weight tap, sweep the output rows (weight-stationary), so the innermost
// loop is a contiguous, bounds-free multiply-add over one output row; each tap's valid output
// window is computed once per call. Accumulation is in double precision.
import { attrInt } from '../ir/attrs.ts';
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import { windowGeometry } from '../shape-inference/window-geometry.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { spatial3 } from './spatial.ts';

export const conv: Kernel = (node, inputs) => {
  const xShape = input(node, inputs, 0).shape;
  const wShape = input(node, inputs, 1).shape;
  const x = floatInput(node, inputs, 0);
  const w = floatInput(node, inputs, 1);
  const bias = inputs[2] ? floatInput(node, inputs, 2) : undefined;
  const group = attrInt(node, 'group', 1);
  const g = windowGeometry(node, xShape.slice(2), wShape.slice(2), false);
  const { inp, out, k, s, d, pb } = spatial3(xShape.slice(2), g);
  const [N, C] = xShape;
  const M = wShape[0];
  const cg = C / group;
  const mg = M / group;
  const [ID, IH, IW] = inp;
  const [OD, OH, OW] = out;
  const inPlane = ID * IH * IW;
  const outPlane = OD * OH * OW;
  if (ID === 1 && OD === 1) {
    const y2 = conv2d(x, w, bias, N, C, M, group, IH, IW, OH, OW, k[1], k[2], s[1], s[2], d[1], d[2], pb[1], pb[2]);
    applyFusedActivation(y2, readFusedActivation(node));
    return [floatTensor([N, M, ...g.out], y2)];
  }
  const taps = tapWindows(inp, out, k, s, d, pb);
  const y = new Float32Array(N * M * outPlane);
  const acc = new Float64Array(outPlane); // one output plane, accumulated in double precision
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      acc.fill(bias ? bias[m] : 0);
      const c0 = Math.floor(m / mg) * cg;
      for (let c = 0; c < cg; c++) {
        const xBase = (n * C + c0 + c) * inPlane;
        const wBase = (m * cg + c) * taps.length;
        for (let t = 0; t < taps.length; t++) {
          const tap = taps[t];
          if (tap.empty) continue;
          const wv = w[wBase + t];
          for (let od = 0; od < OD; od++) {
            const id = od * s[0] + tap.offD;
            if (id < 0 || id >= ID) continue;
            const yPlane = od * OH * OW;
            const xPlane = xBase + id * IH * IW + tap.offW;
            if (tap.contiguous) {
              const y0 = yPlane + tap.ohLo * OW;
              const x0 = xPlane + (tap.ohLo + tap.offH) * IW;
              const len = (tap.ohHi - tap.ohLo) * OW;
              for (let i = 0; i < len; i++) acc[y0 + i] += wv * x[x0 + i];
              continue;
            }
            const sw = s[2];
            for (let oh = tap.ohLo; oh < tap.ohHi; oh++) {
              const yRow = yPlane + oh * OW;
              const xRow = xPlane + (oh * s[1] + tap.offH) * IW;
              for (let ow = tap.owLo; ow < tap.owHi; ow++) acc[yRow + ow] += wv * x[xRow + ow * sw];
            }
          }
        }
      }
      y.set(acc, (n * M + m) * outPlane);
    }
  }
  applyFusedActivation(y, readFusedActivation(node));
  return [floatTensor([N, M, ...g.out], y)];
};

type Tap = {
  readonly offD: number;
  readonly offH: number;
  readonly offW: number;
  /** output rows [ohLo, ohHi) and columns [owLo, owHi) whose input position lies inside the input */
  readonly ohLo: number;
  readonly ohHi: number;
  readonly owLo: number;
  readonly owHi: number;
  readonly empty: boolean;
  /** unit strides, full rows and equal row lengths: the valid rows form one contiguous run */
  readonly contiguous: boolean;
};

type V3 = readonly [number, number, number];

/** Per kernel tap (kd, kh, kw), in weight order: the input offset and the valid output window. */
function tapWindows(inp: V3, out: V3, k: V3, s: V3, d: V3, pb: V3): Tap[] {
  const valid = (off: number, stride: number, inSize: number, outSize: number): [number, number] => [
    Math.max(0, Math.ceil(-off / stride)),
    Math.min(outSize, Math.floor((inSize - 1 - off) / stride) + 1),
  ];
  const taps: Tap[] = [];
  for (let kd = 0; kd < k[0]; kd++) {
    for (let kh = 0; kh < k[1]; kh++) {
      for (let kw = 0; kw < k[2]; kw++) {
        const offD = kd * d[0] - pb[0];
        const offH = kh * d[1] - pb[1];
        const offW = kw * d[2] - pb[2];
        const [ohLo, ohHi] = valid(offH, s[1], inp[1], out[1]);
        const [owLo, owHi] = valid(offW, s[2], inp[2], out[2]);
        const empty = ohLo >= ohHi || owLo >= owHi;
        const contiguous = s[1] === 1 && s[2] === 1 && owLo === 0 && owHi === out[2] && out[2] === inp[2];
        taps.push({ offD, offH, offW, ohLo, ohHi, owLo, owHi, empty, contiguous });
      }
    }
  }
  return taps;
}

/**
 * 2-D convolution as im2col + dot products: the input patches of one group are laid out once as a
 * [OH*OW, cg*kh*kw] matrix (one contiguous patch per output position, zeros where the window
 * overhangs the padding); each output is then the dot product of a weight row and a patch, two
 * channels by two positions at a time so every load feeds two multiply-adds. Accumulation is in
 * double precision (JavaScript numbers), stored as float32.
 */
function conv2d(
  x: Float32Array, w: Float32Array, bias: Float32Array | undefined,
  N: number, C: number, M: number, group: number, IH: number, IW: number, OH: number, OW: number,
  KH: number, KW: number, SH: number, SW: number, DH: number, DW: number, PH: number, PW: number,
): Float32Array {
  const cg = C / group;
  const mg = M / group;
  const P = OH * OW;
  const K = cg * KH * KW;
  const y = new Float32Array(N * M * P);
  const col = new Float32Array(P * K);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < group; gi++) {
      const xOff = (n * C + gi * cg) * IH * IW;
      col.fill(0);
      for (let c = 0, r = 0; c < cg; c++) {
        const xc = xOff + c * IH * IW;
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++, r++) {
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * SH - PH + kh * DH;
              if (ih < 0 || ih >= IH) continue;
              const xr = xc + ih * IW;
              let at = oh * OW * K + r;
              for (let ow = 0; ow < OW; ow++, at += K) {
                const iw = ow * SW - PW + kw * DW;
                if (iw >= 0 && iw < IW) col[at] = x[xr + iw];
              }
            }
          }
        }
      }
      const m0 = gi * mg;
      for (let m = 0; m < mg; m += 2) {
        const ma = m0 + m;
        const two = m + 1 < mg;
        const mb = two ? ma + 1 : ma;
        const wa = ma * K;
        const wb = mb * K;
        const ba = bias ? bias[ma] : 0;
        const bb = bias ? bias[mb] : 0;
        const ya = (n * M + ma) * P;
        const yb = (n * M + mb) * P;
        let p = 0;
        for (; p + 1 < P; p += 2) {
          const c0 = p * K;
          const c1 = c0 + K;
          let s00 = ba;
          let s01 = ba;
          let s10 = bb;
          let s11 = bb;
          for (let k = 0; k < K; k++) {
            const u = w[wa + k];
            const v = w[wb + k];
            const x0 = col[c0 + k];
            const x1 = col[c1 + k];
            s00 += u * x0;
            s01 += u * x1;
            s10 += v * x0;
            s11 += v * x1;
          }
          y[ya + p] = s00;
          y[ya + p + 1] = s01;
          if (two) {
            y[yb + p] = s10;
            y[yb + p + 1] = s11;
          }
        }
        for (; p < P; p++) {
          const c0 = p * K;
          let s0 = ba;
          let s1 = bb;
          for (let k = 0; k < K; k++) {
            s0 += w[wa + k] * col[c0 + k];
            s1 += w[wb + k] * col[c0 + k];
          }
          y[ya + p] = s0;
          if (two) y[yb + p] = s1;
        }
      }
    }
  }
  return y;
}
