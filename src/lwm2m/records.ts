// Between an LwM2mNode at a path and the flat leaf records that SenML, LwM2M JSON and LwM2M CBOR
// carry (RFC 8428 records named by resource or resource-instance path; LwM2M 1.1 TS Core §7.4.4).
// Formats decode into WireRecords (values as the wire typed them); typing through the model
// happens here, once, for every format.
import { CodecError, badPayload } from './codec-error.ts';
import { formatPath, isPrefixOf } from './path.ts';
import { fitsIntegerType, normalizeInteger } from './integers.ts';
import { checkValue, decodeBase64Any, formatObjectLink, naturalType, parseObjectLink } from './values.ts';
import { isObjectLink } from './node.ts';
import type {
  LwM2mNode, LwM2mRecord, ObjectInstance, Resource, ResourceType, ResourceValue,
} from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';

/** A value as the wire format typed it, before the object model is consulted. */
export type WireValue =
  /**
   * float: the wire wrote the number as a floating-point value (RFC 8428 / RFC 8949 §3.3);
   * an integer past 2^53 is a bigint, read exactly (integers.ts)
   */
  | { readonly kind: 'number'; readonly value: number | bigint; readonly float?: true }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'objlnk'; readonly value: string } // "3:0" (SenML "vlo", LwM2M JSON "ov")
  | { readonly kind: 'opaque'; readonly value: Uint8Array };

export type WireRecord = { readonly path: LwM2mPath; readonly value: WireValue; readonly time?: number };

function mismatch(where: string, wire: WireValue, type: ResourceType): CodecError {
  return new CodecError('TYPE_MISMATCH', `${where}: a ${wire.kind} value for a ${type} resource`);
}

/**
 * Types a wire value by the resource model. `type` undefined (unknown resource) keeps the
 * natural type. Opaque may arrive as a base64 string (LwM2M JSON "sv"), an object link as a
 * "3:0" string (LwM2M CBOR, CBOR 60).
 */
export function typeValue(wire: WireValue, type: ResourceType | undefined, where: string): ResourceValue {
  if (type === undefined) {
    if (wire.kind === 'number' && typeof wire.value === 'bigint' && !fitsIntegerType(wire.value, 'integer') && !fitsIntegerType(wire.value, 'unsigned')) {
      throw new CodecError('TYPE_MISMATCH', `${where}: ${wire.value} does not fit 64 bits`);
    }
    return wire.kind === 'objlnk' ? parseObjectLink(wire.value) : wire.kind === 'number' ? normalizeInteger(wire.value) : wire.value;
  }
  switch (type) {
    case 'string':
    case 'corelnk':
      if (wire.kind === 'string') return wire.value;
      throw mismatch(where, wire, type);
    case 'integer':
    case 'time':
    case 'unsigned':
      // Appendix C: signed / unsigned 64-bit, exactly (a bigint past 2^53)
      if (wire.kind === 'number' && fitsIntegerType(wire.value, type)) return normalizeInteger(wire.value);
      throw mismatch(where, wire, type);
    case 'float':
      if (wire.kind === 'number') return Number(wire.value);
      throw mismatch(where, wire, type);
    case 'boolean':
      if (wire.kind === 'boolean') return wire.value;
      throw mismatch(where, wire, type);
    case 'opaque':
      if (wire.kind === 'opaque') return wire.value;
      if (wire.kind === 'string') {
        try {
          return decodeBase64Any(wire.value);
        } catch {
          throw mismatch(where, wire, type);
        }
      }
      throw mismatch(where, wire, type);
    case 'objlnk':
      if (wire.kind === 'objlnk' || wire.kind === 'string') return parseObjectLink(wire.value);
      throw mismatch(where, wire, type);
    case 'none':
      throw mismatch(where, wire, type);
  }
}

function leafType(path: LwM2mPath, model: ModelLookup): ResourceType | undefined {
  return path.length >= 3 ? model.resource(path[0]!, path[2]!)?.type : undefined;
}

/** Types every decoded record through the model (unknown resources keep their natural type). */
export function typeRecords(records: readonly WireRecord[], model: ModelLookup): LwM2mRecord[] {
  return records.map((r) => {
    if (r.path.length < 3) throw badPayload(`record ${formatPath(r.path)} does not name a resource`);
    const type = leafType(r.path, model);
    const value = typeValue(r.value, type, formatPath(r.path));
    // an unknown resource keeps what the wire said: a float written as 82.0 is a float
    const hint = type === undefined && r.value.kind === 'number' && r.value.float ? { wireType: 'float' as const } : {};
    return r.time === undefined ? { path: r.path, value, ...hint } : { path: r.path, value, time: r.time, ...hint };
  });
}

/** The wire form of a value, chosen by its JavaScript type (what encoders write). */
export function toWire(value: ResourceValue): WireValue {
  if (typeof value === 'number' || typeof value === 'bigint') return { kind: 'number', value };
  if (typeof value === 'string') return { kind: 'string', value };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (value instanceof Uint8Array) return { kind: 'opaque', value };
  if (isObjectLink(value)) return { kind: 'objlnk', value: formatObjectLink(value) };
  throw new CodecError('TYPE_MISMATCH', 'unsupported value');
}

export function toWireRecords(records: readonly LwM2mRecord[]): WireRecord[] {
  return records.map((r) => {
    if (r.path.length !== 3 && r.path.length !== 4) {
      throw badPayload(`record ${formatPath(r.path)} is not a resource or resource instance path`);
    }
    const wire = toWire(r.value);
    const value = wire.kind === 'number' && r.wireType === 'float' ? { ...wire, float: true as const } : wire;
    return r.time === undefined ? { path: r.path, value } : { path: r.path, value, time: r.time };
  });
}

const LEVEL: Record<LwM2mNode['kind'], number> = { object: 1, instance: 2, resource: 3, multiResource: 3, resourceInstance: 4 };

function resourceRecords(base: LwM2mPath, r: Resource, out: LwM2mRecord[]): void {
  const path = [...base, r.id];
  // a Float resource leaves as a float even when integral (21.0), so it comes back a float
  const hint = r.type === 'float' ? { wireType: 'float' as const } : {};
  if (r.kind === 'resource') {
    out.push({ path, value: r.value, ...hint });
    return;
  }
  for (const [id, value] of Object.entries(r.values)) out.push({ path: [...path, Number(id)], value, ...hint });
}

/** Flattens a node read at `path` into leaf records (resource or resource-instance paths). */
export function nodeToRecords(node: LwM2mNode, path: LwM2mPath): LwM2mRecord[] {
  if (path.length !== LEVEL[node.kind] || path[path.length - 1] !== node.id) {
    throw badPayload(`a ${node.kind} ${node.id} cannot sit at ${formatPath(path)}`);
  }
  const out: LwM2mRecord[] = [];
  switch (node.kind) {
    case 'object':
      for (const inst of node.instances) for (const r of inst.resources) resourceRecords([node.id, inst.id], r, out);
      break;
    case 'instance':
      for (const r of node.resources) resourceRecords([path[0]!, node.id], r, out);
      break;
    case 'resource':
    case 'multiResource':
      resourceRecords(path.slice(0, 2), node, out);
      break;
    case 'resourceInstance':
      out.push(node.type === 'float' ? { path, value: node.value, wireType: 'float' } : { path, value: node.value });
      break;
  }
  return out;
}

function typeOf(objectId: number, resourceId: number, value: ResourceValue, model: ModelLookup, where: readonly number[], wireType?: ResourceType): ResourceType {
  const type = model.resource(objectId, resourceId)?.type;
  if (type === undefined) return wireType ?? naturalType(value);
  checkValue(value, type, where);
  return type;
}

function groupBy<T>(items: readonly T[], key: (t: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function buildResource(objectId: number, resourceId: number, records: readonly LwM2mRecord[], model: ModelLookup): Resource {
  const first = records[0]!;
  const where = first.path; // formatted only for an error
  if (first.path.length === 3) {
    if (records.length > 1) throw badPayload(`${formatPath(where)} appears more than once`);
    return { kind: 'resource', id: resourceId, type: typeOf(objectId, resourceId, first.value, model, where, first.wireType), value: first.value };
  }
  const values: Record<number, ResourceValue> = {};
  for (const r of records) {
    if (r.path.length !== 4) throw badPayload(`${formatPath(r.path)} mixes a resource value with resource instances`);
    if (Object.prototype.hasOwnProperty.call(values, r.path[3]!)) throw badPayload(`${formatPath(r.path)} appears more than once`);
    values[r.path[3]!] = r.value;
  }
  const type = typeOf(objectId, resourceId, first.value, model, where, records.some((r) => r.wireType === 'float') ? 'float' : undefined);
  for (const r of records) checkValue(r.value, type, r.path);
  return { kind: 'multiResource', id: resourceId, type, values };
}

function buildInstance(objectId: number, instanceId: number, records: readonly LwM2mRecord[], model: ModelLookup): ObjectInstance {
  const resources = [...groupBy(records, (r) => r.path[2]!)].map(([rid, rs]) => buildResource(objectId, rid, rs, model));
  return { kind: 'instance', id: instanceId, resources };
}

/** Rebuilds the node at `path` from leaf records that all lie at or below it. */
export function recordsToNode(records: readonly LwM2mRecord[], path: LwM2mPath, model: ModelLookup): LwM2mNode {
  for (const r of records) {
    if ((r.path.length !== 3 && r.path.length !== 4) || !isPrefixOf(path, r.path)) {
      throw badPayload(`record ${formatPath(r.path)} does not lie below ${formatPath(path)}`);
    }
  }
  const [objectId, instanceId, resourceId] = path;
  switch (path.length) {
    case 1: {
      const instances = [...groupBy(records, (r) => r.path[1]!)].map(([iid, rs]) => buildInstance(objectId!, iid, rs, model));
      return { kind: 'object', id: objectId!, instances };
    }
    case 2:
      return buildInstance(objectId!, instanceId!, records, model);
    case 3: {
      if (records.length === 0) {
        if (model.resource(objectId!, resourceId!)?.multiple) {
          return { kind: 'multiResource', id: resourceId!, type: model.resource(objectId!, resourceId!)!.type, values: {} };
        }
        throw badPayload(`no value for ${formatPath(path)}`);
      }
      return buildResource(objectId!, resourceId!, records, model);
    }
    case 4: {
      if (records.length !== 1) throw badPayload(`expected one value for ${formatPath(path)}, got ${records.length}`);
      const r = records[0]!;
      return { kind: 'resourceInstance', id: path[3]!, type: typeOf(objectId!, resourceId!, r.value, model, path, r.wireType), value: r.value };
    }
    default:
      throw badPayload('the root path has no single node');
  }
}
