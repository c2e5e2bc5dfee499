// LwM2M CBOR (11544, LwM2M 1.2 TS Core §7.4.6): vectors written by hand from RFC 8949 encodings.
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeNode, decodeRecords, encodeNode, encodeRecords,
} from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { hex, models, toHex } from './helpers.ts';

const { LWM2M_CBOR } = ContentFormat;

describe('LwM2M CBOR (11544)', () => {
  const OMA = '74 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65';
  const node: LwM2mNode = { kind: 'instance', id: 0, resources: [
    { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
    { kind: 'resource', id: 9, type: 'integer', value: 100 },
    { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } },
  ] };

  it('nests maps from the root: {3: {0: {0: "Open...", 9: 100, 7: {0: 3800, 1: 5000}}}}', () => {
    const bytes = `A1 03 A1 00 A3 00 ${OMA} 09 18 64 07 A2 00 19 0E D8 01 19 13 88`;
    expect(toHex(encodeNode(node, [3, 0], LWM2M_CBOR, models))).toBe(toHex(hex(bytes)));
    expect(decodeNode(hex(bytes), LWM2M_CBOR, [3, 0], models)).toEqual(node);
  });

  it('accepts path-array keys: {[3, 0]: {...}} and {[3, 0, 9]: 100}', () => {
    const bytes = `A1 82 03 00 A3 00 ${OMA} 09 18 64 07 A2 00 19 0E D8 01 19 13 88`;
    expect(decodeNode(hex(bytes), LWM2M_CBOR, [3, 0], models)).toEqual(node);
    expect(decodeRecords(hex('A1 83 03 00 09 18 64'), LWM2M_CBOR, models)).toEqual([{ path: [3, 0, 9], value: 100 }]);
  });

  it('reads indefinite-length maps with the request path as one array key (as clients stream it)', () => {
    // {_ [3, 0]: {_ 0: "Open...", 9: 100, 7: {_ 0: 3800, 1: 5000}}}
    const bytes = `BF 82 03 00 BF 00 ${OMA} 09 18 64 07 BF 00 19 0E D8 01 19 13 88 FF FF FF`;
    expect(decodeNode(hex(bytes), LWM2M_CBOR, [3, 0], models)).toEqual(node);
  });

  it('refuses timestamps, values above resource level and bad keys', () => {
    expect(() => encodeRecords([{ path: [3, 0, 9], value: 1, time: 5 }], LWM2M_CBOR)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => decodeRecords(hex('A1 03 A1 00 01'), LWM2M_CBOR, models)).toThrow(CodecError);
    expect(() => decodeRecords(hex('A1 61 33 01'), LWM2M_CBOR, models)).toThrow(CodecError);
    expect(() => decodeRecords(hex('A1 85 03 00 09 00 00 01'), LWM2M_CBOR, models)).toThrow(CodecError);
  });
});
