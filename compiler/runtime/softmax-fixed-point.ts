// gemmlowp fixed-point exp and reciprocal used by TFLite Micro's int8 softmax
// (gemmlowp/fixedpoint/fixedpoint.h; tensorflow/lite/kernels/internal/reference/softmax.h).
// A FixedPoint<int32, I> value is a raw int32 r meaning r / 2^(31 - I). Only raw int32 arithmetic
// is used; constants are the gemmlowp ones.
import { roundingDivideByPOT, saturatingRoundingDoublingHighMul as srdhm } from './fixed-point.ts';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** SaturatingRoundingMultiplyByPOT<exponent>: saturating left shift, or rounding right shift. */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  const threshold = 2 ** (31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * 2 ** exponent;
}

/** exp(a) for a in [-1/4, 0), a and result FixedPoint<int32, 0>. */
function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const constantTerm = 1895147668; // exp(-1/8)
  const constant1Over3 = 715827883;
  const x = (a + (1 << 28)) | 0; // a + 1/8: Taylor expansion around -1/8
  const x2 = srdhm(x, x);
  const x3 = srdhm(x2, x);
  const x4 = srdhm(x2, x2);
  const x4Over4 = saturatingRoundingMultiplyByPOT(x4, -2);
  const poly = saturatingRoundingMultiplyByPOT((srdhm((x4Over4 + x3) | 0, constant1Over3) + x2) | 0, -1);
  return (constantTerm + srdhm(constantTerm, (x + poly) | 0)) | 0;
}

// Barrel shifter multipliers exp(-2^k) as FixedPoint<int32, 0>, k = -2 .. 4.
const BARREL: readonly (readonly [number, number])[] = [
  [-2, 1672461947],
  [-1, 1302514674],
  [0, 790015084],
  [1, 290630308],
  [2, 39332535],
  [3, 720401],
  [4, 242],
];

/** exp(a) for a <= 0; a is FixedPoint<int32, 5> (kScaledDiffIntegerBits), result FixedPoint<int32, 0>. */
export function expOnNegativeValues(a: number): number {
  const integerBits = 5;
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  const mask = oneQuarter - 1;
  const aModQuarterMinusOneQuarter = ((a & mask) - oneQuarter) | 0;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(saturatingRoundingMultiplyByPOT(aModQuarterMinusOneQuarter, integerBits));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (const [exponent, multiplier] of BARREL) {
    if (integerBits > exponent && (remainder & (1 << (fractionalBits + exponent))) !== 0) result = srdhm(result, multiplier);
  }
  return a === 0 ? INT32_MAX : result;
}

/** gemmlowp RoundingHalfSum for int32: (a + b) / 2 rounded half away from zero. */
function roundingHalfSum(a: number, b: number): number {
  const sum = a + b; // exact in a double
  return Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/** 1 / (1 + a) for a in [0, 1), FixedPoint<int32, 0> in and out (Newton-Raphson, 3 steps). */
function oneOverOnePlusXForXIn01(a: number): number {
  const halfDenominator = roundingHalfSum(a, INT32_MAX);
  const constant48Over17 = 1515870810; // F2
  const constantNeg32Over17 = -1010580540; // F2
  let x = (constant48Over17 + srdhm(halfDenominator, constantNeg32Over17)) | 0; // F2
  const oneF2 = 1 << 29;
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = srdhm(halfDenominator, x); // F2
    const oneMinus = (oneF2 - halfDenominatorTimesX) | 0; // F2
    x = (x + saturatingRoundingMultiplyByPOT(srdhm(x, oneMinus), 2)) | 0; // F4 rescaled to F2
  }
  return saturatingRoundingMultiplyByPOT(x, 1); // ExactMulByPot<-1> then Rescale<0>
}

/** TFLite GetReciprocal: 1 / x for x a FixedPoint<int32, integerDigits>, as F0 and a shift. */
export function getReciprocal(x: number, integerDigits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = Math.clz32(x);
  const numBitsOverUnit = integerDigits - headroomPlusOne;
  const shiftedSumMinusOne = ((((x << headroomPlusOne) >>> 0) - 2147483648) | 0);
  return { reciprocal: oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit };
}
