// Compile-time half of requantization: a real multiplier (e.g. in_scale * w_scale / out_scale)
// becomes a Q0.31 int32 mantissa and a power-of-two shift, as TFLite's QuantizeMultiplier
// (tensorflow/lite/kernels/internal/quantization_util.cc) does with frexp.

export type QuantizedMultiplier = { readonly multiplier: number; readonly shift: number };

/** frexp: m = f * 2^e with |f| in [0.5, 1). */
export function frexp(m: number): [number, number] {
  if (m === 0 || !Number.isFinite(m)) return [m, 0];
  let e = Math.ceil(Math.log2(Math.abs(m)));
  let f = m / 2 ** e;
  while (Math.abs(f) >= 1) { f /= 2; e++; }
  while (Math.abs(f) < 0.5) { f *= 2; e--; }
  return [f, e];
}

export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (!Number.isFinite(realMultiplier) || realMultiplier < 0) {
    throw new RangeError(`requantization multiplier must be finite and non-negative, got ${realMultiplier}`);
  }
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  let [q, shift] = frexp(realMultiplier);
  let qFixed = Math.round(q * 2147483648);
  if (qFixed === 2147483648) { qFixed /= 2; shift++; }
  // Below 2^-31 the product rounds to zero anyway (TFLite does the same flush).
  if (shift < -31) return { multiplier: 0, shift: 0 };
  // A shift above 30 cannot be applied to an int32 accumulator: saturate to the largest
  // representable multiplier, as TFLite's QuantizeMultiplier does (quantization_util.cc, "saturate
  // it"). Softmax reaches this with a large input scale (its real multiplier is capped at 2^31 - 1).
  if (shift > 30) return { multiplier: 2147483647, shift: 30 };
  return { multiplier: qFixed, shift };
}
