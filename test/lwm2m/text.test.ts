// Plain text (0), LwM2M 1.1 TS Core §7.4.1 and Appendix C.
import { describe, expect, it } from 'vitest';
import { CodecError, decodeNode, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, ResourceType, ResourceValue } from '../../src/lwm2m/node.ts';
import { ascii, hex, models, utf8 } from './helpers.ts';

const { TEXT } = ContentFormat;
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

describe('text/plain whitespace', () => {
  it('trims around numbers but keeps strings whole', () => {
    expect(decodeNode(utf8(' 100\n'), TEXT, [3, 0, 9], models)).toEqual(res(9, 'integer', 100));
    expect(decodeNode(utf8(' U\n'), TEXT, [3, 0, 16], models)).toEqual(res(16, 'string', ' U\n'));
  });
});

describe('text/plain hostile numbers', () => {
  it('rejects a 1 MB digit string quickly', () => {
    const start = Date.now();
    expect(() => decodeNode(utf8(`${'1'.repeat(1_000_000)}x`), TEXT, [30000, 0, 3], models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(Date.now() - start).toBeLessThan(500);
  });
});
