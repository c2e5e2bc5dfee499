// Depthwise 2-D convolution (a Conv whose groups have one input channel each, any channel
// multiplier): each output plane is its input plane filtered by one KH x KW kernel. Computed
// directly, one output at a time with the window's valid taps (no im2col: with one channel per
// group a patch matrix would be as large as the work it saves). Sums are in double precision in
// weight order, as the plain definition computes them.
import type { Conv2dGeometry } from './im2col.ts';

/** `x` [N, C, IH, IW] -> `y` [N, C * mult, OH, OW], weights [C * mult, 1, KH, KW]. */
export function depthwiseConv2d(
  x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array,
  N: number, C: number, M: number, g: Conv2dGeometry,
): void {
  const { IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  const mult = M / C;
  const taps = KH * KW;
  // per output column: the first and one-past-last kw whose input column is inside the image
  const kwLo = new Int32Array(OW);
  const kwHi = new Int32Array(OW);
  for (let ow = 0; ow < OW; ow++) {
    const iw0 = ow * SW - PW;
    kwLo[ow] = Math.min(KW, Math.max(0, Math.ceil(-iw0 / DW)));
    kwHi[ow] = Math.max(kwLo[ow], Math.min(KW, Math.floor((IW - 1 - iw0) / DW) + 1));
  }
  if (KH === 3 && KW === 3 && DH === 1 && DW === 1) {
    depthwise3x3(x, w, bias, y, N, C, M, g);
    return;
  }
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const xPlane = (n * C + Math.floor(m / mult)) * IH * IW;
      const yPlane = (n * M + m) * OH * OW;
      const wm = m * taps;
      const bm = bias ? bias[m] : 0;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * SH - PH;
        const khLo = Math.min(KH, Math.max(0, Math.ceil(-ih0 / DH)));
        const khHi = Math.max(khLo, Math.min(KH, Math.floor((IH - 1 - ih0) / DH) + 1));
        const yRow = yPlane + oh * OW;
        for (let ow = 0; ow < OW; ow++) {
          const lo = kwLo[ow];
          const hi = kwHi[ow];
          const xCol = xPlane + ow * SW - PW;
          let s = bm;
          for (let kh = khLo; kh < khHi; kh++) {
            const xr = xCol + (ih0 + kh * DH) * IW;
            const wr = wm + kh * KW;
            for (let kw = lo; kw < hi; kw++) s += w[wr + kw] * x[xr + kw * DW];
          }
          y[yRow + ow] = s;
        }
      }
    }
  }
}

/**
 * The common 3x3 depthwise kernel (any stride, no dilation): each input plane is copied once into
 * a zero-padded plane, so every window lies inside it and the nine taps are unrolled with the
 * weights in registers. The padding adds products with 0, which leave every sum unchanged.
 */
function depthwise3x3(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, N: number, C: number, M: number, g: Conv2dGeometry): void {
  const { IH, IW, OH, OW, SH, SW, PH, PW } = g;
  const mult = M / C;
  const PWd = (OW - 1) * SW + 3; // padded plane: exactly the rows and columns the windows cover
  const PHt = (OH - 1) * SH + 3;
  const pad = new Float32Array(PHt * PWd);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      pad.fill(0);
      const xPlane = (n * C + c) * IH * IW;
      for (let ih = Math.max(0, -PH); ih < IH && ih + PH < PHt; ih++) {
        const from = Math.max(0, -PW);
        const to = Math.min(IW, PWd - PW);
        if (to > from) pad.set(x.subarray(xPlane + ih * IW + from, xPlane + ih * IW + to), (ih + PH) * PWd + from + PW);
      }
      for (let m = c * mult; m < (c + 1) * mult; m++) {
        const wm = m * 9;
        const w0 = w[wm], w1 = w[wm + 1], w2 = w[wm + 2], w3 = w[wm + 3], w4 = w[wm + 4];
        const w5 = w[wm + 5], w6 = w[wm + 6], w7 = w[wm + 7], w8 = w[wm + 8];
        const bm = bias ? bias[m] : 0;
        const yPlane = (n * M + m) * OH * OW;
        for (let oh = 0; oh < OH; oh++) {
          const r0 = oh * SH * PWd;
          const r1 = r0 + PWd;
          const r2 = r1 + PWd;
          const yRow = yPlane + oh * OW;
          for (let ow = 0, c0 = 0; ow < OW; ow++, c0 += SW) {
            let s = bm;
            s += w0 * pad[r0 + c0]; s += w1 * pad[r0 + c0 + 1]; s += w2 * pad[r0 + c0 + 2];
            s += w3 * pad[r1 + c0]; s += w4 * pad[r1 + c0 + 1]; s += w5 * pad[r1 + c0 + 2];
            s += w6 * pad[r2 + c0]; s += w7 * pad[r2 + c0 + 1]; s += w8 * pad[r2 + c0 + 2];
            y[yRow + ow] = s;
          }
        }
      }
    }
  }
}
