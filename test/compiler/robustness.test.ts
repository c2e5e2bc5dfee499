// The importer is the compiler's edge: whatever the bytes, it returns a graph or throws a
// CompileError with a useful code and message — never another exception, a crash or a hang.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CompileError, isCompileError, type CompileErrorCode } from '../../compiler/ir/compile-error.ts';
import { sizeOf } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import type { ModelProto } from '../../compiler/onnx/proto-types.ts';
import { TO_OBJECT, onnxType } from '../../compiler/onnx/schema.ts';
import { runPasses } from '../../compiler/passes/run-passes.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { attr, buildModel, floatTensor, int64Tensor, randomTensor, rng, type ModelSpec } from './helpers/onnx-builder.ts';

function codeOf(f: () => unknown): CompileErrorCode | 'none' {
  try {
    f();
    return 'none';
  } catch (e) {
    if (isCompileError(e)) return e.code;
    throw e;
  }
}

function errorOf(f: () => unknown): CompileError {
  try {
    f();
  } catch (e) {
    if (isCompileError(e)) return e;
    throw e;
  }
  throw new Error('expected a CompileError');
}

const r = rng(3);
const SMALL_CNN: ModelSpec = {
  inputs: [{ name: 'x', shape: [1, 1, 8, 8] }],
  outputs: [{ name: 'y', shape: [1, 3] }],
  initializers: [
    randomTensor('W', [2, 1, 3, 3], r), randomTensor('B', [2], r), int64Tensor('shape', [1, -1]), randomTensor('Wfc', [3, 18], r), floatTensor('lo', [0], []), floatTensor('hi', [6], []),
    randomTensor('s', [2], r, 0.2, 1), randomTensor('bb', [2], r), randomTensor('m', [2], r), randomTensor('v', [2], r, 0.2, 1),
  ],
  nodes: [
    { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([0, 0, 0, 0]) } },
    { op: 'BatchNormalization', inputs: ['c', 's', 'bb', 'm', 'v'], outputs: ['bn'], attrs: { epsilon: attr.f(1e-5) } },
    { op: 'Clip', inputs: ['bn', 'lo', 'hi'], outputs: ['r'] },
    { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), auto_pad: attr.s('NOTSET') } },
    { op: 'Reshape', inputs: ['p', 'shape'], outputs: ['f'] },
    { op: 'Gemm', inputs: ['f', 'Wfc'], outputs: ['g'], attrs: { transB: attr.i(1), alpha: attr.f(1) } },
    { op: 'Softmax', inputs: ['g'], outputs: ['y'], attrs: { axis: attr.i(1) } },
  ],
};

describe('importer robustness', () => {
  const valid = buildModel(SMALL_CNN);

  it('the seed model is valid', () => {
    expect(importOnnx(valid).nodes).toHaveLength(7);
  });

  it('rejects every truncation of a valid model with a CompileError (never a crash)', () => {
    const codes = new Set<string>();
    for (let len = 0; len < valid.length; len++) codes.add(codeOf(() => importOnnx(valid.subarray(0, len))));
    expect(codes.has('none')).toBe(false);
    expect(codes.has('BAD_MODEL')).toBe(true);
  });

  it('names a truncated/corrupt protobuf as such', () => {
    const e = errorOf(() => importOnnx(valid.subarray(0, valid.length - 3)));
    expect(e.code).toBe('BAD_MODEL');
    expect(errorOf(() => importOnnx(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f))).message).toMatch(/truncated or corrupt/);
  });

  it.each([1, 9, 10, 18, 21])('rejects opset %i with BAD_OPSET naming the supported range', (opset) => {
    const e = errorOf(() => importOnnx(buildModel({ ...SMALL_CNN, opset })));
    expect(e.code).toBe('BAD_OPSET');
    expect(e.message).toContain(`opset ${opset}`);
    expect(e.message).toContain('11 to 17');
  });

  it('reads an older opset as 11 when its ops are unchanged since, and names the ops that changed', () => {
    const spec = (op: string): Parameters<typeof buildModel>[0] => ({
      opset: 6,
      inputs: [{ name: 'x', shape: [1, 2, 3, 3] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['r'] }, { op, inputs: op === 'Add' ? ['r', 'r'] : ['r'], outputs: ['y'] }],
    });
    expect(importOnnx(buildModel(spec('GlobalAveragePool'))).opset).toBe(11); // Relu unchanged since 6, GAP since 1
    const e = errorOf(() => importOnnx(buildModel(spec('Add')))); // Add's broadcasting changed in 7
    expect(e.code).toBe('BAD_OPSET');
    expect(e.message).toMatch(/opset 6; Add changed semantics before opset 11/);
  });

  it.each([11, 12, 13, 14, 15, 16, 17])('accepts opset %i', (opset) => {
    // Softmax/BN semantics differ across these opsets, but this model is valid in all of them
    expect(importOnnx(buildModel({ ...SMALL_CNN, opset })).opset).toBe(opset);
  });

  it('rejects an unsupported operator, naming the op, the node and what is supported', () => {
    const e = errorOf(() => importOnnx(buildModel({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['a'] }, { op: 'LRN', inputs: ['a'], outputs: ['y'], name: 'my_lrn' }],
    })));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toContain("'LRN'");
    expect(e.message).toContain("'my_lrn'");
    expect(e.message).toContain('Conv');
    expect(e.details).toMatchObject({ op: 'LRN', node: 'my_lrn' });
  });

  it('rejects custom-domain ops and unsupported modes as UNSUPPORTED_OP', () => {
    const custom = buildModel({ inputs: [{ name: 'x', shape: [2] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', domain: 'com.example', inputs: ['x'], outputs: ['y'] }] });
    expect(errorOf(() => importOnnx(custom)).message).toContain('com.example.Relu');
    const training = buildModel({ ...SMALL_CNN, nodes: SMALL_CNN.nodes.map((n) => (n.op === 'BatchNormalization' ? { ...n, attrs: { training_mode: attr.i(1) } } : n)) });
    expect(errorOf(() => importOnnx(training)).message).toMatch(/BatchNormalization.*training_mode/);
  });

  it('rejects mismatched shapes with SHAPE_MISMATCH', () => {
    const add = buildModel({ inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }] });
    expect(errorOf(() => importOnnx(add)).message).toMatch(/not broadcastable/);
    const gemm = buildModel({ inputs: [{ name: 'a', shape: [2, 3] }], outputs: [{ name: 'y' }], initializers: [randomTensor('w', [4, 5], r)], nodes: [{ op: 'Gemm', inputs: ['a', 'w'], outputs: ['y'] }] });
    expect(codeOf(() => importOnnx(gemm))).toBe('SHAPE_MISMATCH');
    const conv = buildModel({ ...SMALL_CNN, inputs: [{ name: 'x', shape: [1, 3, 8, 8] }] });
    expect(errorOf(() => importOnnx(conv)).message).toMatch(/Conv node.*channels 3/);
    const declared = buildModel({ ...SMALL_CNN, outputs: [{ name: 'y', shape: [1, 4] }] });
    expect(errorOf(() => importOnnx(declared)).message).toMatch(/declared \[1,4\] but infers to \[1,3\]/);
    const g = importOnnx(valid);
    expect(codeOf(() => runFloat(g, { x: new Float32Array(10) }))).toBe('SHAPE_MISMATCH');
  });

  it('rejects unsupported element types with UNSUPPORTED_DTYPE', () => {
    const dbl = buildModel({ inputs: [{ name: 'x', shape: [2], elemType: 11 }], outputs: [{ name: 'y', elemType: 11 }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    expect(errorOf(() => importOnnx(dbl)).message).toMatch(/'x'.*DOUBLE/);
    const i64 = buildModel({ inputs: [{ name: 'x', shape: [2], elemType: 7 }], outputs: [{ name: 'y', elemType: 7 }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    expect(codeOf(() => importOnnx(i64))).toBe('UNSUPPORTED_DTYPE');
  });

  it('rejects a 200 MB model by size before parsing', () => {
    // 200 MB of zeros: parsing would fail at once with BAD_MODEL (field number 0), so TOO_LARGE
    // shows the size check ran first
    const huge = new Uint8Array(200 * 1024 * 1024);
    const t0 = performance.now();
    const e = errorOf(() => importOnnx(huge));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toContain(String(64 * 1024 * 1024));
    expect(codeOf(() => importOnnx(valid, { maxBytes: 100 }))).toBe('TOO_LARGE');
  });

  it('rejects shapes that would need a huge allocation with TOO_LARGE', () => {
    const big = buildModel({ inputs: [{ name: 'x', shape: [100000, 100000] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    expect(codeOf(() => importOnnx(big))).toBe('TOO_LARGE');
    // each value within the per-tensor limit, but 40 of them exceed the per-graph limit
    const nodes = Array.from({ length: 40 }, (_, i) => ({ op: 'Relu', inputs: [i ? `v${i}` : 'x'], outputs: [`v${i + 1}`] }));
    const many = buildModel({ inputs: [{ name: 'x', shape: [8192, 8192] }], outputs: [{ name: 'v40' }], nodes });
    expect(errorOf(() => importOnnx(many)).message).toMatch(/activations total/);
  });

  it('imports and optimizes a 100,000-node model in linear time', () => {
    const nodes = Array.from({ length: 100_000 }, (_, i) => ({ op: i % 2 ? 'Relu' : 'Identity', inputs: [i ? `v${i}` : 'x'], outputs: [i === 99_999 ? 'y' : `v${i + 1}`] }));
    const bytes = buildModel({ inputs: [{ name: 'x', shape: [4] }], outputs: [{ name: 'y' }], nodes });
    const t0 = performance.now();
    const g = runPasses(importOnnx(bytes));
    expect(g.nodes).toHaveLength(50_000);
    expect(performance.now() - t0).toBeLessThan(30_000); // ~2 s when idle; quadratic would be hours
    expect([...(runFloat(g, { x: Float32Array.of(-1, 0, 1, 2) }).get('y') ?? [])]).toEqual([0, 0, 1, 2]);
  }, 60_000);

  it('rejects nodes outside their operator signature (arity, unknown, duplicate or mistyped attributes)', () => {
    const one = (node: ModelSpec['nodes'][number], opset = 13) => buildModel({
      opset, inputs: [{ name: 'x', shape: [2, 2] }], outputs: [{ name: 'y' }], initializers: [floatTensor('w', [1, 2, 3, 4], [2, 2])], nodes: [node],
    });
    expect(errorOf(() => importOnnx(one({ op: 'Relu', inputs: ['x', 'x'], outputs: ['y'] }))).message).toMatch(/2 inputs; Relu takes 1/);
    expect(errorOf(() => importOnnx(one({ op: 'Relu', inputs: ['x'], outputs: ['y', 'z'] }))).message).toMatch(/2 outputs; Relu has 1/);
    expect(errorOf(() => importOnnx(one({ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { group: attr.i(1) } }))).message).toMatch(/attribute 'group'.*\(it has: axis\)/);
    expect(errorOf(() => importOnnx(one({ op: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], attrs: { alpha: attr.s('big') } }))).message).toMatch(/'alpha' is declared STRING, Gemm defines it as FLOAT/);
    expect(errorOf(() => importOnnx(one({ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: attr.f(1) } }))).message).toMatch(/'axis' is declared FLOAT/);
    expect(errorOf(() => importOnnx(one({ op: 'Reshape', inputs: ['x', 'x'], outputs: ['y'], attrs: { allowzero: attr.i(0) } }, 13))).message).toMatch(/does not define at opset 13/);
    const dup = buildModel({ inputs: [{ name: 'x', shape: [2] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: attr.i(0) } }] });
    // re-encode with the attribute twice
    const type = onnxType('ModelProto');
    const m = type.toObject(type.decode(dup), TO_OBJECT) as ModelProto;
    const node = m.graph?.node?.[0];
    node?.attribute?.push({ ...node.attribute[0] });
    expect(errorOf(() => importOnnx(type.encode(type.fromObject(m)).finish())).message).toMatch(/appears more than once/);
  });

  it('rejects Constant nodes with wrongly typed values or clashing names as BAD_MODEL', () => {
    const constant = (attrs: Record<string, ReturnType<typeof attr.f>>, extra: ModelSpec['initializers'] = []) => buildModel({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'y' }],
      initializers: extra,
      nodes: [{ op: 'Constant', inputs: [], outputs: ['c'], attrs }, { op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
    });
    expect(codeOf(() => importOnnx(constant({ value_int: attr.f(1.5) })))).toBe('BAD_MODEL');
    expect(codeOf(() => importOnnx(constant({ value_ints: attr.floats([1.5]) })))).toBe('BAD_MODEL');
    expect(codeOf(() => importOnnx(constant({ value_float: attr.f(1), value_floats: attr.floats([1]) })))).toBe('BAD_MODEL');
    expect(errorOf(() => importOnnx(constant({ value_float: attr.f(1) }, [floatTensor('c', [1, 2])]))).message).toMatch(/defined twice/);
    expect(codeOf(() => importOnnx(constant({ value_string: attr.s('hi') })))).toBe('UNSUPPORTED_OP');
  });

  it('rejects pathological protobuf quickly: deep group nesting, huge length prefixes, endless varints', () => {
    const cases = [
      new Uint8Array(1_000_000).fill(0x0b), // a million nested start-group tags
      Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00), // graph field claiming ~2 GiB
      new Uint8Array(100).fill(0xff), // a varint that never ends
    ];
    for (const bytes of cases) {
      const t0 = performance.now();
      expect(errorOf(() => importOnnx(bytes)).message).toMatch(/truncated or corrupt protobuf/);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });

  it('rejects empty input and non-ONNX bytes', () => {
    expect(codeOf(() => importOnnx(new Uint8Array(0)))).toBe('BAD_MODEL');
    expect(codeOf(() => importOnnx(new TextEncoder().encode('this is not a model')))).toBe('BAD_MODEL');
  });
});

describe('importer fuzzing', () => {
  const zoo = 'compiler/zoo/models';
  const seeds: Uint8Array[] = [buildModel(SMALL_CNN), buildModel({ ...SMALL_CNN, typedFields: true })];
  if (existsSync(zoo)) {
    for (const f of readdirSync(zoo).filter((x) => x.endsWith('.onnx')).sort()) {
      const b = readFileSync(`${zoo}/${f}`);
      if (b.length < 100_000) seeds.push(b); // keep the fuzz loop fast; the big MLP adds nothing structural
    }
  }

  function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
    const kind = Math.floor(rand() * 5);
    const b = new Uint8Array(seed); // a copy (Buffer#slice would alias the seed)
    const pick = (n: number): number => Math.floor(rand() * n);
    switch (kind) {
      case 0: // bit flips
        for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)] ^= 1 << pick(8);
        return b;
      case 1: // truncation
        return b.subarray(0, pick(b.length));
      case 2: // a run of random bytes
        for (let i = pick(b.length), n = 1 + pick(16); n > 0 && i < b.length; i++, n--) b[i] = pick(256);
        return b;
      case 3: // entirely random bytes
        return Uint8Array.from({ length: 1 + pick(512) }, () => pick(256));
      default: { // duplicate or drop a chunk (shifts every later field)
        const at = pick(b.length);
        const len = 1 + pick(64);
        return rand() < 0.5 ? Uint8Array.from([...b.subarray(0, at), ...b.subarray(at, at + len), ...b.subarray(at)]) : Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
      }
    }
  }

  it('2,500 mutated models: only CompileError is ever thrown (import, passes and execution)', () => {
    const iterations = Number(process.env.FUZZ_ITERATIONS ?? 2500); // longer local campaigns: FUZZ_ITERATIONS / FUZZ_SEED
    const rand = rng(Number(process.env.FUZZ_SEED ?? 20261126));
    const outcomes = new Map<string, number>();
    for (let i = 0; i < iterations; i++) {
      const bytes = mutate(seeds[i % seeds.length], rand);
      let outcome: string;
      try {
        const g = importOnnx(bytes);
        outcome = 'imported';
        // a model that still imports must also survive the passes and the executor
        const total = [...g.values.values()].reduce((acc, v) => acc + sizeOf(v.shape), 0);
        if (total < 2_000_000) {
          const inputs = Object.fromEntries(g.inputs.map((v) => [v.name, new Float32Array(sizeOf(v.shape)).fill(0.5)]));
          runFloat(g, inputs);
          runFloat(runPasses(g), inputs);
        }
      } catch (e) {
        if (!isCompileError(e)) throw new Error(`mutation ${i} threw a non-CompileError: ${(e as Error).stack}`);
        outcome = e.code;
        if (process.env.FUZZ_DEBUG) console.log(i % seeds.length, e.message.slice(0, 100));
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log('fuzz outcomes', Object.fromEntries(outcomes));
    expect(outcomes.get('BAD_MODEL') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('imported') ?? 0).toBeGreaterThan(0); // some mutations survive and reach the executor
  }, 60_000);
});
