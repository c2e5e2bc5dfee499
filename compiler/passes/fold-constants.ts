// Constant folding: a node whose every input is a constant is evaluated now, with the float
// reference kernels, and its outputs become initializers (e.g. a Reshape of a constant, a Clip
// bound computed from Constant nodes, an Add of two weights).
import type { ConstTensor, Graph, Node } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { KERNELS } from '../reference/kernels.ts';
import { rebuild } from './graph-edit.ts';

export function foldConstants(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const kernel = KERNELS[node.op];
    const constant = node.inputs.every((i) => i === '' || initializers.has(i));
    if (!kernel || !constant || node.inputs.length === 0) {
      nodes.push(node);
      continue;
    }
    const ins: (Tensor | undefined)[] = node.inputs.map((i) => (i === '' ? undefined : initializers.get(i)));
    const outs = kernel(node, ins, g.opset);
    node.outputs.forEach((name, i) => {
      if (name && outs[i]) {
        const t: ConstTensor = { name, dtype: outs[i].dtype, shape: outs[i].shape, data: outs[i].data };
        initializers.set(name, t);
      }
    });
  }
  return rebuild(g, nodes, initializers);
}
