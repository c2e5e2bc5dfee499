// Structure-aware fuzzing: instead of flipping bytes (which mostly breaks the protobuf framing),
// decode a valid model, change its meaning — attribute values and kinds, op types, wiring, dims,
// dtypes, opset — and re-encode. This reaches the shape rules, kernels and passes with well-formed
// but nonsensical graphs. Only CompileError may ever come out.
import { describe, expect, it } from 'vitest';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import { sizeOf } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import type { ModelProto } from '../../compiler/onnx/proto-types.ts';
import { TO_OBJECT, onnxType } from '../../compiler/onnx/schema.ts';
import { runPasses } from '../../compiler/passes/run-passes.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { FUZZ_SEEDS, mutateModel } from './helpers/model-mutator.ts';
import { rng } from './helpers/onnx-builder.ts';

describe('structure-aware fuzzing', () => {
  it('the seed models are valid', () => {
    for (const s of FUZZ_SEEDS) expect(importOnnx(s).nodes.length).toBeGreaterThan(5);
  });

  it('2,000 semantically mutated models: only CompileError is ever thrown (import, passes and execution)', () => {
    const type = onnxType('ModelProto');
    // FUZZ_ITERATIONS / FUZZ_SEED let a developer run a longer or different campaign locally
    const iterations = Number(process.env.FUZZ_ITERATIONS ?? 2000);
    const rand = rng(Number(process.env.FUZZ_SEED ?? 777));
    const outcomes = new Map<string, number>();
    for (let i = 0; i < iterations; i++) {
      const model = type.toObject(type.decode(FUZZ_SEEDS[i % FUZZ_SEEDS.length]), TO_OBJECT) as ModelProto;
      for (let k = 0, n = 1 + Math.floor(rand() * 3); k < n; k++) mutateModel(model, rand);
      let bytes: Uint8Array;
      try {
        bytes = type.encode(type.fromObject(model)).finish();
      } catch {
        continue; // the mutation produced something protobuf itself cannot encode
      }
      let outcome = 'ok';
      try {
        const g = importOnnx(bytes);
        const total = [...g.values.values()].reduce((acc, v) => acc + sizeOf(v.shape), 0);
        if (total < 2_000_000) {
          const inputs = Object.fromEntries(g.inputs.map((v) => [v.name, new Float32Array(sizeOf(v.shape)).fill(0.25)]));
          runFloat(g, inputs);
          runFloat(runPasses(g), inputs);
        }
      } catch (e) {
        if (!isCompileError(e)) throw new Error(`mutation ${i} threw a non-CompileError: ${(e as Error).stack}\n${JSON.stringify(model.graph?.node, null, 0).slice(0, 3000)}`);
        outcome = e.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log('structural fuzz outcomes', Object.fromEntries(outcomes));
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(50);
  }, 120_000);
});

