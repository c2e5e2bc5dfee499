import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConstTensor } from '../../compiler/ir/graph.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { onnxType } from '../../compiler/onnx/schema.ts';
import { decodeTensorProto } from '../../compiler/onnx/tensor-proto.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { attr, buildModel, floatTensor, int64Tensor, tensorProto } from './helpers/onnx-builder.ts';

const consts: ConstTensor[] = [
  floatTensor('f', [1.5, -2, 3.25], [3]),
  int64Tensor('i64', [-(2 ** 40), 7], [2]),
  { name: 'i32', dtype: 'int32', shape: [2], data: Int32Array.of(-5, 1 << 30) },
  { name: 'i8', dtype: 'int8', shape: [2, 1], data: Int8Array.of(-128, 127) },
  { name: 'u8', dtype: 'uint8', shape: [1], data: Uint8Array.of(255) },
];

function roundTrip(typedFields: boolean): Map<string, ConstTensor> {
  const bytes = buildModel({
    inputs: [{ name: 'x', shape: [3] }],
    outputs: [{ name: 'y' }],
    initializers: consts,
    typedFields,
    nodes: [{ op: 'Add', inputs: ['x', 'f'], outputs: ['y'] }],
  });
  return importOnnx(bytes).initializers;
}

describe('importOnnx', () => {
  it.each([false, true])('reads initializers of every supported dtype (typed fields: %s)', (typed) => {
    const inits = roundTrip(typed);
    for (const c of consts) {
      const got = inits.get(c.name);
      expect(got?.dtype).toBe(c.dtype);
      expect(got?.shape).toEqual(c.shape);
      expect([...(got?.data ?? [])]).toEqual([...c.data]);
    }
  });

  it('turns Constant nodes (value, value_float, value_floats, value_ints) into initializers', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [2, 2] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['t'], attrs: { value: attr.t(floatTensor('ignored', [1, 2, 3, 4], [2, 2])) } },
        { op: 'Constant', inputs: [], outputs: ['s'], attrs: { value_float: attr.f(0.5) } },
        { op: 'Constant', inputs: [], outputs: ['v'], attrs: { value_floats: attr.floats([1, -1]) } },
        { op: 'Constant', inputs: [], outputs: ['shape'], attrs: { value_ints: attr.ints([4]) } },
        { op: 'Add', inputs: ['x', 't'], outputs: ['a'] },
        { op: 'Mul', inputs: ['a', 's'], outputs: ['b'] },
        { op: 'Mul', inputs: ['b', 'v'], outputs: ['c'] },
        { op: 'Reshape', inputs: ['c', 'shape'], outputs: ['y'] },
      ],
    }));
    expect(g.nodes.map((n) => n.op)).toEqual(['Add', 'Mul', 'Mul', 'Reshape']);
    expect(g.initializers.get('t')?.name).toBe('t');
    expect(g.values.get('y')?.shape).toEqual([4]);
    expect([...(runFloat(g, { x: Float32Array.of(1, 1, 1, 1) }).get('y') ?? [])]).toEqual([1, -1.5, 2, -2.5]);
  });

  it('infers the shape of every value (string and ints attributes, omitted optional inputs)', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [1, 3, 8, 8] }],
      outputs: [{ name: 'y', shape: [1, 1, 128] }],
      initializers: [floatTensor('W', new Array(2 * 3 * 9).fill(0.1), [2, 3, 3, 3]), int64Tensor('s', [1, 1, -1])],
      nodes: [
        { op: 'Conv', inputs: ['x', 'W'], outputs: ['c'], attrs: { auto_pad: attr.s('SAME_UPPER'), strides: attr.ints([1, 1]) } },
        { op: 'Clip', inputs: ['c', '', ''], outputs: ['cl'] },
        { op: 'Reshape', inputs: ['cl', 's'], outputs: ['y'] },
      ],
    }));
    expect(g.values.get('c')?.shape).toEqual([1, 2, 8, 8]);
    expect(g.values.get('y')?.shape).toEqual([1, 1, 128]);
  });

  it('substitutes symbolic dims (default 1, or dimParams) and accepts IR<4 initializers listed as inputs', () => {
    const spec = {
      inputs: [{ name: 'x', shape: ['N', 4] }, { name: 'b', shape: [4] }],
      outputs: [{ name: 'y', shape: ['N', 4] }],
      initializers: [floatTensor('b', [1, 2, 3, 4])],
      nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
    };
    const g1 = importOnnx(buildModel(spec));
    expect(g1.inputs.map((i) => i.name)).toEqual(['x']);
    expect(g1.values.get('y')?.shape).toEqual([1, 4]);
    expect(importOnnx(buildModel(spec), { dimParams: { N: 5 } }).values.get('y')?.shape).toEqual([5, 4]);
  });

  it('decodes standalone TensorProto files', () => {
    const type = onnxType('TensorProto');
    const bytes = type.encode(type.fromObject(tensorProto(floatTensor('t', [1, 2, 3, 4, 5, 6], [2, 3])))).finish();
    const t = decodeTensorProto(bytes);
    expect(t).toMatchObject({ name: 't', dtype: 'float32', shape: [2, 3] });
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('imports the opset-13 zoo CNN when present', () => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync('compiler/zoo/models/cnn.onnx');
    } catch {
      return;
    }
    const g = importOnnx(bytes);
    expect(g.opset).toBe(13);
    for (const n of g.nodes) for (const o of n.outputs) expect(g.values.get(o)?.shape.length).toBeGreaterThan(0);
  });
});
