// Conv (Conv-11): grouped/depthwise N-D convolution (N-D = 1, 2, 3) with pads, auto_pad, strides
// and dilations, plus the optional fused activation written by passes/fuse-activation.ts.
//   Y[n, m, o] = B[m] + sum_{c in group(m), k} X[n, c, o*s - pb + k*d] * W[m, c, k]
// 2-D convolutions (the common case) run as im2col + a blocked matrix product, or directly when
// depthwise (one input channel per group). 1-D and 3-D ones take the general loop: for each weight
// tap, sweep the output rows (weight-stationary), so the innermost loop is a contiguous,
// bounds-free multiply-add over one output row; each tap's valid output window is computed once
// per call. Accumulation is in double precision.
import { attrInt } from '../ir/attrs.ts';
import { applyFusedActivation, readFusedActivation } from '../ir/fused-activation.ts';
import { windowGeometry } from '../shape-inference/window-geometry.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';
import { spatial3 } from './spatial.ts';
import { gemmWithBias } from './blocked-gemm.ts';
import { depthwiseConv2d } from './depthwise-conv2d.ts';
import { im2col, type Conv2dGeometry } from './im2col.ts';

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
    const geo: Conv2dGeometry = { IH, IW, OH, OW, KH: k[1], KW: k[2], SH: s[1], SW: s[2], DH: d[1], DW: d[2], PH: pb[1], PW: pb[2] };
    const y2 = new Float32Array(N * M * OH * OW);
    if (cg === 1 && group > 1) depthwiseConv2d(x, w, bias, y2, N, C, M, geo);
    else conv2dGemm(x, w, bias, y2, N, C, M, group, geo);
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

let im2colBuffer = new Float32Array(0);

/** The im2col buffer, reused across calls (im2col writes every element, padding zeros included). */
function scratch(length: number): Float32Array {
  if (im2colBuffer.length < length) im2colBuffer = new Float32Array(length);
  return im2colBuffer.subarray(0, length);
}

/**
 * 2-D convolution, one image and group at a time, as a matrix product (blocked-gemm.ts) of the
 * group's weights [mg, cg*KH*KW] with its im2col [cg*KH*KW, OH*OW]; a 1x1 convolution with unit
 * strides and no padding multiplies the input planes themselves, which already have that layout.
 */
function conv2dGemm(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, N: number, C: number, M: number, group: number, geo: Conv2dGeometry): void {
  const { IH, IW, OH, OW, KH, KW, SH, SW, PH, PW } = geo;
  const cg = C / group;
  const mg = M / group;
  const P = OH * OW;
  const K = cg * KH * KW;
  const pointwise = KH === 1 && KW === 1 && SH === 1 && SW === 1 && PH === 0 && PW === 0 && OH === IH && OW === IW;
  const col = pointwise ? x : scratch(K * P);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < group; gi++) {
      const xOff = (n * C + gi * cg) * IH * IW;
      if (!pointwise) im2col(x, xOff, cg, geo, col);
      const m0 = gi * mg;
      gemmWithBias(w, m0 * K, col, pointwise ? xOff : 0, bias, m0, y, (n * M + m0) * P, mg, K, P);
    }
  }
}
