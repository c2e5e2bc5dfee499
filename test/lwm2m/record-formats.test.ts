// SenML JSON (110), SenML CBOR (112), LwM2M JSON (11543), LwM2M CBOR (11544).
// JSON vectors are the Device examples of LwM2M 1.1 TS Core §7.4.4/§7.4.5; CBOR vectors are
// written by hand from RFC 8428 §6 labels and RFC 8949 encodings.
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeNode, decodePaths, decodeRecords, encodeNode, encodePaths, encodeRecords,
} from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, LwM2mRecord } from '../../src/lwm2m/node.ts';
import { ascii, hex, models, toHex, utf8 } from './helpers.ts';

const { SENML_JSON, SENML_CBOR, LWM2M_JSON, LWM2M_CBOR, TLV } = ContentFormat;

const device: LwM2mNode = {
  kind: 'instance', id: 0, resources: [
    { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
    { kind: 'resource', id: 1, type: 'string', value: 'Lightweight M2M Client' },
    { kind: 'resource', id: 2, type: 'string', value: '345000123' },
    { kind: 'resource', id: 3, type: 'string', value: '1.0' },
    { kind: 'multiResource', id: 6, type: 'integer', values: { 0: 1, 1: 5 } },
    { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } },
    { kind: 'multiResource', id: 8, type: 'integer', values: { 0: 125, 1: 900 } },
    { kind: 'resource', id: 9, type: 'integer', value: 100 },
    { kind: 'resource', id: 10, type: 'integer', value: 15 },
    { kind: 'multiResource', id: 11, type: 'integer', values: { 0: 0 } },
    { kind: 'resource', id: 13, type: 'time', value: 1367491215 },
    { kind: 'resource', id: 14, type: 'string', value: '+02:00' },
    { kind: 'resource', id: 16, type: 'string', value: 'U' },
  ],
};

const SENML_DEVICE = [
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},',
  '{"n":"1","vs":"Lightweight M2M Client"},',
  '{"n":"2","vs":"345000123"},',
  '{"n":"3","vs":"1.0"},',
  '{"n":"6/0","v":1},',
  '{"n":"6/1","v":5},',
  '{"n":"7/0","v":3800},',
  '{"n":"7/1","v":5000},',
  '{"n":"8/0","v":125},',
  '{"n":"8/1","v":900},',
  '{"n":"9","v":100},',
  '{"n":"10","v":15},',
  '{"n":"11/0","v":0},',
  '{"n":"13","v":1367491215},',
  '{"n":"14","vs":"+02:00"},',
  '{"n":"16","vs":"U"}]',
].join('');

const LWM2M_JSON_DEVICE = [
  '{"bn":"/3/0/","e":[',
  '{"n":"0","sv":"Open Mobile Alliance"},',
  '{"n":"1","sv":"Lightweight M2M Client"},',
  '{"n":"2","sv":"345000123"},',
  '{"n":"3","sv":"1.0"},',
  '{"n":"6/0","v":1},',
  '{"n":"6/1","v":5},',
  '{"n":"7/0","v":3800},',
  '{"n":"7/1","v":5000},',
  '{"n":"8/0","v":125},',
  '{"n":"8/1","v":900},',
  '{"n":"9","v":100},',
  '{"n":"10","v":15},',
  '{"n":"11/0","v":0},',
  '{"n":"13","v":1367491215},',
  '{"n":"14","sv":"+02:00"},',
  '{"n":"16","sv":"U"}]}',
].join('');

describe('SenML JSON (110)', () => {
  it('encodes and decodes the Device instance example byte for byte', () => {
    expect(ascii(encodeNode(device, [3, 0], SENML_JSON, models))).toBe(SENML_DEVICE);
    expect(decodeNode(utf8(SENML_DEVICE), SENML_JSON, [3, 0], models)).toEqual(device);
    expect(decodeNode(utf8(SENML_DEVICE), SENML_JSON, [3], models)).toEqual({ kind: 'object', id: 3, instances: [device] });
  });

  it('concatenates bn and n, carries bn and bt over (RFC 8428 §4.5.1)', () => {
    const payload = '[{"bn":"/3/0","n":"/0","vs":"a"},{"n":"/1","vs":"b"},'
      + '{"bn":"/3/0/","bt":1700000000,"n":"7/0","v":3800,"t":0},{"n":"7/0","v":3900,"t":10},{"bn":"/3/0/9","v":99}]';
    expect(decodeRecords(utf8(payload), SENML_JSON, models)).toEqual([
      { path: [3, 0, 0], value: 'a' },
      { path: [3, 0, 1], value: 'b' },
      { path: [3, 0, 7, 0], value: 3800, time: 1700000000 },
      { path: [3, 0, 7, 0], value: 3900, time: 1700000010 },
      { path: [3, 0, 9], value: 99, time: 1700000000 },
    ]);
  });

  it('writes opaque as base64url "vd", objlnk as "vlo", and accepts standard base64', () => {
    const records: LwM2mRecord[] = [
      { path: [30000, 0, 5], value: new Uint8Array([0xfb, 0xff, 0xfe]) },
      { path: [30000, 0, 7], value: { objectId: 3, instanceId: 0 }, time: 1.5 },
    ];
    const text = ascii(encodeRecords(records, SENML_JSON));
    expect(text).toBe('[{"bn":"/30000/0/","n":"5","vd":"-__-"},{"n":"7","vlo":"3:0","t":1.5}]');
    expect(decodeRecords(utf8(text), SENML_JSON, models)).toEqual(records);
    expect(decodeRecords(utf8('[{"n":"/30000/0/5","vd":"+//+"}]'), SENML_JSON, models)).toEqual([records[0]]);
  });

  it('types through the model: a string for an integer resource is TYPE_MISMATCH', () => {
    expect(() => decodeRecords(utf8('[{"n":"/3/0/9","vs":"100"}]'), SENML_JSON, models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => decodeRecords(utf8('[{"n":"/3/0/9","v":1.5}]'), SENML_JSON, models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    // unknown resource keeps its natural type
    expect(decodeRecords(utf8('[{"n":"/3/0/99","v":1.5},{"n":"/3/0/98","vb":true}]'), SENML_JSON, models))
      .toEqual([{ path: [3, 0, 99], value: 1.5 }, { path: [3, 0, 98], value: true }]);
  });

  it.each([
    ['not JSON', '[{'],
    ['not an array', '{"n":"/3/0/0"}'],
    ['no value', '[{"n":"/3/0/0"}]'],
    ['two values', '[{"n":"/3/0/0","vs":"a","v":1}]'],
    ['bad name', '[{"n":"/3/x/0","vs":"a"}]'],
    ['object-level name', '[{"n":"/3/0","vs":"a"}]'],
    ['must-understand label', '[{"n":"/3/0/0","vs":"a","foo_":1}]'],
    ['wrong label type', '[{"n":"/3/0/0","vs":1}]'],
  ])('rejects %s', (_name, text) => {
    expect(() => decodeRecords(utf8(text), SENML_JSON, models)).toThrow(CodecError);
  });

  it('rejects records outside the requested path', () => {
    expect(() => decodeNode(utf8('[{"n":"/3/1/0","vs":"a"}]'), SENML_JSON, [3, 0], models)).toThrow(CodecError);
  });

  it('encodes and decodes Composite-Read path lists', () => {
    const paths = [[3, 0, 1], [1, 0], [5], []];
    const text = ascii(encodePaths(paths, SENML_JSON));
    expect(text).toBe('[{"n":"/3/0/1"},{"n":"/1/0"},{"n":"/5"},{"n":"/"}]');
    expect(decodePaths(utf8(text), SENML_JSON)).toEqual(paths);
    expect(decodePaths(utf8('[{"bn":"/3/0/","n":"1"},{"n":"2"}]'), SENML_JSON)).toEqual([[3, 0, 1], [3, 0, 2]]);
    expect(() => encodePaths(paths, TLV)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});

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

describe('LwM2M JSON (11543)', () => {
  it('encodes and decodes the Device instance example byte for byte', () => {
    expect(ascii(encodeNode(device, [3, 0], LWM2M_JSON, models))).toBe(LWM2M_JSON_DEVICE);
    expect(decodeNode(utf8(LWM2M_JSON_DEVICE), LWM2M_JSON, [3, 0], models)).toEqual(device);
  });

  it('reads bt + t, "bv", "ov" and opaque as base64 "sv"', () => {
    const text = '{"bn":"/30000/0/","bt":1000,"e":[{"n":"4","bv":false,"t":-5},{"n":"7","ov":"1:2"},{"n":"5","sv":"AQI="}]}';
    expect(decodeRecords(utf8(text), LWM2M_JSON, models)).toEqual([
      { path: [30000, 0, 4], value: false, time: 995 },
      { path: [30000, 0, 7], value: { objectId: 1, instanceId: 2 }, time: 1000 },
      { path: [30000, 0, 5], value: new Uint8Array([1, 2]), time: 1000 },
    ]);
  });

  it.each([['no e', '{"bn":"/3/0/"}'], ['two values', '{"e":[{"n":"/3/0/0","sv":"a","v":1}]}'], ['bad bt', '{"bt":"x","e":[]}']])(
    'rejects %s', (_n, text) => {
      expect(() => decodeRecords(utf8(text), LWM2M_JSON, models)).toThrow(CodecError);
    });
});

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

  it('refuses timestamps, values above resource level and bad keys', () => {
    expect(() => encodeRecords([{ path: [3, 0, 9], value: 1, time: 5 }], LWM2M_CBOR)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => decodeRecords(hex('A1 03 A1 00 01'), LWM2M_CBOR, models)).toThrow(CodecError);
    expect(() => decodeRecords(hex('A1 61 33 01'), LWM2M_CBOR, models)).toThrow(CodecError);
    expect(() => decodeRecords(hex('A1 85 03 00 09 00 00 01'), LWM2M_CBOR, models)).toThrow(CodecError);
  });
});

describe('records formats refuse single-value and TLV formats', () => {
  it('encodeRecords/decodeRecords with TLV -> UNSUPPORTED_FORMAT', () => {
    expect(() => encodeRecords([], TLV)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => decodeRecords(new Uint8Array(), TLV, models)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});
