// For each output row (or column) of a sliding window: the range [lo, hi) of kernel taps that land
// inside the input, so kernels clip their loops instead of testing every tap.
export function windowBounds(out: number, stride: number, padBegin: number, dilation: number, kernel: number, input: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const i0 = o * stride - padBegin;
    lo[o] = i0 >= 0 ? 0 : Math.ceil(-i0 / dilation);
    hi[o] = Math.max(lo[o], Math.min(kernel, Math.floor((input - 1 - i0) / dilation) + 1));
  }
  return [lo, hi];
}
