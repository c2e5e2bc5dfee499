// Dead-code elimination: keeps only the nodes some graph output depends on, and only the
// initializers a kept node (or a graph output) reads.
import type { Graph, Node } from '../ir/graph.ts';
import { rebuild } from './graph-edit.ts';

export function removeDeadNodes(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.name));
  const kept: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => o && live.has(o))) continue;
    kept.push(n);
    for (const v of n.inputs) if (v) live.add(v);
  }
  kept.reverse();
  const initializers = new Map([...g.initializers].filter(([name]) => live.has(name)));
  return rebuild(g, kept, initializers);
}
