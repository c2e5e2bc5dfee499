// Fuzzes the content-format decoders with mutations of valid payloads of every format (TLV,
// SenML JSON/CBOR, LwM2M JSON/CBOR, CBOR, text, opaque, link format) and with random bytes.
// Contract (codec-error.ts): decoders throw CodecError and nothing else, never hang, and a
// decoded node is the node that was asked for. Seed printed; reproduce with FUZZ_SEED=<seed>.
import { Decoder, Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { CodecError, decodeLinkFormat, decodeNode, decodePaths, decodeRecords, encodeNode, encodeRecords, encodePaths, parseLinks } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import type { LwM2mNode, LwM2mRecord } from '../../src/lwm2m/node.ts';
import type { LwM2mPath } from '../../src/lwm2m/path.ts';
import { ObjectLinksError, readObjectLinks } from '../../src/registration/object-links.ts';
import { models, TEST_OBJECT } from '../lwm2m/helpers.ts';
import { createRng, mutate, seedFromEnv, type Rng } from '../helpers/prng.ts';

const SEED = seedFromEnv(0x7e57c0de);
const ITERATIONS_PER_FORMAT = Number(process.env.FUZZ_ITERATIONS ?? 11_000);
console.log(`decoders fuzz: FUZZ_SEED=${SEED}, ${ITERATIONS_PER_FORMAT} inputs per format`);

const device: LwM2mNode = {
  kind: 'instance', id: 0, resources: [
    { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
    { kind: 'resource', id: 1, type: 'string', value: 'Lightweight M2M Client' },
    { kind: 'resource', id: 2, type: 'string', value: '345000123' },
    { kind: 'multiResource', id: 6, type: 'integer', values: { 0: 1, 1: 5 } },
    { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } },
    { kind: 'resource', id: 9, type: 'integer', value: 100 },
    { kind: 'resource', id: 13, type: 'time', value: 1367491215 },
    { kind: 'resource', id: 14, type: 'string', value: '+02:00' },
    { kind: 'resource', id: 16, type: 'string', value: 'U' },
  ],
};

// object 30000: resource i is single of type VALUE_TYPES[i], 10+i multiple of the same type
const testInstance: LwM2mNode = {
  kind: 'instance', id: 3, resources: [
    { kind: 'resource', id: 0, type: 'string', value: 'héllo, "world"' },
    { kind: 'resource', id: 1, type: 'integer', value: -123456789 },
    { kind: 'resource', id: 2, type: 'unsigned', value: 4000000000 },
    { kind: 'resource', id: 3, type: 'float', value: -1.5e10 },
    { kind: 'resource', id: 4, type: 'boolean', value: true },
    { kind: 'resource', id: 5, type: 'opaque', value: new Uint8Array([0, 1, 2, 0xff, 0xfe]) },
    { kind: 'resource', id: 6, type: 'time', value: 1700000000 },
    { kind: 'resource', id: 7, type: 'objlnk', value: { objectId: 3, instanceId: 0 } },
    { kind: 'resource', id: 8, type: 'corelnk', value: '</3/0>;ct=40' },
    { kind: 'multiResource', id: 11, type: 'integer', values: { 0: 1, 7: -7, 300: 65536 } },
    { kind: 'multiResource', id: 14, type: 'boolean', values: { 0: false } },
    { kind: 'multiResource', id: 15, type: 'opaque', values: { 1: new Uint8Array([9, 9]) } },
  ],
};

type Seed = { format: ContentFormat; path: LwM2mPath; payload: Uint8Array };

const NODE_SEEDS: { node: LwM2mNode; path: LwM2mPath }[] = [
  { node: { kind: 'object', id: 3, instances: [device as never] }, path: [3] },
  { node: device, path: [3, 0] },
  { node: testInstance, path: [TEST_OBJECT, 3] },
  { node: { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' }, path: [3, 0, 0] },
  { node: { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } }, path: [3, 0, 7] },
  { node: { kind: 'resourceInstance', id: 1, type: 'integer', value: 5000 }, path: [3, 0, 7, 1] },
  { node: { kind: 'resource', id: 3, type: 'float', value: 21.5 }, path: [TEST_OBJECT, 3, 3] },
  { node: { kind: 'resource', id: 5, type: 'opaque', value: new Uint8Array([1, 2, 3, 4]) }, path: [TEST_OBJECT, 3, 5] },
  { node: { kind: 'resource', id: 7, type: 'objlnk', value: { objectId: 1, instanceId: 0 } }, path: [TEST_OBJECT, 3, 7] },
  { node: { kind: 'resource', id: 4, type: 'boolean', value: false }, path: [TEST_OBJECT, 3, 4] },
];

const NODE_FORMATS: ContentFormat[] = [
  ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON,
  ContentFormat.LWM2M_CBOR, ContentFormat.CBOR, ContentFormat.TEXT, ContentFormat.OPAQUE,
];
const RECORD_FORMATS: ContentFormat[] = [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_JSON, ContentFormat.LWM2M_CBOR];

function seedsFor(format: ContentFormat): Seed[] {
  const seeds: Seed[] = [];
  for (const { node, path } of NODE_SEEDS) {
    try {
      seeds.push({ format, path, payload: encodeNode(node, path, format, models) });
    } catch (e) {
      if (!(e instanceof CodecError)) throw e; // the format cannot carry this node (text for an instance)
    }
  }
  return seeds;
}

const RECORDS: LwM2mRecord[] = [
  { path: [3, 0, 0], value: 'Open Mobile Alliance' },
  { path: [3, 0, 9], value: 87, time: 1700000000 },
  { path: [3, 0, 7, 0], value: 3800 },
  { path: [TEST_OBJECT, 3, 4], value: true },
  { path: [TEST_OBJECT, 3, 5], value: new Uint8Array([0xde, 0xad]) },
  { path: [TEST_OBJECT, 3, 7], value: { objectId: 3, instanceId: 0 } },
];

const TEXT_TOKENS = [
  '{', '}', '[', ']', ',', ':', '"', '\\', 'null', 'true', '1e999', '-0', '1.7976931348623157e309', '9007199254740993',
  '"bn":"/3/0/"', '"n":"0"', '"n":"/65535"', '"v":', '"vs":', '"vb":', '"vd":"', '"vlo":"3:0"', '"bt":', '"t":', '"e":[', '"bn_":1',
  '"__proto__":', '"constructor":', '</', '>;', ';ct=', ';rt="oma.lwm2m"', '"', '\u0000', '\ud800', '\u00ff', '/3/0/7/1/2',
];
const TEXT_DICT = TEXT_TOKENS.map((t) => new TextEncoder().encode(t));
const CBOR_DICT = [
  [0x9f], [0xbf], [0xff], [0x5f], [0x7f], [0xc1], [0xc4, 0x82], [0xd8, 0x18], [0xf9, 0x7c, 0x00], [0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
  [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x9a, 0xff, 0xff, 0xff, 0xff],
  [0xba, 0x7f, 0xff, 0xff, 0xff], [0x21], [0x00], [0x20], [0x61, 0x6e], [0x62, 0x62, 0x6e], [0xa1, 0x00, 0x63, 0x2f, 0x33, 0x2f],
].map((b) => new Uint8Array(b));

type Failure = { where: string; iteration: number; input: string; error: string };

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-Error thrown: ${String(e)}`;
}

/** Runs one decode; anything but CodecError (or a thrown non-Error) is a failure. */
function check(failures: Failure[], where: string, iteration: number, input: Uint8Array, fn: () => unknown, allowed: (e: unknown) => boolean = (e) => e instanceof CodecError): unknown {
  try {
    return fn();
  } catch (e) {
    if (!allowed(e) && failures.length < 20) failures.push({ where, iteration, input: Buffer.from(input).toString('hex').slice(0, 400), error: describeError(e) });
    return undefined;
  }
}

function replacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : v;
}

/** Node equality that ignores resource order and treats -0 and 0, NaN and NaN alike. */
function sameNode(a: LwM2mNode, b: LwM2mNode): boolean {
  const norm = (n: LwM2mNode): string => JSON.stringify(n, (k, v: unknown) => {
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
    if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    if (typeof v === 'bigint') return `${v}n`; // a 64-bit integer past 2^53
    if (Array.isArray(v) && (k === 'resources' || k === 'instances')) return [...(v as { id: number }[])].sort((x, y) => x.id - y.id);
    return v;
  });
  return norm(a) === norm(b);
}

/** What the decoders promise about a node decoded at `path` (Core §7.4: the response is that node). */
function nodeMatchesPath(node: LwM2mNode, path: LwM2mPath): boolean {
  switch (path.length) {
    case 1: return node.kind === 'object' && node.id === path[0];
    case 2: return node.kind === 'instance' && node.id === path[1];
    case 3: return (node.kind === 'resource' || node.kind === 'multiResource') && node.id === path[2];
    case 4: return node.kind === 'resourceInstance' && node.id === path[3];
    default: return true;
  }
}

// ---- structure-aware mutation: decode a valid JSON/CBOR seed, edit the tree, encode it again,
// so the inputs get past the syntax check and exercise the record and typing logic

const cborEncoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true, pack: false });
const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });

const LABELS = ['bn', 'bt', 'bv', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 'vlo', 's', 't', 'ut', 'e', 'bn_', 'ov', 'sv', 'bv', -2, -3, -1, 0, 1, 2, 3, 4, 6, 8, 'zz'];

function randomLeaf(rng: Rng): unknown {
  switch (rng.int(14)) {
    case 0: return rng.pick(['/3/0/', '/3/0/7/', '/', '', '/65535/0/1', '3/0/1', '/3//0', '/3/0/7/1/2', `/${TEST_OBJECT}/3/`, '0', '/0', '7/1']);
    case 1: return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, -0, 4294967296, 65535, 65536]);
    case 2: return rng.pick([true, false, null]);
    case 3: return rng.pick(['3:0', '65535:65535', ':', '3:', 'a:b', '']);
    case 4: return 'AAEC/w==';
    case 5: return new Uint8Array(rng.bytes(rng.int(6)));
    case 6: return [];
    case 7: return new Map();
    case 8: return {};
    case 9: return rng.int(70000);
    case 10: return 'x'.repeat(rng.int(300));
    case 11: return NaN;
    case 12: return Infinity;
    default: return rng.pick(LABELS);
  }
}

function mutateTree(rng: Rng, v: unknown, depth = 0): unknown {
  if (rng.next() < 0.08) return randomLeaf(rng);
  if (Array.isArray(v)) {
    let out = v.map((x) => (rng.next() < 0.3 ? mutateTree(rng, x, depth + 1) : x));
    const r = rng.next();
    if (r < 0.1 && out.length > 0) out.splice(rng.int(out.length), 1);
    else if (r < 0.2 && out.length > 0) out.push(out[rng.int(out.length)]);
    else if (r < 0.25) out = out.reverse();
    else if (r < 0.3) out.push(randomLeaf(rng));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) {
      const r = rng.next();
      if (r < 0.06) continue; // drop a key
      const key = r < 0.12 ? randomLeaf(rng) : k;
      out.set(key, rng.next() < 0.35 ? mutateTree(rng, x, depth + 1) : x);
    }
    if (rng.next() < 0.15) out.set(rng.pick(LABELS), randomLeaf(rng));
    return out;
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = rng.next();
      if (r < 0.06) continue;
      const key = r < 0.12 ? String(rng.pick(LABELS)) : k;
      out[key] = rng.next() < 0.35 ? mutateTree(rng, x, depth + 1) : x;
    }
    if (rng.next() < 0.15) out[String(rng.pick(LABELS))] = randomLeaf(rng);
    return out;
  }
  return rng.next() < 0.5 ? randomLeaf(rng) : v;
}

function structuralMutation(rng: Rng, format: ContentFormat, payload: Uint8Array): Uint8Array | undefined {
  const json = format === ContentFormat.SENML_JSON || format === ContentFormat.LWM2M_JSON;
  const cbor = format === ContentFormat.SENML_CBOR || format === ContentFormat.LWM2M_CBOR || format === ContentFormat.CBOR;
  if (!json && !cbor) return undefined;
  try {
    if (json) {
      const tree = JSON.parse(new TextDecoder().decode(payload)) as unknown;
      // JSON has no byte strings, Maps or non-finite numbers: they come out as {} / null
      return new TextEncoder().encode(JSON.stringify(mutateTree(rng, tree)));
    }
    return new Uint8Array(cborEncoder.encode(mutateTree(rng, cborDecoder.decode(payload))));
  } catch {
    return undefined;
  }
}

function randomInput(rng: Rng, dict: readonly Uint8Array[], seeds: readonly Seed[]): Uint8Array {
  const r = rng.next();
  if (r < 0.45) {
    const seed = rng.pick(seeds);
    const structured = structuralMutation(rng, seed.format, seed.payload);
    if (structured) return structured;
  }
  if (r < 0.1) return rng.bytes(rng.int(64));
  const base = rng.pick(seeds).payload;
  // stacking mutations reaches states one edit cannot
  let out = mutate(rng, base, dict);
  if (r > 0.7) out = mutate(rng, out, dict);
  return out;
}

const PATHS_AROUND: LwM2mPath[] = [[3], [3, 0], [3, 0, 0], [3, 0, 7], [3, 0, 7, 1], [TEST_OBJECT, 3], [TEST_OBJECT, 3, 5], [5, 0, 1], [9999, 1, 2], []];

describe(`decoders under fuzzing (FUZZ_SEED=${SEED})`, () => {
  let total = 0;

  for (const format of NODE_FORMATS) {
    it(`decodeNode ${format}: only CodecError, and the node asked for`, () => {
      const rng = createRng(SEED ^ format);
      const seeds = seedsFor(format);
      expect(seeds.length).toBeGreaterThan(0);
      // every seed decodes as it is: the fuzz starts from valid payloads
      for (const s of seeds) expect(() => decodeNode(s.payload, format, s.path, models), `${format} ${s.path.join('/')}`).not.toThrow();
      const dict = format === ContentFormat.TEXT || format === ContentFormat.SENML_JSON || format === ContentFormat.LWM2M_JSON ? TEXT_DICT : CBOR_DICT;
      const failures: Failure[] = [];
      const wrongNode: Failure[] = [];
      const roundTrip: Failure[] = [];
      let slowest = 0;
      let decoded = 0;
      for (let i = 0; i < ITERATIONS_PER_FORMAT; i++) {
        const input = randomInput(rng, dict, seeds);
        const path = rng.next() < 0.8 ? rng.pick(seeds).path : rng.pick(PATHS_AROUND);
        const t0 = performance.now();
        const node = check(failures, `decodeNode(${format}, /${path.join('/')})`, i, input, () => decodeNode(input, format, path, models)) as LwM2mNode | undefined;
        slowest = Math.max(slowest, performance.now() - t0);
        if (node !== undefined) {
          decoded++;
          if (!nodeMatchesPath(node, path) && wrongNode.length < 5) {
            wrongNode.push({ where: `decodeNode(${format}, /${path.join('/')})`, iteration: i, input: Buffer.from(input).toString('hex'), error: `returned ${node.kind} ${node.id}` });
          }
          // what was decoded encodes again in the same format (or is refused with CodecError), and
          // decodes back to the same node: the server can relay what it read
          const again = check(failures, `re-encode(${format}, /${path.join('/')})`, i, input, () => encodeNode(node, path, format, models)) as Uint8Array | undefined;
          if (again) {
            const back = check(failures, `decode re-encoded(${format}, /${path.join('/')})`, i, input, () => decodeNode(again, format, path, models)) as LwM2mNode | undefined;
            if (back && !sameNode(back, node) && roundTrip.length < 5) {
              roundTrip.push({ where: `round trip(${format}, /${path.join('/')})`, iteration: i, input: Buffer.from(input).toString('hex'), error: `${JSON.stringify(node, replacer)} -> ${JSON.stringify(back, replacer)}` });
            }
          }
        }
      }
      total += ITERATIONS_PER_FORMAT;
      console.log(`  ${format}: ${ITERATIONS_PER_FORMAT} inputs, ${decoded} decoded, slowest ${slowest.toFixed(1)} ms`);
      expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
      expect(wrongNode, JSON.stringify(wrongNode, null, 1)).toEqual([]);
      expect(roundTrip, JSON.stringify(roundTrip, null, 1)).toEqual([]);
      expect(slowest).toBeLessThan(1000);
    });
  }

  for (const format of RECORD_FORMATS) {
    it(`decodeRecords ${format} (and decodePaths where defined): only CodecError`, () => {
      const rng = createRng(SEED ^ (format * 7));
      const seeds: Seed[] = [];
      // LwM2M CBOR has no timestamps
      const records = format === ContentFormat.LWM2M_CBOR ? RECORDS.map(({ path, value }) => ({ path, value })) : RECORDS;
      seeds.push({ format, path: [], payload: encodeRecords(records, format) });
      if (format === ContentFormat.SENML_JSON || format === ContentFormat.SENML_CBOR) {
        seeds.push({ format, path: [], payload: encodePaths([[3, 0, 0], [1, 0], [3], [TEST_OBJECT, 3, 11, 7]], format) });
      }
      for (const s of seeds) {
        if (s === seeds[0]) expect(decodeRecords(s.payload, format, models)).toHaveLength(records.length);
        else expect(decodePaths(s.payload, format)).toHaveLength(4);
      }
      const dict = format === ContentFormat.SENML_JSON || format === ContentFormat.LWM2M_JSON ? TEXT_DICT : CBOR_DICT;
      const failures: Failure[] = [];
      const n = Math.floor(ITERATIONS_PER_FORMAT / 2);
      for (let i = 0; i < n; i++) {
        const input = randomInput(rng, dict, seeds);
        const records = check(failures, `decodeRecords(${format})`, i, input, () => decodeRecords(input, format, models)) as LwM2mRecord[] | undefined;
        // every record names a resource or a resource instance
        if (records) for (const r of records) if ((r.path.length !== 3 && r.path.length !== 4) && failures.length < 20) failures.push({ where: `decodeRecords(${format})`, iteration: i, input: Buffer.from(input).toString('hex'), error: `record path /${r.path.join('/')}` });
        if (format === ContentFormat.SENML_JSON || format === ContentFormat.SENML_CBOR) {
          check(failures, `decodePaths(${format})`, i, input, () => decodePaths(input, format));
        }
      }
      total += n;
      expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
    });
  }

  it('parseLinks / decodeLinkFormat / readObjectLinks: only CodecError (ObjectLinksError for object links)', () => {
    const rng = createRng(SEED ^ 40);
    const docs = [
      '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>',
      '</lwm2m>;rt="oma.lwm2m";ct=112,</lwm2m/1/0>,</lwm2m/3/0>',
      '</1/0>, </3/0>;obs;title="a \\"quoted\\" title",</5/0>;pmin=10;pmax=60;gt=20.5',
      '</3/0/1>;dim=2,</3/0/7>;dim=3;st=0.5,</.well-known/core>;rt="core.rd";ct=40',
    ];
    const seeds: Seed[] = docs.map((d) => ({ format: ContentFormat.LINK, path: [], payload: new TextEncoder().encode(d) }));
    for (const s of seeds) expect(() => readObjectLinks(decodeLinkFormat(s.payload))).not.toThrow();
    const failures: Failure[] = [];
    const n = 16_000;
    for (let i = 0; i < n; i++) {
      const input = randomInput(rng, TEXT_DICT, seeds);
      const links = check(failures, 'decodeLinkFormat', i, input, () => decodeLinkFormat(input)) as ReturnType<typeof parseLinks> | undefined;
      if (links) {
        check(failures, 'readObjectLinks', i, input, () => readObjectLinks(links), (e) => e instanceof ObjectLinksError);
        for (const l of links) {
          // parsed attributes are plain data: no prototype pollution through "__proto__"
          if (Object.getPrototypeOf(l.attributes) !== Object.prototype && failures.length < 20) failures.push({ where: 'parseLinks attributes prototype', iteration: i, input: Buffer.from(input).toString('hex'), error: 'prototype changed' });
        }
      }
      // parseLinks on text (as the registration handler calls it) must agree with the byte entry point
      check(failures, 'parseLinks', i, input, () => parseLinks(Buffer.from(input).toString('utf8')));
    }
    total += n;
    expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
  });

  it('pathological inputs: deep nesting, huge counts, long numbers', () => {
    const failures: Failure[] = [];
    const cases: [ContentFormat, Uint8Array][] = [
      [ContentFormat.SENML_JSON, new TextEncoder().encode('['.repeat(100_000))],
      [ContentFormat.LWM2M_JSON, new TextEncoder().encode('{"e":' + '['.repeat(50_000))],
      [ContentFormat.SENML_CBOR, new Uint8Array(Array(50_000).fill(0x81))],
      [ContentFormat.LWM2M_CBOR, new Uint8Array(Array(50_000).fill(0xa1).flatMap((b) => [b, 0x00]))],
      [ContentFormat.CBOR, new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      [ContentFormat.SENML_CBOR, new Uint8Array([0x9a, 0x7f, 0xff, 0xff, 0xff])],
      [ContentFormat.TLV, new Uint8Array([0x08, 0x00, 0xff, ...Array(20).fill(0x08)])],
      [ContentFormat.TLV, new Uint8Array([0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      [ContentFormat.TEXT, new TextEncoder().encode('9'.repeat(1_000_000))],
      [ContentFormat.TEXT, new TextEncoder().encode('1' + '0'.repeat(400) + 'e-400')],
    ];
    for (const [format, input] of cases) {
      for (const path of [[3, 0], [3, 0, 9], [3]] as LwM2mPath[]) {
        const t0 = performance.now();
        check(failures, `decodeNode(${format}, /${path.join('/')}) pathological`, 0, input, () => decodeNode(input, format, path, models));
        expect(performance.now() - t0, `${format}`).toBeLessThan(2000);
      }
      if (RECORD_FORMATS.includes(format)) check(failures, `decodeRecords(${format}) pathological`, 0, input, () => decodeRecords(input, format, models));
    }
    check(failures, 'parseLinks pathological', 0, new Uint8Array(), () => parseLinks('<' + '/1'.repeat(100_000) + '>' + ';a=b'.repeat(50_000)));
    check(failures, 'parseLinks pathological quotes', 0, new Uint8Array(), () => parseLinks('</1>;t="' + '\\"'.repeat(100_000)));
    expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
  });

  it(`ran at least 100,000 inputs in total`, () => {
    console.log(`decoders fuzz: ${total} inputs in total (FUZZ_SEED=${SEED})`);
    if (ITERATIONS_PER_FORMAT >= 11_000) expect(total).toBeGreaterThanOrEqual(100_000);
  });
});
