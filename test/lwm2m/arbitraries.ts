// fast-check generators for nodes and records of the synthetic test object (helpers.ts):
// resource i (0..8) single of VALUE_TYPES[i], resource 10+i multiple of the same type.
import fc from 'fast-check';
import type {
  LwM2mNode, LwM2mObject, LwM2mRecord, MultipleResource, ObjectInstance, Resource, ResourceInstance,
  ResourceType, ResourceValue, SingleResource,
} from '../../src/lwm2m/node.ts';
import { TEST_OBJECT, VALUE_TYPES } from './helpers.ts';
import { INT64_MAX, INT64_MIN, UINT64_MAX, normalizeInteger } from '../../src/lwm2m/integers.ts';

export function valueArb(type: ResourceType): fc.Arbitrary<ResourceValue> {
  switch (type) {
    case 'string':
    case 'corelnk':
      return fc.string({ unit: 'grapheme', maxLength: 24 });
    case 'integer':
    case 'time':
      // the whole signed 64-bit range (Core Appendix C), in the one form the codecs give (integers.ts)
      return fc.oneof(fc.integer({ min: -300, max: 300 }), fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(normalizeInteger));
    case 'unsigned':
      return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.nat(), fc.maxSafeNat(), fc.bigInt({ min: 0n, max: UINT64_MAX }).map(normalizeInteger));
    case 'float':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }).map(Number))
        .filter((x) => !Object.is(x, -0));
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.uint8Array({ maxLength: 24 });
    case 'objlnk':
      return fc.record({ objectId: fc.integer({ min: 0, max: 65535 }), instanceId: fc.integer({ min: 0, max: 65535 }) });
    case 'none':
      throw new Error('executables have no value');
  }
}

const typeIndex = fc.integer({ min: 0, max: VALUE_TYPES.length - 1 });
const id = fc.integer({ min: 0, max: 65534 });

export const singleResourceArb: fc.Arbitrary<SingleResource> = typeIndex.chain((i) =>
  valueArb(VALUE_TYPES[i]!).map((value): SingleResource => ({ kind: 'resource', id: i, type: VALUE_TYPES[i]!, value })));

export function multiResourceArb(minLength: number): fc.Arbitrary<MultipleResource> {
  return typeIndex.chain((i) =>
    fc.uniqueArray(fc.tuple(id, valueArb(VALUE_TYPES[i]!)), { selector: ([k]) => k, minLength, maxLength: 4 })
      .map((entries): MultipleResource => ({
        kind: 'multiResource', id: 10 + i, type: VALUE_TYPES[i]!, values: Object.fromEntries(entries),
      })));
}

export const resourceInstanceArb: fc.Arbitrary<{ node: ResourceInstance; resourceId: number }> = typeIndex.chain((i) =>
  fc.tuple(id, valueArb(VALUE_TYPES[i]!)).map(([riId, value]) => ({
    node: { kind: 'resourceInstance', id: riId, type: VALUE_TYPES[i]!, value } as ResourceInstance,
    resourceId: 10 + i,
  })));

const resourceArb: fc.Arbitrary<Resource> = fc.oneof(singleResourceArb, multiResourceArb(1));

export const instanceArb: fc.Arbitrary<ObjectInstance> = fc.tuple(id, fc.uniqueArray(resourceArb, { selector: (r) => r.id, minLength: 1, maxLength: 6 }))
  .map(([iid, resources]) => ({ kind: 'instance', id: iid, resources }));

export const objectArb: fc.Arbitrary<LwM2mObject> = fc.uniqueArray(instanceArb, { selector: (i) => i.id, minLength: 1, maxLength: 3 })
  .map((instances) => ({ kind: 'object', id: TEST_OBJECT, instances }));

/** A node with the path it was read at, at every level. */
export const nodeAtPathArb: fc.Arbitrary<{ node: LwM2mNode; path: number[] }> = fc.oneof(
  objectArb.map((node) => ({ node: node as LwM2mNode, path: [TEST_OBJECT] })),
  instanceArb.map((node) => ({ node: node as LwM2mNode, path: [TEST_OBJECT, node.id] })),
  fc.tuple(id, singleResourceArb).map(([iid, node]) => ({ node: node as LwM2mNode, path: [TEST_OBJECT, iid, node.id] })),
  fc.tuple(id, multiResourceArb(1)).map(([iid, node]) => ({ node: node as LwM2mNode, path: [TEST_OBJECT, iid, node.id] })),
  fc.tuple(id, resourceInstanceArb).map(([iid, { node, resourceId }]) => ({ node: node as LwM2mNode, path: [TEST_OBJECT, iid, resourceId, node.id] })),
);

const timeArb = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .filter((x) => !Object.is(x, -0));

/** Records as Send and timestamped notifications carry them (paths may repeat with other times). */
export const recordsArb: fc.Arbitrary<LwM2mRecord[]> = fc.array(
  fc.tuple(typeIndex, fc.boolean(), id, id, fc.option(timeArb, { nil: undefined })).chain(([i, multiple, iid, riid, time]) =>
    valueArb(VALUE_TYPES[i]!).map((value): LwM2mRecord => {
      const path = multiple ? [TEST_OBJECT, iid, 10 + i, riid] : [TEST_OBJECT, iid, i];
      return time === undefined ? { path, value } : { path, value, time };
    })),
  { maxLength: 8 },
);
