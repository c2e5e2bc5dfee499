// Opaque (42), LwM2M 1.1 TS Core §7.4.2.
import { describe, expect, it } from 'vitest';
import { decodeNode, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, ResourceType, ResourceValue } from '../../src/lwm2m/node.ts';
import { hex, models, utf8 } from './helpers.ts';

const { OPAQUE } = ContentFormat;
const res = (id: number, type: ResourceType, value: ResourceValue): LwM2mNode => ({ kind: 'resource', id, type, value });

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
