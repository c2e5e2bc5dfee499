// CBOR (60): one resource value; expected bytes written from RFC 8949 encodings.
import { describe, expect, it } from 'vitest';
import { decodeNode, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, ResourceType, ResourceValue } from '../../src/lwm2m/node.ts';
import { hex, models, toHex } from './helpers.ts';

const { CBOR } = ContentFormat;
const res = (id: number, type: ResourceType, value: ResourceValue): LwM2mNode => ({ kind: 'resource', id, type, value });

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

describe('cbor (60) tags', () => {
  it('reads a decimal fraction (RFC 8949 §3.4.4 example: 273.15 = C4 82 21 19 6A B3)', () => {
    expect(decodeNode(hex('C4 82 21 19 6A B3'), CBOR, [30000, 0, 3], models)).toEqual(res(3, 'float', 273.15));
  });
  it.each([
    ['value sharing (28/29)', 'D8 1C 81 D8 1D 00'],
    ['bignum (2)', 'C2 49 01 00 00 00 00 00 00 00 00'],
    ['cbor-x record extension', 'D9 DF FF 82 00 00'],
    ['Set (258)', 'D9 01 02 80'],
  ])('refuses %s', (_name, bytes) => {
    expect(() => decodeNode(hex(bytes), CBOR, [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });
});
