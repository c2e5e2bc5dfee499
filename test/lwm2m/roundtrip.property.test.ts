// decode(encode(x)) deep-equals x, for every format, every resource type, every level it supports.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLinkFormat, decodeNode, decodePaths, decodeRecords, encodeLinkFormat, encodeNode, encodePaths, encodeRecords,
} from '../../src/lwm2m/codec.ts';
import { ContentFormat, contentFormatNames } from '../../src/lwm2m/content-format.ts';
import { nodeToRecords } from '../../src/lwm2m/records.ts';
import type { Link } from '../../src/lwm2m/link-format.ts';
import { TEST_OBJECT, models } from './helpers.ts';
import { nodeAtPathArb, objectArb, recordsArb, resourceInstanceArb, singleResourceArb, valueArb } from './arbitraries.ts';

const RUNS = { numRuns: 300 };
const { TEXT, OPAQUE, CBOR, TLV, SENML_JSON, SENML_CBOR, LWM2M_JSON, LWM2M_CBOR } = ContentFormat;

describe.each([TEXT, CBOR])('single-value format %s', (format) => {
  it(`${contentFormatNames[format]}: single resources of every type`, () => {
    fc.assert(fc.property(singleResourceArb, (node) => {
      const path = [TEST_OBJECT, 0, node.id];
      expect(decodeNode(encodeNode(node, path, format, models), format, path, models)).toEqual(node);
    }), RUNS);
  });
  it(`${contentFormatNames[format]}: resource instances of every type`, () => {
    fc.assert(fc.property(resourceInstanceArb, ({ node, resourceId }) => {
      const path = [TEST_OBJECT, 0, resourceId, node.id];
      expect(decodeNode(encodeNode(node, path, format, models), format, path, models)).toEqual(node);
    }), RUNS);
  });
});

describe('opaque (42)', () => {
  it('opaque resources and resource instances', () => {
    fc.assert(fc.property(valueArb('opaque'), fc.boolean(), (value, instance) => {
      const path = instance ? [TEST_OBJECT, 0, 15, 3] : [TEST_OBJECT, 0, 5];
      const node = instance
        ? { kind: 'resourceInstance' as const, id: 3, type: 'opaque' as const, value }
        : { kind: 'resource' as const, id: 5, type: 'opaque' as const, value };
      expect(decodeNode(encodeNode(node, path, OPAQUE, models), OPAQUE, path, models)).toEqual(node);
    }), RUNS);
  });
});

describe.each([TLV, SENML_JSON, SENML_CBOR, LWM2M_JSON, LWM2M_CBOR])('hierarchical format %s', (format) => {
  it(`${contentFormatNames[format]}: object, instance, resource, multiple resource, resource instance`, () => {
    fc.assert(fc.property(nodeAtPathArb, ({ node, path }) => {
      expect(decodeNode(encodeNode(node, path, format, models), format, path, models)).toEqual(node);
    }), RUNS);
  });
});

describe.each([SENML_JSON, SENML_CBOR, LWM2M_JSON])('records with timestamps, format %s', (format) => {
  it(`${contentFormatNames[format]}: decodeRecords(encodeRecords(r)) = r`, () => {
    fc.assert(fc.property(recordsArb, (records) => {
      expect(decodeRecords(encodeRecords(records, format), format, models)).toEqual(records);
    }), RUNS);
  });
});

describe('records, LwM2M CBOR (no timestamps, grouped by path)', () => {
  it('decodeRecords(encodeRecords(r)) = r for the records of an object', () => {
    fc.assert(fc.property(objectArb, (object) => {
      const records = nodeToRecords(object, [TEST_OBJECT]);
      // nodeToRecords marks Float resources (wireType) so encoders write floats; decoding types a
      // modelled resource by its model and carries no mark
      const typed = records.map(({ wireType: _, ...r }) => r);
      expect(decodeRecords(encodeRecords(records, LWM2M_CBOR), LWM2M_CBOR, models)).toEqual(typed);
    }), RUNS);
  });
});

describe.each([SENML_JSON, SENML_CBOR])('composite path lists, format %s', (format) => {
  it(`${contentFormatNames[format]}: decodePaths(encodePaths(p)) = p`, () => {
    const pathArb = fc.array(fc.integer({ min: 0, max: 65534 }), { maxLength: 4 });
    fc.assert(fc.property(fc.array(pathArb, { maxLength: 6 }), (paths) => {
      expect(decodePaths(encodePaths(paths, format), format)).toEqual(paths);
    }), RUNS);
  });
});

describe('link format (40)', () => {
  it('decodeLinkFormat(encodeLinkFormat(l)) = l', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/);
    const attrValue = fc.oneof(fc.constant(true as const), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.stringMatching(/^[0-9a-z.]{1,6}$/));
    const linkArb: fc.Arbitrary<Link> = fc.record({
      uri: fc.stringMatching(/^\/[A-Za-z0-9/._~-]{0,16}$/),
      attributes: fc.dictionary(name, attrValue, { maxKeys: 4 }),
    });
    fc.assert(fc.property(fc.array(linkArb, { maxLength: 5 }), (links) => {
      expect(decodeLinkFormat(encodeLinkFormat(links))).toEqual(links);
    }), RUNS);
  });
});
