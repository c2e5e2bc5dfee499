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
  // the columns [innerLo, innerHi) whose whole 3x3 window lies inside the image (for the unrolled path)
  const dense3x3 = KH === 3 && KW === 3 && DH === 1 && DW === 1;
  let innerLo = 0;
  while (innerLo < OW && (kwLo[innerLo] !== 0 || kwHi[innerLo] !== KW)) innerLo++;
  let innerHi = innerLo;
  while (innerHi < OW && kwLo[innerHi] === 0 && kwHi[innerHi] === KW) innerHi++;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const xPlane = (n * C + Math.floor(m / mult)) * IH * IW;
      const yPlane = (n * M + m) * OH * OW;
      const wm = m * taps;
      const bm = bias ? bias[m] : 0;
      // (read only for a 3x3 kernel: a smaller one has fewer weights per channel)
      const at = dense3x3 ? wm : -1;
      const w0 = at < 0 ? 0 : w[at], w1 = at < 0 ? 0 : w[at + 1], w2 = at < 0 ? 0 : w[at + 2];
      const w3 = at < 0 ? 0 : w[at + 3], w4 = at < 0 ? 0 : w[at + 4], w5 = at < 0 ? 0 : w[at + 5];
      const w6 = at < 0 ? 0 : w[at + 6], w7 = at < 0 ? 0 : w[at + 7], w8 = at < 0 ? 0 : w[at + 8];
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * SH - PH;
        const khLo = Math.min(KH, Math.max(0, Math.ceil(-ih0 / DH)));
        const khHi = Math.max(khLo, Math.min(KH, Math.floor((IH - 1 - ih0) / DH) + 1));
        const yRow = yPlane + oh * OW;
        // a 3x3 window inside the image: nine taps unrolled, weights in registers, same order of sums
        const inner = dense3x3 && khLo === 0 && khHi === 3 ? innerHi : 0;
        let ow = 0;
        for (; ow < OW; ow++) {
          if (ow === innerLo && inner > innerLo) {
            const r0 = xPlane + ih0 * IW - PW;
            const r1 = r0 + IW;
            const r2 = r1 + IW;
            for (; ow < inner; ow++) {
              const c = ow * SW;
              let s = bm;
              s += w0 * x[r0 + c]; s += w1 * x[r0 + c + 1]; s += w2 * x[r0 + c + 2];
              s += w3 * x[r1 + c]; s += w4 * x[r1 + c + 1]; s += w5 * x[r1 + c + 2];
              s += w6 * x[r2 + c]; s += w7 * x[r2 + c + 1]; s += w8 * x[r2 + c + 2];
              y[yRow + ow] = s;
            }
            if (ow >= OW) break;
          }
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
