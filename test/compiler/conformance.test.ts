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

const DATA = '/usr/share/libonnx-testdata/data/node';
/**
 * Committed floor: node test cases that must run and pass through the float path. Kept below the
 * count the suite reaches (with margin) so the check can fail when support regresses; raise it as
 * support grows, never lower it.
 */
const CONFORMANCE_FLOOR = 105;
const REPORT = 'out/conformance-report.txt';

type DataSet = { inputs: Record<string, Float32Array>; outputs: ConstTensor[] };
type Case =
  | { name: string; status: 'run'; graph: Graph; sets: DataSet[] }
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
    sets.push({ inputs, outputs: outs });
  }
  if (!graph) return { name, status: 'skip', reason: 'no test data set' };
  return { name, status: 'run', graph, sets };
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

  it(`runs at least ${CONFORMANCE_FLOOR} cases and writes ${REPORT}`, () => {
    const lines = [
      `float path: ran ${runnable.length} of ${cases.length} node test cases`,
      '',
      '# ran',
      ...runnable.map((c) => c.name),
      '',
      '# unsupported',
      ...cases.flatMap((c) => (c.status === 'skip' ? [`${c.name}\t${c.reason}`] : [])),
    ];
    mkdirSync('out', { recursive: true });
    writeFileSync(REPORT, lines.join('\n') + '\n');
    expect(runnable.length).toBeGreaterThanOrEqual(CONFORMANCE_FLOOR);
  });
});
