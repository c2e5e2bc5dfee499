// ONNX backend node tests (onnx 1.12 test data, Debian package libonnx-testdata) through the
// importer and the float reference executor. Every directory is listed: the ones we run, and the
// ones we skip with the importer's own reason (unsupported op / dtype / opset / mode).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import type { ConstTensor, Graph } from '../../compiler/ir/graph.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { decodeTensorProto } from '../../compiler/onnx/tensor-proto.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { runPasses } from '../../compiler/passes/run-passes.ts';
import { closeEnough } from './helpers/compare.ts';
import { roundHalfAway } from '../../compiler/quantize/quant-params.ts';
import { buildInt8, type Int8Build } from './helpers/int8-graph.ts';

const DATA = '/usr/share/libonnx-testdata/data/node';
/**
 * Committed floor: node test cases that must run and pass through the float path. Kept below the
 * count the suite reaches (with margin) so the check can fail when support regresses; raise it as
 * support grows, never lower it.
 */
const CONFORMANCE_FLOOR = 165;
const REPORT = 'out/conformance-report.txt';
/** Committed floor for the int8 path, below the count reached (with margin); raise it, never lower it. */
const INT8_FLOOR = 135;

type DataSet = { inputs: Record<string, Float32Array>; outputs: ConstTensor[]; tensors: ConstTensor[] };
type Case =
  | { name: string; status: 'run'; graph: Graph; sets: DataSet[]; bytes: Uint8Array }
  | { name: string; status: 'skip'; reason: string };

function loadCase(name: string): Case {
  const dir = join(DATA, name);
  const bytes = readFileSync(join(dir, 'model.onnx'));
  const sets: DataSet[] = [];
  let graph: Graph | undefined;
  const skip = (e: unknown): Case => {
    if (isCompileError(e)) return { name, status: 'skip', reason: `${e.code}: ${e.message}` };
    throw e;
  };
  for (const ds of readdirSync(dir).filter((f) => f.startsWith('test_data_set_')).sort()) {
    const files = readdirSync(join(dir, ds));
    const tensors = (prefix: string): ConstTensor[] =>
      files.filter((f) => f.startsWith(prefix) && f.endsWith('.pb')).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
        .map((f) => decodeTensorProto(readFileSync(join(dir, ds, f))));
    let ins: ConstTensor[];
    let outs: ConstTensor[];
    try {
      ins = tensors('input_');
      outs = tensors('output_');
    } catch (e) {
      // A data file that is not a TensorProto (sequence/optional values): the model's own import
      // error names the real reason better than the decode error does.
      try {
        importOnnx(bytes);
      } catch (e2) {
        return skip(e2);
      }
      return skip(e);
    }
    // Non-float inputs (e.g. a Reshape target) are frozen as constants: the compiler's graphs
    // take float32 inputs only, and integer operands are compile-time parameters.
    const constantInputs = new Map(ins.filter((t) => t.dtype !== 'float32').map((t) => [t.name, t]));
    try {
      graph = importOnnx(bytes, { constantInputs });
    } catch (e) {
      return skip(e);
    }
    const inputs: Record<string, Float32Array> = {};
    for (const t of ins) if (t.dtype === 'float32') inputs[t.name] = t.data as Float32Array;
    sets.push({ inputs, outputs: outs, tensors: ins });
  }
  if (!graph) return { name, status: 'skip', reason: 'no test data set' };
  return { name, status: 'run', graph, sets, bytes };
}

function checkOutputs(graph: Graph, set: DataSet): void {
  const got = runFloat(graph, set.inputs);
  for (const want of set.outputs) {
    const g = got.get(want.name);
    expect(g, `output '${want.name}'`).toBeDefined();
    expect(graph.values.get(want.name)?.shape).toEqual(want.shape);
    const res = closeEnough(g as Float32Array, want.data as Float32Array, 1e-4, 1e-4);
    expect(res.ok, `output '${want.name}': ${res.message}`).toBe(true);
  }
}

const dirs = existsSync(DATA) ? readdirSync(DATA).filter((d) => d.startsWith('test_')).sort() : [];
const cases = dirs.map(loadCase);
const runnable = cases.filter((c): c is Extract<Case, { status: 'run' }> => c.status === 'run');

// Every backend node case is its own vitest test: a case the importer refuses is reported as
// skipped with the importer's reason (ctx.skip(note)), so vitest's closing line counts them.
describe('ONNX node conformance (float reference)', () => {
  it('finds the ONNX node test data (Debian libonnx-testdata; scripts/test.sh installs it)', () => {
    expect(dirs.length, `no test cases under ${DATA}: apt-get install libonnx-testdata`).toBeGreaterThan(0);
  });

  for (const c of cases) {
    if (c.status === 'skip') {
      it(c.name, (ctx) => {
        // the reason is the importer's own CompileError (code: message)
        expect(c.reason, c.name).toMatch(/^[A-Z_]+: .+|^no test data set$/);
        ctx.skip(c.reason);
      });
      continue;
    }
    it(c.name, () => {
      for (const set of c.sets) checkOutputs(c.graph, set);
      const g = runPasses(c.graph);
      for (const set of c.sets) checkOutputs(g, set);
    });
  }

  it(`runs at least ${CONFORMANCE_FLOOR} cases`, () => {
    expect(runnable.length).toBeGreaterThanOrEqual(CONFORMANCE_FLOOR);
  });
});

/**
 * int8 tolerance per op, in output quantization steps (plus the input's own rounding, which the
 * reference does not see): 1 step for a table or a copy, more where int8 rounding of the input is
 * amplified (exp/softmax, products of two rounded operands, long accumulations).
 */
const INT8_STEPS: Readonly<Record<string, number>> = {
  default: 2, Softmax: 4, Mul: 3, Div: 3, Conv: 3, Gemm: 3, MatMul: 3, Exp: 3, BatchNormalization: 3, AveragePool: 2, GlobalAveragePool: 2,
};

type Int8Outcome = { name: string; status: 'pass' | 'fail' | 'unsupported'; detail: string };
const int8Outcomes: Int8Outcome[] = [];

function int8Case(c: Extract<Case, { status: 'run' }>): Int8Outcome {
  const set = c.sets[0];
  const floats = set.tensors.filter((t) => t.dtype === 'float32');
  if (floats.length === 0) return { name: c.name, status: 'unsupported', detail: 'no float input' };
  const [x, ...frozen] = floats;
  // every other operand (weights, a second Add input, Reshape targets) frozen as a constant
  const constantInputs = new Map([...set.tensors.filter((t) => t !== x && (t.dtype !== 'float32' || frozen.includes(t)))].map((t) => [t.name, t]));
  let build: Int8Build;
  try {
    const g = importOnnx(c.bytes, { constantInputs });
    if (g.outputs.length !== 1) return { name: c.name, status: 'unsupported', detail: `${g.outputs.length} graph outputs (a module has one)` };
    build = buildInt8(g, [x.data as Float32Array]);
  } catch (e) {
    if (isCompileError(e)) return { name: c.name, status: 'unsupported', detail: `${e.code}: ${e.message}` };
    throw e;
  }
  if (!build.ok) return { name: c.name, status: 'unsupported', detail: build.reason };
  // The reference is the float graph on the input as the module sees it (quantized to int8 and
  // back): what remains is the int8 arithmetic's own error, which the tolerance bounds.
  const inT = build.module.contents.tensors[build.module.contents.input];
  const xf = x.data as Float32Array;
  const seen = xf.map((v) => inT.scale * (Math.max(-128, Math.min(127, roundHalfAway(v / inT.scale) + inT.zeroPoint)) - inT.zeroPoint));
  const inputName = build.graph.inputs[0].name;
  const want = runFloat(build.graph, { [inputName]: seen }).get(build.graph.outputs[0].name) as Float32Array;
  const got = build.module.invoke(xf).dequantized;
  const outT = build.module.contents.tensors[build.module.contents.output];
  const ops = new Set(build.graph.nodes.map((n) => n.op));
  const steps = Math.max(INT8_STEPS.default, ...[...ops].map((op) => INT8_STEPS[op] ?? INT8_STEPS.default));
  const tol = steps * outT.scale;
  const res = closeEnough(got, want, tol, 0);
  return { name: c.name, status: res.ok ? 'pass' : 'fail', detail: `${res.message}; tolerance ${steps} steps of ${outT.scale.toPrecision(3)}` };
}

describe('ONNX node conformance (int8 path: operands frozen, calibrated on the case input)', () => {
  for (const c of cases) {
    it(c.name, (ctx) => {
      if (c.status === 'skip') {
        int8Outcomes.push({ name: c.name, status: 'unsupported', detail: c.reason });
        ctx.skip(`importer: ${c.reason}`);
        return;
      }
      const o = int8Case(c);
      int8Outcomes.push(o);
      if (o.status === 'unsupported') ctx.skip(o.detail);
      expect(o.status, o.detail).toBe('pass');
    });
  }

  it(`passes at least ${INT8_FLOOR} cases and writes ${REPORT} (both paths)`, () => {
    const int8Pass = int8Outcomes.filter((o) => o.status === 'pass');
    const lines = [
      `float path: ran ${runnable.length} of ${cases.length} node test cases`,
      `int8 path:  ${int8Pass.length} pass, ${int8Outcomes.filter((o) => o.status === 'fail').length} fail, ${int8Outcomes.filter((o) => o.status === 'unsupported').length} unsupported`,
      '',
      '# int8 per case (status, detail)',
      ...int8Outcomes.map((o) => `${o.name}\t${o.status}\t${o.detail}`),
      '',
      '',
      '# ran',
      ...runnable.map((c) => c.name),
      '',
      '# unsupported',
      ...cases.flatMap((c) => (c.status === 'skip' ? [`${c.name}\t${c.reason}`] : [])),
    ];
    mkdirSync('out', { recursive: true });
    writeFileSync(REPORT, lines.join('\n') + '\n');
    expect(int8Pass.length).toBeGreaterThanOrEqual(INT8_FLOOR);
  });
});
