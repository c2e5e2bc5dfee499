// The cbor-x configuration every CBOR-based format shares, and the mapping from decoded CBOR
// items to typed values. Plain CBOR only: no cbor-x record extensions, no typed-array tags.
import { Decoder, Encoder, addExtension } from 'cbor-x';
import { badPayload, guard } from './codec-error.ts';
import { normalizeInteger } from './integers.ts';
import type { WireValue } from './records.ts';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false, // RFC 8949 byte string (major type 2), not tag 64
  variableMapSize: true,
  pack: false,
});

const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

/**
 * A number to write as a CBOR float (major type 7, a double) even when it is integral: the value
 * of a Float resource (LwM2M 1.1 TS Core Appendix C: Float is CBOR major type 7), so 21.0 does not
 * leave as the integer 21 for a device whose decoder insists on a float.
 */
export class CborFloat {
  constructor(readonly value: number) {}
}

/**
 * Writes a CborFloat: cbor-x calls an extension's encode with `this` bound to the encoder and
 * reads its `alwaysUseFloat` option for every number (encode.js), so switching it on for this
 * one item writes the number as a double while map keys and other numbers keep their integer
 * form. The bytes go straight into the encoder's buffer; cbor-x ignores the return value.
 */
function encodeAsFloat(this: { alwaysUseFloat?: boolean }, instance: CborFloat, encode: (v: unknown) => unknown): Uint8Array {
  const before = this.alwaysUseFloat;
  this.alwaysUseFloat = true;
  try {
    encode(instance.value);
  } finally {
    this.alwaysUseFloat = before;
  }
  return new Uint8Array(0);
}

// An undefined tag makes cbor-x write no tag before the item (encode.js); there is nothing to
// decode, a float comes back as a plain number.
addExtension({ Class: CborFloat, tag: undefined, encode: encodeAsFloat } as unknown as Parameters<typeof addExtension<CborFloat, unknown>>[0]);

/**
 * An integer as cbor-x must be given it to write CBOR major type 0/1 (LwM2M 1.1 TS Core Appendix
 * C: Integer and Unsigned Integer are major types 0 and 1). cbor-x writes a number outside the
 * 32-bit ranges as a double (2^40 as fb 42 70 ..), but a bigint as an 8-byte integer (1b / 3b).
 */
export function cborInteger(v: number | bigint): number | bigint {
  if (typeof v === 'bigint') return v;
  return Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x100000000) ? BigInt(v) : v;
}

export function cborEncode(item: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(item));
}

const ALLOWED_TAGS = new Set([0, 1, 4, 5]);
const MAX_DEPTH = 32; // LwM2M CBOR needs 6 (root, object, instance, resource, instance + path keys)

/**
 * Walks the CBOR structure once without allocating (RFC 8949 §3, Appendix C well-formedness):
 * every declared string length must fit the bytes left, every array/map count must be
 * coverable by the bytes left (an item takes at least one byte), nesting is bounded, and
 * exactly one item fills the payload. Only then does cbor-x see it, so no length an attacker
 * writes can make the decoder allocate more than the payload justifies.
 */
export function checkCborWellFormed(b: Uint8Array, what: string): void {
  const fail = (why: string): never => {
    throw badPayload(`${what}: ${why}`);
  };
  let p = 0;
  const pending: number[] = [1]; // items still expected per open container; -1: indefinite length
  while (pending.length > 0) {
    const top = pending.length - 1;
    if (pending[top] === 0) {
      pending.pop();
      continue;
    }
    if (p >= b.length) fail('truncated CBOR');
    const ib = b[p++]!;
    if (ib === 0xff) {
      if (pending[top] !== -1) fail('unexpected CBOR break');
      pending.pop();
      continue;
    }
    if (pending[top]! > 0) pending[top]!--;
    const major = ib >> 5;
    const info = ib & 0x1f;
    let arg = info;
    let indefinite = false;
    if (info >= 24 && info <= 27) {
      const n = 1 << (info - 24);
      if (n > b.length - p) fail('truncated CBOR header');
      arg = 0;
      for (let i = 0; i < n; i++) arg = arg * 256 + b[p++]!;
    } else if (info === 31) {
      if (major < 2 || major > 5) fail('invalid indefinite length');
      indefinite = true;
    } else if (info > 27) {
      fail('reserved CBOR additional information');
    }
    const left = b.length - p;
    switch (major) {
      case 2:
      case 3:
        if (indefinite) pending.push(-1);
        else if (arg > left) fail(`CBOR string of ${arg} bytes with ${left} left`);
        else p += arg;
        break;
      case 4:
        if (indefinite) pending.push(-1);
        else if (arg > left) fail(`CBOR array of ${arg} items with ${left} bytes left`);
        else pending.push(arg);
        break;
      case 5:
        if (indefinite) pending.push(-1);
        else if (arg * 2 > left) fail(`CBOR map of ${arg} entries with ${left} bytes left`);
        else pending.push(arg * 2);
        break;
      case 6:
        // Only the tags LwM2M values use: 0/1 date-time (Time), 4/5 decimal fraction/bigfloat
        // (RFC 8949 §3.4.4). Everything else cbor-x would interpret (value sharing 28/29,
        // which can re-read input and build cycles; bignums 2/3, quadratic to build; record
        // and packing extensions) is refused here.
        if (!ALLOWED_TAGS.has(arg)) fail(`unsupported CBOR tag ${arg}`);
        pending.push(1); // the tagged item
        break;
      default:
        break; // integers, simple values, floats: header only
    }
    if (pending.length > MAX_DEPTH) fail('CBOR nested too deeply');
  }
  if (p !== b.length) fail('trailing bytes after the CBOR item');
}

/** Decodes exactly one CBOR item; trailing bytes, truncation and bad headers become CodecError. */
export function cborDecode(payload: Uint8Array, what: string): unknown {
  if (payload.length === 0) throw badPayload(`${what}: empty payload`);
  checkCborWellFormed(payload, what);
  return guard(what, () => decoder.decode(payload) as unknown);
}

/** A decoded CBOR data item as a value the record typing understands, or undefined. */
export function cborToWire(item: unknown): WireValue | undefined {
  if (typeof item === 'number') return { kind: 'number', value: item };
  if (typeof item === 'bigint') return { kind: 'number', value: normalizeInteger(item) }; // 0x1b/0x3b: exact (integers.ts)
  if (typeof item === 'string') return { kind: 'string', value: item };
  if (typeof item === 'boolean') return { kind: 'boolean', value: item };
  if (item instanceof Uint8Array) return { kind: 'opaque', value: new Uint8Array(item) };
  if (item instanceof Date) { // tag 1, epoch-based date/time (RFC 8949 §3.4.2)
    const t = item.getTime();
    return Number.isFinite(t) ? { kind: 'number', value: Math.floor(t / 1000) } : undefined;
  }
  return undefined;
}
