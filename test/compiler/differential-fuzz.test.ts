// Differential fuzzing against onnxruntime-node: the structure-aware mutations of
// structural-fuzz.test.ts, kept when our importer accepts the result, are run by both the float
// executor and onnxruntime. A model we accept must be one onnxruntime accepts too, and the outputs
// must agree within 1e-4. (This is how the operator signatures in op-signatures.ts were found.)
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { sizeOf } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import type { ModelProto } from '../../compiler/onnx/proto-types.ts';
import { TO_OBJECT, onnxType } from '../../compiler/onnx/schema.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { closeEnough } from './helpers/compare.ts';
import { rng } from './helpers/onnx-builder.ts';
import { FUZZ_SEEDS, mutateModel } from './helpers/model-mutator.ts';

describe('differential fuzzing vs onnxruntime', () => {
  it('every mutated model we accept, onnxruntime accepts and computes the same (within 1e-4)', async () => {
    const type = onnxType('ModelProto');
    // FUZZ_ITERATIONS / FUZZ_SEED for longer local campaigns
    const iterations = Number(process.env.FUZZ_ITERATIONS ?? 1500);
    const rand = rng(Number(process.env.FUZZ_SEED ?? 4242));
    const problems: string[] = [];
    let compared = 0;
    for (let i = 0; i < iterations; i++) {
      const model = type.toObject(type.decode(FUZZ_SEEDS[i % FUZZ_SEEDS.length]), TO_OBJECT) as ModelProto;
      for (let k = 0, n = 1 + Math.floor(rand() * 2); k < n; k++) mutateModel(model, rand);
      let bytes: Uint8Array;
      try {
        bytes = type.encode(type.fromObject(model)).finish();
      } catch {
        continue; // not encodable: nothing to compare
      }
      let g: Graph;
      try {
        g = importOnnx(bytes);
      } catch (e) {
        if (isCompileError(e)) continue;
        throw e;
      }
      if ([...g.values.values()].reduce((a, v) => a + sizeOf(v.shape), 0) > 1_000_000) continue;
      const inputs = Object.fromEntries(g.inputs.map((v) => [v.name, Float32Array.from({ length: sizeOf(v.shape) }, (_, j) => Math.sin(j + 1))]));
      const got = runFloat(g, inputs);
      // A mutated model can compute NaN (e.g. a negative variance fed to BatchNormalization). How NaN
      // then flows through a clamp differs between implementations (numpy propagates it, Eigen's
      // min/max in onnxruntime may not); the compiler promises nothing there, so such cases are skipped.
      if ([...got.values()].some((d) => d.some(Number.isNaN))) continue;
      let want: ort.InferenceSession.OnnxValueMapType;
      try {
        const session = await ort.InferenceSession.create(bytes);
        want = await session.run(Object.fromEntries(g.inputs.map((v) => [v.name, new ort.Tensor('float32', inputs[v.name], [...v.shape])])));
        await session.release();
      } catch (e) {
        problems.push(`mutation ${i}: we accept, onnxruntime refuses: ${(e as Error).message.slice(0, 300)}`);
        continue;
      }
      for (const o of g.outputs) {
        const res = closeEnough(got.get(o.name) as Float32Array, want[o.name].data as Float32Array, 1e-4, 1e-4);
        if (!res.ok) {
          problems.push(`mutation ${i}: output '${o.name}' differs: ${res.message}`);
          if (process.env.FUZZ_DUMP) console.log(JSON.stringify({ nodes: g.nodes, inputs: g.inputs, inits: [...g.initializers.values()].map((t) => [t.name, t.shape, [...t.data].slice(0, 8).map(String)]) }));
        }
      }
      compared++;
    }
    expect(problems).toEqual([]);
    expect(compared).toBeGreaterThan(iterations / 10);
  }, 300_000);
});
