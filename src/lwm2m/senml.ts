// SenML records (RFC 8428) as LwM2M uses them (LwM2M 1.1 TS Core §7.4.4): shared by the JSON
// (110) and CBOR (112) serializations, which differ only in labels and in how "vd" is carried.
import { CodecError, badPayload } from './codec-error.ts';
import { PathError, formatPath, parsePath } from './path.ts';
import { normalizeInteger } from './integers.ts';
import type { LwM2mPath } from './path.ts';
import type { WireRecord, WireValue } from './records.ts';

/** One SenML record with its labels by name; vd already as bytes or (JSON) base64url text. */
export type SenmlRecord = {
  bn?: string; bt?: number; bv?: number; bver?: number;
  n?: string; t?: number;
  /** a bigint for an integer past 2^53, read exactly (integers.ts) */
  v?: number | bigint; vs?: string; vb?: boolean; vd?: Uint8Array; vlo?: string;
  /** v is written as a float (JSON 82.0 or 1e2, a CBOR float): read from the wire, or asked of the encoder */
  vFloat?: boolean;
};

const MAX_RECORDS = 100_000;

function toPath(name: string): LwM2mPath {
  try {
    return parsePath(name);
  } catch (err) {
    if (err instanceof PathError) throw badPayload(`senml: name "${name.slice(0, 60)}" is not an LwM2M path`);
    throw err;
  }
}

/** v + bv (RFC 8428 §4.5.2), exact when both are integers, one of them past 2^53. */
function withBase(v: number | bigint, bv: number): number | bigint {
  if (typeof v === 'number') return v + bv;
  return Number.isInteger(bv) ? normalizeInteger(v + BigInt(bv)) : Number(v) + bv;
}

/**
 * Resolves base name and base time (RFC 8428 §4.5.1): the name is bn + n and a base field
 * applies to its own record and every later one until the next base field of the same kind.
 * A record's time is bt + t when either is present (§4.5.3; kept as given, not made absolute).
 */
export function resolveSenml(records: readonly SenmlRecord[], valuesRequired: boolean): Array<{ path: LwM2mPath; value?: WireValue; time?: number }> {
  if (records.length > MAX_RECORDS) throw badPayload('senml: too many records');
  let bn = '';
  let bt: number | undefined;
  let bv = 0;
  return records.map((r) => {
    if (r.bn !== undefined) bn = r.bn;
    if (r.bt !== undefined) bt = r.bt;
    if (r.bv !== undefined) bv = r.bv;
    if (r.bver !== undefined && r.bver > 10) throw badPayload(`senml: unsupported version ${r.bver}`);
    const name = bn + (r.n ?? '');
    if (name === '') throw badPayload('senml: record without a name');
    const path = toPath(name);
    const values: WireValue[] = [];
    if (r.v !== undefined) {
      const v = withBase(r.v, bv);
      values.push(r.vFloat || (typeof v === 'number' && !Number.isInteger(v)) ? { kind: 'number', value: Number(v), float: true } : { kind: 'number', value: v });
    }
    if (r.vs !== undefined) values.push({ kind: 'string', value: r.vs });
    if (r.vb !== undefined) values.push({ kind: 'boolean', value: r.vb });
    if (r.vd !== undefined) values.push({ kind: 'opaque', value: r.vd });
    if (r.vlo !== undefined) values.push({ kind: 'objlnk', value: r.vlo });
    if (values.length > 1) throw badPayload(`senml: record ${formatPath(path)} has more than one value`);
    if (valuesRequired && values.length === 0) throw badPayload(`senml: record ${formatPath(path)} has no value`);
    const time = bt !== undefined || r.t !== undefined ? (bt ?? 0) + (r.t ?? 0) : undefined;
    return { path, value: values[0], time };
  });
}

export function resolveSenmlRecords(records: readonly SenmlRecord[]): WireRecord[] {
  return resolveSenml(records, true).map((r) => {
    if (r.path.length !== 3 && r.path.length !== 4) {
      throw badPayload(`senml: record ${formatPath(r.path)} does not name a resource or resource instance`);
    }
    return r.time === undefined ? { path: r.path, value: r.value! } : { path: r.path, value: r.value!, time: r.time };
  });
}

/**
 * RFC 8428 §4.5.3: a resolved time below 2^28 is relative to the time of reception (a device
 * without a clock sends t=-5 for "five seconds ago"); larger values are seconds since the epoch.
 * Codecs return times as written; the receiver, which knows `nowSeconds`, calls this.
 */
export function absoluteTime(time: number, nowSeconds: number): number {
  return time < 2 ** 28 ? nowSeconds + time : time;
}

/** The longest path prefix shared by all paths, kept shorter than the shortest path. */
export function commonPrefix(paths: readonly LwM2mPath[]): LwM2mPath {
  if (paths.length === 0) return [];
  let prefix = paths[0]!.slice(0, Math.min(...paths.map((p) => p.length)) - 1);
  for (const p of paths) {
    let i = 0;
    while (i < prefix.length && prefix[i] === p[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

/** Base name + relative names, as in the Core §7.4.4 examples ({"bn":"/3/0/","n":"0"}). */
export function namesFor(paths: readonly LwM2mPath[]): { bn?: string; names: string[] } {
  const prefix = commonPrefix(paths);
  if (prefix.length === 0) return { names: paths.map(formatPath) };
  return { bn: `${formatPath(prefix)}/`, names: paths.map((p) => p.slice(prefix.length).join('/')) };
}

export function toSenml(records: readonly WireRecord[]): SenmlRecord[] {
  const { bn, names } = namesFor(records.map((r) => r.path));
  return records.map((r, i) => {
    const out: SenmlRecord = {};
    if (i === 0 && bn !== undefined) out.bn = bn;
    out.n = names[i]!;
    const w = r.value;
    switch (w.kind) {
      case 'number':
        out.v = w.value;
        if (w.float) out.vFloat = true; // a Float resource leaves as a float even when integral
        break;
      case 'string': out.vs = w.value; break;
      case 'boolean': out.vb = w.value; break;
      case 'opaque': out.vd = w.value; break;
      case 'objlnk': out.vlo = w.value; break;
    }
    if (r.time !== undefined) out.t = r.time;
    return out;
  });
}

export function pathsToSenml(paths: readonly LwM2mPath[]): SenmlRecord[] {
  return paths.map((p) => ({ n: formatPath(p) }));
}

export function senmlToPaths(records: readonly SenmlRecord[]): LwM2mPath[] {
  return resolveSenml(records, false).map((r) => r.path);
}

export function labelError(label: string, expected: string): CodecError {
  return badPayload(`senml: label "${label}" is not a ${expected}`);
}
