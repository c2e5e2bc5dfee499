// Every decoder meets garbage: >= 20,000 random and mutated payloads each. The only exception
// allowed out is CodecError; nothing may hang (the test has a time limit) or allocate from a
// length field it has not checked.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError, decodeLinkFormat, decodeNode, decodePaths, decodeRecords, encodeNode, encodePaths, encodeRecords,
} from '../../src/lwm2m/codec.ts';
import { ContentFormat, contentFormatNames } from '../../src/lwm2m/content-format.ts';
import { hex, models, utf8 } from './helpers.ts';
import { nodeAtPathArb, recordsArb } from './arbitraries.ts';
import { xorshift32 } from '../../simulators/client/seeded-random.ts';

const PAYLOADS_PER_DECODER = 20_000;

function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const b = Array.from(seed);
  const ops = 1 + int(4);
  for (let k = 0; k < ops; k++) {
    switch (int(7)) {
      case 0: if (b.length) b[int(b.length)] = int(256); break; // byte flip
      case 1: b.length = int(b.length + 1); break; // truncate
      case 2: b.splice(int(b.length + 1), 0, ...Array.from({ length: 1 + int(8) }, () => int(256))); break; // insert
      case 3: if (b.length) b[int(b.length)] = [0x00, 0xff, 0x7f, 0x80, 0x1b, 0x9b, 0xbf, 0x5f][int(8)]!; break; // length-ish bytes
      case 4: { const i = int(b.length + 1); b.splice(i, 0, ...b.slice(i, i + int(16))); break; } // duplicate a slice
      case 5: if (b.length) b[int(b.length)] ^= 1 << int(8); break; // bit flip
      default: b.push(...Array.from({ length: int(4) }, () => int(256))); // trailing bytes
    }
  }
  return Uint8Array.from(b);
}

function randomBytes(rand: () => number): Uint8Array {
  return Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
}

/** Valid encodings to mutate, from the generators and a few hostile hand-made ones. */
function seedsFor(format: ContentFormat): Uint8Array[] {
  const seeds: Uint8Array[] = [
    hex('D8 00 FF FF FF'), hex('9B FF FF FF FF FF FF FF FF'), hex('BB 00 00 00 01 00 00 00 00'), hex('5B 7F FF FF FF FF FF FF FF'),
    utf8('[{"bn":"/3/0/","n":"0","vs":"x"}]'), utf8('{"bn":"/3/0/","e":[{"n":"0","sv":"x"}]}'), utf8('</3/0>;ct="60 110",</1/0>'),
    utf8('['.repeat(5000)), hex('81'.repeat(5000)),
  ];
  const samples = fc.sample(nodeAtPathArb, { numRuns: 40, seed: 42 });
  for (const { node, path } of samples) {
    try {
      seeds.push(encodeNode(node, path, format, models));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err; // format cannot carry this level
    }
  }
  if ([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON].includes(format as 110)) {
    for (const records of fc.sample(recordsArb, { numRuns: 20, seed: 7 })) seeds.push(encodeRecords(records, format));
  }
  if (format === ContentFormat.SENML_JSON || format === ContentFormat.SENML_CBOR) {
    seeds.push(encodePaths([[3, 0, 1], [1], []], format));
  }
  return seeds;
}

function hammer(name: string, seeds: Uint8Array[], decode: (p: Uint8Array, i: number) => unknown, seed: number): void {
  const rand = xorshift32(seed);
  let foreign: unknown;
  let count = 0;
  for (let i = 0; i < PAYLOADS_PER_DECODER; i++) {
    const payload = i % 4 === 0 ? randomBytes(rand) : mutate(seeds[Math.floor(rand() * seeds.length)]!, rand);
    try {
      decode(payload, i);
    } catch (err) {
      if (!(err instanceof CodecError)) {
        foreign ??= { name, payload: Buffer.from(payload).toString('hex'), err };
      }
    }
    count++;
  }
  expect(count).toBe(PAYLOADS_PER_DECODER);
  expect(foreign).toBeUndefined();
}

const PATHS = [[3], [3, 0], [3, 0, 0], [3, 0, 7], [3, 0, 7, 1], [5, 0, 0], [30000, 0, 3], [30000, 1, 17], [30000], [4, 0, 99]];
const NODE_FORMATS = [
  ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.CBOR, ContentFormat.TLV,
  ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON, ContentFormat.LWM2M_CBOR,
];
const RECORD_FORMATS = [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON, ContentFormat.LWM2M_CBOR];

describe('decoders throw only CodecError on garbage', () => {
  for (const [k, format] of NODE_FORMATS.entries()) {
    it(`decodeNode ${contentFormatNames[format]}: ${PAYLOADS_PER_DECODER} payloads`, () => {
      hammer(`decodeNode ${format}`, seedsFor(format), (p, i) => decodeNode(p, format, PATHS[i % PATHS.length]!, models), 1000 + k);
    }, 60_000);
  }
  for (const [k, format] of RECORD_FORMATS.entries()) {
    it(`decodeRecords ${contentFormatNames[format]}: ${PAYLOADS_PER_DECODER} payloads`, () => {
      hammer(`decodeRecords ${format}`, seedsFor(format), (p) => decodeRecords(p, format, models), 2000 + k);
    }, 60_000);
  }
  for (const [k, format] of [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR].entries()) {
    it(`decodePaths ${contentFormatNames[format]}: ${PAYLOADS_PER_DECODER} payloads`, () => {
      hammer(`decodePaths ${format}`, seedsFor(format), (p) => decodePaths(p, format), 3000 + k);
    }, 60_000);
  }
  it(`decodeLinkFormat: ${PAYLOADS_PER_DECODER} payloads`, () => {
    const seeds = [utf8('</>;rt="oma.lwm2m";ct="60 110 112",</1/0>,</3>;ver=1.1,</3/0>'), utf8('</3/0>;pmin=10;obs,</3/0/7>;dim=8;title="a,\\"b"')];
    hammer('decodeLinkFormat', seeds, (p) => decodeLinkFormat(p), 4000);
  }, 60_000);
});

describe('hostile CBOR lengths are refused before any allocation', () => {
  it.each([
    ['array of 2^64-1 items', '9B FF FF FF FF FF FF FF FF'],
    ['map of 2^32 entries', 'BB 00 00 00 01 00 00 00 00'],
    ['byte string of 2^63 bytes', '5B 7F FF FF FF FF FF FF FF'],
    ['array of 100 items in 3 bytes', '98 64 01 02'],
    ['deep nesting', '81'.repeat(100) + '01'],
    ['break outside indefinite', 'FF'],
    ['reserved additional info', '1C'],
  ])('%s', (_name, bytes) => {
    expect(() => decodeRecords(hex(bytes), ContentFormat.LWM2M_CBOR, models)).toThrow(/CBOR/);
    expect(() => decodeNode(hex(bytes), ContentFormat.CBOR, [3, 0, 9], models)).toThrow(CodecError);
  });
});
