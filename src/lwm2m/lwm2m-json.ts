// LwM2M JSON (Content-Format 11543), LwM2M 1.1 TS Core §7.4.5:
//   {"bn": base name, "bt": base time, "e": [{"n": name, "v"|"sv"|"bv"|"ov": value, "t": time}]}
// Name = bn + n (as SenML, RFC 8428 §4.5.1); time = bt + t. Opaque goes in "sv" as base64,
// Objlnk in "ov" as "3:0".
import { badPayload, guard } from './codec-error.ts';
import { PathError, formatPath, parsePath } from './path.ts';
import { namesFor } from './senml.ts';
import { encodeBase64 } from './values.ts';
import { parseJsonExact } from './exact-json.ts';
import { floatValueLiterals } from './json-float-literals.ts';
import type { LwM2mPath } from './path.ts';
import type { WireRecord, WireValue } from './records.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
const MAX_RECORDS = 100_000;

function field<T>(o: Record<string, unknown>, k: string, type: 'string' | 'number' | 'boolean'): T | undefined {
  const raw = o[k];
  const v = typeof raw === 'bigint' && type === 'number' ? Number(raw) : raw; // a time: as JSON.parse reads it
  if (v === undefined) return undefined;
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v as number))) {
    throw badPayload(`lwm2m-json: "${k}" is not a ${type}`);
  }
  return v as T;
}


/**
 * `requestPath`, when given, names the records of a payload without "bn" whose "n" is relative
 * ({"e":[{"n":"0",...}]} answering /3/0), as some LwM2M 1.0 clients send it.
 */
export function decodeLwm2mJson(payload: Uint8Array, requestPath?: LwM2mPath): WireRecord[] {
  const text = guard('lwm2m-json', () => utf8.decode(payload));
  const doc = guard('lwm2m-json', () => parseJsonExact(text)); // 64-bit integers exactly
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badPayload('lwm2m-json: not an object');
  const root = doc as Record<string, unknown>;
  const explicitBn = field<string>(root, 'bn', 'string');
  const bt = field<number>(root, 'bt', 'number');
  const e = root['e'];
  if (!Array.isArray(e)) throw badPayload('lwm2m-json: "e" is not an array');
  if (e.length > MAX_RECORDS) throw badPayload('lwm2m-json: too many records');
  const floats = floatValueLiterals(text, { recordDepth: 3, rootKey: 'e' });
  return e.map((item: unknown, index: number): WireRecord => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw badPayload('lwm2m-json: a record is not an object');
    const o = item as Record<string, unknown>;
    const n = field<string>(o, 'n', 'string') ?? '';
    const bn = explicitBn ?? (requestPath && !n.startsWith('/') ? `${formatPath(requestPath)}/` : '');
    const name = bn + n;
    let path: LwM2mPath;
    try {
      path = parsePath(name);
    } catch (err) {
      if (err instanceof PathError) throw badPayload(`lwm2m-json: name "${name.slice(0, 60)}" is not an LwM2M path`);
      throw err;
    }
    if (path.length !== 3 && path.length !== 4) throw badPayload(`lwm2m-json: ${formatPath(path)} is not a resource path`);
    const values: WireValue[] = [];
    const v = typeof o['v'] === 'bigint' ? o['v'] : field<number>(o, 'v', 'number'); // bigint: an integer past 2^53
    const sv = field<string>(o, 'sv', 'string');
    const bv = field<boolean>(o, 'bv', 'boolean');
    const ov = field<string>(o, 'ov', 'string');
    if (v !== undefined) values.push(floats[index] ? { kind: 'number', value: Number(v), float: true } : { kind: 'number', value: v });
    if (sv !== undefined) values.push({ kind: 'string', value: sv });
    if (bv !== undefined) values.push({ kind: 'boolean', value: bv });
    if (ov !== undefined) values.push({ kind: 'objlnk', value: ov });
    if (values.length !== 1) throw badPayload(`lwm2m-json: record ${formatPath(path)} needs exactly one value`);
    const t = field<number>(o, 't', 'number');
    const time = bt !== undefined || t !== undefined ? (bt ?? 0) + (t ?? 0) : undefined;
    return time === undefined ? { path, value: values[0]! } : { path, value: values[0]!, time };
  });
}

/**
 * A JSON number literal for `value`; a float stays a float literal even when integral (21 -> 21.0,
 * RFC 8259 §6), so a resource without a model on the other side reads it back as a float.
 */
function numberLiteral(value: number | bigint, float: boolean | undefined): string {
  if (typeof value === 'bigint') return float ? numberLiteral(Number(value), true) : value.toString(); // every digit
  const text = JSON.stringify(value);
  return float && /^-?\d+$/.test(text) ? `${text}.0` : text;
}

export function encodeLwm2mJson(records: readonly WireRecord[]): Uint8Array {
  const { bn, names } = namesFor(records.map((r) => r.path));
  const e = records.map((r, i) => {
    // JSON.stringify cannot write 21.0, so each record's members are written here
    const members: string[] = [`"n":${JSON.stringify(names[i])}`];
    const w = r.value;
    switch (w.kind) {
      case 'number':
        if (typeof w.value === 'number' && !Number.isFinite(w.value)) throw badPayload('lwm2m-json: JSON cannot carry a non-finite number');
        members.push(`"v":${numberLiteral(w.value, w.float)}`);
        break;
      case 'string': members.push(`"sv":${JSON.stringify(w.value)}`); break;
      case 'boolean': members.push(`"bv":${JSON.stringify(w.value)}`); break;
      case 'opaque': members.push(`"sv":${JSON.stringify(encodeBase64(w.value))}`); break;
      case 'objlnk': members.push(`"ov":${JSON.stringify(w.value)}`); break;
    }
    if (r.time !== undefined) members.push(`"t":${JSON.stringify(r.time)}`);
    return `{${members.join(',')}}`;
  });
  const head = bn === undefined ? '' : `"bn":${JSON.stringify(bn)},`;
  return utf8Encoder.encode(`{${head}"e":[${e.join(',')}]}`);
}
