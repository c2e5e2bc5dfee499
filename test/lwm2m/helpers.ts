// Shared by the codec tests: the standard object models, a synthetic object with one resource
// per type (single and multiple), and hex helpers.
import { join } from 'node:path';
import { loadObjectModels, ObjectModelRegistry } from '../../src/lwm2m/ddf-loader.ts';
import type { ResourceType } from '../../src/lwm2m/node.ts';
import type { ObjectModel, ResourceModel } from '../../src/lwm2m/object-model.ts';

export const standardModels = loadObjectModels(join(import.meta.dirname, '../../objects'));

export const VALUE_TYPES: readonly ResourceType[] = ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk'];

/** Object 30000: resource i (0..8) is single of VALUE_TYPES[i], resource 10+i multiple of the same type. */
export const TEST_OBJECT = 30000;

function res(id: number, type: ResourceType, multiple: boolean): ResourceModel {
  return { id, name: `${type}${multiple ? 's' : ''}`, operations: 'RW', multiple, mandatory: false, type };
}

const testObject: ObjectModel = {
  id: TEST_OBJECT,
  name: 'Codec test object',
  version: '1.0',
  multiple: true,
  mandatory: false,
  resources: new Map(VALUE_TYPES.flatMap((t, i) => [[i, res(i, t, false)], [10 + i, res(10 + i, t, true)]] as const)),
};

export const models = new ObjectModelRegistry([...standardModels.all(), testObject]);

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function ascii(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
