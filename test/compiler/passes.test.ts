import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../compiler/ir/graph.ts';
import { sizeOf } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { eliminateReshape } from '../../compiler/passes/eliminate-reshape.ts';
import { foldBatchNorm } from '../../compiler/passes/fold-batch-norm.ts';
import { foldConstants } from '../../compiler/passes/fold-constants.ts';
import { fuseActivation } from '../../compiler/passes/fuse-activation.ts';
import { removeDeadNodes } from '../../compiler/passes/remove-dead-nodes.ts';
import { removeIdentity } from '../../compiler/passes/remove-identity.ts';
import { runPasses } from '../../compiler/passes/run-passes.ts';
import { closeEnough } from './helpers/compare.ts';
import { attr, buildModel, floatTensor, int64Tensor, randomTensor, rng } from './helpers/onnx-builder.ts';

function randomInputs(g: Graph, seed: number): Record<string, Float32Array> {
  const r = rng(seed);
  return Object.fromEntries(g.inputs.map((v) => [v.name, Float32Array.from({ length: sizeOf(v.shape) }, () => r() * 4 - 2)]));
}

/** Outputs of `after` equal those of `before` on a few random inputs (1e-4 abs + rel). */
function expectSameOutputs(before: Graph, after: Graph): void {
  for (let seed = 1; seed <= 3; seed++) {
    const inputs = randomInputs(before, seed);
    const a = runFloat(before, inputs);
    const b = runFloat(after, inputs);
    for (const o of before.outputs) {
      const res = closeEnough(b.get(o.name) as Float32Array, a.get(o.name) as Float32Array, 1e-4, 1e-4);
      expect(res.ok, `${o.name}: ${res.message}`).toBe(true);
    }
  }
}

const ops = (g: Graph): string[] => g.nodes.map((n) => n.op);
const r = rng(42);

describe('passes', () => {
  it('fold BatchNormalization into Conv, then fuse Relu', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomTensor('W', [4, 3, 3, 3], r), randomTensor('B', [4], r),
        randomTensor('s', [4], r, 0.5, 1), randomTensor('bb', [4], r), randomTensor('m', [4], r), randomTensor('v', [4], r, 0.4, 0.6),
      ],
      nodes: [
        { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { pads: attr.ints([1, 1, 1, 1]) } },
        { op: 'BatchNormalization', inputs: ['c', 's', 'bb', 'm', 'v'], outputs: ['bn'], attrs: { epsilon: attr.f(1e-3) } },
        { op: 'Relu', inputs: ['bn'], outputs: ['y'] },
      ],
    }));
    const bnFolded = foldBatchNorm(g);
    expect(ops(bnFolded)).toEqual(['Conv', 'Relu']);
    expectSameOutputs(g, bnFolded);
    const all = runPasses(g);
    expect(ops(all)).toEqual(['Conv']);
    expect(all.nodes[0].attrs['activation']).toBe('relu');
    expect([...all.initializers.keys()].sort()).toEqual(all.nodes[0].inputs.slice(1).sort()); // old weights dropped
    expectSameOutputs(g, all);
  });

  it('fold BatchNormalization into Gemm (transB, alpha, beta, matrix C) and Clip(0,6) -> relu6', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [2, 5] }],
      outputs: [{ name: 'y' }],
      initializers: [
        randomTensor('W', [3, 5], r), randomTensor('C', [2, 3], r),
        randomTensor('s', [3], r, 0.5, 1), randomTensor('bb', [3], r), randomTensor('m', [3], r), randomTensor('v', [3], r, 0.4, 0.6),
        floatTensor('lo', [0], []), floatTensor('hi', [6], []),
      ],
      nodes: [
        { op: 'Gemm', inputs: ['x', 'W', 'C'], outputs: ['g'], attrs: { transB: attr.i(1), alpha: attr.f(0.7), beta: attr.f(1.3) } },
        { op: 'BatchNormalization', inputs: ['g', 's', 'bb', 'm', 'v'], outputs: ['bn'] },
        { op: 'Clip', inputs: ['bn', 'lo', 'hi'], outputs: ['y'] },
      ],
    }));
    const out = runPasses(g);
    expect(ops(out)).toEqual(['Gemm']);
    expect(out.nodes[0].attrs['activation']).toBe('relu6');
    expectSameOutputs(g, out);
  });

  it('MatMul + Add(bias) becomes Gemm with a fused clip; Constant-node bounds are folded first', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [1, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('W', [6, 4], r), randomTensor('b', [4], r), floatTensor('half', [0.5], [])],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['mm'] },
        { op: 'Add', inputs: ['b', 'mm'], outputs: ['a'] },
        { op: 'Constant', inputs: [], outputs: ['lo0'], attrs: { value_float: attr.f(-1) } },
        { op: 'Mul', inputs: ['lo0', 'half'], outputs: ['lo'] }, // constant: folds to -0.5
        { op: 'Constant', inputs: [], outputs: ['hi'], attrs: { value_float: attr.f(0.25) } },
        { op: 'Clip', inputs: ['a', 'lo', 'hi'], outputs: ['c'] },
        { op: 'Clip', inputs: ['c', '', 'hi'], outputs: ['y'] },
      ],
    }));
    const out = runPasses(g);
    expect(ops(out)).toEqual(['Gemm', 'Clip']); // the second Clip cannot fuse: Gemm already has one
    expect(out.nodes[0].attrs).toMatchObject({ activation: 'clip', activation_min: -0.5, activation_max: 0.25 });
    expectSameOutputs(g, out);
  });

  it('removes Identity and Dropout, including one that produces a graph output', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Identity', inputs: ['x'], outputs: ['i'] },
        { op: 'Sigmoid', inputs: ['i'], outputs: ['s'] },
        { op: 'Dropout', inputs: ['s'], outputs: ['y'] },
      ],
    }));
    const out = removeIdentity(g);
    expect(ops(out)).toEqual(['Sigmoid']);
    expect(out.nodes[0].inputs).toEqual(['x']);
    expect(out.nodes[0].outputs).toEqual(['y']);
    expectSameOutputs(g, out);
  });

  it('keeps an Identity from graph input to graph output (the interface names must survive)', () => {
    const g = importOnnx(buildModel({ inputs: [{ name: 'x', shape: [3] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }] }));
    expect(ops(runPasses(g))).toEqual(['Identity']);
  });

  it('collapses Reshape/Flatten chains and drops no-op reshapes', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [1, 2, 3, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [int64Tensor('s1', [1, 2, 12]), int64Tensor('s2', [1, 2, 12]), randomTensor('W', [24, 5], r)],
      nodes: [
        { op: 'Reshape', inputs: ['x', 's1'], outputs: ['r1'] },
        { op: 'Reshape', inputs: ['r1', 's2'], outputs: ['r2'] }, // no-op
        { op: 'Flatten', inputs: ['r2'], outputs: ['f'], attrs: { axis: attr.i(1) } },
        { op: 'MatMul', inputs: ['f', 'W'], outputs: ['y'] },
      ],
    }));
    const out = eliminateReshape(g);
    expect(ops(out)).toEqual(['Reshape', 'MatMul']);
    expect(out.values.get(out.nodes[0].outputs[0])?.shape).toEqual([1, 24]);
    expectSameOutputs(g, out);
  });

  it('folds constant subgraphs and removes dead nodes and weights', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [4] }],
      outputs: [{ name: 'y' }],
      initializers: [floatTensor('a', [1, 2, 3, 4]), floatTensor('b', [2, 2, 2, 2]), floatTensor('unused', [9])],
      nodes: [
        { op: 'Mul', inputs: ['a', 'b'], outputs: ['ab'] },
        { op: 'Add', inputs: ['x', 'ab'], outputs: ['y'] },
        { op: 'Tanh', inputs: ['x'], outputs: ['dead'] },
      ],
    }));
    const folded = foldConstants(g);
    expect(ops(folded)).toEqual(['Add', 'Tanh']);
    expect([...(folded.initializers.get('ab')?.data as Float32Array)]).toEqual([2, 4, 6, 8]);
    const out = removeDeadNodes(folded);
    expect(ops(out)).toEqual(['Add']);
    expect([...out.initializers.keys()]).toEqual(['ab']);
    expect(out.values.has('dead')).toBe(false);
    expectSameOutputs(g, out);
  });

  it('fuses Relu into MatMul when the MatMul cannot become a Gemm', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('W', [4, 5], r)],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['m'] }, { op: 'Relu', inputs: ['m'], outputs: ['y'] }],
    }));
    const out = fuseActivation(g);
    expect(ops(out)).toEqual(['MatMul']);
    expectSameOutputs(g, out);
  });

  it('passes are pure: the input graph is unchanged', () => {
    const g = importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('W', [4, 4], r)],
      nodes: [{ op: 'Gemm', inputs: ['x', 'W'], outputs: ['g'] }, { op: 'Relu', inputs: ['g'], outputs: ['y'] }],
    }));
    const snapshot = JSON.stringify(g.nodes);
    const valuesBefore = [...g.values.keys()];
    runPasses(g);
    expect(JSON.stringify(g.nodes)).toBe(snapshot);
    expect([...g.values.keys()]).toEqual(valuesBefore);
  });

  const zoo = 'compiler/zoo/models';
  const zooModels = readdirSync(zoo).filter((f) => f.endsWith('.onnx'));
  it('finds the committed zoo models', () => expect(zooModels.length).toBeGreaterThanOrEqual(3));
  it.each(zooModels)('zoo model %s: same outputs after runPasses, fewer nodes', (file) => {
    const g = importOnnx(readFileSync(`${zoo}/${file}`));
    const out = runPasses(g);
    // a Relu/Clip after Conv/Gemm/Add, a BatchNormalization, a Dropout, a zero Pad or a constant
    // shape chain is folded away; a model with none of them (sigmlp: Gemm, Sigmoid) keeps its nodes
    const foldable = g.nodes.some((n) => ['Relu', 'Clip', 'BatchNormalization', 'Dropout', 'Identity', 'Pad', 'Unsqueeze', 'Shape'].includes(n.op));
    if (foldable) expect(out.nodes.length).toBeLessThan(g.nodes.length);
    else expect(out.nodes.map((n) => n.op)).toEqual(g.nodes.map((n) => n.op));
    expectSameOutputs(g, out);
  });

  it('folds a zero Pad into the next AveragePool (count_include_pad) and Conv, not into a MaxPool', () => {
    const rand = rng(31);
    const g = importOnnx(buildModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 2, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [int64Tensor('p', [0, 0, 1, 1, 0, 0, 1, 1]), int64Tensor('q', [0, 0, 2, 0, 0, 0, 0, 1]), randomTensor('w', [3, 2, 3, 3], rand)],
      nodes: [
        { op: 'Pad', inputs: ['x', 'p'], outputs: ['xp'] },
        { op: 'AveragePool', inputs: ['xp'], outputs: ['a'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) } },
        { op: 'Pad', inputs: ['a', 'q'], outputs: ['ap'] },
        { op: 'Conv', inputs: ['ap', 'w'], outputs: ['c'] },
        { op: 'Pad', inputs: ['c', 'p'], outputs: ['cp'] },
        { op: 'MaxPool', inputs: ['cp'], outputs: ['y'], attrs: { kernel_shape: attr.ints([2, 2]) } },
      ],
    }));
    const out = runPasses(g);
    expect(out.nodes.map((n) => n.op)).toEqual(['AveragePool', 'Conv', 'Pad', 'MaxPool']);
    expect(out.nodes[0].attrs).toMatchObject({ pads: [1, 1, 1, 1], count_include_pad: 1 });
    expect(out.nodes[1].attrs).toMatchObject({ pads: [2, 0, 0, 1] });
    expectSameOutputs(g, out);
  });
});
