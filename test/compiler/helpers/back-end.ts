// Shared helpers for the back-end tests (quantizer, planner, module, runtime): small synthetic ONNX
// models compiled with random calibration data.
import { compile, type CompileResult } from '../../../compiler/compile.ts';
import { attr, buildModel, randomTensor, rng, type NodeSpec } from './onnx-builder.ts';
import type { ConstTensor } from '../../../compiler/ir/graph.ts';

export function randomInputs(count: number, elements: number, seed: number, lo = 0, hi = 1): Float32Array[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: elements }, () => lo + (hi - lo) * rand()));
}

export type SmallModel = { readonly onnx: Uint8Array; readonly inputShape: readonly number[] };

/** A conv net touching every int8 kernel: conv (padded, strided), depthwise, pointwise, pools, GAP, FC, softmax. */
export function everyKernelModel(seed = 7): SmallModel {
  const rand = rng(seed);
  const inits: ConstTensor[] = [
    randomTensor('w1', [8, 3, 3, 3], rand, 0.4),
    randomTensor('b1', [8], rand, 0.1),
    randomTensor('wd', [8, 1, 3, 3], rand, 0.5),
    randomTensor('bd', [8], rand, 0.1),
    randomTensor('wp', [12, 8, 1, 1], rand, 0.4),
    randomTensor('bp', [12], rand, 0.1),
    randomTensor('wf', [5, 12], rand, 0.5),
    randomTensor('bf', [5], rand, 0.1),
    randomTensor('k', [1, 12, 1, 1], rand, 0.5, 1),
  ];
  const nodes: NodeSpec[] = [
    { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1]) } },
    { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
    { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } },
    { op: 'Conv', inputs: ['p1', 'wd', 'bd'], outputs: ['d1'], attrs: { group: attr.i(8), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) } },
    { op: 'Relu', inputs: ['d1'], outputs: ['r2'] },
    { op: 'Conv', inputs: ['r2', 'wp', 'bp'], outputs: ['pw'] },
    { op: 'AveragePool', inputs: ['pw'], outputs: ['ap'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]) } },
    { op: 'Mul', inputs: ['ap', 'k'], outputs: ['mk'] },
    { op: 'Add', inputs: ['mk', 'pw'], outputs: ['sum'] },
    { op: 'Clip', inputs: ['sum'], outputs: ['cl'], attrs: {} },
    { op: 'GlobalAveragePool', inputs: ['cl'], outputs: ['g'] },
    { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
    { op: 'Gemm', inputs: ['f', 'wf', 'bf'], outputs: ['logits'], attrs: { transB: attr.i(1) } },
    { op: 'Softmax', inputs: ['logits'], outputs: ['y'] },
  ];
  const onnx = buildModel({
    nodes,
    inputs: [{ name: 'x', shape: [1, 3, 12, 12] }],
    outputs: [{ name: 'y', shape: [1, 5] }],
    initializers: inits,
  });
  return { onnx, inputShape: [1, 3, 12, 12] };
}

export function compileSmall(model: SmallModel, opts: { planner?: 'greedy' | 'naive'; target?: string; seed?: number } = {}): CompileResult {
  const elements = model.inputShape.reduce((a, b) => a * b, 1);
  return compile(model.onnx, {
    target: opts.target ?? 'esp32',
    name: 'small',
    calibration: randomInputs(32, elements, opts.seed ?? 1),
    planner: opts.planner,
  });
}
