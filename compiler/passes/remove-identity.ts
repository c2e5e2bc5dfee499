// Removes Identity nodes and inference-mode Dropout nodes (Dropout-13: y = x when not training;
// the importer already rejected Dropouts that expose their training mask).
import type { Graph, Node } from '../ir/graph.ts';
import { bypass, rebuild } from './graph-edit.ts';

export function removeIdentity(g: Graph): Graph {
  let nodes: Node[] = [...g.nodes];
  for (const node of g.nodes) {
    if (node.op !== 'Identity' && node.op !== 'Dropout') continue;
    const next = bypass(g, nodes, node, node.inputs[0], node.outputs[0]);
    if (next) nodes = next;
  }
  return rebuild(g, nodes);
}
