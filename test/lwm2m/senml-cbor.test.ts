// SenML CBOR (112): vectors written by hand from RFC 8428 §6 labels and RFC 8949 encodings.
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeNode, decodePaths, decodeRecords, encodeNode, encodePaths, 
} from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { hex, models, toHex } from './helpers.ts';

const { SENML_CBOR } = ContentFormat;

describe('SenML CBOR (112)', () => {
  const OMA = '74 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65'; // text(20) "Open Mobile Alliance"
  it('uses integer labels: [{-2:"/3/0/", 0:"0", 3:"Open..."}, {0:"9", 2:100}]', () => {
    const node: LwM2mNode = { kind: 'instance', id: 0, resources: [
      { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
      { kind: 'resource', id: 9, type: 'integer', value: 100 },
    ] };
    const bytes = `82 A3 21 65 2F 33 2F 30 2F 00 61 30 03 ${OMA} A2 00 61 39 02 18 64`;
    expect(toHex(encodeNode(node, [3, 0], SENML_CBOR, models))).toBe(toHex(hex(bytes)));
    expect(decodeNode(hex(bytes), SENML_CBOR, [3, 0], models)).toEqual(node);
  });

  it('carries vd as a byte string, vb, vlo, bt (-3) and t (6)', () => {
    // [{0:"/30000/0/5", 8:h'0102'}, {0:"/30000/0/4", 4:true, -3:100, 6:5}, {0:"/30000/0/7", "vlo":"3:0"}]
    const bytes = '83 A2 00 6A 2F 33 30 30 30 30 2F 30 2F 35 08 42 01 02'
      + ' A4 00 6A 2F 33 30 30 30 30 2F 30 2F 34 04 F5 22 18 64 06 05'
      + ' A2 00 6A 2F 33 30 30 30 30 2F 30 2F 37 63 76 6C 6F 63 33 3A 30';
    expect(decodeRecords(hex(bytes), SENML_CBOR, models)).toEqual([
      { path: [30000, 0, 5], value: new Uint8Array([1, 2]) },
      { path: [30000, 0, 4], value: true, time: 105 },
      { path: [30000, 0, 7], value: { objectId: 3, instanceId: 0 }, time: 100 },
    ]);
  });

  it('encodes Composite-Read paths as names only', () => {
    expect(toHex(encodePaths([[3, 0, 1]], SENML_CBOR))).toBe(toHex(hex('81 A1 00 66 2F 33 2F 30 2F 31')));
    expect(decodePaths(hex('81 A1 00 66 2F 33 2F 30 2F 31'), SENML_CBOR)).toEqual([[3, 0, 1]]);
  });

  it.each([['not an array', 'A0'], ['record not a map', '81 01'], ['truncated', '81 A1 00 66 2F'], ['vb not bool', '81 A2 00 66 2F 33 2F 30 2F 31 04 01']])(
    'rejects %s', (_n, bytes) => {
      expect(() => decodeRecords(hex(bytes), SENML_CBOR, models)).toThrow(CodecError);
    });
});
