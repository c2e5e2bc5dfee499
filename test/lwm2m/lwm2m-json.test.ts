// LwM2M JSON (11543): Device example of LwM2M 1.1 TS Core §7.4.5.
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeNode, decodeRecords, encodeNode, 
} from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { ascii, models, utf8 } from './helpers.ts';
import { LWM2M_JSON_DEVICE, device } from './device-example.ts';

const { LWM2M_JSON } = ContentFormat;

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

  it('names records relative to the request path when "bn" is absent (LwM2M 1.0 clients)', () => {
    expect(decodeNode(utf8('{"e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"9","v":100}]}'), LWM2M_JSON, [3, 0], models)).toEqual({
      kind: 'instance', id: 0, resources: [
        { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
        { kind: 'resource', id: 9, type: 'integer', value: 100 },
      ],
    });
  });

  it.each([['no e', '{"bn":"/3/0/"}'], ['two values', '{"e":[{"n":"/3/0/0","sv":"a","v":1}]}'], ['bad bt', '{"bt":"x","e":[]}']])(
    'rejects %s', (_n, text) => {
      expect(() => decodeRecords(utf8(text), LWM2M_JSON, models)).toThrow(CodecError);
    });
});
