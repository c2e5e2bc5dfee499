// OMA-TLV (Content-Format 11542), LwM2M 1.1 TS Core §7.4.3.
// Type byte: bits 7-6 identifier type (00 object instance, 01 resource instance,
// 10 multiple resource, 11 resource with value); bit 5 identifier length (0: 8 bits,
// 1: 16 bits); bits 4-3 length type (00: length in bits 2-0, 01/10/11: 8/16/24-bit length field).
import { CodecError, badPayload } from './codec-error.ts';
import { formatPath } from './path.ts';
import { normalizeInteger } from './integers.ts';
import { checkValue, copyBytes } from './values.ts';
import type {
  LwM2mNode, ObjectInstance, ObjectLink, Resource, ResourceType, ResourceValue,
} from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';

const Kind = { Instance: 0, ResourceInstance: 1, MultipleResource: 2, Resource: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

type Tlv = { kind: Kind; id: number; value: Uint8Array };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();
const MAX_DEPTH_ENTRIES = 65536; // no payload of ours holds more entries per level

/** Splits one level of TLV entries; every length is checked against the bytes left. */
function readEntries(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p < buf.length) {
    if (out.length >= MAX_DEPTH_ENTRIES) throw badPayload('tlv: too many entries');
    const type = buf[p++]!;
    const idLen = type & 0x20 ? 2 : 1;
    const lenType = (type >> 3) & 0x03;
    if (p + idLen + lenType > buf.length) throw badPayload('tlv: truncated header');
    let id = buf[p++]!;
    if (idLen === 2) id = (id << 8) | buf[p++]!;
    let len = type & 0x07;
    if (lenType > 0) {
      len = 0;
      for (let i = 0; i < lenType; i++) len = (len << 8) | buf[p++]!;
    }
    if (len > buf.length - p) throw badPayload(`tlv: entry length ${len} exceeds the ${buf.length - p} bytes left`);
    out.push({ kind: (type >> 6) as Kind, id, value: buf.subarray(p, p + len) });
    p += len;
  }
  return out;
}

function mismatch(type: ResourceType, len: number, where: string): CodecError {
  return new CodecError('TYPE_MISMATCH', `tlv: ${len} bytes are not a valid ${type} at ${where}`);
}

/** Appendix C, TLV column. */
function decodeValue(bytes: Uint8Array, type: ResourceType, where: string): ResourceValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'string':
    case 'corelnk':
      try {
        return utf8.decode(bytes);
      } catch {
        throw new CodecError('TYPE_MISMATCH', `tlv: string at ${where} is not valid UTF-8`);
      }
    case 'integer':
    case 'time':
      switch (bytes.length) {
        case 1: return view.getInt8(0);
        case 2: return view.getInt16(0);
        case 4: return view.getInt32(0);
        case 8: return normalizeInteger(view.getBigInt64(0)); // exact: bigint beyond 2^53 (integers.ts)
        default: throw mismatch(type, bytes.length, where);
      }
    case 'unsigned':
      switch (bytes.length) {
        case 1: return view.getUint8(0);
        case 2: return view.getUint16(0);
        case 4: return view.getUint32(0);
        case 8: return normalizeInteger(view.getBigUint64(0));
        default: throw mismatch(type, bytes.length, where);
      }
    case 'float':
      if (bytes.length === 4) return view.getFloat32(0);
      if (bytes.length === 8) return view.getFloat64(0);
      throw mismatch(type, bytes.length, where);
    case 'boolean':
      if (bytes.length === 1 && bytes[0]! <= 1) return bytes[0] === 1;
      throw mismatch(type, bytes.length, where);
    case 'objlnk':
      if (bytes.length !== 4) throw mismatch(type, bytes.length, where);
      return { objectId: view.getUint16(0), instanceId: view.getUint16(2) };
    case 'opaque':
      return copyBytes(bytes);
    case 'none':
      throw new CodecError('TYPE_MISMATCH', `tlv: executable resource ${where} has no value`);
  }
}

/** The shortest of 1, 2, 4 or 8 bytes that holds `n` (Appendix C: Integer and Unsigned Integer in TLV). */
function intBytes(n: number | bigint, unsigned: boolean): Uint8Array {
  const fits = unsigned
    ? [[1, 0xff], [2, 0xffff], [4, 0xffffffff]] as const
    : [[1, 0x7f], [2, 0x7fff], [4, 0x7fffffff]] as const;
  if (typeof n === 'number') {
    for (const [size, max] of fits) {
      if (n <= max && n >= (unsigned ? 0 : -max - 1)) {
        const b = new Uint8Array(size);
        const v = new DataView(b.buffer);
        if (size === 1) unsigned ? v.setUint8(0, n) : v.setInt8(0, n);
        else if (size === 2) unsigned ? v.setUint16(0, n) : v.setInt16(0, n);
        else unsigned ? v.setUint32(0, n) : v.setInt32(0, n);
        return b;
      }
    }
  }
  const b = new Uint8Array(8);
  if (unsigned) new DataView(b.buffer).setBigUint64(0, BigInt(n));
  else new DataView(b.buffer).setBigInt64(0, BigInt(n));
  return b;
}

function encodeValue(value: ResourceValue, type: ResourceType, where: string): Uint8Array {
  checkValue(value, type, where);
  switch (type) {
    case 'string':
    case 'corelnk':
      return utf8Encoder.encode(value as string);
    case 'integer':
    case 'time':
    case 'unsigned':
      return intBytes(value as number | bigint, type === 'unsigned'); // checkValue: inside the 64-bit range
    case 'float': {
      const n = value as number;
      const b = new Uint8Array(Object.is(Math.fround(n), n) || Number.isNaN(n) ? 4 : 8);
      const v = new DataView(b.buffer);
      if (b.length === 4) v.setFloat32(0, n);
      else v.setFloat64(0, n);
      return b;
    }
    case 'boolean':
      return Uint8Array.of(value ? 1 : 0);
    case 'objlnk': {
      const { objectId, instanceId } = value as ObjectLink;
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint16(0, objectId);
      new DataView(b.buffer).setUint16(2, instanceId);
      return b;
    }
    case 'opaque':
      return value as Uint8Array;
    case 'none':
      throw new CodecError('TYPE_MISMATCH', `tlv: executable resource ${where} has no value`);
  }
}

function header(kind: Kind, id: number, len: number): Uint8Array {
  if (len > 0xffffff) throw badPayload('tlv: entry longer than 16 MiB');
  const idLen = id > 0xff ? 2 : 1;
  const lenLen = len < 8 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3;
  const out = new Uint8Array(1 + idLen + lenLen);
  out[0] = (kind << 6) | (idLen === 2 ? 0x20 : 0) | (lenLen << 3) | (lenLen === 0 ? len : 0);
  let p = 1;
  if (idLen === 2) out[p++] = id >> 8;
  out[p++] = id & 0xff;
  for (let i = lenLen - 1; i >= 0; i--) out[p++] = (len >> (8 * i)) & 0xff;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

function entry(kind: Kind, id: number, value: Uint8Array): Uint8Array {
  return concat([header(kind, id, value.length), value]);
}

function encodeResource(r: Resource, where: string): Uint8Array {
  if (r.kind === 'resource') return entry(Kind.Resource, r.id, encodeValue(r.value, r.type, `${where}/${r.id}`));
  const inner = Object.entries(r.values).map(([id, v]) =>
    entry(Kind.ResourceInstance, Number(id), encodeValue(v, r.type, `${where}/${r.id}/${id}`)));
  return entry(Kind.MultipleResource, r.id, concat(inner));
}

function encodeInstanceBody(inst: ObjectInstance, where: string): Uint8Array {
  return concat(inst.resources.map((r) => encodeResource(r, where)));
}

/**
 * Encodes a node read at `path`: an object as a sequence of object-instance TLVs, an instance as
 * its resource TLVs, a resource as one resource (or multiple-resource) TLV, a resource instance
 * as one resource-instance TLV (Core §7.4.3.2 examples).
 */
export function encodeTlv(node: LwM2mNode, path: LwM2mPath): Uint8Array {
  const where = formatPath(path);
  switch (node.kind) {
    case 'object':
      return concat(node.instances.map((i) => entry(Kind.Instance, i.id, encodeInstanceBody(i, `${where}/${i.id}`))));
    case 'instance':
      return encodeInstanceBody(node, where);
    case 'resource':
    case 'multiResource':
      return encodeResource(node, formatPath(path.slice(0, 2)));
    case 'resourceInstance':
      return entry(Kind.ResourceInstance, node.id, encodeValue(node.value, node.type, where));
  }
}

function typeFor(objectId: number, resourceId: number, model: ModelLookup): ResourceType {
  return model.resource(objectId, resourceId)?.type ?? 'opaque'; // unknown resource: raw bytes
}

function decodeResource(t: Tlv, objectId: number, base: string, model: ModelLookup): Resource {
  const type = typeFor(objectId, t.id, model);
  const where = `${base}/${t.id}`;
  if (t.kind === Kind.Resource) return { kind: 'resource', id: t.id, type, value: decodeValue(t.value, type, where) };
  if (t.kind !== Kind.MultipleResource) throw badPayload(`tlv: expected a resource at ${where}`);
  return { kind: 'multiResource', id: t.id, type, values: decodeInstances(readEntries(t.value), type, where) };
}

function decodeInstances(entries: readonly Tlv[], type: ResourceType, where: string): Record<number, ResourceValue> {
  const values: Record<number, ResourceValue> = {};
  for (const e of entries) {
    if (e.kind !== Kind.ResourceInstance) throw badPayload(`tlv: expected resource instances in ${where}`);
    if (Object.prototype.hasOwnProperty.call(values, e.id)) throw badPayload(`tlv: ${where}/${e.id} appears twice`);
    values[e.id] = decodeValue(e.value, type, `${where}/${e.id}`);
  }
  return values;
}

function decodeResources(entries: readonly Tlv[], objectId: number, where: string, model: ModelLookup): Resource[] {
  const seen = new Set<number>();
  return entries.map((e) => {
    if (seen.has(e.id)) throw badPayload(`tlv: ${where}/${e.id} appears twice`);
    seen.add(e.id);
    return decodeResource(e, objectId, where, model);
  });
}

function isResourceEntry(t: Tlv): boolean {
  return t.kind === Kind.Resource || t.kind === Kind.MultipleResource;
}

/** Decodes a TLV payload answering a request on `path`; the path gives the level. */
export function decodeTlv(payload: Uint8Array, path: LwM2mPath, model: ModelLookup): LwM2mNode {
  const entries = readEntries(payload);
  const where = formatPath(path);
  const [objectId, instanceId, resourceId] = path;
  switch (path.length) {
    case 1: {
      // A client may answer a single-instance object with the bare resources of instance 0.
      if (entries.length > 0 && entries.every(isResourceEntry)) {
        return { kind: 'object', id: objectId!, instances: [{ kind: 'instance', id: 0, resources: decodeResources(entries, objectId!, `${where}/0`, model) }] };
      }
      const seen = new Set<number>();
      const instances = entries.map((e): ObjectInstance => {
        if (e.kind !== Kind.Instance) throw badPayload(`tlv: expected object instances in ${where}`);
        if (seen.has(e.id)) throw badPayload(`tlv: ${where}/${e.id} appears twice`);
        seen.add(e.id);
        return { kind: 'instance', id: e.id, resources: decodeResources(readEntries(e.value), objectId!, `${where}/${e.id}`, model) };
      });
      return { kind: 'object', id: objectId!, instances };
    }
    case 2: {
      // Some clients wrap the resources in the object-instance TLV: accept that too.
      const only = entries.length === 1 ? entries[0]! : undefined;
      const body = only && only.kind === Kind.Instance && only.id === instanceId ? readEntries(only.value) : entries;
      return { kind: 'instance', id: instanceId!, resources: decodeResources(body, objectId!, where, model) };
    }
    case 3: {
      const type = typeFor(objectId!, resourceId!, model);
      if (entries.length === 1 && isResourceEntry(entries[0]!)) {
        if (entries[0]!.id !== resourceId) throw badPayload(`tlv: resource ${entries[0]!.id} in answer for ${where}`);
        return decodeResource(entries[0]!, objectId!, formatPath(path.slice(0, 2)), model);
      }
      // A multiple resource may also come as bare resource-instance TLVs.
      return { kind: 'multiResource', id: resourceId!, type, values: decodeInstances(entries, type, where) };
    }
    case 4: {
      const e = entries[0];
      if (entries.length !== 1 || (e!.kind !== Kind.ResourceInstance && e!.kind !== Kind.Resource) || e!.id !== path[3]) {
        throw badPayload(`tlv: expected one resource instance ${where}`);
      }
      const type = typeFor(objectId!, resourceId!, model);
      return { kind: 'resourceInstance', id: path[3]!, type, value: decodeValue(e!.value, type, where) };
    }
    default:
      throw new CodecError('UNSUPPORTED_FORMAT', 'tlv: no representation for the root path');
  }
}
