// Integer-only requantization, bit-exact with gemmlowp / TFLite Micro
// (tensorflow/lite/kernels/internal/common.h MultiplyByQuantizedMultiplier, the double-rounding
// variant): real_multiplier ≈ multiplier * 2^(shift - 31), multiplier a Q0.31 int32 in [2^30, 2^31).
//
// JavaScript numbers hold 53-bit integers exactly, but the 64-bit product a*b of two int32 values
// does not fit. saturatingRoundingDoublingHighMul splits b into 16-bit halves so every intermediate
// stays below 2^53, which gives the exact int64 result without BigInt in the inner loop.

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const TWO_POW_31 = 2147483648;

/** gemmlowp SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties away from zero, saturated. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  // Fast path: |a| < 2^22 keeps |a*b| < 2^53, so the product itself is exact (typical accumulators).
  if (a < 4194304 && a > -4194304) {
    const ab = a * b;
    return ((ab >= 0 ? ab + 1073741824 : ab + 1 - 1073741824) / TWO_POW_31) | 0; // |0 truncates toward zero
  }
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const bl = b & 0xffff; // low half, unsigned
  const bh = (b - bl) / 65536; // high half, signed, exact
  const p1 = a * bh; // |p1| < 2^47, exact
  const p0 = a * bl; // |p0| < 2^47, exact
  const positive = p1 * 65536 + p0 >= 0; // sign of a*b (value inexact when huge, sign is right)
  const nudge = positive ? 1073741824 : 1 - 1073741824;
  // a*b + nudge = q1 * 2^31 + t, with t small enough to be exact.
  const q1 = Math.floor(p1 / 32768);
  const r1 = p1 - q1 * 32768;
  const t = r1 * 65536 + p0 + nudge;
  const qt = Math.floor(t / TWO_POW_31);
  let q = q1 + qt;
  // C++ int64 division truncates toward zero; floor differs for a negative non-multiple.
  if (q < 0 && t - qt * TWO_POW_31 !== 0) q += 1;
  return q;
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLM MultiplyByQuantizedMultiplier(int32 x, int32 multiplier, int shift). */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x * (1 << leftShift), multiplier), rightShift);
}

/** int32 saturation, for accumulators that a hostile module could push past the int32 range. */
export function saturateInt32(x: number): number {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x;
}
