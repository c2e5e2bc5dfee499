// The int8 path's verdict on a graph, before any calibration: every node without a lowering, or in
// a mode its lowering refuses, and the graph-level limits of a module (one float input, one
// output, tensors of rank <= 4).
import { CompileError } from '../ir/compile-error.ts';
import type { Graph } from '../ir/graph.ts';
import { MAX_RANK } from '../module/module-types.ts';
import { INT8_OPS, LOWERINGS, REFUSALS } from './ops/index.ts';

export type Int8Refusal = { readonly node: string; readonly op: string; readonly reason: string };

export function int8Refusals(g: Graph): Int8Refusal[] {
  const out: Int8Refusal[] = [];
  if (g.inputs.length !== 1 || g.outputs.length !== 1) {
    out.push({ node: '(graph)', op: '(graph)', reason: `a module has one input and one output; the graph has ${g.inputs.length} and ${g.outputs.length}` });
  }
  for (const node of g.nodes) {
    if (!LOWERINGS[node.op]) {
      out.push({ node: node.name, op: node.op, reason: 'no int8 lowering' });
      continue;
    }
    const why = REFUSALS[node.op]?.(node, g);
    if (why) {
      out.push({ node: node.name, op: node.op, reason: why });
      continue;
    }
    for (const v of node.outputs) {
      const rank = g.values.get(v)?.shape.length ?? 0;
      if (v && rank > MAX_RANK) out.push({ node: node.name, op: node.op, reason: `output '${v}' has rank ${rank} (a module tensor has at most ${MAX_RANK})` });
    }
  }
  return out;
}

/** Throws one CompileError naming every offending node and the int8 op set. */
export function assertInt8Lowerable(g: Graph): void {
  const refusals = int8Refusals(g);
  if (refusals.length === 0) return;
  const list = refusals.map((r) => `${r.op} node '${r.node}': ${r.reason}`).join('; ');
  throw new CompileError('UNSUPPORTED_OP', `${refusals.length} node(s) cannot be compiled to int8: ${list}. The int8 operator set: ${INT8_OPS.join(', ')}`, {
    refusals,
    int8Ops: INT8_OPS,
  });
}
