// im2col for a 2-D convolution, laid out [K, P] (K = channels x kernel taps, P = output positions)
// so that the blocked GEMM reads four neighbouring positions of one tap with one contiguous run.
// Row r = (c, kh, kw) in weight order; positions where the window overhangs the padding hold 0.

export type Conv2dGeometry = {
  readonly IH: number; readonly IW: number; readonly OH: number; readonly OW: number;
  readonly KH: number; readonly KW: number; readonly SH: number; readonly SW: number;
  readonly DH: number; readonly DW: number; readonly PH: number; readonly PW: number;
};

/** Fills `col` ([channels * KH * KW, OH * OW]) from `channels` input planes of `x` starting at `xOff`. */
export function im2col(x: Float32Array, xOff: number, channels: number, g: Conv2dGeometry, col: Float32Array): void {
  const { IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  const P = OH * OW;
  // the output columns [owLo, owHi) whose input column lies inside the image, per kw
  for (let c = 0, r = 0; c < channels; c++) {
    const xc = xOff + c * IH * IW;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, r++) {
        const off = kw * DW - PW;
        const owLo = Math.min(OW, Math.max(0, Math.ceil(-off / SW)));
        const owHi = Math.max(owLo, Math.min(OW, Math.floor((IW - 1 - off) / SW) + 1));
        let at = r * P;
        for (let oh = 0; oh < OH; oh++, at += OW) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= IH) {
            col.fill(0, at, at + OW);
            continue;
          }
          const xr = xc + ih * IW + off;
          for (let ow = 0; ow < owLo; ow++) col[at + ow] = 0;
          if (SW === 1) col.set(x.subarray(xr + owLo, xr + owHi), at + owLo);
          else for (let ow = owLo; ow < owHi; ow++) col[at + ow] = x[xr + ow * SW];
          for (let ow = owHi; ow < OW; ow++) col[at + ow] = 0;
        }
      }
    }
  }
}
