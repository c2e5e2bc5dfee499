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
