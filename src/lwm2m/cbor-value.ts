// The cbor-x configuration every CBOR-based format shares, and the mapping from decoded CBOR
// items to typed values. Plain CBOR only: no cbor-x record extensions, no typed-array tags.
import { Decoder, Encoder } from 'cbor-x';
import { badPayload, guard } from './codec-error.ts';
import type { WireValue } from './records.ts';

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false, // RFC 8949 byte string (major type 2), not tag 64
  variableMapSize: true,
  pack: false,
});

const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export function cborEncode(item: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(item));
}

/** Decodes exactly one CBOR item; trailing bytes, truncation and bad headers become CodecError. */
export function cborDecode(payload: Uint8Array, what: string): unknown {
  if (payload.length === 0) throw badPayload(`${what}: empty payload`);
  return guard(what, () => decoder.decode(payload) as unknown);
}

/** A decoded CBOR data item as a value the record typing understands, or undefined. */
export function cborToWire(item: unknown): WireValue | undefined {
  if (typeof item === 'number') return { kind: 'number', value: item };
  if (typeof item === 'bigint') return { kind: 'number', value: Number(item) }; // 64-bit: precision loss accepted (node.ts)
  if (typeof item === 'string') return { kind: 'string', value: item };
  if (typeof item === 'boolean') return { kind: 'boolean', value: item };
  if (item instanceof Uint8Array) return { kind: 'opaque', value: new Uint8Array(item) };
  if (item instanceof Date) { // tag 1, epoch-based date/time (RFC 8949 §3.4.2)
    const t = item.getTime();
    return Number.isFinite(t) ? { kind: 'number', value: Math.floor(t / 1000) } : undefined;
  }
  return undefined;
}
