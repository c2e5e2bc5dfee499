// SenML JSON (Content-Format 110), RFC 8428 §5 as profiled by LwM2M 1.1 TS Core §7.4.4.
// "vd" is base64url (RFC 8428 §5); standard base64 is accepted on decode. "vlo" carries Objlnk.
import { badPayload, guard } from './codec-error.ts';
import { labelError, pathsToSenml, resolveSenmlRecords, senmlToPaths, toSenml } from './senml.ts';
import { decodeBase64Any, encodeBase64Url } from './values.ts';
import { parseJsonExact } from './exact-json.ts';
import { floatValueLiterals } from './json-float-literals.ts';
import type { SenmlRecord } from './senml.ts';
import type { WireRecord } from './records.ts';
import type { LwM2mPath } from './path.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function num(obj: Record<string, unknown>, k: string): number | undefined {
  const raw = obj[k];
  const v = typeof raw === 'bigint' ? Number(raw) : raw; // a time or base value: as JSON.parse reads it
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw labelError(k, 'number');
  return v;
}

/** "v": a number, or a bigint for an integer literal past 2^53 (exact-json.ts) */
function value(obj: Record<string, unknown>): number | bigint | undefined {
  const v = obj['v'];
  return typeof v === 'bigint' ? v : num(obj, 'v');
}

function str(obj: Record<string, unknown>, k: string): string | undefined {
  const v = obj[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw labelError(k, 'string');
  return v;
}


function parse(payload: Uint8Array): SenmlRecord[] {
  const text = guard('senml-json', () => utf8.decode(payload));
  const doc = guard('senml-json', () => parseJsonExact(text));
  if (!Array.isArray(doc)) throw badPayload('senml-json: not an array of records');
  const floats = floatValueLiterals(text, { recordDepth: 2 });
  return doc.map((item: unknown, index: number): SenmlRecord => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw badPayload('senml-json: a record is not an object');
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k.endsWith('_')) throw badPayload(`senml-json: unsupported must-understand label "${k}"`); // RFC 8428 §4.4
    }
    const vb = o['vb'];
    if (vb !== undefined && typeof vb !== 'boolean') throw labelError('vb', 'boolean');
    const vd = str(o, 'vd');
    const r: SenmlRecord = {
      bn: str(o, 'bn'), bt: num(o, 'bt'), bv: num(o, 'bv'), bver: num(o, 'bver'),
      n: str(o, 'n'), t: num(o, 't'), v: value(o), vs: str(o, 'vs'), vb: vb as boolean | undefined,
      vd: vd === undefined ? undefined : decodeBase64Any(vd), vlo: str(o, 'vlo'),
      ...(floats[index] ? { vFloat: true } : {}),
    };
    return r;
  });
}

/** A float value stays a float literal even when integral (21 -> 21.0, RFC 8259 §6). */
function floatLiteral(value: number | bigint): string {
  const text = String(Number(value));
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

function serialize(records: readonly SenmlRecord[]): Uint8Array {
  // written member by member: JSON.stringify cannot write 21.0
  const json = records.map((r) => {
    const members: string[] = [];
    for (const [k, v] of Object.entries(r)) {
      if (v === undefined || k === 'vFloat') continue;
      // a bigint is written with all its digits (JSON.stringify refuses bigints)
      const text = k === 'v' && r.vFloat ? floatLiteral(v as number | bigint) : typeof v === 'bigint' ? v.toString() : JSON.stringify(v instanceof Uint8Array ? encodeBase64Url(v) : v);
      members.push(`${JSON.stringify(k)}:${text}`);
    }
    return `{${members.join(',')}}`;
  });
  return utf8Encoder.encode(`[${json.join(',')}]`);
}

export function decodeSenmlJson(payload: Uint8Array): WireRecord[] {
  return resolveSenmlRecords(parse(payload));
}

export function encodeSenmlJson(records: readonly WireRecord[]): Uint8Array {
  for (const r of records) {
    if (r.value.kind === 'number' && typeof r.value.value === 'number' && !Number.isFinite(r.value.value)) throw badPayload('senml-json: JSON cannot carry a non-finite number');
  }
  return serialize(toSenml(records));
}

export function decodeSenmlJsonPaths(payload: Uint8Array): LwM2mPath[] {
  return senmlToPaths(parse(payload));
}

export function encodeSenmlJsonPaths(paths: readonly LwM2mPath[]): Uint8Array {
  return serialize(pathsToSenml(paths));
}
