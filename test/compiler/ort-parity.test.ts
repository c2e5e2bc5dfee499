// Whole-model check of the float reference executor against onnxruntime-node, on 100 Fashion-MNIST
// test images (normalized x/255) per model:
//   - every .onnx under compiler/zoo/models/ (picked up automatically), before and after runPasses;
//   - synthetic models exercising the kernels' less common modes (grouped/dilated/1-D conv,
//     ceil_mode pools, count_include_pad, Softmax-11 coercion, transA Gemm, batched MatMul);
//   - the conformance models whose inputs are all float32, fed with image pixels.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readIdxFile, sampleAsFloat32, type IdxArray } from '../../compiler/data/idx.ts';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { sizeOf } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { runPasses } from '../../compiler/passes/run-passes.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { zooModels as manifestModels } from '../../compiler/zoo/zoo.ts';
import { closeEnough } from './helpers/compare.ts';
import { attr, buildModel, floatTensor, int64Tensor, randomTensor, rng, type ModelSpec } from './helpers/onnx-builder.ts';

const IMAGES = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const ZOO = 'compiler/zoo/models';
const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';
const SAMPLES = 100;
const TOL = 1e-4;

let images: IdxArray;
beforeAll(() => {
  images = readIdxFile(IMAGES);
});

/**
 * Input `j` of sample `k`: pixels of image (k + 37 j), cycled to fill the shape, mapped to [lo, hi].
 * Scalar inputs (a Dropout ratio, Clip bounds) take a pixel scaled to [0, 0.5) instead, a value
 * valid for all of them.
 */
function imageInputs(g: Graph, k: number, lo0: number, hi0: number): Record<string, Float32Array> {
  return Object.fromEntries(g.inputs.map((v, j) => {
    const img = sampleAsFloat32(images, (k + 37 * j) % 10000);
    const n = sizeOf(v.shape);
    const [lo, hi] = n === 1 ? [0, 0.499] : [lo0, hi0];
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * img[i % img.length];
    return [v.name, data];
  }));
}

/** Runs `graphs` (the same model, e.g. before and after passes) and ORT on SAMPLES inputs; returns the worst error. */
async function compareWithOrt(model: Uint8Array | string, graphs: Graph[], lo: number, hi: number): Promise<number> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  const g0 = graphs[0];
  let worst = 0;
  try {
    for (let k = 0; k < SAMPLES; k++) {
      const inputs = imageInputs(g0, k, lo, hi);
      const feeds = Object.fromEntries(g0.inputs.map((v) => [v.name, new ort.Tensor('float32', inputs[v.name], [...v.shape])]));
      const want = await session.run(feeds);
      for (const g of graphs) {
        const got = runFloat(g, inputs);
        for (const o of g0.outputs) {
          const res = closeEnough(got.get(o.name) as Float32Array, want[o.name].data as Float32Array, TOL, TOL);
          expect(res.ok, `sample ${k}, output '${o.name}': ${res.message}`).toBe(true);
          worst = Math.max(worst, res.maxAbsErr);
        }
      }
    }
  } finally {
    await session.release();
  }
  return worst;
}

const r = rng(7);
const SYNTHETIC: Record<string, ModelSpec> = {
  conv_grouped_dilated_asymmetric_pads: {
    inputs: [{ name: 'x', shape: [1, 4, 11, 9] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('W', [6, 2, 3, 2], r), randomTensor('B', [6], r)],
    nodes: [{ op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['y'], attrs: { group: attr.i(2), dilations: attr.ints([2, 1]), strides: attr.ints([2, 1]), pads: attr.ints([1, 0, 2, 1]) } }],
  },
  conv_depthwise_same_lower_stride2: {
    inputs: [{ name: 'x', shape: [1, 3, 10, 10] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('W', [3, 1, 3, 3], r)],
    nodes: [{ op: 'Conv', inputs: ['x', 'W'], outputs: ['y'], attrs: { group: attr.i(3), auto_pad: attr.s('SAME_LOWER'), strides: attr.ints([2, 2]) } }],
  },
  conv_1d_same_upper: {
    inputs: [{ name: 'x', shape: [1, 2, 20] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('W', [4, 2, 4], r), randomTensor('B', [4], r)],
    nodes: [{ op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['y'], attrs: { auto_pad: attr.s('SAME_UPPER'), strides: attr.ints([3]) } }],
  },
  conv_3d_strided_dilated_padded: {
    inputs: [{ name: 'x', shape: [1, 2, 5, 6, 7] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('W', [3, 2, 2, 3, 2], r), randomTensor('B', [3], r)],
    nodes: [{ op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['y'], attrs: { strides: attr.ints([1, 2, 1]), dilations: attr.ints([2, 1, 1]), pads: attr.ints([1, 0, 1, 0, 1, 1]) } }],
  },
  maxpool_ceil_dilated_padded: {
    inputs: [{ name: 'x', shape: [1, 2, 11, 11] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), dilations: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), ceil_mode: attr.i(1) } }],
  },
  averagepool_ceil_count_include_pad: {
    inputs: [{ name: 'x', shape: [1, 2, 10, 10] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([3, 3]), pads: attr.ints([1, 1, 0, 0]), ceil_mode: attr.i(1), count_include_pad: attr.i(1) } }],
  },
  averagepool_ceil_exclude_pad: {
    inputs: [{ name: 'x', shape: [1, 2, 10, 10] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([3, 3]), pads: attr.ints([1, 1, 0, 0]), ceil_mode: attr.i(1) } }],
  },
  softmax_opset11_coerced_2d: {
    opset: 11,
    inputs: [{ name: 'x', shape: [2, 3, 4, 5] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: attr.i(2) } }],
  },
  softmax_opset11_default_axis: {
    opset: 11,
    inputs: [{ name: 'x', shape: [2, 3, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }],
  },
  gemm_transA_alpha_beta: {
    inputs: [{ name: 'a', shape: [4, 3] }],
    outputs: [{ name: 'y' }],
    initializers: [randomTensor('B', [4, 5], r), randomTensor('C', [5], r)],
    nodes: [{ op: 'Gemm', inputs: ['a', 'B', 'C'], outputs: ['y'], attrs: { transA: attr.i(1), alpha: attr.f(0.5), beta: attr.f(2) } }],
  },
  matmul_batched_broadcast: {
    inputs: [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 4, 5] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
  },
  matmul_1d_operands: {
    inputs: [{ name: 'v', shape: [4] }, { name: 'm', shape: [2, 4, 3] }, { name: 'a', shape: [2, 5, 4] }],
    outputs: [{ name: 'vm' }, { name: 'av' }],
    nodes: [
      { op: 'MatMul', inputs: ['v', 'm'], outputs: ['vm'] }, // [4] x [2,4,3] -> [2,3]
      { op: 'MatMul', inputs: ['a', 'v'], outputs: ['av'] }, // [2,5,4] x [4] -> [2,5]
    ],
  },
  two_sided_broadcast_concat_flatten: {
    inputs: [{ name: 'a', shape: [3, 1, 2] }, { name: 'b', shape: [4, 1] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] }, // [3,4,2]
      { op: 'Mul', inputs: ['s', 'b'], outputs: ['p'] },
      { op: 'Concat', inputs: ['s', 'p', 's'], outputs: ['c'], attrs: { axis: attr.i(-2) } }, // [3,12,2]
      { op: 'Flatten', inputs: ['c'], outputs: ['y'], attrs: { axis: attr.i(0) } }, // [1,72]
    ],
  },
  small_cnn_all_ops: {
    inputs: [{ name: 'x', shape: [1, 1, 28, 28] }],
    outputs: [{ name: 'probs' }, { name: 'side' }],
    initializers: [
      randomTensor('W1', [4, 1, 3, 3], r), randomTensor('B1', [4], r),
      randomTensor('s', [4], r, 0.3, 1), randomTensor('bb', [4], r), randomTensor('m', [4], r, 0.2), randomTensor('v', [4], r, 0.3, 0.7),
      randomTensor('W2', [8, 4, 3, 3], r, 0.5), floatTensor('six', [6], []), floatTensor('zero', [0], []),
      randomTensor('k', [1, 8, 1, 1], r), int64Tensor('shape', [1, -1]), randomTensor('Wfc', [8 * 6 * 6, 10], r, 0.2), randomTensor('bfc', [10], r),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W1', 'B1'], outputs: ['c1'], attrs: { pads: attr.ints([1, 1, 1, 1]) } },
      { op: 'BatchNormalization', inputs: ['c1', 's', 'bb', 'm', 'v'], outputs: ['bn1'] },
      { op: 'Relu', inputs: ['bn1'], outputs: ['r1'] },
      { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } },
      { op: 'Conv', inputs: ['p1', 'W2'], outputs: ['c2'], attrs: { strides: attr.ints([2, 2]) } },
      { op: 'Clip', inputs: ['c2', 'zero', 'six'], outputs: ['r2'] },
      { op: 'Mul', inputs: ['r2', 'k'], outputs: ['m2'] },
      { op: 'Transpose', inputs: ['m2'], outputs: ['t'], attrs: { perm: attr.ints([0, 2, 3, 1]) } },
      { op: 'Transpose', inputs: ['t'], outputs: ['t2'], attrs: { perm: attr.ints([0, 3, 1, 2]) } },
      { op: 'Reshape', inputs: ['t2', 'shape'], outputs: ['flat'] },
      { op: 'MatMul', inputs: ['flat', 'Wfc'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'bfc'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probs'] },
      { op: 'GlobalAveragePool', inputs: ['m2'], outputs: ['gap'] },
      { op: 'Flatten', inputs: ['gap'], outputs: ['gf'] },
      { op: 'Sigmoid', inputs: ['gf'], outputs: ['sg'] },
      { op: 'Tanh', inputs: ['gf'], outputs: ['th'] },
      { op: 'Concat', inputs: ['sg', 'th'], outputs: ['side'], attrs: { axis: attr.i(1) } },
    ],
  },
};

const zooModels = readdirSync(ZOO).filter((f) => f.endsWith('.onnx')).sort();

function conformanceModels(): string[] {
  if (!existsSync(NODE_TESTS)) return [];
  return readdirSync(NODE_TESTS).filter((d) => {
    try {
      const g = importOnnx(readFileSync(`${NODE_TESTS}/${d}/model.onnx`));
      return g.nodes.length > 0 && g.inputs.length > 0;
    } catch (e) {
      if (isCompileError(e)) return false;
      throw e;
    }
  }).sort();
}

describe('float executor vs onnxruntime-node (100 Fashion-MNIST images per model)', () => {
  it('finds every zoo model of the manifest (the zoo is committed: an empty list would skip the checks below)', () => {
    expect(zooModels).toEqual(manifestModels().map((m) => m.file).sort());
    expect(zooModels.length).toBeGreaterThanOrEqual(3);
  });

  it.each(zooModels)('zoo %s: runFloat and runFloat(runPasses(g)) match ORT within 1e-4', async (file) => {
    const path = `${ZOO}/${file}`;
    const g = importOnnx(readFileSync(path));
    await compareWithOrt(path, [g, runPasses(g)], 0, 1); // exactly the zoo preprocessing: x / 255
  });

  it.each(Object.keys(SYNTHETIC))('synthetic %s matches ORT, before and after passes', async (name) => {
    const bytes = buildModel(SYNTHETIC[name]);
    const g = importOnnx(bytes);
    await compareWithOrt(bytes, [g, runPasses(g)], -2, 2);
  });

  const conf = conformanceModels();
  it(`conformance models with float inputs (${conf.length}) match ORT on image-derived inputs`, async () => {
    expect(conf.length).toBeGreaterThanOrEqual(80);
    for (const d of conf) {
      const path = `${NODE_TESTS}/${d}/model.onnx`;
      const g = importOnnx(readFileSync(path));
      await compareWithOrt(path, [g], -3, 3);
    }
  }, 120_000);
});
