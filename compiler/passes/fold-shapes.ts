// Shape of a statically shaped value is a constant: each Shape node becomes an int64 initializer,
// so fold-constants can then evaluate the Gather / Unsqueeze / Concat chain a PyTorch
// `x.view(x.size(0), -1)` export builds on it, and the Reshape gets a constant target.
import type { ConstTensor, Graph, Node } from '../ir/graph.ts';
import { shapeSlice } from '../shape-inference/shape-ops.ts';
import { rebuild } from './graph-edit.ts';

export function foldShapes(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'Shape')) return g;
  const initializers = new Map(g.initializers);
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const v = node.op === 'Shape' ? g.values.get(node.inputs[0]) : undefined;
    if (!v || !node.outputs[0]) {
      nodes.push(node);
      continue;
    }
    const dims = shapeSlice(node, v.shape);
    const t: ConstTensor = { name: node.outputs[0], dtype: 'int64', shape: [dims.length], data: BigInt64Array.from(dims.map((d) => BigInt(d))) };
    initializers.set(t.name, t);
  }
  return rebuild(g, nodes, initializers);
}
