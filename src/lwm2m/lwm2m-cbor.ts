// LwM2M CBOR (Content-Format 11544), LwM2M 1.2 TS Core §7.4.6: nested CBOR maps keyed by
// Object ID, Object Instance ID, Resource ID and Resource Instance ID, always from the root.
// A key may also be an array of ids standing for several levels at once ({[3,0]: {...}}),
// which we accept on decode; we write one id per level. The format carries no timestamps.
import { CodecError, badPayload } from './codec-error.ts';
import { CborFloat, cborDecode, cborEncode, cborInteger, cborToWire } from './cbor-value.ts';
import { formatPath } from './path.ts';
import type { LwM2mPath } from './path.ts';
import type { WireRecord } from './records.ts';

const MAX_RECORDS = 100_000;

function keyIds(key: unknown): number[] {
  const ids = Array.isArray(key) ? key : [key];
  if (ids.length === 0) throw badPayload('lwm2m-cbor: empty path key');
  return ids.map((id: unknown) => {
    const n = typeof id === 'bigint' ? Number(id) : id;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw badPayload('lwm2m-cbor: a key is not an id');
    return n;
  });
}

/**
 * The paths ("3/0/9") whose value is a CBOR float: major type 7 with additional information 25,
 * 26 or 27, a half, single or double (RFC 8949 §3.3). cbor-x hands back plain numbers, so 1.0 and
 * 1 would look the same; a device that sent a float meant a float (LwM2M 1.2 TS Core §7.4.6 maps
 * the Float data type to major type 7). Runs on a payload checkCborWellFormed accepted; a key that
 * is not an id or an array of ids gives no mark (walk refuses it anyway). A repeated key follows
 * the decoder: the last value wins.
 */
export function floatValuePaths(b: Uint8Array): Set<string> {
  const floats = new Set<string>();
  let i = 0;
  const head = (): { major: number; arg: number; indefinite: boolean } => {
    const ib = b[i++]!;
    const info = ib & 0x1f;
    let arg = info;
    if (info >= 24 && info <= 27) {
      arg = 0;
      for (let k = 0, n = 1 << (info - 24); k < n; k++) arg = arg * 256 + b[i++]!;
    }
    return { major: ib >> 5, arg, indefinite: info === 31 };
  };
  // calls `each` once per item (per entry for a map) of a container whose head was just read
  const items = (count: number, indefinite: boolean, each: () => void): void => {
    if (!indefinite) {
      for (let k = 0; k < count; k++) each();
      return;
    }
    while (i < b.length && b[i] !== 0xff) each();
    i++; // the break
  };
  const skip = (): void => {
    const h = head();
    if (h.major === 2 || h.major === 3) {
      if (h.indefinite) items(0, true, skip);
      else i += h.arg;
    } else if (h.major === 4) items(h.arg, h.indefinite, skip);
    else if (h.major === 5) items(h.arg, h.indefinite, () => { skip(); skip(); });
    else if (h.major === 6) skip();
  };
  const key = (): number[] | undefined => {
    const start = i;
    const h = head();
    if (h.major === 0) return [h.arg];
    if (h.major === 4 && !h.indefinite) {
      const ids: number[] = [];
      for (let k = 0; k < h.arg; k++) {
        const e = head();
        if (e.major !== 0) {
          i = start;
          skip();
          return undefined;
        }
        ids.push(e.arg);
      }
      return ids;
    }
    i = start;
    skip();
    return undefined;
  };
  const map = (base: number[], count: number, indefinite: boolean): void => {
    items(count, indefinite, () => {
      const ids = key();
      // deeper than a resource instance: walk refuses it, and a bounded path keeps this linear
      const path = ids === undefined || base.length + ids.length > 4 ? undefined : [...base, ...ids];
      const vb = b[i]!;
      if (vb >> 5 === 5 && path !== undefined) {
        const h = head();
        map(path, h.arg, h.indefinite);
        return;
      }
      if (path !== undefined) {
        const info = vb & 0x1f;
        if (vb >> 5 === 7 && info >= 25 && info <= 27) floats.add(path.join('/'));
        else floats.delete(path.join('/'));
      }
      skip();
    });
  };
  if (b.length === 0 || b[0]! >> 5 !== 5) return floats;
  const top = head();
  map([], top.arg, top.indefinite);
  return floats;
}

function walk(node: Map<unknown, unknown>, base: LwM2mPath, out: WireRecord[], floats: ReadonlySet<string>): void {
  for (const [key, value] of node) {
    const path = [...base, ...keyIds(key)];
    if (path.length > 4) throw badPayload(`lwm2m-cbor: path ${formatPath(path)} is deeper than a resource instance`);
    if (value instanceof Map) {
      walk(value as Map<unknown, unknown>, path, out, floats);
      continue;
    }
    if (path.length < 3) throw badPayload(`lwm2m-cbor: a value at ${formatPath(path)}, above resource level`);
    const wire = cborToWire(value);
    if (wire === undefined) throw badPayload(`lwm2m-cbor: unsupported value at ${formatPath(path)}`);
    if (out.length >= MAX_RECORDS) throw badPayload('lwm2m-cbor: too many values');
    out.push({ path, value: wire.kind === 'number' && floats.has(path.join('/')) ? { ...wire, float: true } : wire });
  }
}

export function decodeLwm2mCbor(payload: Uint8Array): WireRecord[] {
  const doc = cborDecode(payload, 'lwm2m-cbor');
  if (!(doc instanceof Map)) throw badPayload('lwm2m-cbor: not a map');
  const out: WireRecord[] = [];
  walk(doc as Map<unknown, unknown>, [], out, floatValuePaths(payload));
  return out;
}

export function encodeLwm2mCbor(records: readonly WireRecord[]): Uint8Array {
  const root = new Map<number, unknown>();
  for (const r of records) {
    if (r.time !== undefined) throw new CodecError('UNSUPPORTED_FORMAT', 'lwm2m-cbor cannot carry timestamps');
    let node = root;
    for (const id of r.path.slice(0, -1)) {
      let next = node.get(id);
      if (next === undefined) {
        next = new Map<number, unknown>();
        node.set(id, next);
      }
      if (!(next instanceof Map)) throw badPayload(`lwm2m-cbor: ${formatPath(r.path)} lies below a value`);
      node = next as Map<number, unknown>;
    }
    const last = r.path[r.path.length - 1]!;
    if (node.has(last)) throw badPayload(`lwm2m-cbor: ${formatPath(r.path)} appears twice`);
    const w = r.value;
    // a float stays major type 7 even when integral, an integer major type 0/1 even past 32 bits;
    // objlnk goes as its "3:0" text
    node.set(last, w.kind !== 'number' ? w.value : w.float ? new CborFloat(Number(w.value)) : cborInteger(w.value));
  }
  return cborEncode(root);
}
