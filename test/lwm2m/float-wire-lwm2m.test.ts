// Floats stay floats for resources without a model in LwM2M JSON (11543, LwM2M 1.1 TS Core
// §7.4.5), LwM2M CBOR (11544, LwM2M 1.2 TS Core §7.4.6) and plain CBOR (60): a value the device
// wrote as a float (JSON -82.0 or 1E2; a CBOR half 0xf9, single 0xfa or double 0xfb, RFC 8949
// §3.3) is typed float even when it is integral. Every payload is written by hand, never produced
// by our encoders, so a symmetric encode/decode slip cannot pass.
import { describe, expect, it } from 'vitest';
import { decodeNode, decodeRecords, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { floatValueLiterals } from '../../src/lwm2m/json-float-literals.ts';
import { floatValuePaths } from '../../src/lwm2m/lwm2m-cbor.ts';
import type { LwM2mNode, Resource } from '../../src/lwm2m/node.ts';
import { objectsDir } from '../../simulators/fleet.ts';

const LWM2M_JSON = { recordDepth: 3, rootKey: 'e' } as const;
const models = loadObjectModels(objectsDir); // knows nothing of object 33200

function types(node: LwM2mNode): Record<number, [string, unknown]> {
  if (node.kind !== 'instance') throw new Error(`expected an instance, got ${node.kind}`);
  return Object.fromEntries(node.resources.map((r) => [r.id, [r.type, r.kind === 'resource' ? r.value : r.values]]));
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('LwM2M JSON (11543): float literals', () => {
  it('-82.0, 1E2 and 2.5 are floats, 7 an integer, a "v:1.0" inside a string is a string', () => {
    const payload = text('{"bn":"/33200/0/","e":[{"n":"1","v":-82.0},{"n":"2","v":7},{"v" : 1E2 ,"n":"3"},{"n":"4","v":2.5},{"n":"5","sv":"\\"v\\":1.0"},{"n":"6","v":-3}]}');
    expect(types(decodeNode(payload, ContentFormat.LWM2M_JSON, [33200, 0], models))).toEqual({
      1: ['float', -82], 2: ['integer', 7], 3: ['float', 100], 4: ['float', 2.5], 5: ['string', '"v":1.0'], 6: ['integer', -3],
    });
  });

  it('a payload without "bn" named relative to the request path (LwM2M 1.0 clients)', () => {
    const payload = text('{"e":[\n  {"n":"1", "v": 21.0},\n  {"n":"2", "v": 21}\n]}');
    expect(types(decodeNode(payload, ContentFormat.LWM2M_JSON, [33200, 0], models))).toEqual({ 1: ['float', 21], 2: ['integer', 21] });
  });

  it('a multiple resource with one float instance is a float resource', () => {
    const payload = text('{"bn":"/33200/0/7/","e":[{"n":"0","v":1.0},{"n":"1","v":2}]}');
    expect(decodeNode(payload, ContentFormat.LWM2M_JSON, [33200, 0, 7], models)).toMatchObject({ kind: 'multiResource', type: 'float', values: { 0: 1, 1: 2 } });
  });

  it('records (composite read, Send) carry wireType float', () => {
    const payload = text('{"e":[{"n":"/33200/0/1","v":5e0,"t":10},{"n":"/33200/0/2","v":5}]}');
    expect(decodeRecords(payload, ContentFormat.LWM2M_JSON, models)).toEqual([
      { path: [33200, 0, 1], value: 5, time: 10, wireType: 'float' },
      { path: [33200, 0, 2], value: 5 },
    ]);
  });

  it('duplicate keys follow JSON.parse: the last "e" and the last "v" win', () => {
    expect(floatValueLiterals('{"e":[{"n":"/1/0/1","v":1.0},{"n":"/1/0/2","v":2}],"e":[{"n":"/1/0/1","v":1}]}', LWM2M_JSON)).toEqual([false]);
    expect(floatValueLiterals('{"e":[{"n":"/1/0/1","v":1,"v":1.5},{"v":2.0,"v":2}]}', LWM2M_JSON)).toEqual([true, false]);
    // a "v" outside "e" or nested deeper is not a record's value
    expect(floatValueLiterals('{"x":[{"v":1.0}],"e":[{"n":"/1/0/1","o":{"v":1.0},"v":1}]}', LWM2M_JSON)).toEqual([false]);
  });

  it('SenML JSON records (RFC 8428 §4.3): the same scanner at depth 2, the last "v" wins, nested "v" ignored', () => {
    const SENML = { recordDepth: 2 } as const;
    expect(floatValueLiterals('[{"n":"a","v":1.0},{"n":"b","v":2},{"n":"c","v":3E0},{"n":"d","vs":"1.0"}]', SENML)).toEqual([true, false, true, false]);
    expect(floatValueLiterals('[{"v":1.0,"v":1},{"v":1,"v":-0.5}]', SENML)).toEqual([false, true]);
    expect(floatValueLiterals('[ { "n" : "a" , "o" : { "v" : 1.0 } , "v" : 7 } ]', SENML)).toEqual([false]);
  });

  it('a modelled resource keeps its model type whatever the wire says', () => {
    // /3/0/9 Battery Level is an Integer in the Device object: 100.0 on the wire is still an integer
    const node = decodeNode(text('{"bn":"/3/0/9","e":[{"v":100.0}]}'), ContentFormat.LWM2M_JSON, [3, 0, 9], models);
    expect(node).toMatchObject({ kind: 'resource', type: 'integer', value: 100 });
  });
});

// 33200 = 0x81b0: key 19 81b0
describe('LwM2M CBOR (11544): major type 7 floats', () => {
  it('half, single and double floats are floats, unsigned and negative integers are integers', () => {
    const payload = hex(`a1 19 81b0 a1 00 a6
      01 f9 3c00
      02 fa 42280000
      03 fb 4045000000000000
      04 18 2a
      05 f9 c500
      06 24`);
    expect(types(decodeNode(payload, ContentFormat.LWM2M_CBOR, [33200, 0], models))).toEqual({
      1: ['float', 1], 2: ['float', 42], 3: ['float', 42], 4: ['integer', 42], 5: ['float', -5], 6: ['integer', -5],
    });
  });

  it('a path key given as an array of ids', () => {
    const payload = hex('a1 82 19 81b0 00 a2 01 fb 4045000000000000 02 18 2a');
    expect(types(decodeNode(payload, ContentFormat.LWM2M_CBOR, [33200, 0], models))).toEqual({ 1: ['float', 42], 2: ['integer', 42] });
  });

  it('indefinite-length maps', () => {
    const payload = hex('bf 19 81b0 bf 00 bf 01 f9 3c00 02 01 ff ff ff');
    expect(types(decodeNode(payload, ContentFormat.LWM2M_CBOR, [33200, 0], models))).toEqual({ 1: ['float', 1], 2: ['integer', 1] });
  });

  it('a multiple resource with one float instance is a float resource', () => {
    const payload = hex('a1 19 81b0 a1 00 a1 07 a2 00 f9 3c00 01 02');
    expect(decodeNode(payload, ContentFormat.LWM2M_CBOR, [33200, 0, 7], models)).toMatchObject({ kind: 'multiResource', type: 'float', values: { 0: 1, 1: 2 } });
  });

  it('marks exactly the float paths, and a repeated key takes its last value', () => {
    expect([...floatValuePaths(hex('a1 19 81b0 a1 00 a3 01 f9 3c00 02 63 616263 03 fa 3fc00000'))].sort()).toEqual(['33200/0/1', '33200/0/3']);
    expect([...floatValuePaths(hex('a1 01 a1 00 a2 05 f9 3c00 05 01'))]).toEqual([]);
    expect([...floatValuePaths(hex('a1 01 a1 00 a2 05 01 05 f9 3c00'))]).toEqual(['1/0/5']);
  });

  it('hostile path keys: deeper than a resource instance gives no mark and the decoder refuses it', () => {
    // {[1, 0, 5, 0, 0]: 1.0}
    const deep = hex('a1 85 01 00 05 00 00 f9 3c00');
    expect(floatValuePaths(deep).size).toBe(0);
    expect(() => decodeNode(deep, ContentFormat.LWM2M_CBOR, [1, 0], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
    // a key of 5000 ids over a map of 5000 float entries: no mark, and no path grows with it
    const ids = '00'.repeat(5000);
    const entries = Array.from({ length: 5000 }, (_, k) => `19 ${k.toString(16).padStart(4, '0')} f9 3c00`).join('');
    const wide = hex(`a1 99 1388 ${ids} b9 1388 ${entries}`);
    expect(floatValuePaths(wide).size).toBe(0);
    expect(() => decodeNode(wide, ContentFormat.LWM2M_CBOR, [1, 0], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });

  it('a modelled resource keeps its model type whatever the wire says', () => {
    // {3: {0: {9: 100.0 as a double}}}: Battery Level is an Integer
    const node = decodeNode(hex('a1 03 a1 00 a1 09 fb 4059000000000000'), ContentFormat.LWM2M_CBOR, [3, 0, 9], models);
    expect(node).toMatchObject({ kind: 'resource', type: 'integer', value: 100 });
  });
});

describe('CBOR (60): one value', () => {
  it.each([
    ['f9 3c00', 'float', 1],
    ['fa 42280000', 'float', 42],
    ['fb c054800000000000', 'float', -82],
    ['18 2a', 'integer', 42],
    ['38 51', 'integer', -82],
  ])('%s is %s %d', (bytes, type, value) => {
    expect(decodeNode(hex(bytes), ContentFormat.CBOR, [33200, 0, 1], models)).toMatchObject({ kind: 'resource', type, value });
  });
});

// Going out, a Float resource is written as a float even when integral (also in SenML JSON and
// CBOR, RFC 8428 §5-6): CBOR major type 7 (LwM2M
// 1.1 TS Core Appendix C) and a JSON float literal, so the other side reads back a float. Expected
// bytes by hand: 3442 = 0x0d72, 130 = 0x82, 120 = 0x78, 1130 = 0x046a; 21.0 as a double is
// 0x4035000000000000, 3.0 is 0x4008000000000000.
describe('encoding Float resources', () => {
  const floatValue: Resource = { kind: 'resource', id: 130, type: 'float', value: 21 };
  const integerValue: Resource = { kind: 'resource', id: 120, type: 'integer', value: 21 };
  const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

  it('CBOR (60): 21.0 is a double, the integer 21 stays 0x15', () => {
    expect(toHex(encodeNode(floatValue, [3442, 0, 130], ContentFormat.CBOR, models))).toBe('fb4035000000000000');
    expect(toHex(encodeNode(integerValue, [3442, 0, 120], ContentFormat.CBOR, models))).toBe('15');
  });

  it('LwM2M CBOR: the float value is a double, keys and the integer keep their integer form', () => {
    const instance: LwM2mNode = { kind: 'instance', id: 0, resources: [integerValue, floatValue] };
    expect(toHex(encodeNode(instance, [3442, 0], ContentFormat.LWM2M_CBOR, models)))
      .toBe(toHex(hex('a1 19 0d72 a1 00 a2 18 78 15 18 82 fb 4035000000000000')));
    const multiple: LwM2mNode = { kind: 'multiResource', id: 1130, type: 'float', values: { 0: 3 } };
    expect(toHex(encodeNode(multiple, [3442, 0, 1130], ContentFormat.LWM2M_CBOR, models)))
      .toBe(toHex(hex('a1 19 0d72 a1 00 a1 19 046a a1 00 fb 4008000000000000')));
  });

  it('LwM2M JSON: 21.0 is written as a float literal, 21 as an integer', () => {
    const instance: LwM2mNode = { kind: 'instance', id: 0, resources: [integerValue, floatValue] };
    const json = new TextDecoder().decode(encodeNode(instance, [3442, 0], ContentFormat.LWM2M_JSON, models));
    expect(json).toMatch(/"v":21\.0\}/);
    expect(json).toMatch(/"v":21\}/);
    expect(JSON.parse(json)).toMatchObject({ e: [{ v: 21 }, { v: 21 }] });
  });

  it('SenML JSON and SenML CBOR (RFC 8428): the float value as 21.0 and a double, the integer as 21', () => {
    const instance: LwM2mNode = { kind: 'instance', id: 0, resources: [integerValue, floatValue] };
    expect(new TextDecoder().decode(encodeNode(instance, [3442, 0], ContentFormat.SENML_JSON, models)))
      .toBe('[{"bn":"/3442/0/","n":"120","v":21},{"n":"130","v":21.0}]');
    // [{-2: "/3442/0/", 0: "120", 2: 21}, {0: "130", 2: 21.0}]
    expect(toHex(encodeNode(instance, [3442, 0], ContentFormat.SENML_CBOR, models)))
      .toBe(toHex(hex('82 a3 21 68 2f333434322f302f 00 63 313230 02 15 a2 00 63 313330 02 fb 4035000000000000')));
  });

  it.each([ContentFormat.LWM2M_JSON, ContentFormat.LWM2M_CBOR, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR])('format %i: an integral float of an object without a model comes back a float', (format) => {
    const node: LwM2mNode = { kind: 'instance', id: 0, resources: [
      { kind: 'resource', id: 1, type: 'float', value: -82 },
      { kind: 'resource', id: 2, type: 'integer', value: -82 },
      { kind: 'multiResource', id: 3, type: 'float', values: { 0: 1, 1: 2.5 } },
    ] };
    const back = decodeNode(encodeNode(node, [33200, 0], format, models), format, [33200, 0], models);
    expect(types(back)).toEqual({ 1: ['float', -82], 2: ['integer', -82], 3: ['float', { 0: 1, 1: 2.5 }] });
  });
});
