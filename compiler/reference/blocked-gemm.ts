// The matrix product under the float convolutions: Y[m, p] = bias[m] + sum_k W[m, k] * B[k, p],
// W row-major [M, K] (a conv's weights), B row-major [K, P] (the im2col of one image and group, or
// the input itself for a 1x1 convolution). Blocks of 4 output channels x 4 positions keep 16 sums
// in registers, so each of the 8 loads per step feeds 2 multiply-adds (a dot product per output
// needs 2 loads per multiply-add). Sums are in double precision in ascending k, as the plain
// definition computes them, stored as float32.

/**
 * Writes Y to `y` at `yOff + m * P + p`; W starts at `wOff` and B at `bOff` of their arrays;
 * `bias` (when given) is read from `biasOff`.
 */
export function gemmWithBias(
  w: Float32Array, wOff: number, b: Float32Array, bOff: number, bias: Float32Array | undefined, biasOff: number,
  y: Float32Array, yOff: number, M: number, K: number, P: number,
): void {
  const P4 = P - (P % 4);
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = wOff + m * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    const b0 = bias ? bias[biasOff + m] : 0;
    const b1 = bias ? bias[biasOff + m + 1] : 0;
    const b2 = bias ? bias[biasOff + m + 2] : 0;
    const b3 = bias ? bias[biasOff + m + 3] : 0;
    const y0 = yOff + m * P;
    for (let p = 0; p < P4; p += 4) {
      let s00 = b0, s01 = b0, s02 = b0, s03 = b0;
      let s10 = b1, s11 = b1, s12 = b1, s13 = b1;
      let s20 = b2, s21 = b2, s22 = b2, s23 = b2;
      let s30 = b3, s31 = b3, s32 = b3, s33 = b3;
      for (let k = 0, at = bOff + p; k < K; k++, at += P) {
        const x0 = b[at];
        const x1 = b[at + 1];
        const x2 = b[at + 2];
        const x3 = b[at + 3];
        let u = w[a0 + k];
        s00 += u * x0; s01 += u * x1; s02 += u * x2; s03 += u * x3;
        u = w[a1 + k];
        s10 += u * x0; s11 += u * x1; s12 += u * x2; s13 += u * x3;
        u = w[a2 + k];
        s20 += u * x0; s21 += u * x1; s22 += u * x2; s23 += u * x3;
        u = w[a3 + k];
        s30 += u * x0; s31 += u * x1; s32 += u * x2; s33 += u * x3;
      }
      let o = y0 + p;
      y[o] = s00; y[o + 1] = s01; y[o + 2] = s02; y[o + 3] = s03;
      o += P;
      y[o] = s10; y[o + 1] = s11; y[o + 2] = s12; y[o + 3] = s13;
      o += P;
      y[o] = s20; y[o + 1] = s21; y[o + 2] = s22; y[o + 3] = s23;
      o += P;
      y[o] = s30; y[o + 1] = s31; y[o + 2] = s32; y[o + 3] = s33;
    }
    // the last P % 4 positions: four channels, one position
    for (let p = P4; p < P; p++) {
      let s0 = b0, s1 = b1, s2 = b2, s3 = b3;
      for (let k = 0, at = bOff + p; k < K; k++, at += P) {
        const x = b[at];
        s0 += w[a0 + k] * x; s1 += w[a1 + k] * x; s2 += w[a2 + k] * x; s3 += w[a3 + k] * x;
      }
      y[y0 + p] = s0; y[y0 + P + p] = s1; y[y0 + 2 * P + p] = s2; y[y0 + 3 * P + p] = s3;
    }
  }
  // the last M % 4 channels: one channel, four positions
  for (; m < M; m++) {
    const a = wOff + m * K;
    const bm = bias ? bias[biasOff + m] : 0;
    const y0 = yOff + m * P;
    let p = 0;
    for (; p < P4; p += 4) {
      let s0 = bm, s1 = bm, s2 = bm, s3 = bm;
      for (let k = 0, at = bOff + p; k < K; k++, at += P) {
        const u = w[a + k];
        s0 += u * b[at]; s1 += u * b[at + 1]; s2 += u * b[at + 2]; s3 += u * b[at + 3];
      }
      y[y0 + p] = s0; y[y0 + p + 1] = s1; y[y0 + p + 2] = s2; y[y0 + p + 3] = s3;
    }
    for (; p < P; p++) {
      let s = bm;
      for (let k = 0, at = bOff + p; k < K; k++, at += P) s += w[a + k] * b[at];
      y[y0 + p] = s;
    }
  }
}
