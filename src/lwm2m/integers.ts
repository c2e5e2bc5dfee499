// 64-bit integers (LwM2M 1.1 TS Core Appendix C): Integer is signed 64-bit, Unsigned Integer
// unsigned 64-bit. A value inside JavaScript's safe-integer range is a number; outside it a bigint,
// so every value has exactly one form and code that only meets small integers keeps its numbers.
import type { ResourceType } from './node.ts';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** The one form of an integer: a number when safe, a bigint otherwise. */
export function normalizeInteger(v: bigint | number): number | bigint {
  if (typeof v === 'number') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** An integral number or any bigint, as a bigint; undefined for anything else. */
export function asBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return undefined;
}

/** True when `v` is an integer (number or bigint) the 64-bit type can hold. */
export function fitsIntegerType(v: unknown, type: ResourceType): boolean {
  const b = asBigInt(v);
  if (b === undefined) return false;
  if (type === 'unsigned') return b >= 0n && b <= UINT64_MAX;
  return b >= INT64_MIN && b <= INT64_MAX; // integer, time
}

const DECIMAL = /^[+-]?\d+$/;

/** A decimal integer text ("-9223372036854775808") in its one form, or undefined when it is not one. */
export function parseDecimalInteger(text: string): number | bigint | undefined {
  if (text.length > 400 || !DECIMAL.test(text)) return undefined; // bounded: BigInt of a long text is quadratic
  return normalizeInteger(BigInt(text));
}
