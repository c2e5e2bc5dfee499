// SenML JSON (110): Device example of LwM2M 1.1 TS Core §7.4.4; name/time rules of RFC 8428 §4.5.
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeNode, decodePaths, decodeRecords, encodeNode, encodePaths, encodeRecords,
} from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mRecord } from '../../src/lwm2m/node.ts';
import { ascii, models, utf8 } from './helpers.ts';
import { SENML_DEVICE, device } from './device-example.ts';

const { SENML_JSON, TLV } = ContentFormat;

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
    // an unknown resource keeps its natural type, and a float says so (wireType)
    expect(decodeRecords(utf8('[{"n":"/3/0/99","v":1.5},{"n":"/3/0/98","vb":true}]'), SENML_JSON, models))
      .toEqual([{ path: [3, 0, 99], value: 1.5, wireType: 'float' }, { path: [3, 0, 98], value: true }]);
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
