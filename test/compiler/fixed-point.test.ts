import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { multiplyByQuantizedMultiplier, roundingDivideByPOT, saturatingRoundingDoublingHighMul } from '../../compiler/runtime/fixed-point.ts';
import { quantizeMultiplier } from '../../compiler/quantize/quantize-multiplier.ts';

// BigInt transcription of gemmlowp, the specification the fast Number version is tested against.
function srdhmRef(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates like C++
}
function rdpotRef(x: number, e: number): number {
  const mask = (1n << BigInt(e)) - 1n;
  const bx = BigInt(x);
  const rem = bx & mask;
  const threshold = (mask >> 1n) + (bx < 0n ? 1n : 0n);
  return Number((bx >> BigInt(e)) + (rem > threshold ? 1n : 0n));
}

const int32 = fc.integer({ min: -2147483648, max: 2147483647 });

describe('fixed-point requantization', () => {
  it('SRDHM matches the int64 reference bit for bit', () => {
    fc.assert(fc.property(int32, int32, (a, b) => saturatingRoundingDoublingHighMul(a, b) === srdhmRef(a, b)), { numRuns: 20000 });
    // the exact-product fast path (|a| < 2^22) and its edge
    const small = fc.integer({ min: -(2 ** 22) - 2, max: 2 ** 22 + 2 });
    fc.assert(fc.property(small, int32, (a, b) => Object.is(saturatingRoundingDoublingHighMul(a, b), srdhmRef(a, b))), { numRuns: 20000 });
    for (const [a, b] of [[-2147483648, -2147483648], [-2147483648, 2147483647], [1, 1073741824], [-1, 1073741824], [3, 1073741824], [-3, 1073741824]]) {
      expect(saturatingRoundingDoublingHighMul(a, b)).toBe(srdhmRef(a, b));
    }
  });

  it('RoundingDivideByPOT rounds half away from zero', () => {
    fc.assert(fc.property(int32, fc.integer({ min: 0, max: 31 }), (x, e) => roundingDivideByPOT(x, e) === rdpotRef(x, e)), { numRuns: 20000 });
    expect(roundingDivideByPOT(5, 1)).toBe(3);
    expect(roundingDivideByPOT(-5, 1)).toBe(-3);
  });

  it('quantizeMultiplier + MultiplyByQuantizedMultiplier approximate x * m within 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 24), max: 2 ** 24 }), fc.double({ min: 1e-6, max: 4, noNaN: true }), (x, m) => {
        const q = quantizeMultiplier(m);
        expect(q.multiplier).toBeGreaterThanOrEqual(2 ** 30);
        expect(q.multiplier).toBeLessThan(2 ** 31);
        const got = multiplyByQuantizedMultiplier(x, q.multiplier, q.shift);
        expect(Math.abs(got - x * m)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 5000 },
    );
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
  });
});
