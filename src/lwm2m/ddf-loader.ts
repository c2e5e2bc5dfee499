// Loads OMA DDF XML object definitions (LwM2M 1.1 TS Core Appendix D; schema LWM2M-v1_1.xsd)
// into ObjectModel records, and keeps them in a registry the codecs look up.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ResourceType } from './node.ts';
import type { ModelLookup, ObjectModel, Operations, ResourceModel } from './object-model.ts';

export class DdfError extends Error {
  readonly code = 'BAD_DDF';
  constructor(message: string) {
    super(message);
    this.name = 'DdfError';
  }
}

const TYPES: Record<string, ResourceType> = {
  'string': 'string',
  'integer': 'integer',
  'unsigned integer': 'unsigned',
  'float': 'float',
  'boolean': 'boolean',
  'opaque': 'opaque',
  'time': 'time',
  'objlnk': 'objlnk',
  'corelnk': 'corelnk',
  '': 'none', // executable resources have an empty <Type>
};

const OPERATIONS: Record<string, Operations> = { R: 'R', W: 'W', RW: 'RW', E: 'E', '': 'NONE' };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'Object' || name === 'Item',
});

type XmlNode = Record<string, unknown>;

function text(node: XmlNode, key: string): string {
  const v = node[key];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v).trim();
  if (typeof v === 'object' && '#text' in v) return String((v as XmlNode)['#text']).trim();
  return '';
}

function parseId(raw: string, what: string, source: string): number {
  if (!/^\d+$/.test(raw)) throw new DdfError(`${source}: ${what} "${raw}" is missing or not a number`);
  const n = Number(raw);
  if (n > 65534) throw new DdfError(`${source}: ${what} ${n} is out of range`);
  return n;
}

function optional(s: string): string | undefined {
  return s === '' ? undefined : s;
}

function multiple(raw: string, what: string, source: string): boolean {
  if (raw === 'Multiple') return true;
  if (raw === 'Single') return false;
  throw new DdfError(`${source}: ${what} MultipleInstances "${raw}" is neither Single nor Multiple`);
}

function mandatory(raw: string, what: string, source: string): boolean {
  if (raw === 'Mandatory') return true;
  if (raw === 'Optional') return false;
  throw new DdfError(`${source}: ${what} Mandatory "${raw}" is neither Mandatory nor Optional`);
}

function parseItem(item: XmlNode, objectId: number, source: string): ResourceModel {
  const id = parseId(String(item['@_ID'] ?? ''), `object ${objectId} resource ID`, source);
  const what = `resource /${objectId}/${id}`;
  const typeRaw = text(item, 'Type').toLowerCase();
  const type = TYPES[typeRaw];
  if (type === undefined) throw new DdfError(`${source}: ${what} has unknown type "${typeRaw}"`);
  const opsRaw = text(item, 'Operations').toUpperCase();
  const operations = OPERATIONS[opsRaw];
  if (operations === undefined) throw new DdfError(`${source}: ${what} has unknown operations "${opsRaw}"`);
  return {
    id,
    name: text(item, 'Name'),
    operations,
    multiple: multiple(text(item, 'MultipleInstances'), what, source),
    mandatory: mandatory(text(item, 'Mandatory'), what, source),
    type,
    rangeEnumeration: optional(text(item, 'RangeEnumeration')),
    units: optional(text(item, 'Units')),
    description: optional(text(item, 'Description')),
  };
}

function parseObject(obj: XmlNode, source: string): ObjectModel {
  const id = parseId(text(obj, 'ObjectID'), 'ObjectID', source);
  const resources = new Map<number, ResourceModel>();
  const container = obj['Resources'];
  const items = container && typeof container === 'object' ? (container as XmlNode)['Item'] : undefined;
  for (const item of Array.isArray(items) ? items : []) {
    const r = parseItem(item as XmlNode, id, source);
    if (resources.has(r.id)) throw new DdfError(`${source}: resource /${id}/${r.id} is defined twice`);
    resources.set(r.id, r);
  }
  return {
    id,
    name: text(obj, 'Name'),
    urn: optional(text(obj, 'ObjectURN')),
    version: text(obj, 'ObjectVersion') || '1.0', // Appendix D: absent ObjectVersion means 1.0
    lwm2mVersion: optional(text(obj, 'LWM2MVersion')),
    multiple: multiple(text(obj, 'MultipleInstances'), `object ${id}`, source),
    mandatory: mandatory(text(obj, 'Mandatory'), `object ${id}`, source),
    description: optional(text(obj, 'Description1')),
    resources,
  };
}

/** Parses one DDF document; a file may hold several <Object> elements. Throws DdfError. */
export function parseDdf(text: string, source = 'DDF'): ObjectModel[] {
  const xml = text.replace(/^\uFEFF/, ''); // registry files sometimes start with a byte order mark
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new DdfError(`${source}: malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch (err) {
    throw new DdfError(`${source}: malformed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const root = doc['LWM2M'];
  if (root === undefined) throw new DdfError(`${source}: no <LWM2M> root element`);
  const objects = root !== null && typeof root === 'object' ? (root as XmlNode)['Object'] : undefined;
  if (!Array.isArray(objects) || objects.length === 0) throw new DdfError(`${source}: no <Object> element`);
  return objects.map((o) => parseObject(o as XmlNode, source));
}

/** The object definitions the server knows, by object id (last added wins). */
export class ObjectModelRegistry implements ModelLookup {
  private readonly models = new Map<number, ObjectModel>();

  constructor(models: Iterable<ObjectModel> = []) {
    for (const m of models) this.add(m);
  }

  add(model: ObjectModel): void {
    this.models.set(model.id, model);
  }

  all(): ObjectModel[] {
    return [...this.models.values()].sort((a, b) => a.id - b.id);
  }

  object(objectId: number): ObjectModel | undefined {
    return this.models.get(objectId);
  }

  resource(objectId: number, resourceId: number): ResourceModel | undefined {
    return this.models.get(objectId)?.resources.get(resourceId);
  }
}

/** Loads every *.xml file of `dir` (not recursive). Throws DdfError naming the bad file. */
export function loadObjectModels(dir: string): ObjectModelRegistry {
  const registry = new ObjectModelRegistry();
  const files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.xml')).sort();
  for (const file of files) {
    const path = join(dir, file);
    for (const model of parseDdf(readFileSync(path, 'utf8'), path)) registry.add(model);
  }
  return registry;
}
