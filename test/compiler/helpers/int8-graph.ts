// Compiles an already imported graph through the int8 path (the stages compile() composes after
// import): passes, lowering check, calibration on the given samples, quantization, plan, emit,
// load. For tests that start from a Graph (the ONNX backend node cases with frozen operands).
import { assembleModule, planProgram } from '../../../compiler/compile.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { emitModule } from '../../../compiler/module/emit-module.ts';
import { runPasses } from '../../../compiler/passes/run-passes.ts';
import { calibrate } from '../../../compiler/quantize/calibrate.ts';
import { int8Refusals } from '../../../compiler/quantize/int8-support.ts';
import { quantizeGraph } from '../../../compiler/quantize/quantize-graph.ts';
import { loadModule, type LoadedModule } from '../../../compiler/runtime/load-module.ts';

export type Int8Build =
  | { readonly ok: true; readonly module: LoadedModule; readonly graph: Graph }
  | { readonly ok: false; readonly reason: string };

export function buildInt8(graph: Graph, calibration: readonly Float32Array[]): Int8Build {
  const g = runPasses(graph);
  const refusals = int8Refusals(g);
  if (refusals.length > 0) return { ok: false, reason: refusals.map((r) => `${r.op} '${r.node}': ${r.reason}`).join('; ') };
  const ranges = calibrate(g, calibration);
  const program = quantizeGraph(g, ranges);
  const { greedy } = planProgram(program);
  const bytes = emitModule(assembleModule(program, greedy, 0, g.name || 'case'));
  return { ok: true, module: loadModule(bytes), graph: g };
}
