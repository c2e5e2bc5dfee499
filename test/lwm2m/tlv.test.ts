// Vectors from LwM2M TS Core §7.4.3 (TLV examples: Device object instance, Access Control
// object), written out by hand from the specification text.
import { device } from './device-example.ts';
import { describe, expect, it } from 'vitest';
import { decodeNode, encodeNode, CodecError } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { hex, models, toHex } from './helpers.ts';

const TLV = ContentFormat.TLV;

const DEVICE_INSTANCE_TLV = `
C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
C8 02 09 33 34 35 30 30 30 31 32 33
C3 03 31 2E 30
86 06 41 00 01 41 01 05
88 07 08 42 00 0E D8 42 01 13 88
87 08 41 00 7D 42 01 03 84
C1 09 64
C1 0A 0F
83 0B 41 00 00
C4 0D 51 82 42 8F
C6 0E 2B 30 32 3A 30 30
C1 10 55`;


describe('TLV (11542) spec vectors', () => {
  it('decodes and encodes the Device object instance example (Read /3/0)', () => {
    expect(decodeNode(hex(DEVICE_INSTANCE_TLV), TLV, [3, 0], models)).toEqual(device);
    expect(toHex(encodeNode(device, [3, 0], TLV, models))).toBe(toHex(hex(DEVICE_INSTANCE_TLV)));
  });

  it('wraps the instance in an object-instance TLV for Read /3 (08 00 79: 121 bytes)', () => {
    const object: LwM2mNode = { kind: 'object', id: 3, instances: [device] };
    const bytes = hex(`08 00 79 ${DEVICE_INSTANCE_TLV}`);
    expect(decodeNode(bytes, TLV, [3], models)).toEqual(object);
    expect(toHex(encodeNode(object, [3], TLV, models))).toBe(toHex(bytes));
  });

  it('decodes the Access Control multiple object instance example (Read /2)', () => {
    const bytes = hex(`08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F
                       08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F`);
    const acl: LwM2mNode = {
      kind: 'object', id: 2, instances: [
        { kind: 'instance', id: 0, resources: [
          { kind: 'resource', id: 0, type: 'integer', value: 1 },
          { kind: 'resource', id: 1, type: 'integer', value: 0 },
          { kind: 'multiResource', id: 2, type: 'integer', values: { 127: 7 } },
          { kind: 'resource', id: 3, type: 'integer', value: 127 },
        ] },
        { kind: 'instance', id: 2, resources: [
          { kind: 'resource', id: 0, type: 'integer', value: 3 },
          { kind: 'resource', id: 1, type: 'integer', value: 0 },
          { kind: 'multiResource', id: 2, type: 'integer', values: { 127: 7, 310: 1 } },
          { kind: 'resource', id: 3, type: 'integer', value: 127 },
        ] },
      ],
    };
    expect(decodeNode(bytes, TLV, [2], models)).toEqual(acl);
    expect(toHex(encodeNode(acl, [2], TLV, models))).toBe(toHex(bytes));
  });

  it('single resource, multiple resource and resource instance levels', () => {
    expect(decodeNode(hex('C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65'), TLV, [3, 0, 0], models))
      .toEqual({ kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' });
    const voltage: LwM2mNode = { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } };
    expect(decodeNode(hex('88 07 08 42 00 0E D8 42 01 13 88'), TLV, [3, 0, 7], models)).toEqual(voltage);
    expect(toHex(encodeNode(voltage, [3, 0, 7], TLV, models))).toBe('88 07 08 42 00 0E D8 42 01 13 88');
    // bare resource-instance TLVs for a multiple resource are accepted too
    expect(decodeNode(hex('42 00 0E D8 42 01 13 88'), TLV, [3, 0, 7], models)).toEqual(voltage);
    const inst: LwM2mNode = { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 };
    expect(decodeNode(hex('42 01 13 88'), TLV, [3, 0, 7, 1], models)).toEqual(inst);
    expect(toHex(encodeNode(inst, [3, 0, 7, 1], TLV, models))).toBe('42 01 13 88');
  });

  it('encodes each type in its Appendix C form', () => {
    const r = (id: number, type: 'integer' | 'float' | 'boolean' | 'objlnk' | 'unsigned' | 'opaque', value: never) =>
      toHex(encodeNode({ kind: 'resource', id, type, value }, [30000, 0, id], TLV, models));
    expect(r(1, 'integer', -129 as never)).toBe('C2 01 FF 7F');
    expect(r(1, 'integer', 2 ** 31 as never)).toBe('C8 01 08 00 00 00 00 80 00 00 00');
    expect(r(2, 'unsigned', 255 as never)).toBe('C1 02 FF');
    expect(r(3, 'float', 1.5 as never)).toBe('C4 03 3F C0 00 00');
    expect(r(3, 'float', 0.1 as never)).toBe('C8 03 08 3F B9 99 99 99 99 99 9A');
    expect(r(4, 'boolean', true as never)).toBe('C1 04 01');
    expect(r(7, 'objlnk', { objectId: 3, instanceId: 0x1234 } as never)).toBe('C4 07 00 03 12 34');
    expect(toHex(encodeNode({ kind: 'resource', id: 300, type: 'opaque', value: new Uint8Array(300) }, [30000, 0, 300], TLV, models)).slice(0, 14))
      .toBe('F0 01 2C 01 2C'); // 16-bit id, 16-bit length
  });

  it('keeps unknown resources as opaque bytes', () => {
    expect(decodeNode(hex('C2 63 01 02'), TLV, [3, 0, 99], models)).toEqual(
      { kind: 'resource', id: 99, type: 'opaque', value: new Uint8Array([1, 2]) });
  });

  it.each([
    ['truncated header', 'C8'],
    ['length beyond the payload', 'C8 00 14 4F'],
    ['24-bit length beyond the payload', 'D8 00 FF FF FF 00'],
    ['bad integer width', 'C3 09 00 00 00'],
    ['bad boolean', 'C1 04 02'],
    ['invalid UTF-8', 'C1 00 FF'],
  ])('rejects %s with CodecError', (_name, bytes) => {
    const path = _name === 'bad boolean' ? [30000, 0, 4] : _name === 'bad integer width' ? [3, 0, 9] : [3, 0, 0];
    expect(() => decodeNode(hex(bytes), TLV, path, models)).toThrow(CodecError);
  });
});
