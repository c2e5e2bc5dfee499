// MatMul(A, W) followed by Add(bias) with A 2-D, W a constant 2-D matrix and the bias a constant
// broadcastable to the [M, N] result is a fully connected layer: rewrite it as one Gemm(A, W, bias),
// so the back end sees one kind of dense layer and activation fusion applies to it.
import type { Graph, Node } from '../ir/graph.ts';
import { broadcastShapes } from '../shape-inference/broadcast.ts';
import { consumers, outputNames, producers, rebuild } from './graph-edit.ts';

export function fuseMatMulAdd(g: Graph): Graph {
  const uses = consumers(g.nodes);
  const prod = producers(g.nodes);
  const outputs = outputNames(g);
  const replaced = new Map<Node, Node>();
  const dropped = new Set<Node>();
  for (const add of g.nodes) {
    if (add.op !== 'Add') continue;
    for (const side of [0, 1]) {
      const mmOut = add.inputs[side];
      const biasName = add.inputs[1 - side];
      const mm = prod.get(mmOut);
      if (!mm || mm.op !== 'MatMul' || replaced.has(mm) || mm.attrs['activation'] !== undefined) continue;
      if ((uses.get(mmOut) ?? []).length !== 1 || outputs.has(mmOut)) continue;
      const a = g.values.get(mm.inputs[0]);
      const w = g.initializers.get(mm.inputs[1]);
      const bias = g.initializers.get(biasName);
      const out = g.values.get(mmOut);
      if (!a || !w || !bias || !out || a.shape.length !== 2 || w.shape.length !== 2 || bias.dtype !== 'float32') continue;
      let ok = bias.shape.length <= 2;
      try {
        const bc = broadcastShapes(bias.shape, out.shape, 'fuse');
        ok &&= bc.length === 2 && bc[0] === out.shape[0] && bc[1] === out.shape[1];
      } catch {
        ok = false;
      }
      if (!ok) continue;
      replaced.set(mm, { name: mm.name, op: 'Gemm', inputs: [mm.inputs[0], mm.inputs[1], biasName], outputs: [add.outputs[0]], attrs: {} });
      dropped.add(add);
      break;
    }
  }
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  return rebuild(g, nodes);
}
