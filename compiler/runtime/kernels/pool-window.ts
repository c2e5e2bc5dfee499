// One pooling window on int8 values, shared by MAX/AVERAGE_POOL_2D (pooling.ts) and the fused
// CONV_POOL_2D (conv-pool.ts), which differ only in where a cell's value comes from: a stored input
// tensor, or a convolution value computed on the fly. Sharing the rule keeps the fused op's outputs
// bit-identical to the two separate ops.
// The window is clipped to the input. The average divides by the number of input cells in the
// window, or with countIncludePad by the cells inside the declared padding too (padded cells hold
// the zero point); the overhang of a ceil_mode window is never counted (onnxruntime's rule). It
// rounds half away from zero like TFLM's reference_integer_ops::AveragePool.

export type PoolWindow = {
  readonly average: boolean;
  readonly kh: number;
  readonly kw: number;
  /** the input's height and width */
  readonly hi: number;
  readonly wi: number;
  /** the range a window cell must fall in to be counted by the average */
  readonly cyLo: number;
  readonly cyHi: number;
  readonly cxLo: number;
  readonly cxHi: number;
  /** the input's zero point: the value of a padded cell */
  readonly zp: number;
};

export function poolWindow(average: boolean, kh: number, kw: number, hi: number, wi: number, pads: readonly number[], countIncludePad: number, zp: number): PoolWindow {
  const [pt, pl, pb, pr] = pads;
  const [cyLo, cyHi, cxLo, cxHi] = countIncludePad ? [-pt, hi + pb, -pl, wi + pr] : [0, hi, 0, wi];
  return { average, kh, kw, hi, wi, cyLo, cyHi, cxLo, cxHi, zp };
}

/** the pooled value of channel ch's window at (iy0, ix0), before the activation clamp */
export function poolAt(w: PoolWindow, cell: (ch: number, iy: number, ix: number) => number, ch: number, iy0: number, ix0: number): number {
  const { average, kh, kw, hi, wi, cyLo, cyHi, cxLo, cxHi, zp } = w;
  let acc = average ? 0 : -128;
  let count = 0;
  for (let ky = 0; ky < kh; ky++) {
    const iy = iy0 + ky;
    if (iy < cyLo || iy >= cyHi) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx;
      if (ix < cxLo || ix >= cxHi) continue;
      const inside = iy >= 0 && iy < hi && ix >= 0 && ix < wi;
      if (average) {
        acc += inside ? cell(ch, iy, ix) : zp;
        count++;
      } else if (inside) {
        const v = cell(ch, iy, ix);
        if (v > acc) acc = v;
      }
    }
  }
  if (!average) return acc;
  return count === 0 ? zp : roundedMean(acc, count);
}

/** sum / count rounded half away from zero (TFLM) */
export function roundedMean(sum: number, count: number): number {
  return Math.trunc(sum > 0 ? (sum + (count >> 1)) / count : (sum - (count >> 1)) / count);
}
