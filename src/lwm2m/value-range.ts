// Is a value inside what the object model allows for its resource? Checked before a Write or
// Create goes to a device, so a lifetime of -5 never leaves the server (issue 14). Sources:
//   - the DDF's RangeEnumeration (LwM2M 1.1 TS Core Appendix D.1): "a..b" numeric bounds, "a..b
//     bytes" length bounds, "16,32,48" an enumeration;
//   - the data types (Core Appendix C): Integer is signed 64-bit, Unsigned Integer unsigned 64-bit;
//   - units of time ("s", "ms"): a duration is never negative (Lifetime, pmin/pmax defaults,
//     Disable Timeout in Object 1 carry no RangeEnumeration but are durations).
import { INT64_MAX, INT64_MIN, UINT64_MAX, asBigInt } from './integers.ts';
import type { ResourceValue } from './node.ts';
import type { ResourceModel } from './object-model.ts';

type Range =
  | { kind: 'numbers'; min: number; max: number }
  | { kind: 'length'; min: number; max: number }
  | { kind: 'enumeration'; values: number[] };

/** Reads the machine-readable forms of a RangeEnumeration; prose ("16-bit", "…listed in the Core Specification") gives none. */
export function parseRange(text: string | undefined): Range | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  let m = /^(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)$/.exec(t);
  if (m) return { kind: 'numbers', min: Number(m[1]), max: Number(m[2]) };
  m = /^(\d+)\s*\.\.\s*(\d+)\s*bytes$/i.exec(t);
  if (m) return { kind: 'length', min: Number(m[1]), max: Number(m[2]) };
  if (/^-?\d+(\s*,\s*-?\d+)+$/.test(t)) return { kind: 'enumeration', values: t.split(',').map((s) => Number(s.trim())) };
  return undefined;
}

/** Why `value` is outside the resource's range, or undefined when it is inside. */
export function valueRangeProblem(model: ResourceModel, value: ResourceValue): string | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const exact = asBigInt(value);
    if (exact !== undefined) { // compared exactly: 2^63 must not pass as 2^63 - 1
      if (model.type === 'integer' && (exact < INT64_MIN || exact > INT64_MAX)) return `${value} is outside the 64-bit Integer range`;
      if (model.type === 'unsigned' && (exact < 0n || exact > UINT64_MAX)) return `${value} is outside the 64-bit Unsigned Integer range`;
    }
    if ((model.units === 's' || model.units === 'ms') && value < 0) return `${value} ${model.units} is a negative duration`;
    // DDF bounds are small numbers; a bigint compares by its nearest double, which decides the same
    const n = Number(value);
    const r = parseRange(model.rangeEnumeration);
    if (r?.kind === 'numbers' && (n < r.min || n > r.max)) return `${value} is outside ${r.min}..${r.max}`;
    if (r?.kind === 'enumeration' && !r.values.some((e) => BigInt(e) === asBigInt(value))) return `${value} is not one of ${r.values.join(', ')}`;
    return undefined;
  }
  const r = parseRange(model.rangeEnumeration);
  if (r?.kind !== 'length') return undefined;
  const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value instanceof Uint8Array ? value.length : undefined;
  if (length !== undefined && (length < r.min || length > r.max)) return `${length} bytes is outside ${r.min}..${r.max} bytes`;
  return undefined;
}
