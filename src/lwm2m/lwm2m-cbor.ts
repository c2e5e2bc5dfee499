// LwM2M CBOR (Content-Format 11544), LwM2M 1.2 TS Core §7.4.6: nested CBOR maps keyed by
// Object ID, Object Instance ID, Resource ID and Resource Instance ID, always from the root.
// A key may also be an array of ids standing for several levels at once ({[3,0]: {...}}),
// which we accept on decode; we write one id per level. The format carries no timestamps.
import { CodecError, badPayload } from './codec-error.ts';
import { cborDecode, cborEncode, cborToWire } from './cbor-value.ts';
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

function walk(node: Map<unknown, unknown>, base: LwM2mPath, out: WireRecord[]): void {
  for (const [key, value] of node) {
    const path = [...base, ...keyIds(key)];
    if (path.length > 4) throw badPayload(`lwm2m-cbor: path ${formatPath(path)} is deeper than a resource instance`);
    if (value instanceof Map) {
      walk(value as Map<unknown, unknown>, path, out);
      continue;
    }
    if (path.length < 3) throw badPayload(`lwm2m-cbor: a value at ${formatPath(path)}, above resource level`);
    const wire = cborToWire(value);
    if (wire === undefined) throw badPayload(`lwm2m-cbor: unsupported value at ${formatPath(path)}`);
    if (out.length >= MAX_RECORDS) throw badPayload('lwm2m-cbor: too many values');
    out.push({ path, value: wire });
  }
}

export function decodeLwm2mCbor(payload: Uint8Array): WireRecord[] {
  const doc = cborDecode(payload, 'lwm2m-cbor');
  if (!(doc instanceof Map)) throw badPayload('lwm2m-cbor: not a map');
  const out: WireRecord[] = [];
  walk(doc as Map<unknown, unknown>, [], out);
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
    node.set(last, w.value); // objlnk as its "3:0" text
  }
  return cborEncode(root);
}
