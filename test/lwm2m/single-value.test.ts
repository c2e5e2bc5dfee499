// Text (0), opaque (42) and CBOR (60): one resource value (Core 1.1 §7.4.1, §7.4.2, Appendix C).
import { describe, expect, it } from 'vitest';
import { CodecError, decodeNode, encodeNode, supportsLevel } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, ResourceType, ResourceValue } from '../../src/lwm2m/node.ts';
import { ascii, hex, models, toHex, utf8 } from './helpers.ts';

const { TEXT, OPAQUE, CBOR, TLV, SENML_JSON, LINK } = ContentFormat;
const res = (id: number, type: ResourceType, value: ResourceValue): LwM2mNode => ({ kind: 'resource', id, type, value });

describe('text/plain (0)', () => {
  it('reads the Manufacturer example (GET /3/0/0 -> "Open Mobile Alliance")', () => {
    expect(decodeNode(utf8('Open Mobile Alliance'), TEXT, [3, 0, 0], models)).toEqual(res(0, 'string', 'Open Mobile Alliance'));
  });

  it.each([
    [[3, 0, 9], 'integer', 100, '100'],
    [[3, 0, 13], 'time', 1367491215, '1367491215'],
    [[30000, 0, 2], 'unsigned', 4294967296, '4294967296'],
    [[30000, 0, 3], 'float', -12.5, '-12.5'],
    [[30000, 0, 4], 'boolean', true, '1'],
    [[30000, 0, 4], 'boolean', false, '0'],
    [[30000, 0, 7], 'objlnk', { objectId: 3, instanceId: 0 }, '3:0'],
    [[30000, 0, 5], 'opaque', new Uint8Array([0xde, 0xad, 0xbe, 0xef]), '3q2+7w=='],
  ] as const)('%j %s <-> %j', (path, type, value, text) => {
    const node = res(path[2], type, value as ResourceValue);
    expect(ascii(encodeNode(node, path, TEXT, models))).toBe(text);
    expect(decodeNode(utf8(text), TEXT, path, models)).toEqual(node);
  });

  it('accepts float forms and a resource instance path', () => {
    expect(decodeNode(utf8('1e3'), TEXT, [30000, 0, 3], models)).toEqual(res(3, 'float', 1000));
    expect(decodeNode(utf8('3800'), TEXT, [3, 0, 7, 0], models)).toEqual({ kind: 'resourceInstance', id: 0, type: 'integer', value: 3800 });
    expect(decodeNode(utf8('x'), TEXT, [3, 0, 999], models)).toEqual(res(999, 'string', 'x'));
  });

  it.each([
    [[3, 0, 9], '12a', 'TYPE_MISMATCH'],
    [[3, 0, 9], '1.5', 'TYPE_MISMATCH'],
    [[30000, 0, 4], 'true', 'TYPE_MISMATCH'],
    [[30000, 0, 7], '3', 'TYPE_MISMATCH'],
    [[30000, 0, 5], '!!', 'BAD_PAYLOAD'],
    [[3, 0], 'x', 'UNSUPPORTED_FORMAT'],
  ] as const)('rejects %j "%s" with %s', (path, text, code) => {
    expect(() => decodeNode(utf8(text), TEXT, path, models)).toThrow(expect.objectContaining({ code }));
  });

  it('rejects invalid UTF-8', () => {
    expect(() => decodeNode(hex('C3 28'), TEXT, [3, 0, 0], models)).toThrow(CodecError);
  });
});

describe('opaque (42)', () => {
  it('carries the bytes of an opaque resource as they are', () => {
    const bytes = hex('00 01 FE FF');
    expect(decodeNode(bytes, OPAQUE, [5, 0, 0], models)).toEqual(res(0, 'opaque', bytes));
    expect(encodeNode(res(0, 'opaque', bytes), [5, 0, 0], OPAQUE, models)).toEqual(bytes);
  });
  it('refuses a non-opaque resource', () => {
    expect(() => decodeNode(utf8('1'), OPAQUE, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});

describe('cbor (60)', () => {
  it.each([
    [[3, 0, 9], 'integer', 100, '18 64'],
    [[3, 0, 9], 'integer', -500, '39 01 F3'],
    [[3, 0, 16], 'string', 'U', '61 55'],
    [[30000, 0, 4], 'boolean', true, 'F5'],
    [[30000, 0, 3], 'float', 1.1, 'FB 3F F1 99 99 99 99 99 9A'],
    [[30000, 0, 5], 'opaque', new Uint8Array([1, 2, 3]), '43 01 02 03'],
    [[30000, 0, 7], 'objlnk', { objectId: 3, instanceId: 0 }, '63 33 3A 30'],
    [[3, 0, 13], 'time', 1367491215, '1A 51 82 42 8F'],
  ] as const)('%j %s %j <-> %s (RFC 8949 encodings)', (path, type, value, bytes) => {
    const node = res(path[2], type, value as ResourceValue);
    expect(toHex(encodeNode(node, path, CBOR, models))).toBe(bytes);
    expect(decodeNode(hex(bytes), CBOR, path, models)).toEqual(node);
  });

  it('accepts half-precision floats and tag-1 times', () => {
    expect(decodeNode(hex('F9 3E 00'), CBOR, [30000, 0, 3], models)).toEqual(res(3, 'float', 1.5));
    expect(decodeNode(hex('C1 1A 51 82 42 8F'), CBOR, [3, 0, 13], models)).toEqual(res(13, 'time', 1367491215));
  });

  it('rejects a type the model does not allow, trailing bytes and non-values', () => {
    expect(() => decodeNode(hex('61 55'), CBOR, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => decodeNode(hex('01 02'), CBOR, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
    expect(() => decodeNode(hex('A0'), CBOR, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
    expect(() => decodeNode(hex(''), CBOR, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });
});

describe('supportsLevel', () => {
  it('single-value formats only for one resource value; opaque only for opaque resources', () => {
    expect(supportsLevel(TEXT, [3, 0, 0], models)).toBe(true);
    expect(supportsLevel(TEXT, [3, 0, 7], models)).toBe(false); // multiple resource
    expect(supportsLevel(TEXT, [3, 0, 7, 0], models)).toBe(true);
    expect(supportsLevel(TEXT, [3, 0], models)).toBe(false);
    expect(supportsLevel(CBOR, [3], models)).toBe(false);
    expect(supportsLevel(TEXT, [3, 0, 4], models)).toBe(false); // executable
    expect(supportsLevel(OPAQUE, [5, 0, 0], models)).toBe(true);
    expect(supportsLevel(OPAQUE, [3, 0, 0], models)).toBe(false);
    expect(supportsLevel(TLV, [3], models)).toBe(true);
    expect(supportsLevel(TLV, [], models)).toBe(false);
    expect(supportsLevel(SENML_JSON, [3, 0, 7], models)).toBe(true);
    expect(supportsLevel(LINK, [3, 0], models)).toBe(false);
  });

  it('encodeNode refuses an unsupported level with UNSUPPORTED_FORMAT', () => {
    const inst: LwM2mNode = { kind: 'instance', id: 0, resources: [] };
    expect(() => encodeNode(inst, [3, 0], TEXT, models)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});
