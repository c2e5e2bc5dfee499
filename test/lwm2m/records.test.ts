// Between nodes and flat records, typed through the model.
import { describe, expect, it } from 'vitest';
import { nodeToRecords, recordsToNode, typeRecords, typeValue } from '../../src/lwm2m/records.ts';
import { absoluteTime } from '../../src/lwm2m/senml.ts';
import type { LwM2mNode } from '../../src/lwm2m/node.ts';
import { models } from './helpers.ts';
import { device } from './device-example.ts';

describe('nodeToRecords / recordsToNode', () => {
  it('flattens the Device instance to leaf paths and back', () => {
    const records = nodeToRecords(device, [3, 0]);
    expect(records.slice(0, 6)).toEqual([
      { path: [3, 0, 0], value: 'Open Mobile Alliance' },
      { path: [3, 0, 1], value: 'Lightweight M2M Client' },
      { path: [3, 0, 2], value: '345000123' },
      { path: [3, 0, 3], value: '1.0' },
      { path: [3, 0, 6, 0], value: 1 },
      { path: [3, 0, 6, 1], value: 5 },
    ]);
    expect(recordsToNode(records, [3, 0], models)).toEqual(device);
  });

  it('refuses a node that cannot sit at the path', () => {
    expect(() => nodeToRecords(device, [3, 0, 0])).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
    expect(() => nodeToRecords(device, [3, 1])).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });

  it('builds an empty multiple resource when the model says multiple', () => {
    expect(recordsToNode([], [3, 0, 11], models)).toEqual({ kind: 'multiResource', id: 11, type: 'integer', values: {} });
    expect(() => recordsToNode([], [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });

  it.each([
    ['a record outside the path', [{ path: [3, 1, 0], value: 'x' }], [3, 0]],
    ['a duplicate resource', [{ path: [3, 0, 0], value: 'x' }, { path: [3, 0, 0], value: 'y' }], [3, 0]],
    ['a resource value mixed with instances', [{ path: [3, 0, 7], value: 1 }, { path: [3, 0, 7, 0], value: 1 }], [3, 0]],
    ['two values for one resource instance', [{ path: [3, 0, 7, 0], value: 1 }, { path: [3, 0, 7, 0], value: 2 }], [3, 0, 7, 0]],
  ])('rejects %s', (_name, records, path) => {
    expect(() => recordsToNode(records, path, models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });

  it('checks values against the model and keeps natural types for unknown resources', () => {
    expect(() => recordsToNode([{ path: [3, 0, 9], value: 'x' }], [3, 0, 9], models)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    const node: LwM2mNode = recordsToNode([{ path: [3, 0, 99, 1], value: 2.5 }, { path: [3, 0, 99, 2], value: 3 }], [3, 0, 99], models);
    expect(node).toEqual({ kind: 'multiResource', id: 99, type: 'float', values: { 1: 2.5, 2: 3 } });
  });
});

describe('typeValue / typeRecords', () => {
  it.each([
    [{ kind: 'number', value: 1.5 } as const, 'integer'],
    [{ kind: 'number', value: -1 } as const, 'unsigned'],
    [{ kind: 'string', value: '1' } as const, 'integer'],
    [{ kind: 'boolean', value: true } as const, 'string'],
    [{ kind: 'number', value: 1 } as const, 'boolean'],
    [{ kind: 'string', value: 'not base64!' } as const, 'opaque'],
    [{ kind: 'string', value: '3-0' } as const, 'objlnk'],
    [{ kind: 'number', value: 1 } as const, 'none'],
  ] as const)('%j for a %s resource is TYPE_MISMATCH', (wire, type) => {
    expect(() => typeValue(wire, type, '/x')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });

  it('accepts opaque as base64 text and objlnk as "3:0" text', () => {
    expect(typeValue({ kind: 'string', value: 'AQI=' }, 'opaque', '/x')).toEqual(new Uint8Array([1, 2]));
    expect(typeValue({ kind: 'string', value: '3:0' }, 'objlnk', '/x')).toEqual({ objectId: 3, instanceId: 0 });
  });

  it('keeps times and refuses records above resource level', () => {
    expect(typeRecords([{ path: [3, 0, 13], value: { kind: 'number', value: 5 }, time: 7 }], models))
      .toEqual([{ path: [3, 0, 13], value: 5, time: 7 }]);
    expect(() => typeRecords([{ path: [3, 0], value: { kind: 'number', value: 5 } }], models)).toThrow(expect.objectContaining({ code: 'BAD_PAYLOAD' }));
  });
});

describe('absoluteTime (RFC 8428 §4.5.3)', () => {
  it('makes times below 2^28 relative to now', () => {
    expect(absoluteTime(-5, 1_700_000_000)).toBe(1_699_999_995);
    expect(absoluteTime(1_600_000_000, 1_700_000_000)).toBe(1_600_000_000);
  });
});
