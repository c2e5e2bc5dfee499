// SenML CBOR (Content-Format 112), RFC 8428 §6: integer labels (bn -2, bt -3, bv -5, bver -1,
// n 0, v 2, vs 3, vb 4, t 6, vd 8) and "vd" as a byte string; LwM2M adds the text label "vlo".
import { badPayload } from './codec-error.ts';
import { CborFloat, cborDecode, cborEncode, cborInteger } from './cbor-value.ts';
import { normalizeInteger } from './integers.ts';
import { labelError, pathsToSenml, resolveSenmlRecords, senmlToPaths, toSenml } from './senml.ts';
import { decodeBase64Any } from './values.ts';
import type { SenmlRecord } from './senml.ts';
import type { WireRecord } from './records.ts';
import type { LwM2mPath } from './path.ts';

const LABELS: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };
const NAMES = new Map<number, string>(Object.entries(LABELS).map(([k, v]) => [v, k]));

function toNumber(v: unknown, label: string): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw labelError(label, 'number');
  return v;
}

/**
 * For each record, whether its value (label 2, "v") is a CBOR float: major type 7 with additional
 * information 25, 26 or 27, a half, single or double (RFC 8949 §3.3). The decoder hands back plain
 * numbers, so 1.0 and 1 would look the same; a device that sent a float meant a float. Runs on a
 * payload cborDecode already found well-formed; anything unexpected yields no marks.
 */
export function floatValueItems(b: Uint8Array): boolean[] {
  let i = 0;
  const head = (): { major: number; len: number } => {
    const ib = b[i++]!;
    const ai = ib & 0x1f;
    let len = ai;
    if (ai === 24) len = b[i++]!;
    else if (ai === 25) { len = b[i]! * 256 + b[i + 1]!; i += 2; }
    else if (ai === 26) { len = ((b[i]! * 256 + b[i + 1]!) * 256 + b[i + 2]!) * 256 + b[i + 3]!; i += 4; }
    else if (ai === 27) { len = 0; for (let k = 0; k < 8; k++) len = len * 256 + b[i + k]!; i += 8; }
    else if (ai === 31) len = -1; // indefinite length
    if (i > b.length) throw new Error('truncated');
    return { major: ib >> 5, len };
  };
  const items = (len: number, each: () => void): void => {
    if (len >= 0) for (let k = 0; k < len; k++) each();
    else {
      while (b[i] !== 0xff) {
        if (i >= b.length) throw new Error('truncated');
        each();
      }
      i++;
    }
  };
  const skip = (): void => {
    const h = head();
    if (h.major === 2 || h.major === 3) {
      if (h.len >= 0) i += h.len;
      else items(-1, skip);
    } else if (h.major === 4) items(h.len, skip);
    else if (h.major === 5) items(h.len, () => { skip(); skip(); });
    else if (h.major === 6) skip();
  };
  try {
    const top = head();
    if (top.major !== 4) return [];
    const out: boolean[] = [];
    items(top.len, () => {
      const start = i;
      const m = head();
      let isFloat = false;
      if (m.major !== 5) {
        i = start;
        skip();
      } else {
        items(m.len, () => {
          const k = head();
          let key: number | string | undefined;
          if (k.major === 0) key = k.len;
          else if (k.major === 1) key = -1 - k.len;
          else if (k.major === 3 && k.len >= 0) { key = Buffer.from(b.subarray(i, i + k.len)).toString('utf8'); i += k.len; }
          else throw new Error('unexpected key');
          const vb = b[i]!;
          if ((key === 2 || key === 'v') && vb >> 5 === 7 && (vb & 0x1f) >= 25 && (vb & 0x1f) <= 27) isFloat = true;
          skip();
        });
      }
      out.push(isFloat);
    });
    return out;
  } catch {
    return [];
  }
}

function parse(payload: Uint8Array): SenmlRecord[] {
  const doc = cborDecode(payload, 'senml-cbor');
  if (!Array.isArray(doc)) throw badPayload('senml-cbor: not an array of records');
  const floats = floatValueItems(payload);
  return doc.map((item: unknown, index: number): SenmlRecord => {
    if (!(item instanceof Map)) throw badPayload('senml-cbor: a record is not a map');
    const r: SenmlRecord = {};
    for (const [key, v] of item as Map<unknown, unknown>) {
      const label = typeof key === 'number' ? NAMES.get(key) : typeof key === 'string' ? key : undefined;
      if (label === undefined) {
        continue; // unknown labels are ignored (RFC 8428 §4.4) unless they end in "_"
      }
      if (label.endsWith('_')) throw badPayload(`senml-cbor: unsupported must-understand label "${label}"`);
      switch (label) {
        case 'bn': case 'n': case 'vs': case 'vlo':
          if (typeof v !== 'string') throw labelError(label, 'text string');
          r[label] = v;
          break;
        case 'bt': case 'bv': case 'bver': case 't':
          r[label] = toNumber(v, label);
          break;
        case 'v': // an 8-byte integer (1b / 3b) stays exact: a bigint past 2^53
          if (typeof v === 'bigint') r.v = normalizeInteger(v);
          else r.v = toNumber(v, label);
          break;
        case 'vb':
          if (typeof v !== 'boolean') throw labelError(label, 'boolean');
          r.vb = v;
          break;
        case 'vd':
          if (v instanceof Uint8Array) r.vd = new Uint8Array(v);
          else if (typeof v === 'string') r.vd = decodeBase64Any(v); // lenient: base64 text
          else throw labelError(label, 'byte string');
          break;
        default:
          break; // bu, bs, u, s, ut: no LwM2M meaning
      }
    }
    if (floats[index]) r.vFloat = true;
    return r;
  });
}

function serialize(records: readonly SenmlRecord[]): Uint8Array {
  return cborEncode(records.map((r) => {
    const m = new Map<number | string, unknown>();
    for (const [k, v] of Object.entries(r)) {
      if (v === undefined || k === 'vFloat') continue;
      // a float value is CBOR major type 7 even when integral (RFC 8949 §3.3)
      // an integer is major type 0/1 even past 32 bits (cborInteger)
      m.set(LABELS[k] ?? k, k === 'v' && r.vFloat ? new CborFloat(Number(v)) : typeof v === 'number' || typeof v === 'bigint' ? cborInteger(v) : v);
    }
    return m;
  }));
}

export function decodeSenmlCbor(payload: Uint8Array): WireRecord[] {
  return resolveSenmlRecords(parse(payload));
}

export function encodeSenmlCbor(records: readonly WireRecord[]): Uint8Array {
  return serialize(toSenml(records));
}

export function decodeSenmlCborPaths(payload: Uint8Array): LwM2mPath[] {
  return senmlToPaths(parse(payload));
}

export function encodeSenmlCborPaths(paths: readonly LwM2mPath[]): Uint8Array {
  return serialize(pathsToSenml(paths));
}
