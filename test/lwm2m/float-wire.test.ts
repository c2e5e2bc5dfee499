// Floats stay floats for resources without a model: a value the device wrote as a float (SenML
// JSON -82.0 or 1e2; a CBOR half, single or double) is typed float even when it is integral.
// The payloads are written by hand (RFC 8428 §5 and §6 labels; RFC 8949 §3.3 float encodings),
// not produced by our encoders.
import { describe, expect, it } from 'vitest';
import { decodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { objectsDir } from '../../simulators/fleet.ts';

const models = loadObjectModels(objectsDir); // knows nothing of object 33200

function types(node: LwM2mNode): Record<number, [string, unknown]> {
  if (node.kind !== 'instance') throw new Error(`expected an instance, got ${node.kind}`);
  return Object.fromEntries(node.resources.map((r) => [r.id, [r.type, r.kind === 'resource' ? r.value : r.values]]));
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const name = (n: number): string => Buffer.from(`/33200/0/${n}`).toString('hex'); // 10 bytes: text string header 0x6a

describe('float values of resources without a model', () => {
  it('SenML JSON: -82.0 and 1e2 are floats, 7 is an integer, 2.5 a float', () => {
    const payload = text('[{"bn":"/33200/0/","n":"1","v":-82.0},{"n":"2","v":7},{"n":"3", "v" : 1e2},{"n":"4","v":2.5},{"n":"5","vs":"v:1.0"}]');
    expect(types(decodeNode(payload, ContentFormat.SENML_JSON, [33200, 0], models))).toEqual({
      1: ['float', -82], 2: ['integer', 7], 3: ['float', 100], 4: ['float', 2.5], 5: ['string', 'v:1.0'],
    });
  });

  it('SenML CBOR: half, single and double floats are floats, an unsigned integer is an integer', () => {
    const payload = hex(`84
      a2 00 6a ${name(1)} 02 f9 3c00
      a2 00 6a ${name(2)} 02 fa 42280000
      a2 00 6a ${name(3)} 02 fb 4045000000000000
      a2 00 6a ${name(4)} 02 18 2a`);
    expect(types(decodeNode(payload, ContentFormat.SENML_CBOR, [33200, 0], models))).toEqual({
      1: ['float', 1], 2: ['float', 42], 3: ['float', 42], 4: ['integer', 42],
    });
  });

  it('a modelled resource keeps its model type whatever the wire says', () => {
    // /3/0/9 Battery Level is an Integer in the Device object: 100.0 on the wire is still an integer
    const payload = text('[{"bn":"/3/0/","n":"9","v":100.0}]');
    const node = decodeNode(payload, ContentFormat.SENML_JSON, [3, 0, 9], models);
    expect(node).toMatchObject({ kind: 'resource', type: 'integer', value: 100 });
  });
});
