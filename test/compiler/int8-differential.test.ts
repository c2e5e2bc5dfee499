// Differential test of the int8 back end: random single-operator models (shapes, strides, padding,
// dilation, groups, broadcasting drawn by fast-check) compiled to modules; the runtime's dequantized
// output must track the float reference executor within a few output quantization steps. This is
// what catches indexing mistakes (a wrong stride, an asymmetric pad, a depth multiplier) that the
// zoo models, which use few geometries, never exercise.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compile } from '../../compiler/compile.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { attr, buildModel, randomTensor, rng, type Attr, type NodeSpec } from './helpers/onnx-builder.ts';
import type { ConstTensor } from '../../compiler/ir/graph.ts';
import { randomInputs } from './helpers/back-end.ts';

type Case = { nodes: NodeSpec[]; inits: ConstTensor[]; inShape: number[]; outName: string };

/** Compiles, then compares int8 vs float on the calibration inputs themselves (no range clipping). */
function check(c: Case, seed: number): void {
  const onnx = buildModel({ nodes: c.nodes, inputs: [{ name: 'x', shape: c.inShape }], outputs: [{ name: c.outName }], initializers: c.inits });
  const n = c.inShape.reduce((a, b) => a * b, 1);
  const inputs = randomInputs(6, n, seed, -1, 1);
  const r = compile(onnx, { target: 'gap8', calibration: inputs });
  const m = loadModule(r.module);
  const scale = m.outputQuant.scale;
  let lo = Infinity;
  let hi = -Infinity;
  const pairs = inputs.map((x) => {
    const want = runFloat(r.graph, { x }).get(r.graph.outputs[0].name)!;
    for (const v of want) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return [m.invoke(x).dequantized, want] as const;
  });
  // int8 inputs (1/255 of the range), per-channel int8 weights and output rounding: a few steps
  const tol = 3 * scale + 0.02 * (hi - lo);
  for (const [got, want] of pairs) {
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      if (Math.abs(got[i] - want[i]) > tol) {
        throw new Error(`element ${i}: int8 ${got[i]} vs float ${want[i]} (tol ${tol}, out scale ${scale}) in ${JSON.stringify(c.nodes.map((nd) => [nd.op, nd.attrs]))}`);
      }
    }
  }
}

const runs = { numRuns: 100 };

describe('int8 back end vs float reference on random operators', () => {
  it('Conv: any kernel, stride, asymmetric padding, dilation; group 1 or depthwise (multiplier 1-2); fused Relu', () => {
    fc.assert(
      fc.property(
        fc.record({
          cin: fc.integer({ min: 1, max: 4 }), mult: fc.integer({ min: 1, max: 3 }), depthwise: fc.boolean(),
          kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
          pads: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)), dil: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 7, max: 11 }), w: fc.integer({ min: 7, max: 11 }), relu: fc.boolean(), seed: fc.nat(1000), // >= largest dilated kernel (7)
        }),
        (p) => {
          const rand = rng(p.seed);
          const cout = p.depthwise ? p.cin * p.mult : p.mult + 1;
          const group = p.depthwise ? p.cin : 1;
          const attrs: Record<string, Attr> = {
            kernel_shape: attr.ints([p.kh, p.kw]), strides: attr.ints([p.sh, p.sw]), pads: attr.ints([...p.pads]),
            dilations: attr.ints([p.dil, p.dil]), group: attr.i(group),
          };
          const nodes: NodeSpec[] = [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: [p.relu ? 'c' : 'y'], attrs }];
          if (p.relu) nodes.push({ op: 'Relu', inputs: ['c'], outputs: ['y'] });
          check({
            nodes, outName: 'y', inShape: [1, p.cin, p.h, p.w],
            inits: [randomTensor('w', [cout, p.cin / group, p.kh, p.kw], rand, 0.5), randomTensor('b', [cout], rand, 0.2)],
          }, p.seed);
        },
      ),
      runs,
    );
  }, 60_000);

  it('MaxPool / AveragePool (count_include_pad 0/1, ceil_mode) and GlobalAveragePool', () => {
    fc.assert(
      fc.property(
        fc.record({
          op: fc.constantFrom('MaxPool', 'AveragePool', 'GlobalAveragePool'), c: fc.integer({ min: 1, max: 3 }),
          k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }), pad: fc.nat(1), ceil: fc.integer({ min: 0, max: 1 }),
          include: fc.integer({ min: 0, max: 1 }), h: fc.integer({ min: 4, max: 9 }), seed: fc.nat(1000),
        }),
        (p) => {
          const pad = Math.min(p.pad, p.k - 1);
          const attrs: Record<string, Attr> = p.op === 'GlobalAveragePool' ? {} : {
            kernel_shape: attr.ints([p.k, p.k]), strides: attr.ints([p.s, p.s]), pads: attr.ints([pad, pad, pad, pad]), ceil_mode: attr.i(p.ceil),
            ...(p.op === 'AveragePool' ? { count_include_pad: attr.i(p.include) } : {}),
          };
          check({ nodes: [{ op: p.op, inputs: ['x'], outputs: ['y'], attrs }], outName: 'y', inShape: [1, p.c, p.h, p.h], inits: [] }, p.seed);
        },
      ),
      runs,
    );
  }, 60_000);

  it('Gemm (transB, alpha, beta) / MatMul, and Add / Mul with broadcast constants or two activations', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('gemm', 'matmul', 'add-const', 'mul-const', 'add-self', 'mul-self'),
          k: fc.integer({ min: 1, max: 12 }), n: fc.integer({ min: 1, max: 8 }), transB: fc.integer({ min: 0, max: 1 }),
          alpha: fc.constantFrom(1, 0.5, 2), beta: fc.constantFrom(1, 0.5), bshape: fc.constantFrom('full', 'row', 'scalar'), seed: fc.nat(1000),
        }),
        (p) => {
          const rand = rng(p.seed);
          if (p.kind === 'gemm' || p.kind === 'matmul') {
            const gemm = p.kind === 'gemm';
            const wShape = gemm && p.transB ? [p.n, p.k] : [p.k, p.n];
            const attrs: Record<string, Attr> = gemm ? { transB: attr.i(p.transB), alpha: attr.f(p.alpha), beta: attr.f(p.beta) } : {};
            check({
              nodes: [{ op: gemm ? 'Gemm' : 'MatMul', inputs: gemm ? ['x', 'w', 'c'] : ['x', 'w'], outputs: ['y'], attrs }],
              outName: 'y', inShape: [1, p.k], inits: [randomTensor('w', wShape, rand, 0.6), randomTensor('c', [p.n], rand, 0.3)],
            }, p.seed);
            return;
          }
          const op = p.kind.startsWith('add') ? 'Add' : 'Mul';
          const shape = [1, 3, 4, p.n];
          const cShape = p.bshape === 'full' ? shape.slice(1) : p.bshape === 'row' ? [p.n] : [1];
          const nodes: NodeSpec[] = p.kind.endsWith('self')
            ? [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }, { op, inputs: ['r', 'x'], outputs: ['y'] }]
            : [{ op, inputs: p.seed % 2 ? ['x', 'k'] : ['k', 'x'], outputs: ['y'] }];
          check({ nodes, outName: 'y', inShape: shape, inits: p.kind.endsWith('self') ? [] : [randomTensor('k', cShape, rand, 1, 0.5)] }, p.seed);
        },
      ),
      runs,
    );
  }, 60_000);
});
