// SenML CBOR (Content-Format 112), RFC 8428 §6: integer labels (bn -2, bt -3, bv -5, bver -1,
// n 0, v 2, vs 3, vb 4, t 6, vd 8) and "vd" as a byte string; LwM2M adds the text label "vlo".
import { badPayload } from './codec-error.ts';
import { cborDecode, cborEncode } from './cbor-value.ts';
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

function parse(payload: Uint8Array): SenmlRecord[] {
  const doc = cborDecode(payload, 'senml-cbor');
  if (!Array.isArray(doc)) throw badPayload('senml-cbor: not an array of records');
  return doc.map((item: unknown): SenmlRecord => {
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
        case 'bt': case 'bv': case 'bver': case 't': case 'v':
          r[label] = toNumber(v, label);
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
    return r;
  });
}

function serialize(records: readonly SenmlRecord[]): Uint8Array {
  return cborEncode(records.map((r) => {
    const m = new Map<number | string, unknown>();
    for (const [k, v] of Object.entries(r)) {
      if (v === undefined) continue;
      m.set(LABELS[k] ?? k, v);
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
