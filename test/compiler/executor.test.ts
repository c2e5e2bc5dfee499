import { describe, expect, it } from 'vitest';
import type { Node } from '../../compiler/ir/graph.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { clip } from '../../compiler/reference/clip.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { attr, buildModel, floatTensor } from './helpers/onnx-builder.ts';

describe('runFloat', () => {
  const g = importOnnx(buildModel({
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'y' }],
    initializers: [floatTensor('w', [1, -1, 2, -2], [4, 1]), floatTensor('b', [0.5], [1])],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'b'], outputs: ['a'] },
      { op: 'Relu', inputs: ['a'], outputs: ['r'] },
      { op: 'Sigmoid', inputs: ['r'], outputs: ['y'] },
    ],
  }));

  it('returns the graph input and every intermediate, not the weights', () => {
    const out = runFloat(g, { x: Float32Array.of(1, 2, 3, 4) });
    expect([...out.keys()].sort()).toEqual(['a', 'mm', 'r', 'x', 'y']);
    expect([...(out.get('mm') ?? [])]).toEqual([1 - 2 + 6 - 8]);
    expect([...(out.get('a') ?? [])]).toEqual([-2.5]);
    expect([...(out.get('r') ?? [])]).toEqual([0]);
    expect(out.get('y')?.[0]).toBeCloseTo(0.5, 7);
  });

  it('rejects a missing or wrongly sized input with SHAPE_MISMATCH', () => {
    expect(() => runFloat(g, {})).toThrow(/no Float32Array given for graph input 'x'/);
    expect(() => runFloat(g, { x: new Float32Array(3) })).toThrow(/has 3 elements; shape \[1,4\] needs 4/);
  });

  it('Softmax follows the opset: per-axis from 13, coerced to 2-D before', () => {
    const spec = (opset: number) => buildModel({
      opset,
      inputs: [{ name: 'x', shape: [1, 2, 2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: attr.i(1) } }],
    });
    const x = Float32Array.of(0, 0, Math.log(3), 0);
    const y13 = runFloat(importOnnx(spec(13)), { x }).get('y') as Float32Array;
    const y11 = runFloat(importOnnx(spec(11)), { x }).get('y') as Float32Array;
    // opset 13, axis 1: columns [0, ln3] and [0, 0] are normalized separately
    [0.25, 0.5, 0.75, 0.5].forEach((v, i) => expect(y13[i]).toBeCloseTo(v, 6));
    // opset 11, axis 1: the whole [2x2] block is one row of 4
    [1 / 6, 1 / 6, 3 / 6, 1 / 6].forEach((v, i) => expect(y11[i]).toBeCloseTo(v, 6));
  });

  it('Clip takes its bounds from inputs (opset >= 11) or, on a node built by hand, from attributes', () => {
    const x = { dtype: 'float32' as const, shape: [4], data: Float32Array.of(-3, -0.5, 0.5, 3) };
    const withAttrs: Node = { name: 'c', op: 'Clip', inputs: ['x'], outputs: ['y'], attrs: { min: -1, max: 1 } };
    expect([...clip(withAttrs, [x], 13)[0].data]).toEqual([-1, -0.5, 0.5, 1]);
    const lo = { dtype: 'float32' as const, shape: [], data: Float32Array.of(0) };
    const withInputs: Node = { name: 'c', op: 'Clip', inputs: ['x', 'lo'], outputs: ['y'], attrs: {} };
    expect([...clip(withInputs, [x, lo], 13)[0].data]).toEqual([0, 0, 0.5, 3]);
  });
});
