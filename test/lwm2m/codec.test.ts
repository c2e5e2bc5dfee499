// The facade: which format carries which level (4.06 otherwise).
import { describe, expect, it } from 'vitest';
import { CodecError, decodeNode, decodeRecords, encodeNode, encodeRecords, supportsLevel } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { models } from './helpers.ts';

const { TEXT, OPAQUE, CBOR, TLV, SENML_JSON, LINK } = ContentFormat;

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

describe('records formats refuse single-value and TLV formats', () => {
  it('encodeRecords/decodeRecords with TLV -> UNSUPPORTED_FORMAT', () => {
    expect(() => encodeRecords([], TLV)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    expect(() => decodeRecords(new Uint8Array(), TLV, models)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});

describe('facade errors', () => {
  it('link format carries no node', () => {
    expect(() => decodeNode(new Uint8Array(), LINK, [3, 0], models)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
  it('a node whose value does not match its declared type is TYPE_MISMATCH on encode', () => {
    const bad: LwM2mNode = { kind: 'resource', id: 9, type: 'integer', value: 'x' };
    expect(() => encodeNode(bad, [3, 0, 9], TLV, models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeNode(bad, [3, 0, 9], TEXT, models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeNode(bad, [3, 0, 9], CBOR, models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });
  it('every thrown error is a CodecError', () => {
    try {
      decodeNode(new Uint8Array([0xc8]), TLV, [3, 0], models);
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
    }
    expect.assertions(1);
  });
});
