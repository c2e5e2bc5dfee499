// Plain text (Content-Format 0), LwM2M 1.1 TS Core §7.4.1 and Appendix C: one value as UTF-8.
import { CodecError, badPayload } from './codec-error.ts';
import { modelType, requireSinglePath, singleNode, singleValue } from './single-value.ts';
import { fitsIntegerType, parseDecimalInteger } from './integers.ts';
import { checkValue, decodeBase64, encodeBase64, formatObjectLink, parseObjectLink } from './values.ts';
import type { LwM2mNode, ResourceType, ResourceValue } from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

const INTEGER = /^[+-]?\d+$/;
// Unambiguous (no nested or adjacent digit runs), so a long digit string cannot backtrack.
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_NUMBER_TEXT = 400; // generous: any double fits in 25 characters, decimals with long zero runs too

function mismatch(text: string, type: ResourceType): CodecError {
  return new CodecError('TYPE_MISMATCH', `text "${text.slice(0, 40)}" is not a valid ${type}`);
}

/** Parses the textual form of a value of `type` (Appendix C, "Text" column). */
export function parseTextValue(raw: string, type: ResourceType): ResourceValue {
  // Strings keep every character; other types tolerate surrounding whitespace (a trailing
  // newline from a shell-minded client must not fail a numeric read).
  const text = type === 'string' || type === 'corelnk' ? raw : raw.trim();
  if ((type === 'integer' || type === 'unsigned' || type === 'time' || type === 'float') && text.length > MAX_NUMBER_TEXT) {
    throw mismatch(text, type);
  }
  switch (type) {
    case 'string':
    case 'corelnk':
      return raw;
    case 'integer':
    case 'time': // Time is a Unix time in seconds, as an Integer
    case 'unsigned': {
      // Appendix C: decimal digits of a signed/unsigned 64-bit value, read exactly (bigint past 2^53)
      if (type === 'unsigned' ? !/^\+?\d+$/.test(text) : !INTEGER.test(text)) throw mismatch(text, type);
      const n = parseDecimalInteger(text);
      if (n === undefined || !fitsIntegerType(n, type)) throw mismatch(text, type);
      return n;
    }
    case 'float': {
      if (!FLOAT.test(text)) throw mismatch(text, type);
      const n = Number(text);
      if (!Number.isFinite(n)) throw mismatch(text, type);
      return n;
    }
    case 'boolean':
      if (text === '0') return false;
      if (text === '1') return true;
      throw mismatch(text, type);
    case 'objlnk':
      return parseObjectLink(text);
    case 'opaque':
      return decodeBase64(text); // Core 1.1 §7.4.1: opaque in text is base64 encoded
    case 'none':
      throw new CodecError('TYPE_MISMATCH', 'an executable resource has no value');
  }
}

export function formatTextValue(value: ResourceValue, type: ResourceType): string {
  checkValue(value, type, 'text');
  switch (type) {
    case 'boolean':
      return value ? '1' : '0';
    case 'objlnk':
      return formatObjectLink(value as { objectId: number; instanceId: number });
    case 'opaque':
      return encodeBase64(value as Uint8Array);
    case 'float': {
      const n = value as number;
      if (!Number.isFinite(n)) throw new CodecError('TYPE_MISMATCH', 'text cannot carry a non-finite float');
      return String(n);
    }
    default:
      return String(value);
  }
}

export function decodeText(payload: Uint8Array, path: LwM2mPath, model: ModelLookup): LwM2mNode {
  requireSinglePath(path, 'text/plain');
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw badPayload('text/plain payload is not valid UTF-8');
  }
  const type = modelType(path, model) ?? 'string'; // an unknown resource keeps its text
  return singleNode(path, type, parseTextValue(text, type));
}

export function encodeText(node: LwM2mNode): Uint8Array {
  const { type, value } = singleValue(node, 'text/plain');
  return utf8Encoder.encode(formatTextValue(value, type));
}
