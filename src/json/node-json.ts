// JSON <-> LwM2M node conversion at the northbound edges (REST API bodies, MQTT commands). Opaque values travel as hex strings (as in
// Leshan's REST API), object links as "3:0" or { objectId, instanceId }, time as epoch seconds.
// 64-bit integers (Core 1.1 Appendix C): a value outside ±(2^53 - 1), which a JSON number cannot
// carry exactly to most readers, goes out as a decimal string beside its "type"; a write takes a
// number or a decimal string for an Integer / Unsigned Integer resource (the API's body parser
// reads long integer literals exactly, src/lwm2m/exact-json.ts).
import type { LwM2mNode, ObjectInstance, Resource, ResourceType, ResourceValue } from '../lwm2m/node.ts';
import type { ModelLookup, ResourceModel } from '../lwm2m/object-model.ts';
import { valueRangeProblem } from '../lwm2m/value-range.ts';
import { naturalType } from '../lwm2m/values.ts';
import { asBigInt, fitsIntegerType, normalizeInteger, parseDecimalInteger } from '../lwm2m/integers.ts';
import { formatPath, type LwM2mPath } from '../lwm2m/path.ts';

export class NodeJsonError extends Error {}

export type JsonValue = string | number | boolean | { objectId: number; instanceId: number };

export function valueToJson(v: ResourceValue): JsonValue {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v.toString(); // past 2^53: a decimal string, every digit kept
  return v;
}

/**
 * A record's value (Send, composite read, timestamped notifications): records carry no type, so a
 * 64-bit integer past 2^53, which goes out as a decimal string, brings its type along to tell it
 * from a String resource: { "value": "9223372036854775807", "type": "integer" }.
 */
export function recordValueToJson(v: ResourceValue): { value: JsonValue; type?: ResourceType } {
  return typeof v === 'bigint' ? { value: valueToJson(v), type: naturalType(v) } : { value: valueToJson(v) };
}

export function nodeToJson(node: LwM2mNode): unknown {
  switch (node.kind) {
    case 'resource':
    case 'resourceInstance':
      return { kind: node.kind, id: node.id, type: node.type, value: valueToJson(node.value) };
    case 'multiResource':
      return { kind: node.kind, id: node.id, type: node.type, values: Object.fromEntries(Object.entries(node.values).map(([k, v]) => [k, valueToJson(v)])) };
    case 'instance':
      return { kind: node.kind, id: node.id, resources: node.resources.map(nodeToJson) };
    case 'object':
      return { kind: node.kind, id: node.id, instances: node.instances.map(nodeToJson) };
  }
}

/** A client's value named in an error message: its kind, or a bounded excerpt (never the whole value). */
function describeValue(raw: unknown): string {
  if (typeof raw === 'string') return raw.length <= 40 ? JSON.stringify(raw) : `${JSON.stringify(raw.slice(0, 40))}… (${raw.length} characters)`;
  if (Array.isArray(raw)) return 'an array';
  if (raw === null) return 'null';
  if (typeof raw === 'object') return 'an object';
  if (typeof raw === 'bigint') return raw.toString();
  return String(raw);
}

/** The value in its type, then inside the model's range (value-range.ts). */
function typed(raw: unknown, type: ResourceType, where: string, model?: ResourceModel): ResourceValue {
  const value = typedValue(raw, type, where);
  const problem = model ? valueRangeProblem(model, value) : undefined;
  if (problem) throw new NodeJsonError(`${where}: ${problem}`);
  return value;
}

function typedValue(raw: unknown, type: ResourceType, where: string): ResourceValue {
  const fail = (): never => {
    throw new NodeJsonError(`${where}: ${describeValue(raw)} is not a valid ${type}`);
  };
  switch (type) {
    case 'string':
    case 'corelnk':
      return typeof raw === 'string' ? raw : fail();
    case 'integer':
    case 'unsigned': {
      // a number (a bigint when the body held an integer literal past 2^53) or a decimal string
      const v = typeof raw === 'string' ? parseDecimalInteger(raw.trim()) : typeof raw === 'bigint' ? normalizeInteger(raw) : raw;
      if (!fitsIntegerType(v, type)) {
        if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
          throw new NodeJsonError(`${where}: ${describeValue(raw)} is past 2^53 and not exact as a JSON number here: give it as a decimal string`);
        }
        if (v !== undefined && asBigInt(v) !== undefined) throw new NodeJsonError(`${where}: ${describeValue(raw)} is outside the 64-bit ${type === 'unsigned' ? 'Unsigned Integer' : 'Integer'} range`);
        return fail();
      }
      return v as number | bigint;
    }
    case 'float':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : fail();
    case 'time':
      if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
      if (typeof raw === 'string' && !Number.isNaN(Date.parse(raw))) return Math.floor(Date.parse(raw) / 1000);
      return fail();
    case 'boolean':
      return typeof raw === 'boolean' ? raw : fail();
    case 'opaque':
      if (typeof raw !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(raw)) return fail();
      return new Uint8Array(Buffer.from(raw as string, 'hex'));
    case 'objlnk': {
      if (typeof raw === 'string' && /^\d+:\d+$/.test(raw)) {
        const [o, i] = raw.split(':').map(Number);
        return { objectId: o!, instanceId: i! };
      }
      if (raw && typeof raw === 'object' && Number.isInteger((raw as { objectId?: unknown }).objectId) && Number.isInteger((raw as { instanceId?: unknown }).instanceId)) {
        const r = raw as { objectId: number; instanceId: number };
        return { objectId: r.objectId, instanceId: r.instanceId };
      }
      return fail();
    }
    case 'none':
      throw new NodeJsonError(`${where} is executable and holds no value`);
  }
}

const EXPLICIT_TYPES: Record<string, ResourceType> = {
  string: 'string', integer: 'integer', unsigned: 'unsigned', 'unsigned integer': 'unsigned', float: 'float', boolean: 'boolean',
  opaque: 'opaque', time: 'time', objlnk: 'objlnk', corelnk: 'corelnk',
};

/** A type given in the request ({ "value": 21.5, "type": "float" }), for objects without a definition. */
function explicitType(raw: unknown, where: string): ResourceType | undefined {
  if (raw === undefined) return undefined;
  const t = typeof raw === 'string' ? EXPLICIT_TYPES[raw.toLowerCase()] : undefined;
  if (t === undefined) throw new NodeJsonError(`${where}: "type" must be one of ${Object.keys(EXPLICIT_TYPES).join(', ')}`);
  return t;
}

/**
 * The resource's type: from the object model, or from the request where the object has no
 * definition (LWM2M-NOTES: devices expose objects we may not know). A type given for a defined
 * resource must agree with the definition.
 */
function resourceType(models: ModelLookup, objectId: number, resourceId: number, where: string, given?: ResourceType, multipleGiven = false): { type: ResourceType; multiple: boolean; model?: ResourceModel } {
  const m = models.resource(objectId, resourceId);
  if (m) {
    if (given !== undefined && given !== m.type) throw new NodeJsonError(`${where} is defined as ${m.type}, not ${given}`);
    return { type: m.type, multiple: m.multiple, model: m };
  }
  if (given === undefined) throw new NodeJsonError(`${where}: resource ${resourceId} is not defined for object ${objectId}; give its type: { "value": v, "type": "float" } (or POST /objects with its DDF)`);
  return { type: given, multiple: multipleGiven };
}

function isTypedEntry(raw: unknown): raw is { type: unknown; value?: unknown; values?: unknown } {
  return !!raw && typeof raw === 'object' && !Array.isArray(raw) && 'type' in raw && ('value' in raw || 'values' in raw);
}

function resourceFromJson(raw: unknown, objectId: number, resourceId: number, models: ModelLookup, where: string): Resource {
  // { "type": "float", "value": 21.5 } or { "type": "integer", "values": { "0": 1 } } inside "resources"
  if (isTypedEntry(raw)) {
    const given = explicitType(raw.type, where);
    const { type, multiple, model } = resourceType(models, objectId, resourceId, where, given, 'values' in raw);
    if (multiple) return multipleFromJson(raw.values, type, resourceId, where, model);
    return { kind: 'resource', id: resourceId, type, value: typed(raw.value, type, where, model) };
  }
  const { type, multiple, model } = resourceType(models, objectId, resourceId, where);
  if (multiple) return multipleFromJson(raw, type, resourceId, where, model);
  return { kind: 'resource', id: resourceId, type, value: typed(raw, type, where, model) };
}

function multipleFromJson(raw: unknown, type: ResourceType, resourceId: number, where: string, model?: ResourceModel): Resource {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new NodeJsonError(`${where} is a multiple resource: give { "<instance id>": value }`);
  const values: Record<number, ResourceValue> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^\d+$/.test(k)) throw new NodeJsonError(`${where}: "${k}" is not a resource instance id`);
    values[Number(k)] = typed(v, type, `${where}/${k}`, model);
  }
  return { kind: 'multiResource', id: resourceId, type, values };
}

function instanceFromJson(body: Record<string, unknown>, objectId: number, instanceId: number, models: ModelLookup, where: string): ObjectInstance {
  const res = body.resources;
  if (!res || typeof res !== 'object' || Array.isArray(res)) throw new NodeJsonError(`${where}: give { "resources": { "<resource id>": value } }`);
  const resources: Resource[] = [];
  for (const [k, v] of Object.entries(res as Record<string, unknown>)) {
    if (!/^\d+$/.test(k)) throw new NodeJsonError(`${where}: "${k}" is not a resource id`);
    resources.push(resourceFromJson(v, objectId, Number(k), models, `${where}/${k}`));
  }
  return { kind: 'instance', id: instanceId, resources };
}

/**
 * Builds the node a Write (or Create) carries from the API body:
 *   resource:           { "value": v }  or, for a multiple resource, { "values": { "0": v } }
 *   where the object has no definition, the type too: { "value": 21.5, "type": "float" },
 *   and in "resources": { "5700": { "type": "float", "value": 21.5 } }
 *   resource instance:  { "value": v }
 *   instance:           { "resources": { "1": v, "7": { "0": v } } }
 *   object (Create):    { "id": n, "resources": { ... } }
 */
export function nodeFromJson(body: unknown, path: LwM2mPath, models: ModelLookup): LwM2mNode {
  const where = formatPath(path);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new NodeJsonError('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const [objectId, instanceId, resourceId, riid] = path;
  switch (path.length) {
    case 1: {
      const id = b.id;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 65534) throw new NodeJsonError('Create needs "id": the new instance id (0..65534)');
      // an object without a definition takes resources with explicit types ({ "type": "float", "value": 21.5 })
      return instanceFromJson(b, objectId!, id, models, where);
    }
    case 2:
      return instanceFromJson(b, objectId!, instanceId!, models, where);
    case 3: {
      const { type, multiple, model } = resourceType(models, objectId!, resourceId!, where, explicitType(b.type, where), 'values' in b);
      if (multiple) {
        if (!('values' in b)) throw new NodeJsonError(`${where} is a multiple resource: give { "values": { "<instance id>": value } }`);
        return multipleFromJson(b.values, type, resourceId!, where, model);
      }
      if (!('value' in b)) throw new NodeJsonError(`give { "value": ... } for ${where}`);
      return { kind: 'resource', id: resourceId!, type, value: typed(b.value, type, where, model) };
    }
    case 4: {
      const { type, model } = resourceType(models, objectId!, resourceId!, where, explicitType(b.type, where), true);
      if (!('value' in b)) throw new NodeJsonError(`give { "value": ... } for ${where}`);
      return { kind: 'resourceInstance', id: riid!, type, value: typed(b.value, type, where, model) };
    }
    default:
      throw new NodeJsonError('writes need an object, instance or resource path');
  }
}
