// Reshape and Flatten never move data in a row-major layout; they only relabel the shape. This
// pass removes the ones the graph does not need:
//   1. a Reshape/Flatten whose output shape equals its input shape (a no-op) is bypassed;
//   2. a chain Reshape/Flatten -> Reshape/Flatten, where the first feeds only the second, becomes
//      one Reshape to the final shape (with a constant int64 target).
// A Reshape/Flatten that changes the shape a consumer sees is kept: Gemm and MatMul read the rank
// of their operands, and the back end treats a kept Reshape as a zero-copy alias.
import type { Graph, Node } from '../ir/graph.ts';
import { sameShape } from '../ir/tensor.ts';
import { consumers, nameTaker, outputNames, producers, rebuild, removePassThrough } from './graph-edit.ts';

const isReshape = (n: Node): boolean => n.op === 'Reshape' || n.op === 'Flatten';

export function eliminateReshape(g0: Graph): Graph {
  // 1. no-op reshapes
  const noOp = (n: Node): boolean => {
    const i = g0.values.get(n.inputs[0]);
    const o = g0.values.get(n.outputs[0]);
    return isReshape(n) && i !== undefined && o !== undefined && sameShape(i.shape, o.shape);
  };
  const g = rebuild(g0, removePassThrough(g0, noOp));

  // 2. collapse chains, innermost first: the second node now reads the first's input
  const uses = consumers(g.nodes);
  const prod = producers(g.nodes);
  const initializers = new Map(g.initializers);
  const fresh = nameTaker(g);
  const outputs = outputNames(g);
  const replaced = new Map<Node, Node>();
  const dropped = new Set<Node>();
  for (const second of g.nodes) {
    if (!isReshape(second)) continue;
    const mid = second.inputs[0];
    let first = prod.get(mid);
    if (first && replaced.has(first)) first = replaced.get(first);
    if (!first || !isReshape(first) || (uses.get(mid) ?? []).length !== 1 || outputs.has(mid)) continue;
    const out = g.values.get(second.outputs[0]);
    if (!out || out.shape.includes(0)) continue; // a 0 in a Reshape target means "copy the input dim"
    const shapeName = fresh(`${second.name}_shape`);
    initializers.set(shapeName, { name: shapeName, dtype: 'int64', shape: [out.shape.length], data: BigInt64Array.from(out.shape.map((d) => BigInt(d))) });
    const merged: Node = { name: second.name, op: 'Reshape', inputs: [first.inputs[0], shapeName], outputs: second.outputs, attrs: {} };
    dropped.add(prod.get(mid) as Node);
    replaced.set(second, merged);
  }
  const collapsed = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  return rebuild(g, collapsed, initializers);
}
