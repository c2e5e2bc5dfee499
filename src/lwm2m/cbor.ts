// CBOR (Content-Format 60), LwM2M 1.1 TS Core §7.4 (CBOR format): one resource value as a plain CBOR
// data item. Integers major type 0/1, Float major type 7, Boolean simple value, String and
// Objlnk ("3:0") and Corelnk text strings, Opaque byte string, Time an integer (tag 1 accepted).
import { CodecError } from './codec-error.ts';
import { CborFloat, cborDecode, cborEncode, cborInteger, cborToWire } from './cbor-value.ts';
import { typeValue } from './records.ts';
import { modelType, requireSinglePath, singleNode, singleValue } from './single-value.ts';
import { checkValue, formatObjectLink, naturalType } from './values.ts';
import type { LwM2mNode, ObjectLink } from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';
import { formatPath } from './path.ts';

export function decodeCbor(payload: Uint8Array, path: LwM2mPath, model: ModelLookup): LwM2mNode {
  requireSinglePath(path, 'cbor');
  const wire = cborToWire(cborDecode(payload, 'cbor'));
  if (wire === undefined) throw new CodecError('BAD_PAYLOAD', 'cbor: the item is not a single resource value');
  const type = modelType(path, model);
  const value = typeValue(wire, type, formatPath(path));
  // a resource without a model: a half/single/double float (0xf9/0xfa/0xfb, RFC 8949 §3.3)
  // stays a float even when integral
  const wireFloat = payload[0] === 0xf9 || payload[0] === 0xfa || payload[0] === 0xfb;
  return singleNode(path, type ?? (wireFloat ? 'float' : naturalType(value)), value);
}

export function encodeCbor(node: LwM2mNode): Uint8Array {
  const { type, value } = singleValue(node, 'cbor');
  checkValue(value, type, 'cbor');
  if (type === 'objlnk') return cborEncode(formatObjectLink(value as ObjectLink));
  if (type === 'float') return cborEncode(new CborFloat(value as number)); // major type 7 even when integral
  // Appendix C: Integer, Unsigned Integer and Time are major type 0/1, also past 32 bits
  if (typeof value === 'number' || typeof value === 'bigint') return cborEncode(cborInteger(value));
  return cborEncode(value);
}
