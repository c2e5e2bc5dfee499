// 64-bit integers in every content format (LwM2M 1.1 TS Core Appendix C: Integer is signed
// 64-bit, Unsigned Integer unsigned 64-bit; LwM2M 1.2 §7.4.6 for LwM2M CBOR). Every payload below
// is written by hand from the format's definition, not produced by our encoders: TLV 8-byte
// two's complement (Core §7.4.3), CBOR major type 0/1 with additional information 27 (0x1b/0x3b,
// RFC 8949 §3.1), decimal digits in plain text and JSON (RFC 8259 §6). Each vector is decoded to
// the exact value (a bigint past 2^53) and our encoder must produce exactly the same bytes.
import { describe, expect, it } from 'vitest';
import { CodecError, decodeNode, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { parseJsonExact } from '../../src/lwm2m/exact-json.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import type { LwM2mPath } from '../../src/lwm2m/path.ts';
import { ascii, hex, standardModels as models, toHex, utf8 } from './helpers.ts';

const TEST = 3442; // LwM2M v1.1 Test Object: 120 Integer Value, 125 Unsigned Integer Value

type Vector = {
  name: string;
  resource: 120 | 125;
  value: number | bigint; // the one form (integers.ts): a number inside ±(2^53 - 1)
  decimal: string;
  tlv: string; // the 8 value bytes, big-endian two's complement
  cbor: string; // the CBOR item
};

// resource 120 is 0x78, resource 125 0x7d; 3442 is 0x0d72
const VECTORS: Vector[] = [
  { name: 'int64 max', resource: 120, value: 9223372036854775807n, decimal: '9223372036854775807', tlv: '7f ff ff ff ff ff ff ff', cbor: '1b 7f ff ff ff ff ff ff ff' },
  { name: 'int64 min', resource: 120, value: -9223372036854775808n, decimal: '-9223372036854775808', tlv: '80 00 00 00 00 00 00 00', cbor: '3b 7f ff ff ff ff ff ff ff' },
  { name: 'uint64 max', resource: 125, value: 18446744073709551615n, decimal: '18446744073709551615', tlv: 'ff ff ff ff ff ff ff ff', cbor: '1b ff ff ff ff ff ff ff ff' },
  { name: '2^53 + 1', resource: 120, value: 9007199254740993n, decimal: '9007199254740993', tlv: '00 20 00 00 00 00 00 01', cbor: '1b 00 20 00 00 00 00 00 01' },
  { name: '2^53 - 1', resource: 120, value: 9007199254740991, decimal: '9007199254740991', tlv: '00 1f ff ff ff ff ff ff', cbor: '1b 00 1f ff ff ff ff ff ff' },
  { name: '-(2^53 + 1)', resource: 120, value: -9007199254740993n, decimal: '-9007199254740993', tlv: 'ff df ff ff ff ff ff ff', cbor: '3b 00 20 00 00 00 00 00 00' },
  { name: '-(2^53 - 1)', resource: 120, value: -9007199254740991, decimal: '-9007199254740991', tlv: 'ff e0 00 00 00 00 00 01', cbor: '3b 00 1f ff ff ff ff ff fe' },
  { name: 'unsigned 2^53 + 1', resource: 125, value: 9007199254740993n, decimal: '9007199254740993', tlv: '00 20 00 00 00 00 00 01', cbor: '1b 00 20 00 00 00 00 00 01' },
  { name: 'the value a C client sent', resource: 120, value: -6275414928917528891n, decimal: '-6275414928917528891', tlv: 'a8 e9 3f 5e e7 af fe c5', cbor: '3b 57 16 c0 a1 18 50 01 3a' },
];

function node(v: Vector): LwM2mNode {
  return { kind: 'resource', id: v.resource, type: v.resource === 120 ? 'integer' : 'unsigned', value: v.value };
}

const cborText = (s: string): string => `${(0x60 + s.length).toString(16)} ${Buffer.from(s).toString('hex')}`;

/** The payload of each format for one vector, written by hand. */
function payloads(v: Vector): Array<[ContentFormat, Uint8Array]> {
  const rid = v.resource.toString(16); // 78 / 7d, one byte
  return [
    [ContentFormat.TEXT, utf8(v.decimal)],
    // TLV: 0xc8 = resource with value, 8-bit id, 8-bit length field; id; length 8; value
    [ContentFormat.TLV, hex(`c8 ${rid} 08 ${v.tlv}`)],
    [ContentFormat.CBOR, hex(v.cbor)],
    [ContentFormat.SENML_JSON, utf8(`[{"bn":"/3442/0/","n":"${v.resource}","v":${v.decimal}}]`)],
    // [{ -2 (bn): "/3442/0/", 0 (n): "120", 2 (v): int }]
    [ContentFormat.SENML_CBOR, hex(`81 a3 21 ${cborText('/3442/0/')} 00 ${cborText(String(v.resource))} 02 ${v.cbor}`)],
    [ContentFormat.LWM2M_JSON, utf8(`{"bn":"/3442/0/","e":[{"n":"${v.resource}","v":${v.decimal}}]}`)],
    // { 3442: { 0: { 120: int } } }
    [ContentFormat.LWM2M_CBOR, hex(`a1 19 0d 72 a1 00 a1 18 ${rid} ${v.cbor}`)],
  ];
}

describe('64-bit integers, hand-written vectors in every format', () => {
  for (const v of VECTORS) {
    for (const [format, payload] of payloads(v)) {
      it(`${v.name} in format ${format}: decodes exactly and encodes to the same bytes`, () => {
        const path: LwM2mPath = [TEST, 0, v.resource];
        const decoded = decodeNode(payload, format, path, models);
        expect(decoded).toEqual(node(v));
        if (decoded.kind !== 'resource') throw new Error('a resource');
        expect(typeof decoded.value).toBe(typeof v.value); // bigint exactly when past 2^53
        const encoded = encodeNode(node(v), path, format, models);
        if (format === ContentFormat.TEXT || format === ContentFormat.SENML_JSON || format === ContentFormat.LWM2M_JSON) expect(ascii(encoded)).toBe(ascii(payload));
        else expect(toHex(encoded)).toBe(toHex(payload));
      });
    }
  }

  it('a resource instance of a multiple Integer resource in TLV and LwM2M CBOR', () => {
    // /3442/0/1120/3 = int64 min; 1120 = 0x0460: TLV resource instance 0b01 0 01 000 = 0x48, id 3;
    // wrapped in a multiple resource 0b10 1 01 000 = 0xa8 with a 16-bit id
    const tlv = hex('a8 04 60 0b 48 03 08 80 00 00 00 00 00 00 00');
    const n = decodeNode(tlv, ContentFormat.TLV, [TEST, 0, 1120], models);
    expect(n).toEqual({ kind: 'multiResource', id: 1120, type: 'integer', values: { 3: -(2n ** 63n) } });
    expect(toHex(encodeNode(n, [TEST, 0, 1120], ContentFormat.TLV, models))).toBe(toHex(tlv));
    const cbor = hex('a1 19 0d 72 a1 00 a1 19 04 60 a1 03 3b 7f ff ff ff ff ff ff ff');
    expect(decodeNode(cbor, ContentFormat.LWM2M_CBOR, [TEST, 0, 1120], models)).toEqual(n);
  });

  it('32-bit-plus integers are CBOR integers, not doubles (cbor-x alone writes 2^40 as fb 42 70 ..)', () => {
    const n: LwM2mNode = { kind: 'resource', id: 120, type: 'integer', value: 2 ** 40 };
    expect(toHex(encodeNode(n, [TEST, 0, 120], ContentFormat.CBOR, models))).toBe(toHex(hex('1b 00 00 01 00 00 00 00 00')));
    const neg: LwM2mNode = { kind: 'resource', id: 120, type: 'integer', value: -(2 ** 32) - 1 };
    expect(toHex(encodeNode(neg, [TEST, 0, 120], ContentFormat.CBOR, models))).toBe(toHex(hex('3b 00 00 00 01 00 00 00 00')));
    expect(toHex(encodeNode(n, [TEST, 0, 120], ContentFormat.LWM2M_CBOR, models))).toBe(toHex(hex('a1 19 0d 72 a1 00 a1 18 78 1b 00 00 01 00 00 00 00 00')));
  });

  it('values outside the 64-bit range of the type are refused, never rounded', () => {
    const refuse = (payload: Uint8Array, format: ContentFormat, rid: number): void => {
      expect(() => decodeNode(payload, format, [TEST, 0, rid], models)).toThrow(CodecError);
    };
    refuse(utf8('9223372036854775808'), ContentFormat.TEXT, 120); // int64 max + 1
    refuse(utf8('-9223372036854775809'), ContentFormat.TEXT, 120);
    refuse(utf8('18446744073709551616'), ContentFormat.TEXT, 125); // uint64 max + 1
    refuse(utf8('-1'), ContentFormat.TEXT, 125);
    refuse(hex('1b ff ff ff ff ff ff ff ff'), ContentFormat.CBOR, 120); // uint64 max for a signed resource
    refuse(hex('3b ff ff ff ff ff ff ff ff'), ContentFormat.CBOR, 120); // -2^64
    refuse(utf8('[{"n":"/3442/0/120","v":9223372036854775808}]'), ContentFormat.SENML_JSON, 120);
    refuse(utf8('{"e":[{"n":"/3442/0/125","v":-1}]}'), ContentFormat.LWM2M_JSON, 125);
    refuse(utf8('[{"n":"/3442/0/120","v":1e300}]'), ContentFormat.SENML_JSON, 120); // a float is no integer
    // an unknown resource: any 64-bit integer is kept, beyond that it is refused
    expect(() => decodeNode(hex('3b ff ff ff ff ff ff ff ff'), ContentFormat.CBOR, [33300, 0, 1], models)).toThrow(CodecError);
  });

  it('resources without a model keep 64-bit integers exactly, typed integer or unsigned', () => {
    const payload = utf8('[{"bn":"/33300/0/","n":"1","v":-9223372036854775808},{"n":"2","v":18446744073709551615},{"n":"3","v":9007199254740993.0}]');
    const n = decodeNode(payload, ContentFormat.SENML_JSON, [33300, 0], models);
    expect(n).toEqual({
      kind: 'instance', id: 0, resources: [
        { kind: 'resource', id: 1, type: 'integer', value: -(2n ** 63n) },
        { kind: 'resource', id: 2, type: 'unsigned', value: 2n ** 64n - 1n },
        { kind: 'resource', id: 3, type: 'float', value: 9007199254740992 }, // a float literal stays a float
      ],
    });
  });
});

describe('exact JSON parsing', () => {
  it('reads integer literals past 2^53 as bigint, everything else as JSON.parse does', () => {
    expect(parseJsonExact('{"a":[9007199254740993,-9223372036854775808,9007199254740991,1.5,1e30,"9007199254740993"]}')).toEqual({
      a: [9007199254740993n, -9223372036854775808n, 9007199254740991, 1.5, 1e30, '9007199254740993'],
    });
  });

  it('judges validity as JSON.parse does: leading zeros, missing commas and escaped look-alikes', () => {
    expect(() => parseJsonExact('[012345678901234567890]')).toThrow(SyntaxError);
    expect(() => parseJsonExact('[1 12345678901234567890]')).toThrow(SyntaxError);
    // a string that looks like a marked number stays a string
    expect(parseJsonExact('["\\u000012345678901234567890", 12345678901234567890]')).toEqual(['\u000012345678901234567890', 12345678901234567890n]);
    expect(parseJsonExact('{"s":"12345678901234567890 \\" 12345678901234567890"}')).toEqual({ s: '12345678901234567890 " 12345678901234567890' });
  });
});
