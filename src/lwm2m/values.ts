// Resource values: checks against a resource type, and the textual forms several formats share
// (objlnk "3:0", base64 for opaque). LwM2M 1.1 TS Core Appendix C.
import { CodecError, badPayload } from './codec-error.ts';
import { fitsIntegerType, INT64_MAX } from './integers.ts';
import { isObjectLink } from './node.ts';
import { formatPath } from './path.ts';
import type { ObjectLink, ResourceType, ResourceValue } from './node.ts';

const MAX_ID = 65535;

/** "3:0" -> { objectId: 3, instanceId: 0 } (Core Appendix C, Objlnk; 65535:65535 is the null link). */
export function parseObjectLink(text: string): ObjectLink {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m) throw new CodecError('TYPE_MISMATCH', `"${text.slice(0, 40)}" is not an object link "obj:inst"`);
  const objectId = Number(m[1]);
  const instanceId = Number(m[2]);
  if (objectId > MAX_ID || instanceId > MAX_ID) throw new CodecError('TYPE_MISMATCH', `object link "${text}" out of range`);
  return { objectId, instanceId };
}

export function formatObjectLink(link: ObjectLink): string {
  return `${link.objectId}:${link.instanceId}`;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Standard base64 (RFC 4648 §4), padding required only to make the length a multiple of 4. */
export function decodeBase64(text: string): Uint8Array {
  const t = text.trim();
  if (!B64.test(t) || t.length % 4 === 1) throw badPayload('invalid base64');
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/** base64url (RFC 4648 §5) as SenML "vd" uses (RFC 8428 §4.3); standard base64 accepted too. */
export function decodeBase64Any(text: string): Uint8Array {
  const t = text.trim();
  if (B64URL.test(t) && t.length % 4 !== 1) return new Uint8Array(Buffer.from(t, 'base64url'));
  return decodeBase64(t);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** A plain Uint8Array copy (not a Buffer view into a shared pool). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The type a value has when no model says otherwise. */
export function naturalType(value: ResourceValue): ResourceType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  // an integral number past 2^53 can only have come from a float literal (integers.ts keeps those as bigint)
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'integer' : 'float';
  if (typeof value === 'bigint') return value > INT64_MAX ? 'unsigned' : 'integer';
  if (value instanceof Uint8Array) return 'opaque';
  return 'objlnk';
}

/**
 * Throws TYPE_MISMATCH unless `value` fits `type`. `where` names the value in the error: a label,
 * or its path, formatted only when the check fails (a read decodes dozens of resources).
 */
export function checkValue(value: ResourceValue, type: ResourceType, where: string | readonly number[]): void {
  switch (type) {
    case 'string':
    case 'corelnk':
      if (typeof value !== 'string') mismatch(where, type);
      return;
    case 'integer':
    case 'time':
    case 'unsigned':
      // Appendix C: signed 64-bit (Time too: an Integer of seconds), unsigned 64-bit
      if (!fitsIntegerType(value, type)) mismatch(where, type);
      return;
    case 'float':
      if (typeof value !== 'number') mismatch(where, type);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') mismatch(where, type);
      return;
    case 'opaque':
      if (!(value instanceof Uint8Array)) mismatch(where, type);
      return;
    case 'objlnk':
      if (!isObjectLink(value)) mismatch(where, type);
      return;
    case 'none':
      mismatch(where, type);
  }
}

function mismatch(where: string | readonly number[], type: ResourceType): never {
  throw new CodecError('TYPE_MISMATCH', `${typeof where === 'string' ? where : formatPath(where)}: value does not match type ${type}`);
}
